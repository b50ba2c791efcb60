/**
 * The arithmetic of int8 inference graphs (ONNX QuantizeLinear / DequantizeLinear semantics), in
 * one place so the graph builder, the calibrator and the tests agree on every rounding:
 *
 *   QuantizeLinear:   q = saturate(round_half_to_even(x / scale) + zeroPoint)
 *   DequantizeLinear: x = (q - zeroPoint) * scale
 *
 * Weights are per output channel and symmetric (zero point 0, range [-127, 127] as ONNX Runtime's
 * quantizer uses, so -128 never appears and the range is the same on both sides); with
 * `weightBits` 7 the range is [-63, 63] ("reduce range"), which keeps AVX2's 16-bit pair sums
 * (VPMADDUBSW: u8 x s8 + u8 x s8) from saturating on CPUs without VNNI. Activations are per tensor
 * and asymmetric: an activation after ReLU starts at 0, so its zero point is the type's minimum
 * (0 for uint8, -128 for int8) — which is also what lets ONNX Runtime drop the ReLU (the Q clips
 * at zero) and fuse DQ -> Conv -> Relu -> Q into one QLinearConv. Biases are int32 at scale
 * inputScale * weightScale[channel], the scale QLinearConv accumulates in.
 */

/** The activation type: U8S8 (uint8 activations, int8 weights) or S8S8. */
export type ActivationType = 'uint8' | 'int8';

export interface QuantParams {
  readonly scale: number;
  readonly zeroPoint: number;
}

/** The float range a per-tensor activation scale must cover. */
export interface ActivationRange {
  readonly min: number;
  readonly max: number;
}

const TYPE_RANGE: Record<ActivationType, readonly [number, number]> = {
  uint8: [0, 255],
  int8: [-128, 127],
};

export function typeRange(type: ActivationType): readonly [number, number] {
  return TYPE_RANGE[type];
}

/** Round half to even, as QuantizeLinear rounds. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  // Math.round sends .5 up; for an exact tie to an odd result go down instead.
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Scale and zero point for a per-tensor activation covering `range` (widened to include 0, which
 * must be exactly representable: convolutions pad with zeros). A range of zero width (a dead
 * layer) gets scale 1, so no division by zero reaches the graph.
 */
export function activationParams(range: ActivationRange, type: ActivationType): QuantParams {
  const [qmin, qmax] = TYPE_RANGE[type];
  const min = Math.min(range.min, 0);
  const max = Math.max(range.max, 0);
  if (!Number.isFinite(min) || !Number.isFinite(max))
    throw new RangeError(`activation range [${range.min}, ${range.max}] is not finite`);
  if (max - min <= 0) return { scale: 1, zeroPoint: min === 0 ? qmin : qmax };
  const scale = Math.fround((max - min) / (qmax - qmin));
  const zeroPoint = Math.min(qmax, Math.max(qmin, roundHalfEven(qmin - min / scale)));
  return { scale, zeroPoint };
}

export function quantizeValue(x: number, p: QuantParams, type: ActivationType): number {
  const [qmin, qmax] = TYPE_RANGE[type];
  return Math.min(qmax, Math.max(qmin, roundHalfEven(x / p.scale) + p.zeroPoint));
}

export function dequantizeValue(q: number, p: QuantParams): number {
  return (q - p.zeroPoint) * p.scale;
}

export interface QuantizedKernel {
  /** Same layout as the float kernel (OIHW); per output channel (axis 0). */
  readonly data: Int8Array;
  readonly dims: readonly number[];
  readonly scales: Float32Array;
}

/**
 * Per-output-channel symmetric quantization of an OIHW kernel: channel o uses
 * scale max|w[o]| / qmax. An all-zero channel gets scale 1 (its values quantize to 0 either way).
 */
export function quantizeKernel(
  kernel: { readonly dims: readonly number[]; readonly data: Float32Array },
  weightBits: 7 | 8 = 8,
): QuantizedKernel {
  const out = kernel.dims[0];
  if (out === undefined || out === 0 || kernel.data.length % out !== 0)
    throw new RangeError(`kernel: expected [out, ...], received [${kernel.dims.join(', ')}]`);
  const qmax = weightBits === 8 ? 127 : 63;
  const per = kernel.data.length / out;
  const scales = new Float32Array(out);
  const data = new Int8Array(kernel.data.length);
  for (let o = 0; o < out; o++) {
    let absMax = 0;
    for (let i = o * per; i < (o + 1) * per; i++)
      absMax = Math.max(absMax, Math.abs(kernel.data[i] as number));
    const scale = absMax === 0 ? 1 : Math.fround(absMax / qmax);
    scales[o] = scale;
    for (let i = o * per; i < (o + 1) * per; i++)
      data[i] = Math.min(qmax, Math.max(-qmax, roundHalfEven((kernel.data[i] as number) / scale)));
  }
  return { data, dims: [...kernel.dims], scales };
}

/** int32 bias at scale inputScale * weightScale[o] (QLinearConv's accumulator scale). */
export function quantizeBias(
  bias: Float32Array,
  inputScale: number,
  weightScales: Float32Array,
): { readonly data: Int32Array; readonly scales: Float32Array } {
  const scales = new Float32Array(bias.length);
  const data = new Int32Array(bias.length);
  for (let o = 0; o < bias.length; o++) {
    const scale = Math.fround(inputScale * (weightScales[o] as number));
    scales[o] = scale;
    const q = roundHalfEven((bias[o] as number) / scale);
    data[o] = Math.min(2 ** 31 - 1, Math.max(-(2 ** 31), q));
  }
  return { data, scales };
}
