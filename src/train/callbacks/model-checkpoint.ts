/**
 * Keras' ModelCheckpoint with `save_best_only`: call `save` whenever the monitored value beats the
 * best so far (strictly). `save` must write atomically (through util/atomic.ts) so an interrupted
 * save leaves the previous best intact.
 */
import type { Callback, EpochEndEvent, EpochLogs } from '../events.js';
import {
  decodeNumber,
  directionByName,
  encodeNumber,
  monitoredValue,
  type MonitorMode,
} from './monitor.js';

export interface ModelCheckpointOptions {
  readonly monitor: string;
  readonly mode: MonitorMode;
  readonly save: (epoch: number, logs: EpochLogs) => Promise<void>;
}

export class ModelCheckpoint implements Callback {
  readonly name = 'model_checkpoint';
  private readonly monitor: string;
  private readonly direction: 'min' | 'max';
  private readonly save: (epoch: number, logs: EpochLogs) => Promise<void>;
  private best: number;
  private bestEpoch = -1;

  constructor(options: ModelCheckpointOptions) {
    this.monitor = options.monitor;
    this.direction = directionByName('checkpoint.mode', options.mode, options.monitor);
    this.save = options.save;
    this.best = this.direction === 'min' ? Infinity : -Infinity;
  }

  /** The 0-based epoch last saved, or -1. */
  get savedEpoch(): number {
    return this.bestEpoch;
  }

  async epoch_end(event: EpochEndEvent): Promise<void> {
    const current = monitoredValue('checkpoint.monitor', event.logs, this.monitor);
    const better = this.direction === 'min' ? current < this.best : current > this.best;
    if (!better) return;
    await this.save(event.epoch, event.logs);
    this.best = current;
    this.bestEpoch = event.epoch;
  }

  getState(): { best: number | string; bestEpoch: number } {
    return { best: encodeNumber(this.best), bestEpoch: this.bestEpoch };
  }

  setState(state: unknown): void {
    const s = state as { best: unknown; bestEpoch: number };
    this.best = decodeNumber(s.best);
    this.bestEpoch = s.bestEpoch;
  }
}
