/** The accuracy guard's figures and thresholds (src/engine/int8/guard.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AgreementMeter, cosine, guardFailure } from '../../../src/engine/int8/guard.js';

test('cosine: identical 1, opposite -1, orthogonal 0, zero vectors handled', () => {
  assert.equal(cosine(Float32Array.of(1, 2), Float32Array.of(2, 4)), 1);
  assert.equal(cosine(Float32Array.of(1, 0), Float32Array.of(-1, 0)), -1);
  assert.equal(cosine(Float32Array.of(1, 0), Float32Array.of(0, 3)), 0);
  assert.equal(cosine(new Float32Array(2), new Float32Array(2)), 1);
  assert.equal(cosine(new Float32Array(2), Float32Array.of(0, 1)), 0);
});

test('top-1 and top-5 agreement count per image', () => {
  const meter = new AgreementMeter();
  // Image 0: same best class. Image 1: fp32's best (index 0) is int8's second.
  const ref = Float32Array.of(0.7, 0.2, 0.1, 0, 0, 0, 0.1, 0.6, 0.3, 0, 0, 0);
  const got = Float32Array.of(0.6, 0.3, 0.1, 0, 0, 0, 0.3, 0.1, 0.6, 0, 0, 0);
  meter.addFeatures(ref, got, 2);
  meter.addScores(ref, got, 2);
  const f = meter.figures();
  assert.equal(f.images, 2);
  assert.equal(f.top1, 0.5);
  assert.equal(f.top5, 1);
  assert.ok(f.minCosine < f.cosine && f.cosine < 1);
});

test('the guard names each figure below its threshold', () => {
  assert.equal(guardFailure({ images: 10, cosine: 0.995, minCosine: 0.9 }), undefined);
  assert.equal(
    guardFailure({ images: 10, cosine: 0.98, minCosine: 0.9, top1: 0.9, top5: 1 }),
    'feature cosine 0.9800 < 0.99, top-1 agreement 90.0% < 99%',
  );
  assert.equal(
    guardFailure({ images: 0, cosine: 0, minCosine: 0 }),
    'no held-out image could be decoded',
  );
});
