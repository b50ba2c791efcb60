/**
 * Shape tests on a training history shared by the dynamics and config families.
 *
 * Every threshold is tuned to stay quiet on the 31 real Keras logs in ../shared/real-world/logs/
 * read as a practitioner reads them (test/doctor/real-logs.md holds that reading; the test
 * test/doctor/real-logs.test.ts asserts it); each constant names the logs that set it.
 */
import { series, type EpochRecord, type TrainingHistory } from './history.js';
import { median } from '../util/stats.js';

/**
 * Train accuracy below halfway from chance to 100% at the end of training means the model cannot
 * fit its own data. Evidence: the lowest final training accuracies of runs a practitioner calls
 * healthy sit just above it — aditya24jar_fer7 63% on 7 classes (0.57 of the way; typical for
 * FER-2013), tonyhsu32_utk5 phase 1 67% on 5 (0.59), nimmitahsin_breastcancer 81% on 2 (0.62).
 * The 5-epoch head runs of akshatsharma_mri4 (0.32-0.38) are below it but still falling, so
 * lossFlattened keeps them out.
 */
export const UNDERFIT_PROGRESS = 0.5;
/**
 * Without a usable accuracy (none logged, or a binary accuracy on a softmax), a training loss
 * that levels off above half of ln(classes) — uniform guessing — has not fitted the data.
 * Evidence: emanuellemoco_fer7 to_json (frozen VGG16, loss 1.93 -> 1.71 against ln 7 = 1.95 in
 * 58 epochs); the learning 7-class run aditya24jar_fer7 ends at 0.96 = 0.49 ln 7.
 */
export const UNDERFIT_LOSS_FRACTION = 0.5;
/**
 * Training loss moved by less than 2% over its last 3 epochs: the curve has flattened (the
 * underfitting test's "it has reached what it can"). Evidence: emanuellemoco_fer7 to_json, frozen
 * and underfitting, moves 0.3%; the runs short of a fit that are still learning move more —
 * aditya24jar_fer7 2.3%, tonyhsu32_utk5 phase 1 2.8%. Converged runs can move less
 * (anwaykapoor_mri4 0.9%) but have long passed UNDERFIT_PROGRESS. Three
 * epochs: the seed's ReduceLROnPlateau patience, and the most a 5-epoch log can spare.
 */
export const PLATEAU_RELATIVE = 0.02;
export const PLATEAU_WINDOW = 3;
/**
 * Accuracy within 5 points of chance counts as "at chance" (the mean of the last 3 epochs; no
 * epoch more than 10 points above it). Evidence: emanuellemoco_fer7 NUL-header, stuck, ends 2.5
 * points above 1/7 and peaks 5.0 above it (119 images: steps of 0.8 points); fsrt16_bach4
 * vgg16/xception sit within 0.4. The learning run closest to chance, akshatsharma_mri4 fit 4,
 * peaks 24 points above 1/4 in 5 epochs.
 */
export const CHANCE_MARGIN = 0.05;
/**
 * Stuck needs at least this many epochs: the first one or two can legitimately sit at chance
 * (tonyhsu32_utk5 phase 1 starts validation below chance, at 15% for 5 classes). The shortest
 * stuck real log has 5 epochs (emanuellemoco_fer7 NUL-header).
 */
export const MIN_EPOCHS_STUCK = 3;
/**
 * A training loss that stays at 95% of ln(classes) or more after the first epoch is uniform
 * guessing, whatever a noisy accuracy says. Evidence: noelcodes_furniture13 (loss 2.563 -> 2.540
 * against ln 13 = 2.565 over 100 epochs while accuracy wanders between 6% and 20%),
 * fsrt16_bach4 vgg16/xception (1.386 = ln 4 for 20 epochs).
 */
