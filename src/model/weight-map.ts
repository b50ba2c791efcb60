/**
 * Weights in memory, in one canonical layout whatever file they came from: Keras names and Keras
 * layouts. Keys are `${layer}/kernel` and `${layer}/bias` (e.g. `block1_conv1/kernel`). Conv
 * kernels are HWIO [3, 3, in, out]; dense kernels are [in, out]; `fc1`'s rows follow Keras'
 * Flatten over NHWC (h, w, c). Loaders convert into this layout; graph builders convert out of it.
 */
import type { Float32Tensor } from '../util/tensor.js';

export type WeightMap = Map<string, Float32Tensor>;

export function kernelKey(layer: string): string {
  return `${layer}/kernel`;
}

export function biasKey(layer: string): string {
  return `${layer}/bias`;
}
