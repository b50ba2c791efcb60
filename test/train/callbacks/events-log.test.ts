import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  EventsLog,
  formatEventLine,
  parseEventLine,
} from '../../../src/train/callbacks/events-log.js';
import { makeContract } from '../../../src/image/contract.js';
import { CallbackList } from '../../../src/train/events.js';

const control = { getLr: () => 0.1, setLr: () => undefined };

test('EventsLog writes one line per event as it happens, NaN included, and parseEventLine reads it back', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vggkit-events-'));
  try {
    const file = join(dir, 'run', 'events.jsonl');
    const list = new CallbackList([
      new EventsLog({
        file,
        weights: 'none',
        contract: makeContract({ mode: 'caffe', inputSize: 32 }),
      }),
    ]);
    await list.dispatch(
      {
        type: 'fit_start',
        epochs: 1,
        initialEpoch: 0,
        stages: [{ name: 'head', epochs: 1 }],
        trainSize: 4,
        valSize: 0,
        batchesPerEpoch: 1,
        classNames: ['a', 'b'],
      },
      control,
    );
    await list.dispatch(
      {
        type: 'batch_end',
        epoch: 0,
        batch: 1,
        batches: 1,
        loss: Number.NaN,
        accuracy: 0.5,
        batchLoss: Infinity,
        lr: 0.1,
        imagesPerSecond: 10,
      },
      control,
    );
    // Written before the next event: a reader sees the batch while training goes on.
    const lines = (await readFile(file, 'utf8')).split('\n');
    assert.equal(lines.length, 3);
    assert.equal(lines[2], '');
    const batch = parseEventLine(lines[1] as string);
    assert.ok(batch?.type === 'batch_end');
    assert.ok(Number.isNaN(batch.loss));
    assert.equal(batch.batchLoss, Infinity);
    await list.dispatch({ type: 'fit_end', epochsCompleted: 0, stopped: undefined }, control);
    const end = parseEventLine((await readFile(file, 'utf8')).trim().split('\n')[2] as string);
    assert.ok(end?.type === 'fit_end');
    assert.equal(end.stopped, null);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('parseEventLine rejects half-written lines and records that are not events', () => {
  const line = formatEventLine({
    type: 'epoch_start',
    time: 1,
    epoch: 0,
    epochs: 2,
    batches: 3,
  }).trim();
  assert.deepEqual(parseEventLine(line), {
    type: 'epoch_start',
    time: 1,
    epoch: 0,
    epochs: 2,
    batches: 3,
  });
  assert.equal(parseEventLine(line.slice(0, -4)), undefined);
  assert.equal(parseEventLine('{"type":"unknown","time":1}'), undefined);
  assert.equal(parseEventLine('{"type":"fit_end"}'), undefined);
  assert.equal(parseEventLine('[]'), undefined);
});
