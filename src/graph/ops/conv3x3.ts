/**
 * 3x3 convolution, stride 1, same padding, NHWC, lowered to im2col (one Gather) + one GEMM (ARCHITECTURE.md:
 * ORT's Conv with a non-constant weight runs at ~75 GFLOP/s, a plain MatMul near the machine's peak).
 *
 * Inputs: x [N, H, W, C_in], kernel in Keras HWIO [3, 3, C_in, C_out], bias [C_out].
 * HWIO reshaped to [9*C_in, C_out] is the GEMM weight with rows ordered (kh, kw, cin) — exactly the
 * column order of the nine shifted slices concatenated on channels, so no weight transposition.
 *
 * Backward: weight gradient = cols^T x dY (one Gemm with transA, cols reused from the forward);
 * input gradient = im2col(dY) x the (kh, kw)-flipped kernel with C_in and C_out swapped (one Gemm),
 * which measured 35 ms against 41 ms for dY x W^T followed by a col2im of nine shifted slices,
 * pads and a `Sum` (512 channels, 14x14, batch 16).
 */
import { attr } from '../onnx.js';
import { BATCH, type GraphBuilder, type OpDef, type Sym } from '../ir.js';

interface Dims {
  readonly h: number;
  readonly w: number;
  readonly cin: number;
  readonly cout: number;
}

function dimsOf(x: Sym, kernel: Sym): Dims {
  const [, h, w, cin] = x.shape as [number, number, number, number];
  const [kh, kw, kin, cout] = kernel.shape as [number, number, number, number];
  if (kh !== 3 || kw !== 3 || kin !== cin) {
    throw new RangeError(
      `conv3x3 expects a [3, 3, ${cin}, C_out] kernel for input [N, ${h}, ${w}, ${cin}], received [${kernel.shape.join(', ')}]`,
    );
  }
  return { h, w, cin, cout };
}

/**
 * The im2col matrix [N*H*W, 9*C] of an NHWC tensor, columns ordered (kh, kw, c): the zero-padded
 * image as rows of C channels, and one `Gather` that picks, for every output pixel, its nine
 * neighbours' rows in (kh, kw) order. One pass over the 9x-sized result, where nine `Slice`s plus
 * a channel `Concat` wrote it twice (measured 5.5 vs 8.2 ms per 512-channel 14x14 conv at batch 16).
 */
export function im2col3x3(
  g: GraphBuilder,
  x: Sym,
  d: { readonly h: number; readonly w: number; readonly cin: number },
): Sym {
  return im2colRows(g, paddedRows(g, x, d), d, 0, d.h);
}

/** The zero-padded NHWC image as [N, (H+2)*(W+2), C] rows, the source im2colRows gathers from. */
export function paddedRows(
  g: GraphBuilder,
  x: Sym,
  d: { readonly h: number; readonly w: number; readonly cin: number },
): Sym {
  const [ph, pw] = [d.h + 2, d.w + 2];
  const padded = g.node('Pad', [x, g.int64s([0, 1, 1, 0, 0, 1, 1, 0])], [BATCH, ph, pw, d.cin]);
  return g.node('Reshape', [padded, g.int64s([-1, ph * pw, d.cin])], [BATCH, ph * pw, d.cin]);
}

/**
 * The im2col rows of output rows [from, to) only: [N*(to-from)*W, 9*C], ordered (n, i, j) like
 * the full matrix, so a conv can be computed (or its weight gradient accumulated) strip by strip
 * with at most one strip's columns in memory.
 */
export function im2colRows(
  g: GraphBuilder,
  rows: Sym,
  d: { readonly h: number; readonly w: number; readonly cin: number },
  from: number,
  to: number,
  after?: Sym,
): Sym {
  const pw = d.w + 2;
  const neighbours: number[] = [];
  for (let i = from; i < to; i++) {
    for (let j = 0; j < d.w; j++) {
      for (let kh = 0; kh < 3; kh++)
        for (let kw = 0; kw < 3; kw++) neighbours.push((i + kh) * pw + j + kw);
    }
  }
  const constant = g.constant('im2col_rows', {
    dtype: 'int64',
    dims: [neighbours.length],
    data: BigInt64Array.from(neighbours.map(BigInt)),
  });
  const indices = after === undefined ? constant : runAfter(g, constant, after);
  const cols = g.node('Gather', [rows, indices], [BATCH, neighbours.length, d.cin], {
    axis: attr.int(1),
  });
  return g.node('Reshape', [cols, g.int64s([-1, 9 * d.cin])], [BATCH, 9 * d.cin]);
}

