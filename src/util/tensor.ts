/** A dense float32 array with its shape: how weights and activations cross module boundaries. */
export interface Float32Tensor {
  readonly dims: readonly number[];
  readonly data: Float32Array;
}

export function sizeOf(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

export function tensor(dims: readonly number[], data?: Float32Array): Float32Tensor {
  const n = sizeOf(dims);
  if (data !== undefined && data.length !== n) {
    throw new RangeError(
      `tensor data has ${data.length} values, shape [${dims.join(', ')}] needs ${n}`,
    );
  }
  return { dims: [...dims], data: data ?? new Float32Array(n) };
}
