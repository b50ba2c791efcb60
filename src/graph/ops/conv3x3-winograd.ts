/**
 * 3x3 convolution, stride 1, same padding, NHWC, by Winograd's minimal filtering F(2x2, 3x3)
 * (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016): every 2x2 block of
 * output pixels is computed from a 4x4 input tile with 16 multiplications per channel pair instead
 * of 36, so the GEMMs do 2.25x fewer multiply-adds than im2col's. All standard ONNX ops:
 *
 *   tiles   one Gather picks the overlapping 4x4 tiles (stride 2) of the zero-padded image in
 *           position-major order [16, N*T, C] (T tiles per image; the indices are built in the
 *           graph from the run-time batch), then V = (B^T (x) B^T) . tiles — one MatMul with a
 *           constant [16, 16] over the position axis;
 *   weights U = (G (x) G) . kernel, [16, 9] x [9, C_in*C_out] -> [16, C_in, C_out];
 *   GEMMs   M = V x U, 16 batched [N*T, C_in] x [C_in, C_out] products (the cost);
 *   output  Y = (A^T (x) A^T) . M, [4, 16], then one Transpose from (u, v, n, tile) to NHWC.
 *
 * Backward, with Z = (A (x) A) . dY-tiles (the output transform's transpose on the 2x2 blocks):
 *   dU = V^T x Z per position, dKernel = (G (x) G)^T . dU; dBias = sum of dY;
 *   dX = the same-padded convolution of dY with the kernel flipped in (kh, kw) and its channel
 *   axes swapped, computed by the same Winograd forward (no scatter of overlapping tiles).
 * `keepTiles` keeps V from the forward for dKernel (4x the input's size per conv) instead of
 * gathering and transforming it again in the backward pass.
 *
 * Row strips: with `stripTileRows` below the tile rows of the image, every pass runs strip by strip
 * (`stripTileRows` rows of tiles of every image at a time): each strip's slice of the input waits
 * for the previous strip's result (runAfter), so only one strip's tiles, products and gradient
 * tiles are alive at once; the forward and dX outputs are concatenated from their strips, dU
 * summed over them. The GEMMs stay large (N * stripTileRows * tiles-per-row rows each), so a batch
 * whose whole tiles would not fit runs at Winograd's speed in a fraction of its memory. Tiles are
 * recomputed, never kept, when there is more than one strip.
 *
 * Odd heights/widths are covered by one extra zero row/column of tiles, cropped from the output.
 * In float32 the transforms' coefficients (0, +-1, +-1/2) keep the error at a few ulps of the
 * result (test/graph pins it against finite differences and the PyTorch fixture).
 */
import { attr } from '../onnx.js';
import { BATCH, type GraphBuilder, type OpDef, type Sym } from '../ir.js';
import { runAfter } from './conv3x3.js';

export interface WinogradAttrs {
  /** Keep the transformed input tiles for the weight gradient (memory) instead of recomputing them; one strip only. */
  readonly keepTiles: boolean;
  /** Rows of tiles per strip (>= the image's tile rows, or omitted: one strip). */
  readonly stripTileRows?: number;
}

const B_T = [
  [1, 0, -1, 0],
  [0, 1, 1, 0],
  [0, -1, 1, 0],
  [0, 1, 0, -1],
];
const G = [
  [1, 0, 0],
  [0.5, 0.5, 0.5],
  [0.5, -0.5, 0.5],
  [0, 0, 1],
];
const A_T = [
  [1, 1, 1, 0],
  [0, 1, -1, -1],
];

/** The 2-D transform M ⊗ M as a matrix acting on row-major vectorised tiles: [(a,b), (i,j)] = M[a][i] M[b][j]. */
function kron(m: readonly (readonly number[])[]): { dims: [number, number]; data: Float32Array } {
  const rows = m.length;
  const cols = (m[0] as readonly number[]).length;
  const data = new Float32Array(rows * rows * cols * cols);
  const at = (r: number, c: number): number => (m[r] as readonly number[])[c] as number;
  for (let a = 0; a < rows; a++)
    for (let b = 0; b < rows; b++)
      for (let i = 0; i < cols; i++)
        for (let j = 0; j < cols; j++)
          data[(a * rows + b) * cols * cols + i * cols + j] = at(a, i) * at(b, j);
  return { dims: [rows * rows, cols * cols], data };
}

function transposed(t: { dims: [number, number]; data: Float32Array }): {
  dims: [number, number];
  data: Float32Array;
} {
  const [r, c] = t.dims;
  const data = new Float32Array(r * c);
  for (let i = 0; i < r; i++)
    for (let j = 0; j < c; j++) data[j * r + i] = t.data[i * c + j] as number;
  return { dims: [c, r], data };
}

