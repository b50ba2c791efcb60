/** Shape tests on a training history shared by the dynamics and config families. */
import { series, type TrainingHistory } from './history.js';

/** Train accuracy below halfway from chance to 100% at the end of training means the model cannot fit its own data. */
export const UNDERFIT_PROGRESS = 0.5;
/** Relative loss improvement over the last epochs below 2%: the curve has flattened. */
export const PLATEAU_RELATIVE = 0.02;
/** Epochs the plateau test looks back over. */
export const PLATEAU_WINDOW = 3;
/** Accuracy within 5 points of chance counts as "at chance". */
export const CHANCE_MARGIN = 0.05;
/** Stuck needs at least this many epochs: the first one or two can legitimately sit at chance. */
export const MIN_EPOCHS_STUCK = 3;

export function finite(
  values: readonly { index: number; value: number }[],
): { index: number; value: number }[] {
  return values.filter((v) => Number.isFinite(v.value));
}

export function lastValue(
  history: TrainingHistory,
  metric: 'loss' | 'accuracy' | 'valLoss' | 'valAccuracy',
): number | undefined {
  const values = finite(series(history, metric));
  return values.length === 0 ? undefined : values[values.length - 1].value;
}

/** True when the last PLATEAU_WINDOW epochs improved the loss by less than PLATEAU_RELATIVE. */
export function lossFlattened(history: TrainingHistory): boolean {
  const loss = finite(series(history, 'loss'));
  if (loss.length <= PLATEAU_WINDOW) return false;
  const before = loss[loss.length - 1 - PLATEAU_WINDOW].value;
  const after = loss[loss.length - 1].value;
  return (before - after) / Math.max(Math.abs(before), 1e-12) < PLATEAU_RELATIVE;
}

/**
 * Final validation accuracy at least halfway from chance to perfect: the model has learned, so a
 * low training accuracy is dropout or augmentation measured during training, not a failure to fit.
 */
export function validationLearned(history: TrainingHistory, classes: number): boolean {
  const val = lastValue(history, 'valAccuracy');
  const chance = 1 / classes;
  return val !== undefined && val >= chance + UNDERFIT_PROGRESS * (1 - chance);
}

export function stuckAtChance(history: TrainingHistory, classes: number | undefined): boolean {
  if (classes === undefined || classes < 2 || history.epochs.length < MIN_EPOCHS_STUCK)
    return false;
  if (validationLearned(history, classes)) return false;
  const chance = 1 / classes;
  const acc = finite(series(history, 'accuracy'));
  if (acc.length >= MIN_EPOCHS_STUCK)
    return (
      Math.max(...acc.map((a) => a.value)) <= chance + 2 * CHANCE_MARGIN &&
      acc[acc.length - 1].value <= chance + CHANCE_MARGIN
    );
  const loss = finite(series(history, 'loss')).slice(1);
  return (
    loss.length >= MIN_EPOCHS_STUCK - 1 && loss.every((l) => l.value >= 0.95 * Math.log(classes))
  );
}

/** Final train accuracy less than halfway from chance to perfect, on a flattened curve, not at chance. */
export function underfitting(
  history: TrainingHistory,
  classes: number | undefined,
): { finalAccuracy: number; chance: number } | undefined {
  const accuracy = lastValue(history, 'accuracy');
  if (accuracy === undefined || classes === undefined || history.epochs.length <= PLATEAU_WINDOW)
    return undefined;
  const chance = 1 / classes;
  if (stuckAtChance(history, classes) || validationLearned(history, classes)) return undefined;
  if (accuracy >= chance + UNDERFIT_PROGRESS * (1 - chance) || !lossFlattened(history))
    return undefined;
  return { finalAccuracy: accuracy, chance };
}
