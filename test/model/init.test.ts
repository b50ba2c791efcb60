import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { initWeights } from '../../src/model/init.js';
import { biasKey, kernelKey } from '../../src/model/weight-map.js';
import { Random } from '../../src/util/random.js';
import { tinyLayers } from './fixtures.js';

describe('initWeights', () => {
  const layers = tinyLayers(true);

  test('Glorot-uniform kernels within Keras limits, spread over the range; zero biases', () => {
    const weights = initWeights(layers, new Random(1));
    // Limits worked by hand: conv fans include the 3x3 receptive field.
    const limits: Record<string, number> = {
      block1_conv1: Math.sqrt(6 / (3 * 9 + 4 * 9)),
      block2_conv1: Math.sqrt(6 / (4 * 9 + 5 * 9)),
      block2_conv2: Math.sqrt(6 / (5 * 9 + 6 * 9)),
      fc1: Math.sqrt(6 / (36 + 7)),
      fc2: Math.sqrt(6 / (7 + 5)),
      predictions: Math.sqrt(6 / (5 + 3)),
    };
    for (const [name, limit] of Object.entries(limits)) {
      const kernel = weights.get(kernelKey(name));
      assert.ok(kernel, name);
      const values = [...kernel.data];
      assert.ok(
        values.every((v) => Math.abs(v) <= limit),
        `${name} exceeds ±${limit}`,
      );
      // Uniform on [-limit, limit]: the extremes come close to the limit, the mean is near 0.
      assert.ok(
        Math.max(...values.map(Math.abs)) > 0.8 * limit,
        `${name} never approaches ±${limit}`,
      );
      const bias = weights.get(biasKey(name));
      assert.ok(bias && bias.data.every((v) => v === 0), `${name} bias is not zero`);
    }
    const big = [...(weights.get(kernelKey('fc1'))?.data ?? [])];
    const mean = big.reduce((a, b) => a + b, 0) / big.length;
    const variance = big.reduce((a, b) => a + (b - mean) ** 2, 0) / big.length;
    // Uniform(-L, L) has variance L^2 / 3 = 2 / (fan_in + fan_out).
    assert.ok(Math.abs(variance - 2 / 43) < 0.25 * (2 / 43), `variance ${variance}`);
  });

  test('the same seed gives the same weights; another seed does not', () => {
    const a = initWeights(layers, new Random(42));
    const b = initWeights(layers, new Random(42));
    const c = initWeights(layers, new Random(43));
    for (const [key, value] of a) assert.deepEqual(value.data, b.get(key)?.data, key);
    assert.notDeepEqual(a.get(kernelKey('fc1'))?.data, c.get(kernelKey('fc1'))?.data);
  });
});
