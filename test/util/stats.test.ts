/** Shared summary statistics against Python's `statistics` module (median, mean, stdev). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mean, median, sampleSd } from '../../src/util/stats.js';

// python3 -c "import statistics as s; v=[2,4,4,4,5,5,7,9]; print(s.median(v), s.mean(v), s.stdev(v), s.median([3,1,2]))"
// 4.5 5 2.138089935299395 2
const VALUES = [9, 4, 2, 5, 4, 7, 4, 5];

test('median, mean and sample standard deviation agree with Python statistics', () => {
  assert.equal(median(VALUES), 4.5);
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(mean(VALUES), 5);
  assert.ok(Math.abs(sampleSd(VALUES) - 2.138089935299395) < 1e-12);
});

test('no values give NaN rather than a number; one value has no spread', () => {
  assert.ok(Number.isNaN(median([])));
  assert.ok(Number.isNaN(mean([])));
  assert.equal(sampleSd([0.7]), 0);
});
