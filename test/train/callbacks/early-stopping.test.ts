import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EarlyStopping, type WeightsHook } from '../../../src/train/callbacks/early-stopping.js';
import { CallbackList, StopTraining } from '../../../src/train/events.js';
import { epochEnd, FakeControl } from './helpers.js';

/** "Parameters" the test changes every epoch; the hook copies them, as the trainer's would. */
class Params implements WeightsHook<number[]> {
  values = [0, 0];
  snapshot(): number[] {
    return [...this.values];
  }
  restore(snapshot: number[]): void {
    this.values = [...snapshot];
  }
}

/** Runs epochs until the callback stops training; returns the number of epochs run. */
async function run(
  stopper: EarlyStopping<number[]>,
  params: Params,
  losses: readonly number[],
): Promise<{ epochs: number; stop: StopTraining | undefined }> {
  const list = new CallbackList([stopper]);
  const control = new FakeControl(0.1);
  let epochs = 0;
  for (const [epoch, loss] of losses.entries()) {
    params.values = [epoch, epoch * 10]; // a training epoch changes the parameters
    await list.dispatch(epochEnd(epoch, { val_loss: loss }), control);
    epochs += 1;
    if (list.stopRequest !== undefined) break;
  }
  await list.dispatch(
    { type: 'fit_end', epochsCompleted: epochs, stopped: list.stopRequest },
    control,
  );
  return { epochs, stop: list.stopRequest };
}

test('EarlyStopping: Keras docstring example, patience 3 on a flat loss runs 4 epochs', async () => {
  const params = new Params();
  const result = await run(
    new EarlyStopping(
      { monitor: 'val_loss', mode: 'auto', patience: 3, minDelta: 0, restoreBestWeights: false },
      params,
    ),
    params,
    [1, 1, 1, 1, 1, 1, 1],
  );
  assert.equal(result.epochs, 4);
  assert.ok(result.stop instanceof StopTraining);
  assert.equal(result.stop.by, 'early_stopping');
  assert.deepEqual(params.values, [3, 30], 'without restoreBestWeights the last parameters stay');
});

test('EarlyStopping: restores the parameters of the best epoch; min_delta decides what counts', async () => {
  const params = new Params();
  // e0 1.0 best; e1 0.8 best (improves by 0.2 > 0.05); e2 0.78 only 0.02 better: wait 1; e3 0.9 wait 2 -> stop.
  const stopper = new EarlyStopping(
    { monitor: 'val_loss', mode: 'min', patience: 2, minDelta: 0.05, restoreBestWeights: true },
    params,
  );
  const result = await run(stopper, params, [1.0, 0.8, 0.78, 0.9, 0.1]);
  assert.equal(result.epochs, 4);
  assert.equal(stopper.bestEpochIndex, 1);
  assert.deepEqual(params.values, [1, 10]);
});

test('EarlyStopping: restores the best weights even when every epoch ran', async () => {
  const params = new Params();
  const stopper = new EarlyStopping(
    { monitor: 'val_loss', mode: 'min', patience: 10, minDelta: 0, restoreBestWeights: true },
    params,
  );
  const result = await run(stopper, params, [0.5, 0.3, 0.4]);
  assert.equal(result.stop, undefined);
  assert.deepEqual(params.values, [1, 10]);
});

test('EarlyStopping: state survives a resume; auto mode refuses an unknown metric', async () => {
  const options = {
    monitor: 'val_loss',
    mode: 'min' as const,
    patience: 2,
    minDelta: 0,
    restoreBestWeights: true,
  };
  const params = new Params();
  const first = new EarlyStopping(options, params);
  await run(first, params, [0.5, 0.4]);
  const second = new EarlyStopping(options, params);
  second.setState(JSON.parse(JSON.stringify(first.getState())));
  params.values = [2, 20];
  await second.epoch_end(epochEnd(2, { val_loss: 0.45 }));
  params.values = [3, 30];
  // wait reaches patience 2 only because the restored state carried best 0.4 from epoch 1.
  await assert.rejects(second.epoch_end(epochEnd(3, { val_loss: 0.45 })), StopTraining);
  await second.fit_end({ type: 'fit_end', epochsCompleted: 4, stopped: undefined });
  assert.deepEqual(params.values, [1, 10]);
  assert.throws(
    () => new EarlyStopping({ ...options, monitor: 'f1', mode: 'auto' }, params),
    /earlyStopping\.mode: cannot infer whether "f1" should be minimised or maximised/,
  );
  assert.throws(
    () => new EarlyStopping({ ...options, mode: 'down' as 'min' }, params),
    /earlyStopping\.mode: expected one of min, max, auto, received "down"/,
  );
});
