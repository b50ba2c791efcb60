/**
 * Learning-rate schedules as pure functions of the position in training, so a resumed run computes
 * the same rate without replaying anything. The value is the base rate; the fit loop applies the
 * stage factor and per-block multipliers on top. ReduceLROnPlateau only acts with `none`: see
 * `plateauReduction`, the one place that decides it.
 *
 * - `none`: the configured `lr` throughout.
 * - `step`: `lr * gamma^floor(epoch / stepEpochs)` (Keras' StepDecay / PyTorch StepLR).
 * - `cosine`: `lr * (1 + cos(pi * step / totalSteps)) / 2`, from `lr` at the first step to 0 after
 *   the last (Keras' CosineDecay with alpha 0).
 * - `one-cycle`: fastai's `fit_one_cycle`: for the first 25% of steps a cosine rise from
 *   `maxLr / 25` (div) to `maxLr`, then a cosine fall to `maxLr / 1e5` (div_final).
 */
import type { ReduceLrConfig, ScheduleConfig } from './config.js';

export const SCHEDULE_NAMES = ['none', 'step', 'cosine', 'one-cycle'] as const;
export type ScheduleName = (typeof SCHEDULE_NAMES)[number];

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

export interface PlateauDecision {
  /** Whether ReduceLROnPlateau runs. */
  readonly active: boolean;
  /** Set when the config asked for ReduceLROnPlateau and a schedule: the line the run logs. */
  readonly note: string | undefined;
}

/**
 * ReduceLROnPlateau or a schedule, never both: a schedule plans the rate over the whole run, and a
 * plateau cut would shift that plan for the rest of it (a cut during one-cycle's warm-up would
 * scale down its peak). So any schedule but `none` turns ReduceLROnPlateau off, and says so.
 */
export function plateauReduction(config: {
  readonly reduceLr: ReduceLrConfig;
  readonly schedule: ScheduleConfig;
}): PlateauDecision {
  if (!config.reduceLr.enabled) return { active: false, note: undefined };
  if (config.schedule.name === 'none') return { active: true, note: undefined };
  return {
    active: false,
    note: `ReduceLROnPlateau is off: the ${config.schedule.name} schedule sets the learning rate (--no-reduce-lr silences this note; --schedule none brings ReduceLROnPlateau back)`,
  };
}
