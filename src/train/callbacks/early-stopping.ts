/**
 * Keras 3's EarlyStopping (keras/src/callbacks/early_stopping.py): stop once the monitored value has
 * not improved by more than `minDelta` for `patience` epochs; with `restoreBestWeights`, put back
 * the parameters of the best epoch when training ends, however it ends.
 *
 * Parameters are reached through a hook so this file knows nothing of tensors or sessions. For
 * `--resume` to restore the best weights too, the hook's snapshot should be JSON-serialisable, such
 * as the path of a weights file it wrote atomically.
 */
import type { EarlyStoppingConfig } from '../config.js';
import { StopTraining, type Callback, type EpochEndEvent, type FitEndEvent } from '../events.js';
import { decodeNumber, directionByMetric, encodeNumber, monitoredValue } from './monitor.js';

export interface WeightsHook<S> {
  snapshot(): S | Promise<S>;
  restore(snapshot: S): void | Promise<void>;
}

export type EarlyStoppingOptions = Omit<EarlyStoppingConfig, 'enabled'>;

interface EarlyStoppingState<S> {
  best: number | string;
  wait: number;
  bestEpoch: number;
  stoppedEpoch: number;
  bestSnapshot: S | undefined;
}

export class EarlyStopping<S = unknown> implements Callback {
  readonly name = 'early_stopping';
  private readonly options: EarlyStoppingOptions;
  private readonly direction: 'min' | 'max';
  private readonly hook: WeightsHook<S> | undefined;
  private best: number;
  private wait = 0;
  private bestEpoch = 0;
  private stoppedEpoch = 0;
  private bestSnapshot: S | undefined;

  /** `hook` is required when `restoreBestWeights` is on. */
  constructor(options: EarlyStoppingOptions, hook?: WeightsHook<S>) {
    this.direction = directionByMetric('earlyStopping.mode', options.mode, options.monitor);
    if (options.restoreBestWeights && hook === undefined) {
      throw new TypeError(
        'EarlyStopping with restoreBestWeights needs a weights hook to snapshot and restore parameters',
      );
    }
    this.options = { ...options, minDelta: Math.abs(options.minDelta) };
    this.hook = hook;
    this.best = this.direction === 'min' ? Infinity : -Infinity;
  }

  /** The epoch (0-based) whose parameters are the best so far. */
  get bestEpochIndex(): number {
    return this.bestEpoch;
  }

  private improved(current: number, reference: number): boolean {
    const { minDelta } = this.options;
    return this.direction === 'min'
      ? current + minDelta < reference
      : current - minDelta > reference;
  }

  async epoch_end(event: EpochEndEvent): Promise<void> {
    const current = monitoredValue('earlyStopping.monitor', event.logs, this.options.monitor);
    if (this.options.restoreBestWeights && this.bestSnapshot === undefined) {
      this.bestSnapshot = await this.snapshot();
      this.bestEpoch = event.epoch;
    }
    this.wait += 1;
    if (this.improved(current, this.best)) {
      this.best = current;
      this.bestEpoch = event.epoch;
      if (this.options.restoreBestWeights) this.bestSnapshot = await this.snapshot();
      this.wait = 0;
      return;
    }
    if (this.wait >= this.options.patience && event.epoch > 0) {
      this.stoppedEpoch = event.epoch;
      throw new StopTraining(
        `${this.options.monitor} did not improve by more than ${this.options.minDelta} for ${this.wait} epochs (best ${this.best} at epoch ${this.bestEpoch + 1})`,
        this.name,
      );
    }
  }

  async fit_end(_event: FitEndEvent): Promise<void> {
    if (this.options.restoreBestWeights && this.bestSnapshot !== undefined)
      await this.hook?.restore(this.bestSnapshot);
  }

  private async snapshot(): Promise<S> {
    return (this.hook as WeightsHook<S>).snapshot();
  }

  getState(): EarlyStoppingState<S> {
    return {
      best: encodeNumber(this.best),
      wait: this.wait,
      bestEpoch: this.bestEpoch,
      stoppedEpoch: this.stoppedEpoch,
      bestSnapshot: this.bestSnapshot,
    };
  }

  setState(state: unknown): void {
    const s = state as EarlyStoppingState<S>;
    this.best = decodeNumber(s.best);
    this.wait = s.wait;
    this.bestEpoch = s.bestEpoch;
    this.stoppedEpoch = s.stoppedEpoch;
    this.bestSnapshot = s.bestSnapshot;
  }
}
