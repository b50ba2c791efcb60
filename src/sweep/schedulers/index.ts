/** The closed list of schedulers (trial pruners): the CLI, its help text and sweep.json name them from here. */
import { oneOf } from '../../util/errors.js';
import type { PruneDecision, Scheduler, SchedulerTrial } from '../types.js';
import { AshaScheduler, type AshaOptions } from './asha.js';

export const SCHEDULER_NAMES = ['none', 'asha'] as const;
export type SchedulerName = (typeof SCHEDULER_NAMES)[number];

/** ASHA's defaults: Optuna's reduction factor would be 4; 3 is Li et al.'s and keeps more than one rung in a 20-epoch budget. */
export const DEFAULT_ASHA: AshaOptions = { minEpochs: 1, reductionFactor: 3 };

export function parseSchedulerName(value: unknown, name = '--scheduler'): SchedulerName {
  return oneOf(name, SCHEDULER_NAMES, value);
}

/** Every trial runs its whole budget. */
export class NoScheduler implements Scheduler {
  readonly name = 'none';

  nextStop(_epochs: number, budget: number): number {
    return budget;
  }

  decide(trial: SchedulerTrial): PruneDecision {
    return { prune: false, rungs: trial.rungs };
  }
}

export function createScheduler(name: SchedulerName, asha: AshaOptions = DEFAULT_ASHA): Scheduler {
  return name === 'asha' ? new AshaScheduler(asha) : new NoScheduler();
}
