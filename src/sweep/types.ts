/**
 * `vggkit sweep`: many training configurations on the user's own images, cheaply because the
 * frozen base runs once per image for the whole sweep. The subsystem's shape:
 *
 *   space.ts       settings given as `lo..hi` / `a,b,c` / `x|y` (train flags, mapped by the CLI
 *                  through the one train flag table, or a `search` object in --config) -> a
 *                  SearchSpace of Dimensions; every value checked by the config schema's own check,
 *                  naming the flag, before anything runs; `trialConfig(base, space, params)` is a
 *                  trial's complete TrainConfig.
 *   samplers/      `Sampler` (grid, random, tpe): ask-and-tell as Optuna splits it
 *                  (optuna/samplers/_base.py): a sampler is a pure function of the seed, the trial
 *                  number and the trials told so far, so one sampler serves the local loop and the
 *                  queue coordinator alike.
 *   schedulers/    `Scheduler` (none, asha): where a trial pauses next (its next rung) and, when it
 *                  has paused there, whether it is pruned (optuna/pruners/_base.py `prune`). ASHA's
 *                  bookkeeping lives in the trial's own record (`rungs`), with no global barrier.
 *   study.ts       the records of one sweep and the ask/tell loop state: which trial runs next,
 *                  to which epoch, and what a result changes. Knows nothing of processes or Redis.
 *   trial-job.ts   the job body: a pure function of its data (sweep dir, trial id, config, the
 *                  epoch to stop at). It trains the trial with its FULL epoch budget in its config
 *                  (so schedules and ReduceLROnPlateau see the real budget) and pauses at `stopAt`
 *                  through fineTune's `pauseAt` (checkpoint written, no model); the next rung
 *                  resumes from that checkpoint. Re-running a job whose epochs are done trains
 *                  nothing, so at-least-once delivery is safe; the coordinator records each
 *                  (trial, stopAt) result once.
 *   worker-context.ts  what a long-lived worker process keeps between jobs: loaded bases and
 *                  feature sources with their decoded features in memory (a head trial on cached
 *                  features is tiny, so per-trial set-up is what would dominate).
 *   executors/     the queue seam, `TrialExecutor.run(job) -> result`: `local` (in-process for
 *                  one slot, forked long-lived worker processes for --parallel N, cores divided
 *                  among them; no Redis) and `bullmq` (--queue redis://…: jobs on a BullMQ queue,
 *                  `vggkit worker` runs them in a sandboxed processor so ORT compute never blocks
 *                  lock renewal; stalled jobs are re-delivered and resume from their checkpoint).
 *   cache-fill.ts  before any trial starts, the coordinator computes every distinct frozen prefix's
 *                  features once (locally, or sharded over the queue's workers).
 *   results.ts     sweep.json (schema below), best-config.json, the trials/<id>/ folders.
 *   run-sweep.ts   the coordinator: parse, fill the cache, ask, dispatch, tell, write, finish.
 *
 * sweep.json is written atomically after every change, so a killed coordinator restarted with
 * `--resume` reattaches from it: completed and pruned trials are never re-run, running ones are
 * re-dispatched (and resume from their own checkpoints).
 */
import type { TrainSettingPath } from '../train/config-schema.js';
import type { EpochLogs } from '../train/events.js';
import type { TrainConfig } from '../train/config.js';

/** A value a dimension can take: what the train flag accepts (numbers, names, stage lists …). */
export type ParamValue = number | string | boolean;

/** One trial's values, keyed by the dimension's name (the train flag without `--`, e.g. `batch-size`). */
export type Params = Readonly<Record<string, ParamValue>>;

export interface FloatDimension {
  readonly kind: 'float';
  /** How the user named it (the flag without dashes, e.g. `batch-size`): the key in Params. */
  readonly name: string;
  /** The training setting it varies. */
  readonly path: TrainSettingPath;
  readonly low: number;
  readonly high: number;
  /** Sampled log-uniformly (learning rates, weight decay, epsilon, min-lr). */
  readonly log: boolean;
}

