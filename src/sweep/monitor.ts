/**
 * What a sweep ranks trials by: one logged metric (`--monitor`, default val_loss) and its
 * direction (`--mode`, auto by Keras' rule: a name containing `acc` is maximised). A trial's value
 * is its best epoch's value, as ModelCheckpoint would keep it; NaN when no epoch was finite.
 */
import { directionByName } from '../train/callbacks/monitor.js';
import { logValue, type EpochLogs } from '../train/events.js';
import type { TrainConfig } from '../train/config.js';
import { oneOf, UsageError } from '../util/errors.js';
import type { Direction } from './types.js';

export const MONITORS = ['val_loss', 'val_accuracy', 'loss', 'accuracy'] as const;
export type MonitorName = (typeof MONITORS)[number];

export interface Monitor {
  readonly name: MonitorName;
  readonly direction: Direction;
}

export function parseMonitor(name: unknown, mode: unknown, base: TrainConfig): Monitor {
  const checked = oneOf('--monitor', MONITORS, name);
  if (checked.startsWith('val_') && base.valSplit === 0 && base.val === undefined)
    throw new UsageError(
      'OPTION_DATA_CONFLICT',
      `--monitor ${checked}: there is no validation set (--val-split 0 and no --val); monitor loss or give a validation set`,
    );
  return { name: checked, direction: directionByName('--mode', mode, checked) };
}

/** The best monitored value of a history and its 0-based epoch; NaN and -1 when none is finite. */
export function bestOf(
  history: readonly EpochLogs[],
  monitor: Monitor,
): { value: number; epoch: number } {
  let value = Number.NaN;
  let epoch = -1;
  history.forEach((logs, i) => {
    const v = logValue(logs, monitor.name);
    if (v === undefined || !Number.isFinite(v)) return;
    if (epoch < 0 || (monitor.direction === 'min' ? v < value : v > value)) {
      value = v;
      epoch = i;
    }
  });
  return { value, epoch };
}

/** Whether `a` is a better value than `b` (a NaN is worse than anything). */
export function better(a: number, b: number, direction: Direction): boolean {
  if (Number.isNaN(a)) return false;
  if (Number.isNaN(b)) return true;
  return direction === 'min' ? a < b : a > b;
}
