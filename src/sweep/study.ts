/**
 * One sweep's trial records and the ask/tell logic around them, free of processes and queues:
 * `next()` says which job to dispatch (a promoted trial first, so ASHA keeps its best trials
 * moving, else a newly asked one), `tell()` records a job's outcome exactly once per
 * (trial, stop epoch) and applies the scheduler's decision. The coordinator (run-sweep.ts) drives
 * it the same way for the local pool and for the BullMQ queue.
 */
import type { TrainConfig } from '../train/config.js';
import { bestOf, better, type Monitor } from './monitor.js';
import type { TrialRecord } from './results.js';
import { trialConfig } from './space.js';
import type {
  SearchSpace,
  Observation,
  Sampler,
  Scheduler,
  SchedulerTrial,
  TrialOutcome,
} from './types.js';

export interface StudyOptions {
  readonly sampler: Sampler;
  readonly scheduler: Scheduler;
  readonly monitor: Monitor;
  readonly base: TrainConfig;
  readonly space: SearchSpace;
  readonly trials: number;
}

export interface Dispatch {
  readonly record: TrialRecord;
  readonly config: TrainConfig;
}

export function trialId(number: number): string {
  return `t${String(number).padStart(3, '0')}`;
}

export class Study {
  private readonly records: TrialRecord[];

  constructor(
    private readonly options: StudyOptions,
    records: readonly TrialRecord[] = [],
  ) {
    // A coordinator that died left trials marked running: they are dispatched again (and resume
    // from their own checkpoints); a job still running somewhere reports under the same key.
    this.records = records.map((r) => (r.status === 'running' ? { ...r, status: 'waiting' } : r));
  }

  get trials(): readonly TrialRecord[] {
    return this.records;
  }

  get done(): boolean {
    return (
      this.records.length >= this.options.trials &&
      this.records.every(
        (r) => r.status === 'completed' || r.status === 'pruned' || r.status === 'failed',
      )
    );
  }

  /** The next job to run, or undefined when every trial is asked and none is waiting. */
  next(): Dispatch | undefined {
    const waiting = this.records.find((r) => r.status === 'waiting');
    if (waiting !== undefined) return this.start(waiting);
    if (this.records.length >= this.options.trials) return undefined;
    const number = this.records.length;
    const params = this.options.sampler.ask(number, this.observations());
    const config = trialConfig(this.options.base, this.options.space, params);
    const record: TrialRecord = {
      id: trialId(number),
      number,
      params,
      status: 'waiting',
      epochs: 0,
      budget: config.epochs,
      history: [],
      value: Number.NaN,
      bestEpoch: -1,
      rungs: [],
      stopAt: this.options.scheduler.nextStop(0, config.epochs),
      reported: [],
      seconds: 0,
      workers: [],
      featuresComputed: 0,
      recoveries: 0,
    };
    this.records.push(record);
    return this.start(record);
  }

  private start(record: TrialRecord): Dispatch {
    const running: TrialRecord = { ...record, status: 'running' };
    this.replace(running);
    return {
      record: running,
      config: trialConfig(this.options.base, this.options.space, record.params),
    };
  }

  /** Records a job's outcome; returns the updated record, or undefined for a duplicate delivery. */
  tell(outcome: TrialOutcome): TrialRecord | undefined {
    const record = this.records.find((r) => r.id === outcome.trialId);
    if (record === undefined || record.reported.includes(outcome.stopAt)) return undefined;
    if (record.status !== 'running' && record.status !== 'waiting') return undefined;
    const best = bestOf(outcome.history, this.options.monitor);
    let updated: TrialRecord = {
      ...record,
      history: outcome.history,
      epochs: outcome.history.length,
      value: best.value,
      bestEpoch: best.epoch,
      reported: [...record.reported, outcome.stopAt],
      seconds: record.seconds + outcome.seconds,
      workers: record.workers.includes(outcome.worker)
        ? record.workers
        : [...record.workers, outcome.worker],
      featuresComputed: record.featuresComputed + outcome.featuresComputed,
      recoveries: record.recoveries + (outcome.startedAt > record.epochs ? 1 : 0),
      ...(outcome.stoppedBy === undefined ? {} : { stoppedBy: outcome.stoppedBy }),
    };
    if (outcome.status === 'failed') {
      updated = {
        ...updated,
        status: 'failed',
        ...(outcome.error === undefined ? {} : { error: outcome.error }),
      };
    } else if (outcome.status === 'finished') {
      updated = { ...updated, status: 'completed' };
    } else {
      const decision = this.options.scheduler.decide(
        schedulerView(updated),
        this.records.filter((r) => r.id !== record.id).map(schedulerView),
        this.options.monitor.direction,
      );
      updated = decision.prune
        ? { ...updated, rungs: decision.rungs, status: 'pruned' }
        : {
            ...updated,
            rungs: decision.rungs,
            status: 'waiting',
            stopAt: this.options.scheduler.nextStop(updated.epochs, updated.budget),
          };
    }
    this.replace(updated);
    return updated;
  }

  /** What the sampler may learn from: every trial that has reported a value. */
  observations(): Observation[] {
    return this.records
      .filter(
        (r) =>
          r.status === 'completed' ||
          r.status === 'pruned' ||
          (r.reported.length > 0 && r.status !== 'failed'),
      )
      .map((r) => ({
        params: r.params,
        status:
          r.status === 'completed' ? 'completed' : r.status === 'pruned' ? 'pruned' : 'running',
        epochs: r.epochs,
        value: r.value,
      }));
  }

  /** The completed trial with the best value (pruned trials never won a full budget). */
  best(): TrialRecord | undefined {
    let best: TrialRecord | undefined;
    for (const r of this.records)
      if (
        r.status === 'completed' &&
        (best === undefined || better(r.value, best.value, this.options.monitor.direction))
      )
        best = r;
    return best !== undefined && Number.isNaN(best.value) ? undefined : best;
  }

  private replace(record: TrialRecord): void {
    const index = this.records.findIndex((r) => r.id === record.id);
    this.records[index] = record;
  }
}

function schedulerView(r: TrialRecord): SchedulerTrial {
  return { id: r.id, epochs: r.epochs, budget: r.budget, value: r.value, rungs: r.rungs };
}
