import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelCheckpoint } from '../../../src/train/callbacks/model-checkpoint.js';
import { TerminateOnNaN } from '../../../src/train/callbacks/terminate-on-nan.js';
import { CallbackList, StopTraining, type BatchEndEvent } from '../../../src/train/events.js';
import { writeJsonAtomic } from '../../../src/util/atomic.js';
import { epochEnd, FakeControl } from './helpers.js';

test('ModelCheckpoint saves only on strict improvement, atomically through the save function', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vggkit-ckpt-'));
  const path = join(dir, 'best.json');
  const saved: number[] = [];
  const checkpoint = new ModelCheckpoint({
    monitor: 'val_accuracy',
    mode: 'auto',
    save: async (epoch, logs) => {
      saved.push(epoch);
      await writeJsonAtomic(path, { epoch, val_accuracy: logs.val_accuracy });
    },
  });
  for (const [epoch, acc] of [0.5, 0.7, 0.7, 0.6, 0.8].entries())
    await checkpoint.epoch_end(epochEnd(epoch, { val_accuracy: acc }));
  assert.deepEqual(saved, [0, 1, 4]);
  assert.deepEqual(JSON.parse(await readFile(path, 'utf8')), { epoch: 4, val_accuracy: 0.8 });
  assert.equal(checkpoint.savedEpoch, 4);
});

test('ModelCheckpoint keeps its best across a resume, and a failed save does not move the best', async () => {
  let fail = true;
  const saved: number[] = [];
  const options = {
    monitor: 'val_loss',
    mode: 'min' as const,
    save: async (epoch: number) => {
      if (fail) throw new Error('disk full');
      saved.push(epoch);
    },
  };
  const first = new ModelCheckpoint(options);
  await assert.rejects(first.epoch_end(epochEnd(0, { val_loss: 0.5 })), /disk full/);
  assert.equal(first.savedEpoch, -1);
  fail = false;
  await first.epoch_end(epochEnd(1, { val_loss: 0.4 }));
  const second = new ModelCheckpoint(options);
  second.setState(JSON.parse(JSON.stringify(first.getState())));
  await second.epoch_end(epochEnd(2, { val_loss: 0.45 }));
  await second.epoch_end(epochEnd(3, { val_loss: 0.3 }));
  assert.deepEqual(saved, [1, 3]);
});

function batchEnd(batch: number, loss: number): BatchEndEvent {
  return {
    type: 'batch_end',
    epoch: 2,
    batch,
    batches: 10,
    loss,
    accuracy: 0.5,
    batchLoss: loss,
    lr: 0.1,
    imagesPerSecond: 100,
  };
}

test('TerminateOnNaN stops on NaN or infinite loss and names the batch', async () => {
  for (const bad of [NaN, Infinity]) {
    const list = new CallbackList([new TerminateOnNaN()]);
    await list.dispatch(batchEnd(1, 0.7), new FakeControl(0.1));
    assert.equal(list.stopRequest, undefined);
    await list.dispatch(batchEnd(2, bad), new FakeControl(0.1));
    const stop = list.stopRequest as StopTraining | undefined; // re-read: the dispatch above changed it
    assert.ok(stop instanceof StopTraining);
    assert.equal(stop.by, 'terminate_on_nan');
    assert.match(stop.message, new RegExp(`batch 2 of epoch 3: invalid loss ${bad}`));
  }
});
