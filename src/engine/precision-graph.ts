/**
 * The inference graph of a network at the precision a command asked for: fp32 as is, or int8 when
 * decideInt8 (calibration on the command's own images + the accuracy guard) accepts it — fp32
 * otherwise, with the report saying why. extract, predict and evaluate all go through here.
 */
import type { Network } from '../model/folder-network.js';
import type { Precision } from '../model/precision.js';
import { buildVggInference, type Int8Plan } from '../model/vgg-graph.js';
import { decideInt8, type Int8Report, type Int8Request } from './int8/prepare.js';

export interface PrecisionRequest {
  readonly precision: Precision;
  /** The images int8 calibrates and is checked on (the command's inputs). */
  readonly files: readonly string[];
  readonly cacheDir: string;
  readonly calibrationImages?: number;
  readonly onProgress?: Int8Request['onProgress'];
}

export interface PrecisionGraph {
  readonly graph: Uint8Array;
  /** Present when int8 was requested: whether it runs, and the figures. */
  readonly int8?: Int8Report;
}

export async function precisionGraph(
  network: Network,
  outputLayer: string,
  request: PrecisionRequest,
  metadata?: Readonly<Record<string, string>>,
): Promise<PrecisionGraph> {
  const base = {
    options: network.options,
    weights: network.weights,
    outputLayer,
    ...(network.head === undefined ? {} : { head: network.head }),
  };
  const build = (int8?: Int8Plan): Uint8Array =>
    buildVggInference({
      ...base,
      ...(metadata === undefined ? {} : { metadata }),
      ...(int8 === undefined ? {} : { int8 }),
    });
  if (request.precision === 'fp32') return { graph: build() };
  const decision = await decideInt8({
    ...base,
    contract: network.contract,
    files: request.files,
    cacheDir: request.cacheDir,
    ...(request.calibrationImages === undefined
      ? {}
      : { calibrationImages: request.calibrationImages }),
    ...(request.onProgress === undefined ? {} : { onProgress: request.onProgress }),
  });
  return { graph: build(decision.plan), int8: decision.report };
}