/** Tap order of a kernel flipped in (kh, kw): tap t = 3 kh + kw reads tap 8 - t. */
function flippedColumns(t: { dims: [number, number]; data: Float32Array }): {
  dims: [number, number];
  data: Float32Array;
} {
  const [r, c] = t.dims;
  const data = new Float32Array(r * c);
  for (let i = 0; i < r; i++)
    for (let j = 0; j < c; j++) data[i * c + j] = t.data[i * c + (c - 1 - j)] as number;
  return { dims: [r, c], data };
}

const INPUT_TRANSFORM = kron(B_T); // [16, 16]
const WEIGHT_TRANSFORM = kron(G); // [16, 9]
const OUTPUT_TRANSFORM = kron(A_T); // [4, 16]

interface Geometry {
  readonly h: number;
  readonly w: number;
  /** Tiles per column and per row: ceil(h / 2), ceil(w / 2). */
  readonly th: number;
  readonly tw: number;
}

function geometry(x: Sym): Geometry {
  const [, h, w] = x.shape as [number, number, number, number];
  return { h, w, th: Math.ceil(h / 2), tw: Math.ceil(w / 2) };
}

/** Tile rows [from, to) of one strip. */
interface Strip {
  readonly from: number;
  readonly to: number;
}

function stripsOf(d: Geometry, stripTileRows: number | undefined): Strip[] {
  const per = Math.max(1, Math.min(d.th, Math.floor(stripTileRows ?? d.th)));
  const strips: Strip[] = [];
  for (let from = 0; from < d.th; from += per)
    strips.push({ from, to: Math.min(d.th, from + per) });
  return strips;
}

function constant(
  g: GraphBuilder,
  hint: string,
  t: { dims: readonly number[]; data: Float32Array },
): Sym {
  return g.constant(hint, { dtype: 'float32', dims: t.dims, data: t.data });
}

/** The run-time batch size as an int64 scalar. */
function batchOf(g: GraphBuilder, x: Sym): Sym {
  const shape = g.node('Shape', [x], [x.shape.length], {}, 'int64');
  return g.node(
    'Squeeze',
    [g.node('Gather', [shape, g.int64s([0])], [1], { axis: attr.int(0) }, 'int64'), g.int64s([0])],
    [],
    {},
    'int64',
  );
}

function int64Scalar(g: GraphBuilder, value: number, hint: string): Sym {
  return g.constant(hint, { dtype: 'int64', dims: [], data: BigInt64Array.of(BigInt(value)) });
}

/** Rows [from, to) of an NHWC tensor; with `after`, the slice waits for that tensor (runAfter). */
function sliceRows(g: GraphBuilder, t: Sym, from: number, to: number, after: Sym | undefined): Sym {
  const [, , w, c] = t.shape as [number, number, number, number];
  const start = g.int64s([from]);
  return g.node(
    'Slice',
    [t, after === undefined ? start : runAfter(g, start, after), g.int64s([to]), g.int64s([1])],
    [BATCH, to - from, w, c],
  );
}

/**
 * The transformed input tiles V [16, N*T, C] of one strip (T = its tiles per image): the strip's
 * rows of `x` with their halo, zero-padded (a strip-sized copy, never a padded copy of the whole
 * input), viewed as rows of C channels; every tile's 16 rows gathered position-major; transformed.
 * With `after`, the strip's slice waits for that tensor.
 */
function stripTiles(
  g: GraphBuilder,
  x: Sym,
  d: Geometry,
  strip: Strip,
  after: Sym | undefined,
): Sym {
  const c = x.shape[3] as number;
  // Padded rows 2 from .. 2 to + 2 of the strip are x's rows 2 from - 1 .. 2 to + 1.
  const [first, last] = [2 * strip.from - 1, 2 * strip.to + 1];
  const [r0, r1] = [Math.max(0, first), Math.min(d.h, last)];
  const [ph, pw] = [last - first, 2 * d.tw + 2];
  const rowsOfX = r0 === 0 && r1 === d.h ? x : sliceRows(g, x, r0, r1, after);
  const padded = g.node(
    'Pad',
    [rowsOfX, g.int64s([0, r0 - first, 1, 0, 0, last - r1, pw - d.w - 1, 0])],
    [BATCH, ph, pw, c],
  );
  const rows = g.node('Reshape', [padded, g.int64s([-1, c])], [BATCH, c]);
  const tiles = (strip.to - strip.from) * d.tw;
  const base: bigint[] = [];
  for (let i = 0; i < 4; i++)
    for (let j = 0; j < 4; j++)
      for (let ti = 0; ti < strip.to - strip.from; ti++)
        for (let tj = 0; tj < d.tw; tj++) base.push(BigInt((2 * ti + i) * pw + 2 * tj + j));
  const within = g.constant('winograd_tile_rows', {
    dtype: 'int64',
    dims: [16, 1, tiles],
    data: BigInt64Array.from(base),
  });
  // Image n's rows start at n * ph * pw: indices [16, N, T] = within-image rows + image offsets.
  const images = g.node(
    'Range',
    [int64Scalar(g, 0, 'zero'), batchOf(g, x), int64Scalar(g, 1, 'one')],
    [BATCH],
    {},
    'int64',
  );
  const offsets = g.node(
    'Reshape',
    [
      g.node('Mul', [images, int64Scalar(g, ph * pw, 'image_rows')], [BATCH], {}, 'int64'),
      g.int64s([1, -1, 1]),
    ],
    [1, BATCH, 1],
    {},
    'int64',
  );
  const indices = g.node('Add', [within, offsets], [16, BATCH, tiles], {}, 'int64');
  const gathered = g.node('Gather', [rows, indices], [16, BATCH, tiles, c], { axis: attr.int(0) });
  const flat = g.node('Reshape', [gathered, g.int64s([16, -1])], [16, BATCH]);
  const transformed = g.node(
    'MatMul',
    [constant(g, 'winograd_BT', INPUT_TRANSFORM), flat],
    [16, BATCH],
  );
  return g.node('Reshape', [transformed, g.int64s([16, -1, c])], [16, BATCH, c]);
}