export const STUCK_LOSS_FRACTION = 0.95;
/**
 * Keras clips probabilities to [1e-7, 1 - 1e-7] before its cross-entropy (backend epsilon), so
 * one image costs at most -ln(1e-7) = 16.1 nats, and a correctly classified one at most
 * ln(classes). A mean loss above accuracy * ln(classes) + (1 - accuracy) * 16.1 is not plain
 * cross-entropy: it carries a weight penalty (kernel_regularizer). Evidence:
 * brandtkaufmann_cats5 (first-epoch loss 7.26 at 89% accuracy; the bound is 3.2).
 */
export const MAX_IMAGE_LOSS = -Math.log(1e-7);
/**
 * BinaryAccuracy on an n-way softmax thresholds every output at 0.5: with nothing learned no
 * output passes, so it reads (n-1)/n; it can never fall below (n-2)/n (at most one output
 * passes). An accuracy series whose median sits within 2 points of (n-1)/n, never leaves
 * [(n-2)/n, (n-1)/n + 4 points], while the loss stays at a chance level, is that metric.
 * Evidence: emanuellemoco_fer7 to_json (accuracy 0.8547-0.8580 for 58 epochs, 6/7 = 0.857,
 * recall ~0.01: the softmax never passes 0.5).
 */
export const BINARY_MARGIN = 0.02;
/**
 * "Chance-level loss" for the binary-accuracy test: cross-entropy at 80% of ln(n) or more
 * (emanuellemoco_fer7 to_json stays at 0.88 ln 7), or binary cross-entropy within 25% of its
 * uniform-guess value. A learning model leaves both: aman001_plant19 phase 1 reads 0.94-0.96
 * accuracy, close to 18/19, with a validation loss of 0.11-0.19 = 0.04-0.06 ln 19.
 */
export const BINARY_LOSS_FRACTION = 0.8;
export const BINARY_BCE_TOLERANCE = 0.25;
/**
 * Final loss 50% above its best: the optimiser has left the minimum ... Evidence: the
 * scratch-trained ricecovid_xray3 stays 2.3x above its best over its last 3 epochs; no healthy
 * real log's last 3 epochs stay more than 1.14x above it (alokd604_soybean3; arjunpesaru_brats4
 * 1.10). saitejagaje_mri4 resnet50 (1.27, jumping up and down) is oscillation, not divergence.
 */
export const DIVERGE_FACTOR = 1.5;
/** ... rising for this many consecutive epochs, or staying that far above its best for as many (one or two high epochs are a spike) ... */
export const DIVERGE_RISING_EPOCHS = 3;
/**
 * ... by at least 0.1 nats: below that a 50% rise is noise on a converged near-zero loss
 * (alokd604_soybean3 ends between 0.0057 and 0.0078; aitzaz_tomato10 ends 1.9x its best, 0.04
 * above it). ricecovid_xray3 scratch rises from 0.585 to 3.31, 1.33, 2.12 and never comes back.
 */
export const DIVERGE_MIN_RISE = 0.1;

export type Point = { index: number; value: number };

export function finite(values: readonly Point[]): Point[] {
  return values.filter((v) => Number.isFinite(v.value));
}

export function lastValue(
  history: TrainingHistory,
  metric: 'loss' | 'accuracy' | 'valLoss' | 'valAccuracy',
): number | undefined {
  const values = finite(series(history, metric));
  return values.length === 0 ? undefined : (values[values.length - 1] as Point).value;
}

/** Epochs that trained (an empty epoch ran no batch). */
export function trainedEpochs(history: TrainingHistory): EpochRecord[] {
  return history.epochs.filter((e) => e.empty !== true);
}

/**
 * Each value replaced by the median of itself and its neighbours (two at the ends): removes
 * one-epoch spikes and dips, keeps a monotone trend exactly. The trend that noise and
 * oscillation are measured against.
 */
export function runningMedian(values: readonly Point[]): Point[] {
  return values.map((p, i) => ({
    index: p.index,
    value: median(values.slice(Math.max(0, i - 1), i + 2).map((q) => q.value)),
  }));
}

