/**
 * Asynchronous successive halving (Li et al. 2020) as Optuna's SuccessiveHalvingPruner writes it
 * (optuna/pruners/_successive_halving.py): rung k ends after `minEpochs x reductionFactor^k`
 * epochs. A trial that reaches a rung records its value there in its own record (Optuna's
 * `completed_rung_k` attribute) and is compared with the values every other trial recorded at that
 * rung so far, itself included: it continues only while it is in the top 1/reductionFactor of them
 * (among the first reductionFactor-1 arrivals, only while it is the best). There is no barrier: a
 * trial is judged against whoever got there before it, so workers never wait for a rung to fill.
 *
 * A trial pauses at each rung below its budget (its checkpoint is written) and a promoted trial
 * continues from that checkpoint. A diverged (NaN) value is pruned at once.
 */
import { invalidOption } from '../../util/errors.js';
import type { Direction, PruneDecision, Scheduler, SchedulerTrial } from '../types.js';

export interface AshaOptions {
  readonly minEpochs: number;
  readonly reductionFactor: number;
}

export class AshaScheduler implements Scheduler {
  readonly name = 'asha';

  constructor(readonly options: AshaOptions) {
    if (!Number.isInteger(options.minEpochs) || options.minEpochs < 1)
      throw invalidOption('--min-epochs', 'a whole number >= 1', options.minEpochs);
    if (!Number.isInteger(options.reductionFactor) || options.reductionFactor < 2)
      throw invalidOption('--reduction-factor', 'a whole number >= 2', options.reductionFactor);
  }

  /** The epoch rung `k` ends at. */
  rungEpoch(k: number): number {
    return this.options.minEpochs * this.options.reductionFactor ** k;
  }

  nextStop(epochs: number, budget: number): number {
    for (let k = 0; this.rungEpoch(k) < budget; k++)
      if (this.rungEpoch(k) > epochs) return this.rungEpoch(k);
    return budget;
  }

  decide(
    trial: SchedulerTrial,
    others: readonly SchedulerTrial[],
    direction: Direction,
  ): PruneDecision {
    const rungs = [...trial.rungs];
    // Optuna's loop: a trial reporting past several rung boundaries at once is judged at each.
    while (
      trial.epochs >= this.rungEpoch(rungs.length) &&
      this.rungEpoch(rungs.length) < trial.budget
    ) {
      const rung = rungs.length;
      if (Number.isNaN(trial.value)) return { prune: true, rungs };
      rungs.push(trial.value);
      const competing = [
        ...others
          .filter((o) => o.id !== trial.id && o.rungs.length > rung)
          .map((o) => o.rungs[rung] as number),
        trial.value,
      ];
      if (!promotable(trial.value, competing, this.options.reductionFactor, direction))
        return { prune: true, rungs };
    }
    return { prune: false, rungs };
  }
}

/** Optuna's _is_trial_promotable_to_next_rung. */
export function promotable(
  value: number,
  competing: readonly number[],
  reductionFactor: number,
  direction: Direction,
): boolean {
  let index = Math.floor(competing.length / reductionFactor) - 1;
  if (index === -1) index = 0;
  const sorted = competing
    .map((v) => (Number.isNaN(v) ? (direction === 'min' ? Infinity : -Infinity) : v))
    .sort((a, b) => a - b);
  return direction === 'max'
    ? value >= (sorted[sorted.length - 1 - index] as number)
    : value <= (sorted[index] as number);
}