/** U [16, C_in, C_out] of an HWIO kernel; `flipped` transforms the (kh, kw)-flipped kernel instead. */
function weightTiles(g: GraphBuilder, kernel: Sym, flipped: boolean): Sym {
  const [, , cin, cout] = kernel.shape as [number, number, number, number];
  const taps = g.node('Reshape', [kernel, g.int64s([9, cin * cout])], [9, cin * cout]);
  const transform = flipped ? flippedColumns(WEIGHT_TRANSFORM) : WEIGHT_TRANSFORM;
  const u = g.node(
    'MatMul',
    [constant(g, flipped ? 'winograd_G_flipped' : 'winograd_G', transform), taps],
    [16, cin * cout],
  );
  return g.node('Reshape', [u, g.int64s([16, cin, cout])], [16, cin, cout]);
}

/** NHWC rows [N, 2 * tileRows, 2 tw, C] of one strip from its per-position products M [16, N*T, C]. */
function stripOutput(g: GraphBuilder, m: Sym, d: Geometry, tileRows: number): Sym {
  const c = m.shape[2] as number;
  const flat = g.node('Reshape', [m, g.int64s([16, -1])], [16, BATCH]);
  const blocks = g.node('MatMul', [constant(g, 'winograd_AT', OUTPUT_TRANSFORM), flat], [4, BATCH]);
  const grid = g.node(
    'Reshape',
    [blocks, g.int64s([2, 2, -1, tileRows, d.tw, c])],
    [2, 2, BATCH, tileRows, d.tw, c],
  );
  const nhwc = g.node('Transpose', [grid], [BATCH, tileRows, 2, d.tw, 2, c], {
    perm: attr.ints([2, 3, 0, 4, 1, 5]),
  });
  return g.node(
    'Reshape',
    [nhwc, g.int64s([-1, 2 * tileRows, 2 * d.tw, c])],
    [BATCH, 2 * tileRows, 2 * d.tw, c],
  );
}

/**
 * The same-padded 3x3 convolution [N, H, W, C_out] of NHWC `x` with transformed weights
 * `u` [16, C_in, C_out], strip by strip; `v` is the single strip's V when it is already at hand.
 */
function convolve(
  g: GraphBuilder,
  x: Sym,
  u: Sym,
  d: Geometry,
  strips: readonly Strip[],
  v?: Sym,
): Sym {
  const cout = u.shape[2] as number;
  const parts: Sym[] = [];
  for (const strip of strips) {
    const tiles = v ?? stripTiles(g, x, d, strip, parts.at(-1));
    const m = g.node('MatMul', [tiles, u], [16, BATCH, cout]);
    parts.push(stripOutput(g, m, d, strip.to - strip.from));
  }
  const y =
    parts.length === 1
      ? (parts[0] as Sym)
      : g.node('Concat', parts, [BATCH, 2 * d.th, 2 * d.tw, cout], { axis: attr.int(1) });
  if (2 * d.th === d.h && 2 * d.tw === d.w) return y;
  return g.node(
    'Slice',
    [y, g.int64s([0, 0]), g.int64s([d.h, d.w]), g.int64s([1, 2])],
    [BATCH, d.h, d.w, cout],
  );
}

/** dY zero-padded to even height and width: [N, 2 th, 2 tw, C]. */
function evenGrad(g: GraphBuilder, dy: Sym, d: Geometry): Sym {
  const c = dy.shape[3] as number;
  if (2 * d.th === d.h && 2 * d.tw === d.w) return dy;
  return g.node(
    'Pad',
    [dy, g.int64s([0, 0, 0, 0, 0, 2 * d.th - d.h, 2 * d.tw - d.w, 0])],
    [BATCH, 2 * d.th, 2 * d.tw, c],
  );
}

