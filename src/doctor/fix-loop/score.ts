/**
 * What "trains better" means for the fix loop. Accuracy is what a user judges a classifier by, so
 * it ranks first; between equal accuracies (a small validation set saturates at 100%) the loss
 * decides. Losses of candidates with different label smoothing are not comparable as logged: with
 * smoothing s over K classes the target is itself uncertain, its entropy H is a floor the
 * cross-entropy cannot go below, and a uniform guess scores ln K whatever the target. So the loss
 * is compared as the share of the way from a uniform guess to the target still left to go,
 * (CE - H) / (ln K - H): 1 for a model that learned nothing, 0 for a perfect one, with any s.
 */
import { logValue, type EpochLogs } from '../../train/events.js';
import type { TrainConfig } from '../../train/config.js';
import type { Score } from './types.js';

/** A fix must get at least one more validation image right than the user's config ... */
export const MIN_ACCURACY_GAIN_IMAGES = 1;
/** ... or match its accuracy with a loss (above the floor) at least 10% lower: below that, two seeds of one config differ as much. */
export const MIN_LOSS_GAIN = 0.1;

/** The lowest cross-entropy a prediction can reach against targets smoothed by `smoothing` over `classes`. */
export function smoothingFloor(smoothing: number, classes: number): number {
  if (smoothing <= 0 || classes < 2) return 0;
  const onTrue = 1 - smoothing + smoothing / classes;
  const onOther = smoothing / classes;
  return -(onTrue * Math.log(onTrue) + (classes - 1) * onOther * Math.log(onOther));
}

function best(
  history: readonly EpochLogs[],
  name: string,
  pick: (a: number, b: number) => number,
): number {
  let out = Number.NaN;
  for (const logs of history) {
    const v = logValue(logs, name);
    if (v === undefined || !Number.isFinite(v)) continue;
    out = Number.isNaN(out) ? v : pick(out, v);
  }
  return out;
}

/** A run's score: its best epoch's accuracy and loss (validation ones when `validation`). */
export function scoreRun(
  history: readonly EpochLogs[],
  config: TrainConfig,
  classes: number,
  validation: boolean,
): Score {
  const prefix = validation ? 'val_' : '';
  const rawLoss = best(history, `${prefix}loss`, Math.min);
  const floor = smoothingFloor(config.labelSmoothing, classes);
  const uniform = Math.log(Math.max(2, classes));
  return {
    accuracy: best(history, `${prefix}accuracy`, Math.max),
    loss: (rawLoss - floor) / Math.max(uniform - floor, 1e-12),
    rawLoss,
    epochs: history.length,
  };
}

/** Orders scores best first: higher accuracy, then lower loss; a run that never had a finite value last. */
export function compareScores(a: Score, b: Score): number {
  const acc = (s: Score): number => (Number.isNaN(s.accuracy) ? -1 : s.accuracy);
  const loss = (s: Score): number => (Number.isNaN(s.loss) ? Number.POSITIVE_INFINITY : s.loss);
  if (acc(a) !== acc(b)) return acc(b) - acc(a);
  return loss(a) === loss(b) ? 0 : loss(a) < loss(b) ? -1 : 1;
}

/** Whether `fix` trains better than `yours`, by more than the noise of `images` evaluation images. */
export function beats(fix: Score, yours: Score, images: number): boolean {
  if (Number.isNaN(fix.accuracy)) return false;
  if (Number.isNaN(yours.accuracy)) return true;
  const step = images > 0 ? MIN_ACCURACY_GAIN_IMAGES / images : 0.01;
  // Half a step of slack: accuracies are ratios of whole images and arrive as floats.
  if (fix.accuracy >= yours.accuracy + step - step / 2) return true;
  if (fix.accuracy < yours.accuracy - step / 2) return false;
  if (Number.isNaN(fix.loss)) return false;
  return Number.isNaN(yours.loss) || fix.loss <= yours.loss * (1 - MIN_LOSS_GAIN);
}
