/**
 * A classifier opened from `--weights`: a registry tag with the top (ImageNet classes), a weights
 * file holding the top, a user's Keras model, or a vggkit model folder (its own classes and
 * contract, from the model's metadata). `predict` gives the top classes per image. What
 * `vggkit predict` runs; the library exports it.
 *
 * In fp32 a runnable model's graph runs as stored, and a model folder's model.onnx through ORT's
 * saved optimised graph (optimized-model.ts): a one-image predict is mostly start-up. int8
 * rebuilds the network from its weights (precision-graph.ts), calibrated on `calibration`. What
 * only other paths need (weights files, graph building, int8) is imported when they run.
 */
import { basename } from 'node:path';
import { listImageFiles, requireImageFiles } from '../data/files.js';
import { inferBatches } from '../engine/inference.js';
import type { Int8Report, Int8Request } from '../engine/int8/prepare.js';
import { sessionForModelFile } from '../engine/optimized-model.js';
import { Session } from '../engine/session.js';
import { resolveContract, type PreprocessContract } from '../image/contract.js';
import type { SkippedFile } from '../image/index.js';
import type { ArchName, LayerSpec } from '../model/architectures.js';
import { defaultCacheDir } from '../model/download.js';
import type { Network } from '../model/folder-network.js';
import { modelLayers } from '../model/head.js';
import { IMAGENET_CLASSES, type ClassName } from '../model/imagenet-classes.js';
import { MODEL_FILE } from '../model/model-folder.js';
import type { Precision } from '../model/precision.js';
import { resolveWeightsSource } from '../model/weights-source.js';
import { UsageError } from '../util/errors.js';
import { classProbabilities } from './probabilities.js';

export type { ClassName } from '../model/imagenet-classes.js';

/** The user's overrides of a weights' preprocessing contract (`--preprocess` …), unchecked text. */
export interface ContractOverrides {
  readonly preprocess?: string | undefined;
  readonly resize?: string | undefined;
  readonly interpolation?: string | undefined;
}

export interface OpenClassifierOptions {
  /** A registry tag with the top (default `imagenet-top`), a weights file, or a model folder. */
  readonly weights?: string;
  /** `--keras-weights`: the weights of a Keras architecture (model.to_json() JSON) given as `weights`. */
  readonly kerasWeights?: string;
  /** Architecture of the weights (a model folder records its own); default vgg16. */
  readonly arch?: ArchName;
  /** Overrides of the weights' contract (each contradiction is one line of `warnings`). */
  readonly contract?: ContractOverrides;
  /**
   * fp32 (default) or int8: int8 calibrates on a sample of `calibration`'s images and runs only if
   * it agrees with fp32 on held-out ones (the classifier's `int8` has the figures either way).
   */
  readonly precision?: Precision;
  /** With precision int8: the images (files and folders, walked) to calibrate and check on. */
  readonly calibration?: readonly string[];
  /** Images int8 calibrates on (a seeded sample); default DEFAULT_CALIBRATION_IMAGES. */
  readonly calibrationImages?: number;
  /** With precision int8: images done of total while it calibrates, then while it is checked. */
  readonly onInt8Progress?: Int8Request['onProgress'];
  readonly offline?: boolean;
  /** Weights, ORT's optimised graphs, int8 calibrations; default `$VGGKIT_HOME` or ~/.cache/vggkit. */
  readonly cacheDir?: string;
  readonly onDownloadProgress?: (received: number, total: number | undefined) => void;
}

export interface Prediction {
  /** Output column. */
  readonly index: number;
  /** WordNet id, for ImageNet classes. */
  readonly id?: string;
  readonly label: string;
  readonly probability: number;
}

export interface PredictOptions {
  /** Classes per image, best first; default 5. */
  readonly top?: number;
  /** Images per forward pass; default 8. */
  readonly batchSize?: number;
}

export interface Predictions {
  readonly predictions: readonly { readonly file: string; readonly top: readonly Prediction[] }[];
  /** Files that could not be decoded. */
  readonly skipped: readonly SkippedFile[];
}

export interface Classifier {
  /** Where the weights came from (registry tag and URL, file, model folder). */
  readonly source: string;
  /** The contract images are fed with, overrides applied. */
  readonly contract: PreprocessContract;
  readonly classes: readonly ClassName[];
  /** What runs: int8 only when asked for and the accuracy guard accepted it. */
  readonly precision: Precision;
  /** With precision int8 asked for: the calibration and the guard's figures, or why fp32 runs. */
  readonly int8: Int8Report | undefined;
  /** The convention the contract rests on when the weights record none (and it is not overridden). */
  readonly assumption: string | undefined;
  /** Other lines a person should see about the model (a Keras file keeps no class names …). */
  readonly notes: readonly string[];
  /** One line per override that contradicts the weights' contract. */
  readonly warnings: readonly string[];
  /** Top classes of every image in `paths` (files and folders, walked). */
  predict(paths: readonly string[], options?: PredictOptions): Promise<Predictions>;
  release(): Promise<void>;
}

export async function openClassifier(options: OpenClassifierOptions = {}): Promise<Classifier> {
  const weights = options.weights ?? 'imagenet-top';
  const arch = options.arch ?? 'vgg16';
  const opened = await openGraph(weights, arch, options);
  const overrides = options.contract ?? {};
  const { contract, warnings } = resolveContract(opened.contract, overrides);
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const { session, int8 } =
    (options.precision ?? 'fp32') === 'fp32' && opened.stored !== undefined
      ? { session: await storedSession(opened.stored, cacheDir), int8: undefined }
      : await builtSession({ ...(await opened.network()), contract }, cacheDir, options);
  return {
    source: opened.source,
    contract,
    classes: opened.classes,
    precision: int8?.precision ?? 'fp32',
    int8,
    assumption: overrides.preprocess === undefined ? opened.assumption : undefined,
    notes: opened.notes,
    warnings,
    predict: (paths, predictOptions = {}) =>
      predictWith(session, contract, opened.classes, paths, predictOptions),
    release: () => session.release(),
  };
}

