/**
 * Layout changes between the NHWC tensors of vggkit's GEMM and Winograd convolutions (and of
 * Keras) and the NCHW tensors of ONNX Runtime's own Conv: a Transpose whose gradient is the
 * inverse Transpose.
 */
import { attr } from '../onnx.js';
import { BATCH, type OpDef, type Sym } from '../ir.js';

export type Layout = 'nhwc' | 'nchw';

const PERM: Record<Layout, readonly number[]> = {
  // From the other layout into this one.
  nchw: [0, 3, 1, 2],
  nhwc: [0, 2, 3, 1],
};

function other(layout: Layout): Layout {
  return layout === 'nchw' ? 'nhwc' : 'nchw';
}

function permuted(shape: readonly number[], perm: readonly number[]): number[] {
  return perm.map((p) => (p === 0 ? BATCH : (shape[p] as number)));
}

/** Converts a 4-D tensor into `to` from the other layout. */
export const toLayout: OpDef<{ readonly to: Layout }> = {
  name: 'toLayout',
  forward: (g, [x], { to }) => [
    g.node('Transpose', [x as Sym], permuted((x as Sym).shape, PERM[to]), {
      perm: attr.ints(PERM[to]),
    }),
  ],
  backward: (g, { inputs: [x], attrs }, [dy]) => [
    g.node('Transpose', [dy as Sym], (x as Sym).shape, { perm: attr.ints(PERM[other(attrs.to)]) }),
  ],
};
