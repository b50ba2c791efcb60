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
import { readModelFolder, type LoadedModelFolder } from '../model/model-folder.js';
import { resolveWeightsSource } from '../model/weights-source.js';
import { concatRows, type Float32Tensor } from '../util/tensor.js';
import { VggkitError } from '../util/errors.js';
import { evaluationReport, type EvaluationReport } from './metrics.js';

export interface EvaluateOptions {
  /** A model folder written by fineTune (model.onnx with vggkit metadata). */
  readonly model: string;
  /** Folder with one sub-folder per class, named as the model's classes. */
  readonly data: string;
  /** Images per forward pass; default 16. */
  readonly batchSize?: number;
  /** One-line notes for a person (skipped files, classes absent from the data). */
  readonly log?: (line: string) => void;
  /** Images done of total. */
  readonly onProgress?: (done: number, total: number) => void;
}

export interface EvaluationResult extends EvaluationReport {
  /** Files that could not be decoded; they are left out of every metric. */
  readonly skipped: readonly SkippedFile[];
}

export async function evaluateModel(options: EvaluateOptions): Promise<EvaluationResult> {
  const log = options.log ?? (() => undefined);
  const scan = await scanClassFolders(options.data);
  const folder = await openRunnable(options.model, scan.classNames, log);
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
  if (scan.items.length === 0)
    throw new VggkitError(
      'NO_IMAGES',
      `${options.data}: expected image files in the class folders, found none`,
      { file: options.data },
    );

  // Folder label (index in the scan's sorted names) -> the model's output column.
  const labelOf = new Map<string, number>(
    scan.items.map((item) => [
      item.file,
      classNames.indexOf(scan.classNames[item.label] as string),
    ]),
  );
  const files = scan.items.map((item) => item.file);
  const { probabilities, labels, skipped } = await predictLabelled(
    folder,
    files.map((file) => ({ file, label: labelOf.get(file) as number })),
    options,
  );
  for (const s of skipped) log(`skipped ${s.file}: ${s.reason}`);
  if (labels.length === 0)
    throw new VggkitError('NO_IMAGES', `${options.data}: no image could be read`, {
      file: options.data,
    });
  return { ...evaluationReport(probabilities, labels, classNames), skipped };
}

/**
 * The model to measure, as a model folder: a vggkit run folder, or anything else that runs as it
 * is (weights-source.ts `open`: a user's Keras model, whose outputs are taken to be the data's
 * class folders in sorted order, as Keras' directory loaders number them).
 */
async function openRunnable(
  model: string,
  classNames: readonly string[],
  log: (line: string) => void,
): Promise<LoadedModelFolder> {
  const source = await resolveWeightsSource('vgg16', model).catch((error: unknown) => {
    if (error instanceof VggkitError && error.code === 'UNKNOWN_WEIGHTS') return undefined;
    throw error;
  });
  // Not a runnable model: reading it as a model folder says what was expected.
  if (source?.open === undefined) return readModelFolder(model);
  const { folder, notes } = await source.open(classNames);
  notes.forEach(log);
  return folder;
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
  } = {},
): Promise<LabelledPredictions> {
  const { classNames, contract } = folder.metadata;
  const labelOf = new Map(items.map((item) => [item.file, item.label]));
  const k = classNames.length;
  const probabilities: Float32Array[] = [];
  const labels: number[] = [];
  const skipped: SkippedFile[] = [];
  const session = await Session.create(folder.model);
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
