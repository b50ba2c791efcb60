/**
 * Calibration: the fp32 network runs over a sample of the user's own images with every conv's
 * ReLU output fetched, and one ActivationHistogram per conv accumulates them. The image itself is
 * not calibrated: its range is the contract's, exactly (what pixels 0 and 255 preprocess to), so a
 * brighter image than any in the sample never saturates.
 */
import { preprocess, type PreprocessContract, streamBatches } from '../../image/index.js';
import type { LayerSpec } from '../../model/architectures.js';
import type { HeadSpec } from '../../model/head.js';
import type { ActivationRange } from '../../model/quantize.js';
import type { VggOptions } from '../../model/architectures.js';
import { buildVggInference, INPUT_RANGE } from '../../model/vgg-graph.js';
import type { WeightMap } from '../../model/weight-map.js';
import { Session } from '../session.js';
import { ActivationHistogram, type CalibrationMethod } from './histogram.js';

/** Images per calibration batch: 13 ReLU outputs of a 224 image are ~54 MB of floats. */
const CALIBRATION_BATCH = 4;

export interface CalibrationInput {
  readonly options: VggOptions;
  readonly head?: HeadSpec;
  readonly weights: WeightMap;
  /** The conv layers to calibrate (every conv up to the graph's cut). */
  readonly convs: readonly LayerSpec[];
  readonly contract: PreprocessContract;
  readonly files: readonly string[];
  readonly onProgress?: (done: number, total: number) => void;
}

export interface Calibration {
  readonly histograms: ReadonlyMap<string, ActivationHistogram>;
  /** Files that could not be decoded, left out of the statistics. */
  readonly skipped: number;
  readonly images: number;
}

export async function calibrate(input: CalibrationInput): Promise<Calibration> {
  const names = input.convs.map((l) => l.name);
  const last = names[names.length - 1];
  if (last === undefined) throw new RangeError('calibration: no conv layer to calibrate');
  const session = await Session.create(
    buildVggInference({
      options: input.options,
      weights: input.weights,
      outputLayer: last,
      extraOutputs: names.slice(0, -1),
      ...(input.head === undefined ? {} : { head: input.head }),
    }),
  );
  const histograms = new Map(names.map((n) => [n, new ActivationHistogram()]));
  let images = 0;
  let skipped = 0;
  try {
    const batches = streamBatches(input.files, input.contract, {
      batchSize: CALIBRATION_BATCH,
      skipErrors: true,
    });
    for await (const batch of batches) {
      skipped += batch.skipped.length;
      if (batch.files.length > 0) {
        const outputs = await session.run({ input: batch.tensor });
        for (const name of names) {
          const value = outputs[name === last ? 'output' : name];
          if (value === undefined) throw new Error(`calibration graph has no output ${name}`);
          histograms.get(name)?.add(value.data);
        }
        images += batch.files.length;
      }
      input.onProgress?.(images + skipped, input.files.length);
    }
  } finally {
    await session.release();
  }
  return { histograms, skipped, images };
}

/** The exact range of a preprocessed image: every mode maps pixels increasingly. */
export function inputRange(contract: PreprocessContract): ActivationRange {
  const pixel = (v: number): Float32Array =>
    preprocess(
      { width: 1, height: 1, data: Uint8Array.of(v, v, v) },
      { ...contract, inputSize: [1, 1] },
    );
  const low = pixel(0);
  const high = pixel(255);
  return { min: Math.min(...low), max: Math.max(...high) };
}

/** Each calibrated tensor's range under `method`, plus the image's, keyed as an Int8Plan wants. */
export function rangesFor(
  calibration: Calibration,
  contract: PreprocessContract,
  method: CalibrationMethod,
): Record<string, ActivationRange> {
  const ranges: Record<string, ActivationRange> = { [INPUT_RANGE]: inputRange(contract) };
  for (const [name, histogram] of calibration.histograms)
    ranges[name] = { min: 0, max: histogram.threshold(method) };
  return ranges;
}
