/** The QDQ arithmetic every int8 graph is built with (src/model/quantize.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  activationParams,
  dequantizeValue,
  quantizeBias,
  quantizeKernel,
  quantizeValue,
  roundHalfEven,
} from '../../src/model/quantize.js';

test('roundHalfEven rounds ties to the even neighbour, as QuantizeLinear does', () => {
  assert.deepEqual(
    [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 2.4, -2.6].map(roundHalfEven),
    [-2, -2, -0, 0, 2, 2, 2, -3],
  );
});

test('activation params: 0 is exact, the range ends map to the type ends', () => {
  for (const [range, type] of [
    [{ min: 0, max: 6.5 }, 'uint8'],
    [{ min: -2, max: 1.5 }, 'uint8'],
    [{ min: 0, max: 10 }, 'int8'],
    [{ min: 3, max: 10 }, 'uint8'],
  ] as const) {
    const p = activationParams(range, type);
    assert.equal(dequantizeValue(quantizeValue(0, p, type), p), 0, JSON.stringify(range));
    const top = quantizeValue(Math.max(range.max, 0), p, type);
    assert.equal(top, type === 'uint8' ? 255 : 127, JSON.stringify(range));
  }
  // A ReLU output starts at the type's minimum: that is what makes the Relu redundant for ORT.
  assert.equal(activationParams({ min: 0, max: 4 }, 'uint8').zeroPoint, 0);
  assert.equal(activationParams({ min: 0, max: 4 }, 'int8').zeroPoint, -128);
  // A dead layer (all zeros) still gets a usable scale.
  assert.deepEqual(activationParams({ min: 0, max: 0 }, 'uint8'), { scale: 1, zeroPoint: 0 });
});

test('kernels are symmetric per output channel; 7 bits halve the range', () => {
  const kernel = { dims: [2, 3], data: Float32Array.of(0.4, -1, 0.25, 0, 0, 0) };
  const q = quantizeKernel(kernel);
  assert.deepEqual([...q.data], [51, -127, 32, 0, 0, 0]);
  assert.deepEqual([...q.scales], [Math.fround(1 / 127), 1]);
  const q7 = quantizeKernel(kernel, 7);
  assert.deepEqual([...q7.data], [25, -63, 16, 0, 0, 0]);
});

test('biases are int32 at input scale x weight scale', () => {
  const { data, scales } = quantizeBias(Float32Array.of(0.1, -3), 0.01, Float32Array.of(0.5, 2));
  assert.deepEqual([...scales], [Math.fround(0.005), Math.fround(0.02)]);
  assert.deepEqual([...data], [20, -150]);
});
