/**
 * One layer's features for every image, streamed to `<out>/features.npy` (one float32 row per
 * image, the layer output flattened in NHWC order, as Keras' `predict` would give it) with
 * `<out>/index.json`:
 *
 *   { files: string[]            the file of each row, in row order,
 *     skipped: {file, reason, code}[]   files that could not be decoded (no row),
 *     contract                   the PreprocessContract the images were fed with,
 *     layer, featureShape        the Keras layer cut at and its output shape,
 *     weights }                  where the weights came from.
 *
 * The network comes from pretrained weights (a tag, a file, `none`; with or without the top) or
 * from a vggkit model folder (base + head rebuilt from weights.h5, so any layer can be cut:
 * `dense` is the fine-tuned embedding). What `vggkit extract` runs; the library exports it.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { listImageFiles } from '../data/files.js';
import { NpyRowWriter } from '../data/npy-writer.js';
import { inferBatches } from '../engine/inference.js';
import { Session } from '../engine/session.js';
import { resolveContract, type PreprocessContract } from '../image/contract.js';
import type { SkippedFile } from '../image/index.js';
import type { ArchName, Pooling, VggOptions } from '../model/architectures.js';
import { modelLayers, type HeadSpec } from '../model/head.js';
import { readKerasWeights } from '../model/keras-h5.js';
import { loadWeights } from '../model/load-weights.js';
import { readModelFolder } from '../model/model-folder.js';
import { buildVggInference } from '../model/vgg-graph.js';
import type { WeightMap } from '../model/weight-map.js';
import { resolveWeightsSource, type WeightsSource } from '../model/weights-source.js';
import { writeJsonAtomic } from '../util/atomic.js';
import { UsageError, VggkitError } from '../util/errors.js';
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
  readonly offline?: boolean;
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
  /** The convention the contract rests on when the weights record none (and it is not overridden). */
  readonly assumption: string | undefined;
  /** One line per override that contradicts the weights' contract. */
  readonly warnings: readonly string[];
}

const TOP_LAYERS: ReadonlySet<string> = new Set(['flatten', 'fc1', 'fc2', 'predictions']);

interface Network {
  readonly options: VggOptions;
  readonly head?: HeadSpec;
  readonly weights: WeightMap;
  readonly contract: PreprocessContract;
  readonly source: string;
  readonly assumption?: string | undefined;
}

export async function extractFeatures(options: ExtractOptions): Promise<ExtractResult> {
  const files = await listImageFiles(options.paths);
  if (files.length === 0)
    throw new VggkitError(
      'NO_IMAGES',
      `${options.paths.join(', ')}: expected image files, found none`,
    );
  const weights = options.weights ?? 'imagenet';
  const arch = options.arch ?? 'vgg16';
  const source = await resolveWeightsSource(arch, weights);
  const network =
    source.kind === 'model-folder'
      ? await fineTunedNetwork(weights)
      : await pretrainedNetwork(options, weights, arch, source);
  const overrides = options.contract ?? {};
  const { contract, warnings } = resolveContract(network.contract, overrides);
  const layers = modelLayers(network.options, network.head);
  const layer = options.layer ?? (layers[layers.length - 1]?.name as string);
  const graph = buildVggInference({
    options: network.options,
    weights: network.weights,
    outputLayer: layer,
    ...(network.head === undefined ? {} : { head: network.head }),
  });
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
): Promise<Network> {
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
 * A model folder `vggkit train` wrote: base + head rebuilt from its weights.h5 and metadata, so any
 * layer can be cut — `dense` gives the fine-tuned embedding, the default `dense_1` the class
 * probabilities. Architecture, input size and contract come from the folder.
 */
async function fineTunedNetwork(dir: string): Promise<Network> {
  const { metadata, file } = await readModelFolder(dir);
  const head = metadata.head;
  if (head === undefined)
    throw new VggkitError(
      'MODEL_METADATA',
      `${file}: expected a head description (vggkit.head) in the metadata, found none; retrain the model with this version`,
      { file },
    );
  const options: VggOptions = {
    arch: metadata.arch,
    includeTop: false,
    inputSize: metadata.inputSize,
    pooling: 'none',
    classes: head.classes,
  };
  const weights = await readKerasWeights(join(dir, 'weights.h5'), modelLayers(options, head));
  return { options, head, weights, contract: metadata.contract, source: `model folder ${dir}` };
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