/** True when the loss moved by less than PLATEAU_RELATIVE over the last PLATEAU_WINDOW epochs (a rising loss has not levelled off). */
export function lossFlattened(history: TrainingHistory): boolean {
  const loss = finite(series(history, 'loss'));
  if (loss.length <= PLATEAU_WINDOW) return false;
  const before = (loss[loss.length - 1 - PLATEAU_WINDOW] as Point).value;
  const after = (loss[loss.length - 1] as Point).value;
  return Math.abs(before - after) / Math.max(Math.abs(before), 1e-12) < PLATEAU_RELATIVE;
}

const halfway = (classes: number): number => {
  const chance = 1 / classes;
  return chance + UNDERFIT_PROGRESS * (1 - chance);
};

/**
 * Final validation accuracy at least halfway from chance to perfect: the model has learned, so a
 * low training accuracy is dropout or augmentation measured during training, not a failure to fit.
 */
export function validationLearned(history: TrainingHistory, classes: number): boolean {
  const val = lastValue(history, 'valAccuracy');
  return val !== undefined && val >= halfway(classes);
}

function meanOfLast(values: readonly Point[], n: number): number {
  const tail = values.slice(-n).map((p) => p.value);
  return tail.reduce((a, b) => a + b, 0) / tail.length;
}

export function stuckAtChance(history: TrainingHistory, classes: number | undefined): boolean {
  if (classes === undefined || classes < 2 || trainedEpochs(history).length < MIN_EPOCHS_STUCK)
    return false;
  if (validationLearned(history, classes)) return false;
  const chance = 1 / classes;
  const acc = finite(series(history, 'accuracy'));
  const accuracyLearned =
    acc.length >= MIN_EPOCHS_STUCK && meanOfLast(acc, MIN_EPOCHS_STUCK) >= halfway(classes);
  // The mean of the last epochs, not the last one: 119 training images move accuracy in steps
  // of 0.8 points (emanuellemoco_fer7 NUL-header log ends 0.193, 0.118, 0.193 at chance 0.143).
  const atChanceByAccuracy =
    acc.length >= MIN_EPOCHS_STUCK &&
    Math.max(...acc.map((a) => a.value)) <= chance + 2 * CHANCE_MARGIN &&
    meanOfLast(acc, MIN_EPOCHS_STUCK) <= chance + CHANCE_MARGIN;
  const loss = finite(series(history, 'loss')).slice(1);
  const atChanceByLoss =
    !accuracyLearned &&
    loss.length >= MIN_EPOCHS_STUCK - 1 &&
    loss.every((l) => l.value >= STUCK_LOSS_FRACTION * Math.log(classes));
  return atChanceByAccuracy || atChanceByLoss;
}

export interface Underfit {
  readonly chance: number;
  readonly finalAccuracy?: number;
  readonly finalLoss?: number;
  readonly chanceLoss?: number;
}

/** Final train accuracy (or, without one, loss) less than halfway from chance, on a flattened curve, not at chance. */
export function underfitting(
  history: TrainingHistory,
  classes: number | undefined,
): Underfit | undefined {
  if (classes === undefined || trainedEpochs(history).length <= PLATEAU_WINDOW) return undefined;
  const chance = 1 / classes;
  if (stuckAtChance(history, classes) || validationLearned(history, classes)) return undefined;
  if (!lossFlattened(history)) return undefined;
  const accuracy = lastValue(history, 'accuracy');
  if (accuracy !== undefined)
    return accuracy >= halfway(classes) ? undefined : { finalAccuracy: accuracy, chance };
  const loss = lastValue(history, 'loss');
  const chanceLoss = Math.log(classes);
  if (loss === undefined || loss < UNDERFIT_LOSS_FRACTION * chanceLoss) return undefined;
  return { finalLoss: loss, chanceLoss, chance };
}

/** The loss cannot be plain (clipped) cross-entropy at this accuracy: it carries a penalty term. */
export function exceedsCrossEntropy(loss: number, accuracy: number, classes: number): boolean {
  return loss > accuracy * Math.log(classes) + (1 - accuracy) * MAX_IMAGE_LOSS;
}

