/**
 * Random initialisation as Keras does it for Conv2D and Dense: Glorot-uniform kernels
 * (limit sqrt(6 / (fan_in + fan_out)), fans counting the receptive field for convolutions), zero
 * biases. Values are drawn layer by layer, kernel in memory order, from the given Random, so a
 * seed reproduces the same weights.
 */
import type { Random } from '../util/random.js';
import { sizeOf, tensor } from '../util/tensor.js';
import type { LayerSpec } from './architectures.js';
import { biasKey, kernelKey, type WeightMap } from './weight-map.js';

/** Keras `_compute_fans`: [in, out] for dense; [...receptive, in, out] for convolutions. */
export function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length < 2)
    throw new RangeError(`a kernel needs at least 2 dimensions, received [${shape.join(', ')}]`);
  const receptive = sizeOf(shape.slice(0, -2));
  return {
    fanIn: (shape.at(-2) as number) * receptive,
    fanOut: (shape.at(-1) as number) * receptive,
  };
}

export function glorotLimit(shape: readonly number[]): number {
  const { fanIn, fanOut } = fans(shape);
  return Math.sqrt(6 / (fanIn + fanOut));
}

export function initWeights(layers: readonly LayerSpec[], rng: Random): WeightMap {
  const weights: WeightMap = new Map();
  for (const layer of layers) {
    if (layer.kernelShape === undefined || layer.biasShape === undefined) continue;
    const limit = glorotLimit(layer.kernelShape);
    const kernel = new Float32Array(sizeOf(layer.kernelShape));
    for (let i = 0; i < kernel.length; i++) kernel[i] = rng.uniform(-limit, limit);
    weights.set(kernelKey(layer.name), tensor(layer.kernelShape, kernel));
    weights.set(biasKey(layer.name), tensor(layer.biasShape));
  }
  return weights;
}
