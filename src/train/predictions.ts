/**
 * What a model folder says about how well it classifies, for the run page and anyone else:
 *
 *   predictions.json  written by fineTune at the end of a run with a validation set: the final
 *                     model's metrics on it (from the probabilities its last validation pass
 *                     computed on the cached features: ValidationOutputs) and its top losses — the validation images it is most
 *                     confidently wrong about (fastai's plot_top_losses) — with small thumbnails
 *                     in top-losses/ (the images themselves live outside the run folder).
 *   evaluation.json   written by `vggkit evaluate` beside the model it measured: the same metrics
 *                     on the data folder it was given.
 *
 * Schema (version 1), both files: v, time (ms since the Unix epoch), split ('validation' or
 * 'evaluation'), data (the folder measured), classNames, images, skipped, accuracy, loss,
 * perClass [{ name, precision, recall, f1, support }], confusionMatrix (rows: true class, columns:
 * predicted). predictions.json adds topLosses [{ file, thumbnail (path relative to the model
 * folder, absent when the image could not be read), label, predicted, probability (of the
 * predicted class), trueProbability, loss }], worst first. evaluation.json adds precision (what
 * ran: fp32, or int8 when `--precision int8` was asked for and its accuracy guard passed) and,
 * when int8 was asked for, int8 (the calibration and the guard's figures: Int8Report,
 * src/engine/int8/prepare.ts).
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Int8Report } from '../engine/int8/prepare.js';
import { thumbnailJpeg } from '../image/index.js';
import { readModelFolder } from '../model/model-folder.js';
import type { Precision } from '../model/precision.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic.js';
import { predictLabelled, type EvaluationResult } from './evaluate.js';
import {
  evaluationReport,
  predictedClasses,
  type ClassMetrics,
  type EvaluationReport,
} from './metrics.js';
import type { Float32Tensor } from '../util/tensor.js';

export const PREDICTIONS_FILE = 'predictions.json';
export const EVALUATION_FILE = 'evaluation.json';
export const TOP_LOSSES_DIR = 'top-losses';
/** Enough to see a pattern (one class confused with another), few enough to look at. */
export const TOP_LOSSES = 16;
/** Keras' probability clipping, as the loss in metrics.ts. */
const EPSILON = 1e-7;

export interface MetricsFile {
  readonly v: 1;
  readonly time: number;
  readonly split: 'validation' | 'evaluation';
  readonly data: string;
  readonly classNames: readonly string[];
  readonly images: number;
  readonly skipped: number;
  readonly accuracy: number;
  readonly loss: number;
  readonly perClass: readonly ClassMetrics[];
  readonly confusionMatrix: readonly (readonly number[])[];
}

export interface TopLoss {
  readonly file: string;
  readonly thumbnail?: string;
  readonly label: number;
  readonly predicted: number;
  readonly probability: number;
  readonly trueProbability: number;
  readonly loss: number;
}

export interface EvaluationFile extends MetricsFile {
  readonly split: 'evaluation';
  readonly precision: Precision;
  readonly int8?: Int8Report;
}

export interface PredictionsFile extends MetricsFile {
  readonly split: 'validation';
  readonly topLosses: readonly TopLoss[];
}

async function thumbnail(file: string, out: string): Promise<boolean> {
  try {
    const jpeg = await thumbnailJpeg(file);
    await writeFileAtomic(out, jpeg);
    return true;
  } catch {
    return false;
  }
}

/**
 * The final model's class probabilities on the readable validation images, in the order of
 * `files`. fineTune keeps them from its last validation pass (the head on the cached features),
 * so writing predictions.json runs no network.
 */
export interface ValidationOutputs {
  readonly files: readonly string[];
  /** Each file's true class (an index into the class names). */
  readonly labels: readonly number[];
  /** [files, classes], in the class names' order. */
  readonly probabilities: Float32Tensor;
}

/**
 * The model folder run on labelled images: for a finished run whose validation outputs were never
 * recorded (resumed from a checkpoint written before they were kept). Unreadable files are left out.
 */
export async function modelValidationOutputs(
  modelDir: string,
  val: readonly { readonly file: string; readonly label: number }[],
): Promise<ValidationOutputs> {
  const { probabilities, labels, skipped } = await predictLabelled(
    await readModelFolder(modelDir),
    val,
  );
  const unreadable = new Set(skipped.map((s) => s.file));
  return { files: val.map((v) => v.file).filter((f) => !unreadable.has(f)), labels, probabilities };
}

/**
 * predictions.json and top-losses/ from the validation outputs; only the top-loss images are read
 * again, for their thumbnails. `skipped` counts the validation images that could not be read.
 */
export async function writeValPredictions(
  modelDir: string,
  outputs: ValidationOutputs,
  options: {
    readonly classNames: readonly string[];
    readonly data: string;
    readonly skipped: number;
  },
): Promise<PredictionsFile> {
  const { probabilities, labels, files } = outputs;
  const report = evaluationReport(probabilities, labels, options.classNames);
  const k = probabilities.dims[1] as number;
  const predicted = predictedClasses(probabilities);
  const rows = labels.map((label, i) => {
    const trueProbability = probabilities.data[i * k + label] as number;
    return {
      file: files[i] as string,
      label,
      predicted: predicted[i] as number,
      probability: probabilities.data[i * k + (predicted[i] as number)] as number,
      trueProbability,
      loss: -Math.log(Math.min(1 - EPSILON, Math.max(EPSILON, trueProbability))),
    };
  });
  const worst = rows.sort((a, b) => b.loss - a.loss).slice(0, TOP_LOSSES);
  const thumbs = join(modelDir, TOP_LOSSES_DIR);
  await rm(thumbs, { recursive: true, force: true });
  await mkdir(thumbs, { recursive: true });
  const topLosses: TopLoss[] = [];
  for (const [i, row] of worst.entries()) {
    const name = `${TOP_LOSSES_DIR}/${String(i).padStart(2, '0')}.jpg`;
    const ok = await thumbnail(row.file, join(modelDir, name));
    topLosses.push({ ...row, ...(ok ? { thumbnail: name } : {}) });
  }
  const file: PredictionsFile = {
    ...metricsFile('validation', options.data, report, labels.length, options.skipped),
    split: 'validation',
    topLosses,
  };
  await writeJsonAtomic(join(modelDir, PREDICTIONS_FILE), file);
  return file;
}

function metricsFile(
  split: MetricsFile['split'],
  data: string,
  report: EvaluationReport,
  images: number,
  skipped: number,
): MetricsFile {
  return {
    v: 1,
    time: Date.now(),
    split,
    data,
    classNames: report.classNames,
    images,
    skipped,
    accuracy: report.accuracy,
    loss: report.loss,
    perClass: report.perClass,
    confusionMatrix: report.confusionMatrix,
  };
}

/** evaluation.json beside the model `vggkit evaluate` measured. */
export async function writeEvaluation(
  modelDir: string,
  data: string,
  result: EvaluationResult,
): Promise<void> {
  const images = result.confusionMatrix.flat().reduce((a, b) => a + b, 0);
  const file: EvaluationFile = {
    ...metricsFile('evaluation', data, result, images, result.skipped.length),
    split: 'evaluation',
    precision: result.precision,
    ...(result.int8 === undefined ? {} : { int8: result.int8 }),
  };
  await writeJsonAtomic(join(modelDir, EVALUATION_FILE), file);
}
