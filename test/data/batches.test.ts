import { test } from 'node:test';
import assert from 'node:assert/strict';
import { batchCount, epochBatches, epochOrder, sliceBatches } from '../../src/data/batches.js';

test('epochOrder is a permutation that depends only on (seed, epoch)', () => {
  const a = epochOrder(50, 9, 3);
  assert.deepEqual(
    [...a].sort((x, y) => x - y),
    Array.from({ length: 50 }, (_, i) => i),
  );
  // Recomputing epoch 3 directly, without epochs 0-2 first, gives the same order (what resume needs).
  for (let e = 0; e < 3; e++) epochOrder(50, 9, e);
  assert.deepEqual(epochOrder(50, 9, 3), a);
  const orders = new Set([0, 1, 2, 3, 4].map((e) => epochOrder(50, 9, e).join()));
  assert.equal(orders.size, 5, 'each epoch gets its own order');
  assert.notDeepEqual(epochOrder(50, 10, 3), a);
  assert.notDeepEqual(
    a,
    Array.from({ length: 50 }, (_, i) => i),
  );
});

test('sliceBatches keeps the last partial batch', () => {
  assert.deepEqual(sliceBatches([1, 2, 3, 4, 5, 6, 7], 3), [[1, 2, 3], [4, 5, 6], [7]]);
  assert.deepEqual(sliceBatches([1, 2, 3, 4], 2), [
    [1, 2],
    [3, 4],
  ]);
  assert.deepEqual(sliceBatches([], 4), []);
  assert.equal(batchCount(7, 3), 3);
  assert.equal(batchCount(6, 3), 2);
  assert.throws(() => sliceBatches([1], 0), /batchSize must be a positive integer, received 0/);
});

test('epochBatches: shuffled for training, in order for evaluation', () => {
  const train = epochBatches(10, 4, { shuffle: true, seed: 1, epoch: 0 });
  assert.deepEqual(
    train.map((b) => b.length),
    [4, 4, 2],
  );
  assert.deepEqual(train.flat(), epochOrder(10, 1, 0));
  assert.deepEqual(epochBatches(5, 2, { shuffle: false, seed: 1, epoch: 0 }), [
    [0, 1],
    [2, 3],
    [4],
  ]);
});
