/** Calibration histograms and the three range methods (src/engine/int8/histogram.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ActivationHistogram, BINS } from '../../../src/engine/int8/histogram.js';
import { Random } from '../../../src/util/random.js';

function values(n: number, seed: number, scale: number): Float32Array {
  const rng = new Random(seed);
  // ReLU of a normal: half zeros, half a half-normal.
  return Float32Array.from({ length: n }, () => {
    const g = Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
    return Math.max(0, g * scale);
  });
}

test('growing the range merges bins exactly: the same counts as binning at the final range', () => {
  const small = values(5000, 1, 1);
  const large = values(5000, 2, 9);
  const grown = new ActivationHistogram();
  grown.add(small);
  grown.add(large);
  // A power of two, doubled from small's until it lies above large's maximum.
  assert.equal(Math.log2(grown.range) % 1, 0);
  assert.ok(grown.range > grown.max && grown.range / 2 <= grown.max);
  const direct = new ActivationHistogram();
  direct.range = grown.range;
  direct.add(small);
  direct.add(large);
  assert.deepEqual([...grown.counts], [...direct.counts]);
  assert.equal(
    grown.counts.reduce((sum, v) => sum + v, 0),
    10000,
  );
});

test('minmax is the maximum; percentile and entropy clip a rare outlier', () => {
  const h = new ActivationHistogram();
  const data = values(200_000, 3, 1);
  data[17] = 1000; // one outlier, far beyond the bulk (which ends near 4.5)
  h.add(data);
  assert.equal(h.threshold('minmax'), 1000);
  const percentile = h.threshold('percentile');
  assert.ok(percentile < 10, `percentile ${percentile}`);
  const entropy = h.threshold('entropy');
  assert.ok(entropy < 1000 && entropy >= (255 * h.range) / BINS, `entropy ${entropy}`);
});

test('a dead tensor (all zeros) has threshold 0 under every method', () => {
  const h = new ActivationHistogram();
  h.add(new Float32Array(100));
  for (const m of ['minmax', 'percentile', 'entropy'] as const) assert.equal(h.threshold(m), 0);
});
