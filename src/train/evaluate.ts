/**
 * `evaluateModel()`: a trained model folder measured on a folder of class sub-folders. The model's
 * own metadata decides the preprocessing and the class order, so evaluation can never preprocess
 * differently from training; data folders are matched to the model's classes by name (a data set
 * may hold only some of them, but never a class the model cannot predict).
 */
import { scanClassFolders } from '../data/dataset.js';
import { inferBatches } from '../engine/inference.js';
import { Session } from '../engine/session.js';
import { batchProbabilities } from '../inference/probabilities.js';
import type { SkippedFile } from '../image/index.js';
import { basename } from 'node:path';
import { describeInt8 } from '../engine/int8/describe.js';
import type { Int8Report } from '../engine/int8/prepare.js';
import { sessionForModelFile } from '../engine/optimized-model.js';
import type { PrecisionRequest } from '../engine/precision-graph.js';
import type { LayerSpec } from '../model/architectures.js';
import { defaultCacheDir } from '../model/download.js';
import { folderNetwork } from '../model/folder-network.js';
import { modelLayers } from '../model/head.js';
import { MODEL_FILE, readModelFolder, type LoadedModelFolder } from '../model/model-folder.js';
import type { Precision } from '../model/precision.js';
import { resolveWeightsSource, type RunnableModel } from '../model/weights-source.js';
import { concatRows, type Float32Tensor } from '../util/tensor.js';
import { unreadableInput, VggkitError } from '../util/errors.js';
import { evaluationReport, type EvaluationReport } from './metrics.js';

export interface EvaluateOptions {
  /** A model folder written by fineTune (model.onnx with vggkit metadata), or a Keras model. */
  readonly model: string;
  /** `--keras-weights`: the weights of a Keras architecture (model.to_json() JSON) given as `model`. */
  readonly kerasWeights?: string;
  /** Folder with one sub-folder per class, named as the model's classes. */
  readonly data: string;
  /** Images per forward pass; default 16. */
  readonly batchSize?: number;
  /** One-line notes for a person (skipped files, classes absent from the data). */
  readonly log?: (line: string) => void;
  /** Images done of total. */
  readonly onProgress?: (done: number, total: number) => void;
  /**
   * Default fp32 (the folder's model.onnx as stored). int8 rebuilds the network from its weights
   * with its convolutions in 8 bits, calibrated on a sample of the evaluation images (no labels
   * are used) and kept only if the accuracy guard passes.
   */
  readonly precision?: Precision;
  readonly calibrationImages?: number;
  /** Where int8 calibrations and ORT's optimised graphs are cached; default $VGGKIT_HOME. */
  readonly cacheDir?: string;
  readonly onInt8Progress?: PrecisionRequest['onProgress'];
}

export interface EvaluationResult extends EvaluationReport {
  /** Files that could not be decoded; they are left out of every metric. */
  readonly skipped: readonly SkippedFile[];
  /** The precision the model ran in. */
  readonly precision: Precision;
  /** With precision int8: the calibration and the guard's figures (and why not, if fp32 ran). */
  readonly int8?: Int8Report;
}

export async function evaluateModel(options: EvaluateOptions): Promise<EvaluationResult> {
  const log = options.log ?? (() => undefined);
  const scan = await scanClassFolders(options.data);
  const { folder, network } = await openRunnable(options, scan.classNames, log);
  const { classNames } = folder.metadata;
  const unknown = scan.classNames.filter((name) => !classNames.includes(name));
  if (unknown.length > 0) {
    throw new VggkitError(
      'CLASS_MISMATCH',
      `${options.data}: class folder${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} not among the model's classes (${classNames.join(', ')})`,
      { file: options.data },
    );
  }
  const absent = classNames.filter((name) => !scan.classNames.includes(name));
  if (absent.length > 0)
    log(
      `no folder in ${options.data} for class${absent.length > 1 ? 'es' : ''} ${absent.join(', ')}: measured as never the true class`,
    );

  // Folder label (index in the scan's sorted names) -> the model's output column.
  const labelOf = new Map<string, number>(
    scan.items.map((item) => [
      item.file,
      classNames.indexOf(scan.classNames[item.label] as string),
    ]),
  );
  const files = scan.items.map((item) => item.file);
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  let int8: Int8Report | undefined;
  let graph: Uint8Array | undefined;
  if ((options.precision ?? 'fp32') !== 'fp32') {
    // Imported here: the fp32 path (most evaluations, and the doctor's) never needs it.
    const { precisionGraph } = await import('../engine/precision-graph.js');
    const net = await network();
    const layers = modelLayers(net.options, net.head);
    const built = await precisionGraph(net, (layers.at(-1) as LayerSpec).name, {
      precision: options.precision ?? 'fp32',
      files,
      cacheDir,
      ...(options.calibrationImages === undefined
        ? {}
        : { calibrationImages: options.calibrationImages }),
      ...(options.onInt8Progress === undefined ? {} : { onProgress: options.onInt8Progress }),
    });
    graph = built.graph;
    int8 = built.int8;
    if (int8 !== undefined) log(describeInt8(int8));
  }
  const { probabilities, labels, skipped } = await predictLabelled(
    folder,
    files.map((file) => ({ file, label: labelOf.get(file) as number })),
    { ...options, cacheDir, ...(graph === undefined ? {} : { graph }) },
  );
  for (const s of skipped) log(`skipped ${s.file}: ${s.reason}`);
  if (labels.length === 0)
    throw unreadableInput('NO_IMAGES', `${options.data}: no image could be read`, {
      file: options.data,
    });
  return {
    ...evaluationReport(probabilities, labels, classNames),
    skipped,
    precision: int8?.precision ?? 'fp32',
    ...(int8 === undefined ? {} : { int8 }),
  };
}

