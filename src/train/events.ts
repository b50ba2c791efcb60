/**
 * The closed set of training events (fastai's `_events`, typed). The fit loop emits them through a
 * `CallbackList`; callbacks run in the order they were declared. A handler stops training by
 * throwing `StopTraining`: the event is still delivered to every later callback (so a logger
 * records the epoch that triggered early stopping, as in Keras), then the loop ends.
 */
import type { StageSpec } from './config.js';

/** Per-epoch metrics under Keras' names; the `val_` entries are absent when there is no validation set. */
export interface EpochLogs {
  readonly loss: number;
  readonly accuracy: number;
  readonly val_loss?: number;
  readonly val_accuracy?: number;
  readonly lr: number;
}

/** Looks a metric up by the name a user monitors (`val_loss` …); undefined when it is not logged. */
export function logValue(logs: EpochLogs, key: string): number | undefined {
  const value = (logs as unknown as Readonly<Record<string, number | undefined>>)[key];
  return typeof value === 'number' ? value : undefined;
}

export interface FitStartEvent {
  readonly type: 'fit_start';
  readonly epochs: number;
  /** First epoch to run: 0, or the epoch after the last completed one when resuming. */
  readonly initialEpoch: number;
  readonly stages: readonly StageSpec[];
  readonly trainSize: number;
  readonly valSize: number;
  readonly batchesPerEpoch: number;
  readonly classNames: readonly string[];
}

export interface StageStartEvent {
  readonly type: 'stage_start';
  readonly stage: number;
  readonly name: string;
  readonly firstEpoch: number;
  readonly epochs: number;
  readonly lr: number;
  /** True when a resumed run continues this stage from its checkpoint rather than starting it. */
  readonly resumed: boolean;
}

export interface EpochStartEvent {
  readonly type: 'epoch_start';
  readonly epoch: number;
  readonly epochs: number;
  /** Training batches this epoch will run (images that failed to decode are already left out). */
  readonly batches: number;
}

export interface BatchEndEvent {
  readonly type: 'batch_end';
  readonly epoch: number;
  /** 1-based index of the batch just finished, out of `batches`. */
  readonly batch: number;
  readonly batches: number;
  /** Running means over the epoch so far, as Keras' progress bar shows them. */
  readonly loss: number;
  readonly accuracy: number;
  /** This batch's own mean loss (what a per-batch curve plots). */
  readonly batchLoss: number;
  readonly lr: number;
  readonly imagesPerSecond: number;
}

export interface EpochEndEvent {
  readonly type: 'epoch_end';
  readonly epoch: number;
  readonly logs: EpochLogs;
}

export interface FitEndEvent {
  readonly type: 'fit_end';
  /** Number of epochs completed, counting resumed ones. */
  readonly epochsCompleted: number;
  /** Why training ended early, or undefined when every epoch ran. */
  readonly stopped: StopTraining | undefined;
}

export type TrainingEvent =
  FitStartEvent | StageStartEvent | EpochStartEvent | BatchEndEvent | EpochEndEvent | FitEndEvent;
export type EventType = TrainingEvent['type'];
export type EventOf<K extends EventType> = Extract<TrainingEvent, { type: K }>;

/** Thrown by a handler to end training after the current event; `by` names the callback. */
export class StopTraining extends Error {
  readonly by: string;

  constructor(reason: string, by = '') {
    super(reason);
    this.name = 'StopTraining';
    this.by = by;
  }
}

/** What callbacks may change in the running trainer. */
export interface TrainingControl {
  /** The base learning rate; setting it applies from the next batch on. */
  getLr(): number;
  setLr(lr: number): void;
}

export type Handler<K extends EventType> = (
  event: EventOf<K>,
  control: TrainingControl,
) => void | Promise<void>;

/** A callback handles any subset of the events; its name must be unique in a run (it keys its saved state). */
export type Callback = { readonly name: string } & {
  readonly [K in EventType]?: Handler<K>;
} & Partial<Stateful>;

/** Callbacks whose decisions depend on the past save it in a checkpoint so `--resume` continues exactly. */
export interface Stateful {
  getState(): unknown;
  setState(state: unknown): void;
}

export class CallbackList {
  readonly callbacks: readonly Callback[];
  private stop: StopTraining | undefined;

  constructor(callbacks: readonly Callback[]) {
    const names = callbacks.map((c) => c.name);
    const duplicate = names.find((n, i) => names.indexOf(n) !== i);
    if (duplicate !== undefined)
      throw new Error(
        `two callbacks are named "${duplicate}"; names key saved state and must be unique`,
      );
    this.callbacks = [...callbacks];
  }

  /** The first StopTraining raised so far, if any. */
  get stopRequest(): StopTraining | undefined {
    return this.stop;
  }

  async dispatch<K extends EventType>(event: EventOf<K>, control: TrainingControl): Promise<void> {
    for (const callback of this.callbacks) {
      const handler = callback[event.type] as Handler<K> | undefined;
      if (handler === undefined) continue;
      try {
        await handler.call(callback, event, control);
      } catch (error) {
        if (!(error instanceof StopTraining)) throw error;
        this.stop ??= error.by === '' ? new StopTraining(error.message, callback.name) : error;
      }
    }
  }

  /** State of every stateful callback, keyed by name, for the resume checkpoint. */
  getState(): Record<string, unknown> {
    const state: Record<string, unknown> = {};
    for (const c of this.callbacks) if (c.getState !== undefined) state[c.name] = c.getState();
    return state;
  }

  setState(state: Readonly<Record<string, unknown>>): void {
    for (const c of this.callbacks) {
      if (c.setState !== undefined && c.name in state) c.setState(state[c.name]);
    }
  }
}
