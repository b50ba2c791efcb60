/**
 * Shared test inputs for the weights loaders: small layer lists shaped like VGG, and a value formula
 * that makes every element of every tensor distinct, so a transposed or misplaced value shows.
 */
import type { LayerSpec } from '../../src/model/architectures.js';

/** Value of element `i` (flat index in the file's own layout) of tensor number `t`. */
export function valueAt(t: number, i: number): number {
  return Math.fround(i + (t + 1) / 64);
}

export function filled(t: number, n: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => valueAt(t, i));
}

/**
 * A VGG-shaped network small enough to write in milliseconds: 8x8x3 input, two blocks, a 2x3x6
 * flatten (H != W, so a swapped axis in fc1's permutation shows), three dense layers.
 */
export function tinyLayers(includeTop: boolean): LayerSpec[] {
  const layers: LayerSpec[] = [
    { name: 'input_1', kind: 'input', outputShape: [8, 8, 3] },
    {
      name: 'block1_conv1',
      kind: 'conv',
      outputShape: [8, 8, 4],
      kernelShape: [3, 3, 3, 4],
      biasShape: [4],
      activation: 'relu',
      block: 1,
    },
    { name: 'block1_pool', kind: 'pool', outputShape: [4, 4, 4], block: 1 },
    {
      name: 'block2_conv1',
      kind: 'conv',
      outputShape: [4, 4, 5],
      kernelShape: [3, 3, 4, 5],
      biasShape: [5],
      activation: 'relu',
      block: 2,
    },
    {
      name: 'block2_conv2',
      kind: 'conv',
      outputShape: [4, 4, 6],
      kernelShape: [3, 3, 5, 6],
      biasShape: [6],
      activation: 'relu',
      block: 2,
    },
    { name: 'block2_pool', kind: 'pool', outputShape: [2, 3, 6], block: 2 },
  ];
  if (!includeTop) return layers;
  return [
    ...layers,
    { name: 'flatten', kind: 'flatten', outputShape: [36] },
    {
      name: 'fc1',
      kind: 'dense',
      outputShape: [7],
      kernelShape: [36, 7],
      biasShape: [7],
      activation: 'relu',
    },
    {
      name: 'fc2',
      kind: 'dense',
      outputShape: [5],
      kernelShape: [7, 5],
      biasShape: [5],
      activation: 'relu',
    },
    {
      name: 'predictions',
      kind: 'dense',
      outputShape: [3],
      kernelShape: [5, 3],
      biasShape: [3],
      activation: 'softmax',
    },
  ];
}

/** Layers that carry weights, in order. */
export function weighted(layers: readonly LayerSpec[]): LayerSpec[] {
  return layers.filter((layer) => layer.kernelShape !== undefined);
}