/**
 * The model to measure, as a model folder: a vggkit run folder, or anything else that runs as it
 * is (weights-source.ts `open`: a user's Keras model, whose outputs are taken to be the data's
 * class folders in sorted order, as Keras' directory loaders number them).
 */
async function openRunnable(
  { model, kerasWeights }: Pick<EvaluateOptions, 'model' | 'kerasWeights'>,
  classNames: readonly string[],
  log: (line: string) => void,
): Promise<RunnableModel> {
  const source = await resolveWeightsSource('vgg16', model, { kerasWeights }).catch(
    (error: unknown) => {
      if (error instanceof VggkitError && error.code === 'UNKNOWN_WEIGHTS') return undefined;
      throw error;
    },
  );
  // Not a runnable model: reading it as a model folder says what was expected.
  if (source?.open === undefined) {
    const folder = await readModelFolder(model);
    return { folder, notes: [], network: () => folderNetwork(model, folder) };
  }
  const opened = await source.open(classNames);
  opened.notes.forEach(log);
  return opened;
}

export interface LabelledPredictions {
  /** [images, classes] in the model's class order; a one-output sigmoid model gets both columns. */
  readonly probabilities: Float32Tensor;
  /** The model's column of each image's true class, in the same order. */
  readonly labels: readonly number[];
  readonly skipped: readonly SkippedFile[];
}

/** Runs the model folder on labelled files with its own contract; unreadable files are skipped. */
export async function predictLabelled(
  folder: LoadedModelFolder,
  items: readonly { readonly file: string; readonly label: number }[],
  options: {
    readonly batchSize?: number;
    readonly onProgress?: (done: number, total: number) => void;
    /** The graph to run instead of the folder's model.onnx (the same network, e.g. in int8). */
    readonly graph?: Uint8Array;
    /** Where ORT's optimised graph of model.onnx is kept; default $VGGKIT_HOME. */
    readonly cacheDir?: string;
  } = {},
): Promise<LabelledPredictions> {
  const { classNames, contract } = folder.metadata;
  const labelOf = new Map(items.map((item) => [item.file, item.label]));
  const k = classNames.length;
  const probabilities: Float32Array[] = [];
  const labels: number[] = [];
  const skipped: SkippedFile[] = [];
  // ORT's optimised graph is cached for a model.onnx on disk, not for graphs built in memory
  // (int8, a Keras model: their source file does not stamp what vggkit built from it).
  const session =
    options.graph === undefined && basename(folder.file) === MODEL_FILE
      ? (
          await sessionForModelFile(folder.file, {
            cacheDir: options.cacheDir ?? defaultCacheDir(),
            model: folder.model,
          })
        ).session
      : await Session.create(options.graph ?? folder.model);
  try {
    let done = 0;
    const files = items.map((item) => item.file);
    for await (const batch of inferBatches(session, files, contract, {
      batchSize: options.batchSize ?? 16,
    })) {
      skipped.push(...batch.skipped);
      const rows = batchProbabilities(batch.output, k);
      if (batch.files.length > 0 && rows === undefined) {
        throw new VggkitError(
          'MODEL_METADATA',
          `${folder.file}: expected ${k} outputs (one per class name), received ${String(batch.output.dims[1])}`,
          { file: folder.file },
        );
      }
      for (const file of batch.files) labels.push(labelOf.get(file) as number);
      if (rows !== undefined) probabilities.push(rows.data.slice(0, batch.files.length * k));
      done += batch.files.length + batch.skipped.length;
      options.onProgress?.(done, files.length);
    }
  } finally {
    await session.release();
  }
  return {
    probabilities: concatRows(probabilities, k),
    labels,
    skipped,
  };
}