/** Z [16, N*T, C] of one strip: the output transform's transpose applied to its 2x2 blocks of dY. */
function stripGradTiles(
  g: GraphBuilder,
  even: Sym,
  d: Geometry,
  strip: Strip,
  after: Sym | undefined,
): Sym {
  const c = even.shape[3] as number;
  const tileRows = strip.to - strip.from;
  const rows = tileRows === d.th ? even : sliceRows(g, even, 2 * strip.from, 2 * strip.to, after);
  const blocks = g.node(
    'Reshape',
    [rows, g.int64s([-1, tileRows, 2, d.tw, 2, c])],
    [BATCH, tileRows, 2, d.tw, 2, c],
  );
  const grid = g.node('Transpose', [blocks], [2, 2, BATCH, tileRows, d.tw, c], {
    perm: attr.ints([2, 4, 0, 1, 3, 5]),
  });
  const flat = g.node('Reshape', [grid, g.int64s([4, -1])], [4, BATCH]);
  const z = g.node(
    'MatMul',
    [constant(g, 'winograd_A', transposed(OUTPUT_TRANSFORM)), flat],
    [16, BATCH],
  );
  return g.node('Reshape', [z, g.int64s([16, -1, c])], [16, BATCH, c]);
}

function checkKernel(x: Sym, kernel: Sym): void {
  const cin = x.shape[3];
  const [kh, kw, kin] = kernel.shape;
  if (kh !== 3 || kw !== 3 || kin !== cin)
    throw new RangeError(
      `conv3x3Winograd expects a [3, 3, ${String(cin)}, C_out] kernel for input [${x.shape.join(', ')}], received [${kernel.shape.join(', ')}]`,
    );
}

export const conv3x3Winograd: OpDef<WinogradAttrs> = {
  name: 'conv3x3Winograd',
  forward: (g, [x, kernel, bias], { keepTiles, stripTileRows }) => {
    const xs = x as Sym;
    const k = kernel as Sym;
    checkKernel(xs, k);
    const d = geometry(xs);
    const strips = stripsOf(d, stripTileRows);
    if (keepTiles && strips.length > 1)
      throw new RangeError(
        `conv3x3Winograd keeps tiles only in one strip; ${String(d.th)} tile rows in strips of ${String(stripTileRows)} recompute them`,
      );
    const cout = k.shape[3] as number;
    const u = weightTiles(g, k, false);
    const v = keepTiles ? stripTiles(g, xs, d, strips[0] as Strip, undefined) : undefined;
    const y = g.node(
      'Add',
      [convolve(g, xs, u, d, strips, v), bias as Sym],
      [BATCH, d.h, d.w, cout],
    );
    return v === undefined ? [y] : [y, v];
  },
  backward: (g, { inputs: [x, kernel], outputs: [, kept], attrs, needsGrad }, [dy]) => {
    const xs = x as Sym;
    const k = kernel as Sym;
    const d = geometry(xs);
    const strips = stripsOf(d, attrs.stripTileRows);
    const [, , cin, cout] = k.shape as [number, number, number, number];
    const dys = dy as Sym;
    const even = evenGrad(g, dys, d);
    let du: Sym | undefined;
    for (const strip of strips) {
      const v = kept ?? stripTiles(g, xs, d, strip, du);
      const z = stripGradTiles(g, even, d, strip, du);
      const vt = g.node('Transpose', [v], [16, cin, BATCH], { perm: attr.ints([0, 2, 1]) });
      const part = g.node('MatMul', [vt, z], [16, cin, cout]);
      du = du === undefined ? part : g.node('Add', [du, part], [16, cin, cout]);
    }
    const dTaps = g.node(
      'MatMul',
      [
        constant(g, 'winograd_GT', transposed(WEIGHT_TRANSFORM)),
        g.node('Reshape', [du as Sym, g.int64s([16, cin * cout])], [16, cin * cout]),
      ],
      [9, cin * cout],
    );
    const dkernel = g.node('Reshape', [dTaps, g.int64s([3, 3, cin, cout])], [3, 3, cin, cout]);
    const dbias = g.node('ReduceSum', [dys, g.int64s([0, 1, 2])], [cout], {
      keepdims: attr.int(0),
    });
    if (needsGrad[0] !== true) return [undefined, dkernel, dbias];
    // dX: dY convolved with the flipped kernel whose channel axes are swapped ([16, C_out, C_in]).
    const flipped = g.node('Transpose', [weightTiles(g, k, true)], [16, cout, cin], {
      perm: attr.ints([0, 2, 1]),
    });
    return [convolve(g, dys, flipped, d, strips), dkernel, dbias];
  },
};
