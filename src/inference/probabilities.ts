/**
 * A classifier's outputs as one probability per class, the one place this is decided for predict,
 * evaluate and the trainer's validation pass. A binary cross-entropy model has a single sigmoid
 * output, the probability of the second class; the first class gets the rest.
 */
import type { Float32Tensor } from '../util/tensor.js';

/** One image's scores as `classCount` probabilities. */
export function classProbabilities(scores: Float32Array, classCount: number): Float32Array {
  if (scores.length === 1 && classCount === 2)
    return Float32Array.of(1 - (scores[0] as number), scores[0] as number);
  return scores;
}

/**
 * A batch's outputs [n, width] as [n, classCount], or undefined when the width fits neither
 * (one output per class, or one sigmoid output for two classes).
 */
export function batchProbabilities(
  output: Float32Tensor,
  classCount: number,
): Float32Tensor | undefined {
  const [n = 0, width = 0] = output.dims;
  if (width === classCount) return { dims: [n, classCount], data: output.data };
  if (width !== 1 || classCount !== 2) return undefined;
  const data = new Float32Array(n * 2);
  for (let i = 0; i < n; i++)
    data.set(classProbabilities(output.data.subarray(i, i + 1), 2), i * 2);
  return { dims: [n, 2], data };
}