/** Binary cross-entropy of a uniform n-way softmax against one-hot labels, per output. */
export function uniformBinaryCrossEntropy(classes: number): number {
  const p = 1 / classes;
  return -(p * Math.log(p) + (1 - p) * Math.log(1 - p));
}

export interface BinaryAccuracyEvidence {
  /** Median of the accuracy series that gave it away. */
  readonly accuracy: number;
  /** (n-1)/n: what BinaryAccuracy reads when nothing is learned. */
  readonly nothingLearned: number;
  readonly column: 'accuracy' | 'val_accuracy';
  /** The log names the metric binary_accuracy itself. */
  readonly named: boolean;
}

/** The "accuracy" of this log is BinaryAccuracy on a multi-class softmax (see BINARY_MARGIN). */
export function binaryAccuracy(
  history: TrainingHistory,
  classes: number | undefined,
): BinaryAccuracyEvidence | undefined {
  if (classes === undefined || classes < 3) return undefined;
  const nothingLearned = (classes - 1) / classes;
  const acc = finite(series(history, 'accuracy'));
  if (history.accuracyName === 'binary_accuracy') {
    const values = acc.length > 0 ? acc : finite(series(history, 'valAccuracy'));
    return {
      accuracy: median(values.map((p) => p.value)),
      nothingLearned,
      column: acc.length > 0 ? 'accuracy' : 'val_accuracy',
      named: true,
    };
  }
  const losses = [...finite(series(history, 'loss')), ...finite(series(history, 'valLoss'))].map(
    (p) => p.value,
  );
  if (losses.length === 0) return undefined;
  const bce = uniformBinaryCrossEntropy(classes);
  const chanceLoss =
    Math.min(...losses) >= BINARY_LOSS_FRACTION * Math.log(classes) ||
    losses.every((l) => Math.abs(l - bce) <= BINARY_BCE_TOLERANCE * bce);
  if (!chanceLoss) return undefined;
  for (const [metric, column] of [
    ['accuracy', 'accuracy'],
    ['valAccuracy', 'val_accuracy'],
  ] as const) {
    const values = finite(series(history, metric)).map((p) => p.value);
    if (values.length < MIN_EPOCHS_STUCK) continue;
    const middle = median(values);
    const inBand = values.every(
      (v) => v >= (classes - 2) / classes && v <= nothingLearned + 2 * BINARY_MARGIN,
    );
    if (inBand && Math.abs(middle - nothingLearned) <= BINARY_MARGIN)
      return { accuracy: middle, nothingLearned, column, named: false };
  }
  return undefined;
}

/** The history without its accuracy columns, for judging a run whose "accuracy" means something else. */
export function withoutAccuracy(history: TrainingHistory): TrainingHistory {
  return {
    ...history,
    epochs: history.epochs.map(({ accuracy: _a, valAccuracy: _v, ...rest }) => rest),
  };
}

export interface Divergence {
  readonly best: Point;
  readonly last: Point;
  /** True: rising every epoch; false: staying far above the best. */
  readonly rising: boolean;
}

/** The training loss has left its minimum and not come back (DIVERGE_* above). */
export function divergence(history: TrainingHistory): Divergence | undefined {
  const loss = finite(series(history, 'loss'));
  if (loss.length < DIVERGE_RISING_EPOCHS + 1) return undefined;
  const best = loss.reduce((a, b) => (b.value < a.value ? b : a));
  const last = loss[loss.length - 1] as Point;
  const tail = loss.slice(-DIVERGE_RISING_EPOCHS - 1);
  const rising = tail.every((p, i) => i === 0 || p.value > (tail[i - 1] as Point).value);
  const away = tail.slice(1);
  const farAbove =
    away.every((p) => p.index > best.index) &&
    Math.min(...away.map((p) => p.value)) > DIVERGE_FACTOR * best.value &&
    Math.min(...away.map((p) => p.value)) - best.value >= DIVERGE_MIN_RISE;
  const risen =
    last.value > DIVERGE_FACTOR * best.value && last.value - best.value >= DIVERGE_MIN_RISE;
  if (!(rising && risen) && !farAbove) return undefined;
  return { best, last, rising };
}
