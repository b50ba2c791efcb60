import type { EpochEndEvent, EpochLogs, TrainingControl } from '../../../src/train/events.js';

/** A trainer stand-in holding the learning rate, as the fit loop does. */
export class FakeControl implements TrainingControl {
  constructor(public lr: number) {}
  getLr(): number {
    return this.lr;
  }
  setLr(lr: number): void {
    this.lr = lr;
  }
}

export function epochEnd(epoch: number, logs: Partial<EpochLogs>): EpochEndEvent {
  return { type: 'epoch_end', epoch, logs: { loss: 1, accuracy: 0.5, lr: 0.1, ...logs } };
}
