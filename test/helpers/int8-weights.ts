/**
 * Weights for int8 tests on real networks: one int8 represents well, and one it cannot (the
 * accuracy guard must reject it), for a VGG whose first two blocks open with block1_conv1 and
 * block2_conv1 (every architecture does).
 */
import type { VggOptions } from '../../src/model/architectures.js';
import { type HeadSpec, modelLayers } from '../../src/model/head.js';
import { initWeights } from '../../src/model/init.js';
import { kernelKey, type WeightMap } from '../../src/model/weight-map.js';
import { Random } from '../../src/util/random.js';

/** Glorot weights scaled by sqrt(2) (He's gain for ReLU), so activations stay O(1) to block5. */
export function soundWeights(
  options: VggOptions,
  head: HeadSpec | undefined,
  seed: number,
): WeightMap {
  const weights = initWeights(modelLayers(options, head), new Random(seed));
  for (const [key, t] of weights)
    if (key.endsWith('kernel')) t.data.forEach((v, i) => (t.data[i] = v * Math.SQRT2));
  return weights;
}

/**
 * block1_conv1's output channel 0 is 10^4 times the others, so one per-tensor 8-bit activation
 * scale rounds the other channels to zero; block2_conv1 reads only those others. fp32 is fine,
 * int8's features are (nearly) all zero.
 */
export function int8HostileWeights(
  options: VggOptions,
  head: HeadSpec | undefined,
  seed: number,
): WeightMap {
  const weights = soundWeights(options, head, seed);
  const k1 = weights.get(kernelKey('block1_conv1'));
  const k2 = weights.get(kernelKey('block2_conv1'));
  if (k1 === undefined || k2 === undefined)
    throw new Error('expected block1_conv1 and block2_conv1');
  // Keras kernel layout [h, w, in, out]: the out channel is the fastest index.
  const out1 = k1.dims[3] as number;
  const out2 = k2.dims[3] as number;
  k1.data.forEach((v, i) => (k1.data[i] = i % out1 === 0 ? v * 1e4 : v));
  k2.data.forEach((_, i) => {
    if (Math.floor(i / out2) % out1 === 0) k2.data[i] = 0;
  });
  return weights;
}
