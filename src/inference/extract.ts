/**
 * One layer's features for every image, streamed to `<out>/features.npy` (one float32 row per
 * image, the layer output flattened in NHWC order, as Keras' `predict` would give it) with
 * `<out>/index.json`:
 *
 *   { files: string[]            the file of each row, in row order,
 *     skipped: {file, reason, code}[]   files that could not be decoded (no row),
 *     contract                   the PreprocessContract the images were fed with,
 *     layer, featureShape        the Keras layer cut at and its output shape,
 *     weights,                   where the weights came from,
 *     precision                  what computed the rows: fp32, or int8 when it was asked for and
 *                                the accuracy guard accepted it,
 *     int8? }                    with precision int8 asked for: the calibration and the guard's
 *                                figures (Int8Report, src/engine/int8/prepare.ts), and why not
 *                                when fp32 ran instead.
 *
 * The network comes from pretrained weights (a tag, a file, `none`; with or without the top) or
 * from a vggkit model folder (base + head rebuilt from weights.h5 by folder-network.ts, so any
 * layer can be cut: `dense` is the fine-tuned embedding, the default `dense_1` the probabilities). What `vggkit extract` runs; the library exports it.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { requireImageFiles } from '../data/files.js';
import { NpyRowWriter } from '../data/npy-writer.js';
import { inferBatches } from '../engine/inference.js';
import type { Int8Report, Int8Request } from '../engine/int8/prepare.js';
import { precisionGraph } from '../engine/precision-graph.js';
import { Session } from '../engine/session.js';
import { resolveContract, type PreprocessContract } from '../image/contract.js';
import type { SkippedFile } from '../image/index.js';
import type { ArchName, Pooling } from '../model/architectures.js';
import { defaultCacheDir } from '../model/download.js';
import { folderNetwork, type Network } from '../model/folder-network.js';
import { modelLayers } from '../model/head.js';
import { loadWeights } from '../model/load-weights.js';
import type { Precision } from '../model/precision.js';
import { resolveWeightsSource, type WeightsSource } from '../model/weights-source.js';
import { writeJsonAtomic } from '../util/atomic.js';
import { UsageError } from '../util/errors.js';
import type { ContractOverrides } from './classify.js';

export interface ExtractOptions {
  /** Image files and folders (walked; non-image files ignored). */
  readonly paths: readonly string[];
  /** Folder for features.npy and index.json (created). */
  readonly out: string;
  /** A registry tag, a weights file, `none`, or a model folder; default `imagenet`. */
  readonly weights?: string;
  /** Architecture of pretrained weights (a model folder records its own); default vgg16. */
  readonly arch?: ArchName;
  /** Keras layer name to cut at; default the network's last layer. */
  readonly layer?: string;
  /** Build fc1, fc2 and predictions (implied by a layer among them, or by a tag with the top). */
  readonly includeTop?: boolean;
  /** Global pooling after block5 without the top; default none. */
  readonly pooling?: Pooling;
  /** Square input size without the top (>= 32); default 224. */
  readonly inputSize?: number;
  readonly batchSize?: number;
  readonly contract?: ContractOverrides;
  /**
   * fp32 (default) or int8: int8 calibrates on a sample of these images and computes the rows
   * only if it agrees with fp32 on held-out ones (the result's `int8` has the figures either way).
   */
  readonly precision?: Precision;
  /** Images int8 calibrates on (a seeded sample); default DEFAULT_CALIBRATION_IMAGES. */
  readonly calibrationImages?: number;
  /** With precision int8: images done of total while it calibrates, then while it is checked. */
  readonly onInt8Progress?: Int8Request['onProgress'];
  /** With precision int8: the decision, as soon as it is made (before any row is computed). */
  readonly onInt8Decision?: (report: Int8Report) => void;
  readonly offline?: boolean;
  /** Weights, int8 calibrations; default `$VGGKIT_HOME` or ~/.cache/vggkit. */
  readonly cacheDir?: string;
  readonly onDownloadProgress?: (received: number, total: number | undefined) => void;
  /** Images done of total, and the layer being extracted. */
  readonly onProgress?: (done: number, total: number, layer: string) => void;
}

export interface ExtractResult {
  readonly featuresFile: string;
  readonly indexFile: string;
  /** Rows written: the images that decoded. */
  readonly rows: number;
  readonly columns: number;
  readonly layer: string;
  readonly featureShape: readonly number[];
  readonly contract: PreprocessContract;
  readonly skipped: readonly SkippedFile[];
  readonly source: string;
  /** What computed the rows: int8 only when asked for and the accuracy guard accepted it. */
  readonly precision: Precision;
  /** With precision int8 asked for: the calibration and the guard's figures, or why fp32 ran. */
  readonly int8: Int8Report | undefined;
  /** The convention the contract rests on when the weights record none (and it is not overridden). */
  readonly assumption: string | undefined;
  /** One line per override that contradicts the weights' contract. */
  readonly warnings: readonly string[];
}

