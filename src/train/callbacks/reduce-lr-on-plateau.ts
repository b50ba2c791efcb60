/**
 * Keras' ReduceLROnPlateau, step for step (keras/src/callbacks/reduce_lr_on_plateau.py): when the
 * monitored value has not improved by more than `minDelta` for `patience` epochs, multiply the
 * learning rate by `factor` (not below `minLr`), then wait `cooldown` epochs before counting again.
 * The learning rate is compared in float32, as Keras reads it from its float32 optimizer variable.
 * A new stage of progressive unfreezing is a new `fit` in Keras terms, whose `on_train_begin`
 * resets the counters: the stage's fresh learning rate gets its own full patience.
 */
import type { ReduceLrConfig } from '../config.js';
import { invalidOption } from '../../util/errors.js';
import type { Callback, EpochEndEvent, StageStartEvent, TrainingControl } from '../events.js';
import { decodeNumber, directionByName, encodeNumber, monitoredValue } from './monitor.js';

export type ReduceLrOptions = Omit<ReduceLrConfig, 'enabled'>;

interface ReduceLrState {
  best: number | string;
  wait: number;
  cooldownCounter: number;
}

export class ReduceLROnPlateau implements Callback {
  readonly name = 'reduce_lr_on_plateau';
  private readonly options: ReduceLrOptions;
  private readonly direction: 'min' | 'max';
  private best: number;
  private wait = 0;
  private cooldownCounter = 0;

  constructor(options: ReduceLrOptions) {
    if (!(options.factor > 0 && options.factor < 1))
      throw invalidOption('reduceLr.factor', 'a number in (0, 1)', options.factor);
    this.direction = directionByName('reduceLr.mode', options.mode, options.monitor);
    this.options = { ...options };
    this.best = this.direction === 'min' ? Infinity : -Infinity;
  }

  private improved(current: number): boolean {
    const { minDelta } = this.options;
    return this.direction === 'min'
      ? current < this.best - minDelta
      : current > this.best + minDelta;
  }

  stage_start(event: StageStartEvent): void {
    if (event.resumed) return;
    this.best = this.direction === 'min' ? Infinity : -Infinity;
    this.wait = 0;
    this.cooldownCounter = 0;
  }

  epoch_end(event: EpochEndEvent, control: TrainingControl): void {
    const current = monitoredValue('reduceLr.monitor', event.logs, this.options.monitor);
    if (this.cooldownCounter > 0) {
      this.cooldownCounter -= 1;
      this.wait = 0;
    }
    if (this.improved(current)) {
      this.best = current;
      this.wait = 0;
    } else if (this.cooldownCounter === 0) {
      this.wait += 1;
      if (this.wait >= this.options.patience) {
        const oldLr = Math.fround(control.getLr());
        if (oldLr > Math.fround(this.options.minLr)) {
          control.setLr(Math.max(oldLr * this.options.factor, this.options.minLr));
          this.cooldownCounter = this.options.cooldown;
          this.wait = 0;
        }
      }
    }
  }

  getState(): ReduceLrState {
    return {
      best: encodeNumber(this.best),
      wait: this.wait,
      cooldownCounter: this.cooldownCounter,
    };
  }

  setState(state: unknown): void {
    const s = state as ReduceLrState;
    this.best = decodeNumber(s.best);
    this.wait = s.wait;
    this.cooldownCounter = s.cooldownCounter;
  }
}
