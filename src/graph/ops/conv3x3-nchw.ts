/**
 * 3x3 convolution, stride 1, same padding, on NCHW tensors through ONNX Runtime's own `Conv`
 * (MLAS: im2col in cache-sized segments, so no 9x-sized column matrix ever reaches memory).
 *
 * Inputs: x [N, C_in, H, W], kernel in Keras HWIO [3, 3, C_in, C_out], bias [C_out]; the kernel is
 * transposed to OIHW in the graph (a weight-sized copy), so parameters keep Keras' layout.
 *
 * Backward:
 *   dX = Conv(dY, kernel flipped in (kh, kw) with its channel axes swapped), again ORT's Conv;
 *   dKernel = cols^T x dY over NHWC copies of x and dY, accumulated strip by strip: the im2col
 *   rows of `stripRows` output rows at a time and one Gemm (transA, beta 1) adding each strip's
 *   product to the running sum, so at most one strip's columns are alive (`stripRows` >= H is
 *   one strip); dBias = sum of dY.
 */
import { attr } from '../onnx.js';
import { BATCH, type GraphBuilder, type OpDef, type Sym } from '../ir.js';
import { im2colRows, paddedRows } from './conv3x3.js';

export interface NchwConvAttrs {
  /** Output rows per strip of the weight gradient's im2col (memory: N * stripRows * W * 9 * C_in floats). */
  readonly stripRows: number;
}

const PADS = { pads: attr.ints([1, 1, 1, 1]) };

function dims(x: Sym, kernel: Sym): { h: number; w: number; cin: number; cout: number } {
  const [, cin, h, w] = x.shape as [number, number, number, number];
  const [kh, kw, kin, cout] = kernel.shape as [number, number, number, number];
  if (kh !== 3 || kw !== 3 || kin !== cin)
    throw new RangeError(
      `conv3x3Nchw expects a [3, 3, ${cin}, C_out] kernel for input [N, ${cin}, ${h}, ${w}], received [${kernel.shape.join(', ')}]`,
    );
  return { h, w, cin, cout };
}

function toNhwc(g: GraphBuilder, v: Sym): Sym {
  const [, c, h, w] = v.shape as [number, number, number, number];
  return g.node('Transpose', [v], [BATCH, h, w, c], { perm: attr.ints([0, 2, 3, 1]) });
}

/** The weight gradient [9*C_in, C_out] (rows (kh, kw, c_in)) of NHWC x and dY, strip by strip. */
export function stripedWeightGradient(
  g: GraphBuilder,
  x: Sym,
  dy: Sym,
  d: { readonly h: number; readonly w: number; readonly cin: number; readonly cout: number },
  stripRows: number,
): Sym {
  const rows = paddedRows(g, x, d);
  const rowsPerStrip = Math.max(1, Math.min(d.h, Math.floor(stripRows)));
  let sum: Sym | undefined;
  for (let from = 0; from < d.h; from += rowsPerStrip) {
    const to = Math.min(d.h, from + rowsPerStrip);
    // Each strip's gather waits for the previous strip's GEMM (runAfter): one strip alive at a time.
    const cols = im2colRows(g, rows, d, from, to, sum);
    const dyStrip =
      from === 0 && to === d.h
        ? dy
        : g.node(
            'Slice',
            [dy, g.int64s([from]), g.int64s([to]), g.int64s([1])],
            [BATCH, to - from, d.w, d.cout],
          );
    const dy2d = g.node('Reshape', [dyStrip, g.int64s([-1, d.cout])], [BATCH, d.cout]);
    sum = g.node(
      'Gemm',
      sum === undefined ? [cols, dy2d] : [cols, dy2d, sum],
      [9 * d.cin, d.cout],
      {
        transA: attr.int(1),
      },
    );
  }
  return sum as Sym;
}

export const conv3x3Nchw: OpDef<NchwConvAttrs> = {
  name: 'conv3x3Nchw',
  forward: (g, [x, kernel, bias]) => {
    const d = dims(x as Sym, kernel as Sym);
    const oihw = g.node('Transpose', [kernel as Sym], [d.cout, d.cin, 3, 3], {
      perm: attr.ints([3, 2, 0, 1]),
    });
    return [g.node('Conv', [x as Sym, oihw, bias as Sym], [BATCH, d.cout, d.h, d.w], PADS)];
  },
  backward: (g, { inputs: [x, kernel], attrs, needsGrad }, [dy]) => {
    const xs = x as Sym;
    const k = kernel as Sym;
    const dys = dy as Sym;
    const d = dims(xs, k);
    const dbias = g.node('ReduceSum', [dys, g.int64s([0, 2, 3])], [d.cout], {
      keepdims: attr.int(0),
    });
    const dw2d = stripedWeightGradient(g, toNhwc(g, xs), toNhwc(g, dys), d, attrs.stripRows);
    const dkernel = g.node(
      'Reshape',
      [dw2d, g.int64s([3, 3, d.cin, d.cout])],
      [3, 3, d.cin, d.cout],
    );
    if (needsGrad[0] !== true) return [undefined, dkernel, dbias];
    // The transposed convolution as a convolution: OIHW weight [C_in, C_out, 3, 3] with
    // w'[ci, co, kh, kw] = kernel[2 - kh, 2 - kw, ci, co].
    const taps = g.node('Reshape', [k, g.int64s([9, d.cin, d.cout])], [9, d.cin, d.cout]);
    const flipped = g.node(
      'Gather',
      [taps, g.int64s([8, 7, 6, 5, 4, 3, 2, 1, 0])],
      [9, d.cin, d.cout],
      {
        axis: attr.int(0),
      },
    );
    const swapped = g.node('Transpose', [flipped], [d.cin, d.cout, 9], {
      perm: attr.ints([1, 2, 0]),
    });
    const weight = g.node(
      'Reshape',
      [swapped, g.int64s([d.cin, d.cout, 3, 3])],
      [d.cin, d.cout, 3, 3],
    );
    return [g.node('Conv', [dys, weight], [BATCH, d.cin, d.h, d.w], PADS), dkernel, dbias];
  },
};
