/** Keras' TerminateOnNaN: a NaN or infinite batch loss ends training; nothing after it can recover. */
import { StopTraining, type BatchEndEvent, type Callback } from '../events.js';

export class TerminateOnNaN implements Callback {
  readonly name = 'terminate_on_nan';

  batch_end(event: BatchEndEvent): void {
    if (!Number.isFinite(event.loss)) {
      throw new StopTraining(
        `batch ${event.batch} of epoch ${event.epoch + 1}: invalid loss ${event.loss}, terminating training`,
        this.name,
      );
    }
  }
}
