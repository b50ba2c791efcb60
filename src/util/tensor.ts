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

/** Rows of `width` values each, batch after batch, as one [rows, width] tensor. */
export function concatRows(parts: readonly Float32Array[], width: number): Float32Tensor {
  const data = new Float32Array(parts.reduce((sum, p) => sum + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    data.set(part, offset);
    offset += part.length;
  }
  return { dims: [width === 0 ? 0 : data.length / width, width], data };
}