interface OpenedGraph {
  /** The graph as a runnable model stores it (and its file), run as is in fp32. */
  readonly stored?: { readonly model: Uint8Array; readonly file: string };
  /** The network, to build the graph (at another precision, or when none is stored). */
  readonly network: () => Promise<Network>;
  readonly contract: PreprocessContract;
  readonly classes: readonly ClassName[];
  readonly source: string;
  readonly assumption?: string | undefined;
  readonly notes: readonly string[];
}

async function openGraph(
  weights: string,
  arch: ArchName,
  options: OpenClassifierOptions,
): Promise<OpenedGraph> {
  const source = await resolveWeightsSource(arch, weights, {
    kerasWeights: options.kerasWeights,
  });
  if (source.open !== undefined) {
    // A model that runs as it is: a model folder, a user's Keras model.
    const { folder, notes, network } = await source.open();
    return {
      stored: { model: folder.model, file: folder.file },
      network,
      contract: folder.metadata.contract,
      classes: folder.metadata.classNames.map((label) => ({ label })),
      source: folder.file,
      notes,
    };
  }
  const { loadWeights } = await import('../model/load-weights.js');
  const loaded = await loadWeights({
    arch,
    weights,
    includeTop: true,
    inputSize: 224,
    classes: IMAGENET_CLASSES.length,
    offline: options.offline === true,
    ...(options.cacheDir === undefined ? {} : { cacheDir: options.cacheDir }),
    ...(options.onDownloadProgress === undefined ? {} : { onProgress: options.onDownloadProgress }),
  });
  const network: Network = {
    options: {
      arch,
      includeTop: true,
      inputSize: [224, 224],
      pooling: 'none',
      classes: IMAGENET_CLASSES.length,
    },
    weights: loaded.weights,
    contract: loaded.contract,
    source: loaded.source,
  };
  return {
    network: () => Promise.resolve(network),
    contract: loaded.contract,
    classes: IMAGENET_CLASSES,
    source: loaded.source,
    assumption: loaded.assumption,
    notes: [],
  };
}

/**
 * ORT's optimised graph is cached for a model.onnx on disk, not for graphs built in memory (a
 * Keras model's: its file does not stamp what vggkit built from it).
 */
async function storedSession(
  stored: NonNullable<OpenedGraph['stored']>,
  cacheDir: string,
): Promise<Session> {
  if (basename(stored.file) !== MODEL_FILE) return Session.create(stored.model);
  return (await sessionForModelFile(stored.file, { cacheDir, model: stored.model })).session;
}

async function builtSession(
  network: Network,
  cacheDir: string,
  options: OpenClassifierOptions,
): Promise<{ session: Session; int8: Int8Report | undefined }> {
  const precision = options.precision ?? 'fp32';
  const calibration = precision === 'fp32' ? [] : await listImageFiles(options.calibration ?? []);
  if (precision !== 'fp32' && calibration.length === 0)
    throw new UsageError(
      'MISSING_OPTION',
      `precision ${precision}: expected calibration images (the \`calibration\` files or folders), received ${options.calibration === undefined ? 'none' : `no image in ${options.calibration.join(', ')}`}`,
    );
  const layers = modelLayers(network.options, network.head);
  const { precisionGraph } = await import('../engine/precision-graph.js');
  const { graph, int8 } = await precisionGraph(network, (layers.at(-1) as LayerSpec).name, {
    precision,
    files: calibration,
    cacheDir,
    ...(options.calibrationImages === undefined
      ? {}
      : { calibrationImages: options.calibrationImages }),
    ...(options.onInt8Progress === undefined ? {} : { onProgress: options.onInt8Progress }),
  });
  return { session: await Session.create(graph), int8 };
}

async function predictWith(
  session: Session,
  contract: PreprocessContract,
  classes: readonly ClassName[],
  paths: readonly string[],
  options: PredictOptions,
): Promise<Predictions> {
  const files = await requireImageFiles(paths);
  const predictions: { file: string; top: Prediction[] }[] = [];
  const skipped: SkippedFile[] = [];
  const batchSize = options.batchSize ?? 8;
  for await (const batch of inferBatches(session, files, contract, { batchSize })) {
    skipped.push(...batch.skipped);
    const width = batch.output.dims[1] ?? 0;
    batch.files.forEach((file, row) => {
      const scores = batch.output.data.subarray(row * width, (row + 1) * width);
      predictions.push({
        file,
        top: topK(classProbabilities(scores, classes.length), classes, options.top ?? 5),
      });
    });
  }
  return { predictions, skipped };
}

/** The k highest scores, best first; ties keep the lower class index first. */
export function topK(scores: Float32Array, classes: readonly ClassName[], k: number): Prediction[] {
  const order = Array.from(scores.keys()).sort(
    (a, b) => (scores[b] as number) - (scores[a] as number) || a - b,
  );
  return order.slice(0, k).map((index) => {
    const name = classes[index] ?? { label: `class ${index}` };
    return {
      index,
      ...(name.id === undefined ? {} : { id: name.id }),
      label: name.label,
      probability: scores[index] as number,
    };
  });
}