const TOP_LAYERS: ReadonlySet<string> = new Set(['flatten', 'fc1', 'fc2', 'predictions']);

/** A network and the convention its contract rests on, when its weights record none. */
type SourcedNetwork = Network & { readonly assumption?: string | undefined };

export async function extractFeatures(options: ExtractOptions): Promise<ExtractResult> {
  const files = await requireImageFiles(options.paths);
  const weights = options.weights ?? 'imagenet';
  const arch = options.arch ?? 'vgg16';
  const source = await resolveWeightsSource(arch, weights);
  const network: SourcedNetwork =
    source.kind === 'model-folder'
      ? await folderNetwork(weights)
      : await pretrainedNetwork(options, weights, arch, source);
  const overrides = options.contract ?? {};
  const { contract, warnings } = resolveContract(network.contract, overrides);
  const layers = modelLayers(network.options, network.head);
  const layer = options.layer ?? (layers[layers.length - 1]?.name as string);
  const { graph, int8 } = await precisionGraph({ ...network, contract }, layer, {
    precision: options.precision ?? 'fp32',
    files,
    cacheDir: options.cacheDir ?? defaultCacheDir(),
    ...(options.calibrationImages === undefined
      ? {}
      : { calibrationImages: options.calibrationImages }),
    ...(options.onInt8Progress === undefined ? {} : { onProgress: options.onInt8Progress }),
  });
  if (int8 !== undefined) options.onInt8Decision?.(int8);
  const precision = int8?.precision ?? 'fp32';
  const featureShape = layers.find((l) => l.name === layer)?.outputShape ?? [];
  const columns = featureShape.reduce((a, b) => a * b, 1);

  await mkdir(options.out, { recursive: true });
  const featuresFile = join(options.out, 'features.npy');
  const writer = await NpyRowWriter.create(featuresFile, [columns]);
  const session = await Session.create(graph);
  const kept: string[] = [];
  const skipped: SkippedFile[] = [];
  try {
    const batchSize = options.batchSize ?? 16;
    for await (const batch of inferBatches(session, files, contract, { batchSize })) {
      if (batch.files.length > 0) await writer.append(batch.output.data);
      kept.push(...batch.files);
      skipped.push(...batch.skipped);
      options.onProgress?.(kept.length + skipped.length, files.length, layer);
    }
    await writer.close();
  } catch (error) {
    await writer.abort();
    throw error;
  } finally {
    await session.release();
  }

  const indexFile = join(options.out, 'index.json');
  await writeJsonAtomic(indexFile, {
    files: kept,
    skipped: skipped.map(({ file, code, reason }) => ({ file, reason, code })),
    contract,
    layer,
    featureShape,
    weights: network.source,
    precision,
    ...(int8 === undefined ? {} : { int8 }),
  });
  return {
    featuresFile,
    indexFile,
    rows: kept.length,
    columns,
    layer,
    featureShape,
    contract,
    skipped,
    source: network.source,
    precision,
    int8,
    assumption: overrides.preprocess === undefined ? network.assumption : undefined,
    warnings,
  };
}

/** A pretrained network from a tag, a file or `none`, with or without its top. */
async function pretrainedNetwork(
  options: ExtractOptions,
  weights: string,
  arch: ArchName,
  source: WeightsSource,
): Promise<SourcedNetwork> {
  const includeTop = wantsTop(options, source);
  const size = options.inputSize ?? 224;
  if (includeTop && size !== 224)
    throw new UsageError(
      'CONFLICTING_OPTIONS',
      `--input-size: the top needs 224, received ${size}`,
    );
  const loaded = await loadWeights({
    arch,
    weights,
    includeTop,
    inputSize: size,
    offline: options.offline === true,
    ...(options.cacheDir === undefined ? {} : { cacheDir: options.cacheDir }),
    ...(options.onDownloadProgress === undefined ? {} : { onProgress: options.onDownloadProgress }),
  });
  return {
    options: {
      arch,
      includeTop,
      inputSize: [size, size],
      pooling: includeTop ? 'none' : (options.pooling ?? 'none'),
      classes: 1000,
    },
    weights: loaded.weights,
    contract: loaded.contract,
    source: loaded.source,
    assumption: loaded.assumption,
  };
}

/**
 * The top is built when asked for, when the layer lives in it, or when no layer is named and the
 * weights' source says it has one (a registry tag with the top: their natural output is then the
 * predictions). Local files and `none` default to the convolutional base: their layout does not say.
 */
function wantsTop(options: ExtractOptions, source: WeightsSource): boolean {
  if (options.includeTop === true) return true;
  if (options.layer !== undefined) return TOP_LAYERS.has(options.layer);
  return source.includesTop === true;
}
