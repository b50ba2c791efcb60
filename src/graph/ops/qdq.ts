/**
 * Inference-only ops of int8 graphs in ONNX's QDQ form: the graph stays a float graph in which
 * QuantizeLinear -> DequantizeLinear pairs mark where values are int8, and ONNX Runtime's graph
 * optimiser replaces each DQ -> Conv -> (Relu) -> Q group with one QLinearConv (its int8 kernel:
 * VNNI where the CPU has it) and drops the Q/DQ pairs around MaxPool so pooling runs on the 8-bit
 * values. For that fusion every Conv input must come from a DequantizeLinear — weights int8 per
 * output channel, the bias int32 at inputScale * weightScale — and a Q must follow the (Relu of
 * the) Conv, with a zero point at the type's minimum so the Relu is redundant. The arithmetic
 * lives in src/model/quantize.ts; these ops only place the nodes.
 */
import { attr, type DType } from '../onnx.js';
import type { GraphBuilder, OpDef, Sym } from '../ir.js';
import type { ActivationType, QuantParams } from '../../model/quantize.js';

function scalar(g: GraphBuilder, hint: string, p: QuantParams, type: ActivationType): Sym[] {
  const scale = g.constant(`${hint}_scale`, {
    dtype: 'float32',
    dims: [],
    data: Float32Array.of(p.scale),
  });
  const zeroPoint = g.constant(`${hint}_zero_point`, {
    dtype: type,
    dims: [],
    data: type === 'uint8' ? Uint8Array.of(p.zeroPoint) : Int8Array.of(p.zeroPoint),
  });
  return [scale, zeroPoint];
}

export interface QdqAttrs {
  readonly params: QuantParams;
  readonly type: ActivationType;
  /** Readable prefix for the constants (the layer whose output is quantized). */
  readonly hint: string;
}

/** x -> DequantizeLinear(QuantizeLinear(x)): a float tensor whose values are 8-bit. */
export const quantizeDequantize: OpDef<QdqAttrs> = {
  name: 'quantizeDequantize (inference)',
  forward: (g, [x], { params, type, hint }) => {
    const xs = x as Sym;
    const [scale, zeroPoint] = scalar(g, hint, params, type) as [Sym, Sym];
    const q = g.node('QuantizeLinear', [xs, scale, zeroPoint], xs.shape, {}, type as DType);
    return [g.node('DequantizeLinear', [q, scale, zeroPoint], xs.shape)];
  },
};

/** A constant int8/int32 tensor dequantized along `axis` 0 (per output channel). */
export interface ConstantDq {
  readonly hint: string;
  readonly dims: readonly number[];
  readonly data: Int8Array | Int32Array;
  readonly scales: Float32Array;
}

export function dequantizedConstant(g: GraphBuilder, c: ConstantDq): Sym {
  const dtype: DType = c.data instanceof Int8Array ? 'int8' : 'int32';
  const values = g.constant(c.hint, { dtype, dims: c.dims, data: c.data });
  const scales = g.constant(`${c.hint}_scale`, {
    dtype: 'float32',
    dims: [c.scales.length],
    data: c.scales,
  });
  const zeroPoints = g.constant(`${c.hint}_zero_point`, {
    dtype,
    dims: [c.scales.length],
    data: dtype === 'int8' ? new Int8Array(c.scales.length) : new Int32Array(c.scales.length),
  });
  return g.node('DequantizeLinear', [values, scales, zeroPoints], c.dims, {
    axis: attr.int(0),
  });
}