/**
 * `indices` (int64) unchanged, but only computable once `dependency` (float) exists: plus 0, where
 * the 0 is derived from dependency's first element (`> +inf` is false even for NaN). ONNX Runtime
 * runs independent nodes in an order of its own; this is how a strip's gather is made to wait for
 * the previous strip's GEMM, so the strips' column matrices are never alive together.
 */
export function runAfter(g: GraphBuilder, indices: Sym, dependency: Sym): Sym {
  const rank = dependency.shape.length;
  const first = g.node(
    'Slice',
    [dependency, g.int64s(Array(rank).fill(0)), g.int64s(Array(rank).fill(1))],
    Array(rank).fill(1),
  );
  const never = g.node('Greater', [first, g.scalar(Infinity, 'infinity')], first.shape, {}, 'bool');
  const zero = g.node(
    'Reshape',
    [g.node('Cast', [never], first.shape, { to: attr.int(7) }, 'int64'), g.int64s([1])],
    [1],
    {},
    'int64',
  );
  return g.node('Add', [indices, zero], indices.shape, {}, 'int64');
}

export const conv3x3: OpDef<void> = {
  name: 'conv3x3',
  forward: (g, [x, kernel, bias]) => {
    const d = dimsOf(x as Sym, kernel as Sym);
    const cols = im2col3x3(g, x as Sym, d);
    const w2d = g.node(
      'Reshape',
      [kernel as Sym, g.int64s([9 * d.cin, d.cout])],
      [9 * d.cin, d.cout],
    );
    const y2d = g.node('Gemm', [cols, w2d, bias as Sym], [BATCH, d.cout]);
    // The im2col matrix is an output of the op so the backward pass reuses it instead of rebuilding it.
    return [
      g.node('Reshape', [y2d, g.int64s([-1, d.h, d.w, d.cout])], [BATCH, d.h, d.w, d.cout]),
      cols,
    ];
  },
  backward: (g, { inputs: [x, kernel], outputs: [, cols], needsGrad }, [dy]) => {
    const d = dimsOf(x as Sym, kernel as Sym);
    const dy2d = g.node('Reshape', [dy as Sym, g.int64s([-1, d.cout])], [BATCH, d.cout]);
    const dw2d = g.node('Gemm', [cols as Sym, dy2d], [9 * d.cin, d.cout], { transA: attr.int(1) });
    const dkernel = g.node(
      'Reshape',
      [dw2d, g.int64s([3, 3, d.cin, d.cout])],
      [3, 3, d.cin, d.cout],
    );
    const dbias = g.node('ReduceSum', [dy2d, g.int64s([0])], [d.cout], { keepdims: attr.int(0) });
    if (needsGrad[0] !== true) return [undefined, dkernel, dbias];
    // dX is the same-padded convolution of dY with the kernel flipped in (kh, kw) and its channel
    // axes swapped: im2col of dY times the flipped kernel laid out [C_in, 9*C_out] (transB).
    const taps = g.node(
      'Reshape',
      [kernel as Sym, g.int64s([9, d.cin, d.cout])],
      [9, d.cin, d.cout],
    );
    const flippedTaps = g.node(
      'Gather',
      [taps, g.int64s([8, 7, 6, 5, 4, 3, 2, 1, 0])],
      [9, d.cin, d.cout],
      { axis: attr.int(0) },
    );
    const wt = g.node('Transpose', [flippedTaps], [d.cin, 9, d.cout], {
      perm: attr.ints([1, 0, 2]),
    });
    const wt2d = g.node('Reshape', [wt, g.int64s([d.cin, 9 * d.cout])], [d.cin, 9 * d.cout]);
    const dyCols = im2col3x3(g, dy as Sym, { h: d.h, w: d.w, cin: d.cout });
    const dx2d = g.node('Gemm', [dyCols, wt2d], [BATCH, d.cin], { transB: attr.int(1) });
    return [
      g.node('Reshape', [dx2d, g.int64s([-1, d.h, d.w, d.cin])], [BATCH, d.h, d.w, d.cin]),
      dkernel,
      dbias,
    ];
  },
};
