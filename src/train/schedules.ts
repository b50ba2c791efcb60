/**
 * Learning-rate schedules as pure functions of the position in training, so a resumed run computes
 * the same rate without replaying anything. The value is the base rate; the fit loop applies the
 * stage factor and per-block multipliers on top, and ReduceLROnPlateau only acts with `none`.
 *
 * - `none`: the configured `lr` throughout.
 * - `step`: `lr * gamma^floor(epoch / stepEpochs)` (Keras' StepDecay / PyTorch StepLR).
 * - `cosine`: `lr * (1 + cos(pi * step / totalSteps)) / 2`, from `lr` at the first step to 0 after
 *   the last (Keras' CosineDecay with alpha 0).
 * - `one-cycle`: fastai's `fit_one_cycle`: for the first 25% of steps a cosine rise from
 *   `maxLr / 25` (div) to `maxLr`, then a cosine fall to `maxLr / 1e5` (div_final).
 */
import type { ScheduleConfig } from './config.js';

export const ONE_CYCLE_PCT_START = 0.25;
export const ONE_CYCLE_DIV = 25;
export const ONE_CYCLE_DIV_FINAL = 1e5;

export interface SchedulePosition {
  /** Optimizer steps taken before this one (0-based) and the total over the run. */
  readonly step: number;
  readonly totalSteps: number;
  /** 0-based epoch of this step. */
  readonly epoch: number;
}

/** fastai's SchedCos: from `start` at pos 0 to `end` at pos 1 along half a cosine. */
function cosineBetween(start: number, end: number, pos: number): number {
  return start + ((1 + Math.cos(Math.PI * (1 - pos))) * (end - start)) / 2;
}

export function scheduledLr(
  config: { readonly lr: number; readonly schedule: ScheduleConfig },
  at: SchedulePosition,
): number {
  const { lr, schedule } = config;
  const progress = at.totalSteps > 0 ? Math.min(1, Math.max(0, at.step / at.totalSteps)) : 0;
  switch (schedule.name) {
    case 'none':
      return lr;
    case 'step':
      return lr * schedule.gamma ** Math.floor(at.epoch / schedule.stepEpochs);
    case 'cosine':
      return (lr * (1 + Math.cos(Math.PI * progress))) / 2;
    case 'one-cycle': {
      const peak = schedule.maxLr;
      if (progress < ONE_CYCLE_PCT_START)
        return cosineBetween(peak / ONE_CYCLE_DIV, peak, progress / ONE_CYCLE_PCT_START);
      return cosineBetween(
        peak,
        peak / ONE_CYCLE_DIV_FINAL,
        (progress - ONE_CYCLE_PCT_START) / (1 - ONE_CYCLE_PCT_START),
      );
    }
  }
}