export interface IntDimension {
  readonly kind: 'int';
  /** How the user named it (the flag without dashes, e.g. `batch-size`): the key in Params. */
  readonly name: string;
  /** The training setting it varies. */
  readonly path: TrainSettingPath;
  readonly low: number;
  readonly high: number;
  readonly log: boolean;
}

export interface CategoricalDimension {
  readonly kind: 'categorical';
  /** How the user named it (the flag without dashes, e.g. `batch-size`): the key in Params. */
  readonly name: string;
  /** The training setting it varies. */
  readonly path: TrainSettingPath;
  readonly choices: readonly ParamValue[];
}

export type Dimension = FloatDimension | IntDimension | CategoricalDimension;

export interface SearchSpace {
  readonly dimensions: readonly Dimension[];
}

export type Direction = 'min' | 'max';

export type TrialStatus = 'waiting' | 'running' | 'completed' | 'pruned' | 'failed';

/** What a sampler sees of a trial that has reported (Optuna's FrozenTrial, reduced). */
export interface Observation {
  readonly params: Params;
  readonly status: 'running' | 'completed' | 'pruned';
  /** Epochs the value was measured after. */
  readonly epochs: number;
  /** The monitored value (best so far); NaN when it diverged. */
  readonly value: number;
}

/** Optuna's BaseSampler reduced to ask-and-tell: the trial's parameters from what is known. */
export interface Sampler {
  readonly name: string;
  /** Most trials this sampler can propose (grid: the number of combinations). */
  readonly capacity: number;
  /** Parameters of trial `number`, from the trials told so far; same inputs, same output. */
  ask(number: number, told: readonly Observation[]): Params;
}

/** A trial as a scheduler sees it. */
export interface SchedulerTrial {
  readonly id: string;
  /** Epochs completed. */
  readonly epochs: number;
  /** Epochs in the trial's config. */
  readonly budget: number;
  /** Best monitored value so far (NaN when diverged). */
  readonly value: number;
  /** Value recorded at each rung the trial completed: Optuna's `completed_rung_k` attributes. */
  readonly rungs: readonly number[];
}

export interface PruneDecision {
  readonly prune: boolean;
  /** The trial's rung records after the decision (the rungs it has now completed). */
  readonly rungs: readonly number[];
}

/** Optuna's BasePruner: where a trial pauses to report, and whether it stops there. */
export interface Scheduler {
  readonly name: string;
  /** The epoch a trial with `epochs` done of `budget` pauses at next (its budget when no rung is left). */
  nextStop(epochs: number, budget: number): number;
  /** After a trial paused below its budget: prune it, or let it continue to its next stop. */
  decide(
    trial: SchedulerTrial,
    others: readonly SchedulerTrial[],
    direction: Direction,
  ): PruneDecision;
}

/** The job a worker runs: everything it needs, so the body is a pure function of this data. */
export interface TrialJob {
  readonly kind: 'trial';
  readonly sweepDir: string;
  readonly trialId: string;
  readonly data: string;
  readonly config: TrainConfig;
  /** Pause after this many epochs (the next rung), or the trial's budget. */
  readonly stopAt: number;
  readonly cacheDir: string;
  readonly offline: boolean;
}

export interface TrialOutcome {
  readonly trialId: string;
  readonly stopAt: number;
  /** `paused`: reached stopAt below the budget; `finished`: budget reached or a callback stopped it. */
  readonly status: 'paused' | 'finished' | 'failed';
  readonly history: readonly EpochLogs[];
  /** Epochs the trial's run folder already held when the job started (its checkpoint). */
  readonly startedAt: number;
  readonly stoppedBy?: string;
  readonly error?: { readonly code: string; readonly message: string };
  /** Seconds this job spent, set-up included. */
  readonly seconds: number;
  /** Who ran it: `host:pid`. */
  readonly worker: string;
  /** Images whose frozen-prefix features this job computed (0 when the cache served them all). */
  readonly featuresComputed: number;
}
