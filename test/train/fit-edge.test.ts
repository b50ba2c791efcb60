/**
 * fineTune() edge cases on tiny shape datasets (vgg11, 32x32, weights 'none'): resuming a run
 * that a callback had stopped, and the shapes of data a person can hand it.
 */
import type { TrainConfigInput } from '../../src/train/config-schema.js';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fineTune, type FineTuneOptions } from '../../src/train/fit.js';
import { StopTraining, type Callback, type EpochEndEvent } from '../../src/train/events.js';
import type { WeightMap } from '../../src/model/weight-map.js';
import { VggkitError } from '../../src/util/errors.js';
import { SHAPES, writeShapesDataset } from '../helpers/shapes.js';

let dir = '';
let data = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vggkit-fit-edge-'));
  data = join(dir, 'data');
  await writeShapesDataset(data, { perClass: 3, size: 32, seed: 1 });
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const BASE: TrainConfigInput = {
  weights: 'none',
  inputSize: 32,
  arch: 'vgg11',
  head: 'avg',
  dense: 8,
  dropout: 0.5,
  batchSize: 4,
  valSplit: 0.34,
};

function run(
  name: string,
  config: Record<string, unknown>,
  extra: Partial<FineTuneOptions> = {},
): ReturnType<typeof fineTune> {
  return fineTune({
    data,
    out: join(dir, name),
    cacheDir: join(dir, 'cache'),
    config: { ...BASE, ...config },
    ...extra,
  });
}

function assertSameWeights(a: WeightMap, b: WeightMap): void {
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
  for (const [key, t] of a) assert.deepEqual(b.get(key)?.data, t.data, key);
}

/** Ends training after the epoch with index `epoch`, as EarlyStopping would. */
function stopAfter(epoch: number): Callback {
  return {
    name: 'stop_after',
    epoch_end: (event: EpochEndEvent) => {
      if (event.epoch === epoch) throw new StopTraining(`stop after epoch ${epoch + 1}`);
    },
  };
}

test('resuming a run a callback stopped (a crash before its model was written) trains no further', async () => {
  const stopped = await run('stopped', { epochs: 4 }, { callbacks: [stopAfter(1)] });
  assert.equal(stopped.history.length, 2);
  assert.equal(stopped.stoppedBy, 'stop_after');
  // The checkpoint of the last epoch is all a crash during the final model write leaves to resume.
  const resumed = await run('stopped', { epochs: 4 }, { resume: true, callbacks: [stopAfter(1)] });
  assert.equal(resumed.history.length, 2);
  assert.equal(resumed.stoppedBy, 'stop_after');
  assertSameWeights(stopped.weights, resumed.weights);
});

test('a validation folder whose images all fail to decode is refused before any epoch runs', async () => {
  const val = join(dir, 'unreadable-val');
  for (const shape of SHAPES) {
    await mkdir(join(val, shape), { recursive: true });
    await writeFile(join(val, shape, 'broken.png'), 'not a png');
  }
  await assert.rejects(
    run('unreadable-val', { val, epochs: 2 }),
    (error: unknown) =>
      error instanceof VggkitError &&
      error.code === 'NO_VALIDATION_IMAGES' &&
      error.message.startsWith(`${val}: no validation image could be read`),
  );
  const checkpoint = await stat(join(dir, 'unreadable-val', 'checkpoint.safetensors')).catch(
    () => undefined,
  );
  assert.equal(checkpoint, undefined, 'no epoch should have run');
});

test('a cosine schedule spans the steps actually taken when an unreadable training image is left out', async () => {
  const withBroken = join(dir, 'with-broken');
  await writeShapesDataset(withBroken, { perClass: 3, size: 32, seed: 3 });
  await writeFile(join(withBroken, 'circle', 'broken.png'), 'not a png');
  const lr = 1e-3;
  const announced: number[] = [];
  const lines: string[] = [];
  const result = await fineTune({
    data: withBroken,
    out: join(dir, 'cosine-broken'),
    cacheDir: join(dir, 'cache'),
    config: { ...BASE, valSplit: 0, epochs: 2, batchSize: 3, lr, schedule: { name: 'cosine' } },
    callbacks: [{ name: 'batches', epoch_start: (event) => void announced.push(event.batches) }],
    log: (line) => lines.push(line),
  });
  assert.equal(result.skipped.length, 1);
  // The schedule turns ReduceLROnPlateau (on by default) off, and the run says so once.
  assert.equal(lines.filter((l) => l.startsWith('ReduceLROnPlateau is off: the cosine')).length, 1);
  // epoch_start announces the batches the epoch really runs (progress bars size themselves by it).
  assert.deepEqual(announced, [3, 3]);
  // 9 readable images in batches of 3: 3 steps an epoch, 6 in all; the last step is step 5.
  const total = 6;
  const lastEpochLr = (lr * (1 + Math.cos((Math.PI * (total - 1)) / total))) / 2;
  assert.ok(
    Math.abs((result.history[1]?.lr ?? NaN) - lastEpochLr) < 1e-12,
    `expected ${lastEpochLr}, received ${result.history[1]?.lr}`,
  );
});

test('a stop raised at a batch (as TerminateOnNaN does) ends the epoch at that batch, as in Keras', async () => {
  const batchesSeen: number[] = [];
  const stopAtFirstBatch: Callback = {
    name: 'stop_at_batch',
    batch_end: (event) => {
      batchesSeen.push(event.batch);
      if (event.batch === 1) throw new StopTraining('invalid loss');
    },
  };
  // 6 training images in batches of 4: two batches an epoch.
  const result = await run('batch-stop', { epochs: 3 }, { callbacks: [stopAtFirstBatch] });
  assert.deepEqual(batchesSeen, [1]);
  assert.equal(result.history.length, 1);
  assert.equal(result.stoppedBy, 'stop_at_batch');
});

test('pauseAt pauses a run at a rung; resumed calls continue it to exactly the uninterrupted result', async () => {
  // A stage boundary at epoch 1 and a schedule over the whole budget: both must survive pausing.
  const config = { stages: 'head:1,block5:2', schedule: { name: 'cosine' } };
  const whole = await run('rung-whole', config);
  const first = await run('rung', config, { pauseAt: 1 });
  assert.equal(first.paused, true);
  assert.equal(first.history.length, 1);
  await assert.rejects(stat(join(dir, 'rung', 'model.onnx')), 'a paused run writes no model yet');
  const second = await run('rung', config, { resume: true, pauseAt: 2 });
  assert.deepEqual([second.paused, second.history.length], [true, 2]);
  const done = await run('rung', config, { resume: true });
  assert.equal(done.paused, false);
  assert.equal(whole.paused, false);
  assert.deepEqual(done.history, whole.history);
  assertSameWeights(done.weights, whole.weights);
  assert.ok((await stat(join(dir, 'rung', 'model.onnx'))).isFile());
});
