/**
 * Global average and max pooling over H and W of an NHWC tensor ([N, H, W, C] -> [N, C]), Keras'
 * GlobalAveragePooling2D / GlobalMaxPooling2D. Max pooling routes the gradient to every position
 * equal to the maximum, the same tie rule as maxPool2x2.
 */
import { attr } from '../onnx.js';
import { BATCH, type GraphBuilder, type OpDef, type Sym } from '../ir.js';

function spread(g: GraphBuilder, dy: Sym, x: Sym): Sym {
  const c = x.shape[3] as number;
  return g.node('Reshape', [dy, g.int64s([-1, 1, 1, c])], [BATCH, 1, 1, c]);
}

export const globalAvgPool: OpDef<void> = {
  name: 'globalAvgPool',
  forward: (g, [x]) => [
    g.node('ReduceMean', [x as Sym, g.int64s([1, 2])], [BATCH, (x as Sym).shape[3] as number], {
      keepdims: attr.int(0),
    }),
  ],
  backward: (g, { inputs: [x] }, [dy]) => {
    const xs = x as Sym;
    const [, h, w] = xs.shape as [number, number, number, number];
    const scaled = g.node(
      'Mul',
      [spread(g, dy as Sym, xs), g.scalar(1 / (h * w))],
      [BATCH, 1, 1, xs.shape[3] as number],
    );
    return [g.node('Expand', [scaled, g.node('Shape', [xs], [4], {}, 'int64')], xs.shape)];
  },
};

export const globalMaxPool: OpDef<void> = {
  name: 'globalMaxPool',
  forward: (g, [x]) => [
    g.node('ReduceMax', [x as Sym, g.int64s([1, 2])], [BATCH, (x as Sym).shape[3] as number], {
      keepdims: attr.int(0),
    }),
  ],
  backward: (g, { inputs: [x], outputs: [y] }, [dy]) => {
    const xs = x as Sym;
    const isMax = g.node('Equal', [xs, spread(g, y as Sym, xs)], xs.shape, {}, 'bool');
    return [g.node('Where', [isMax, spread(g, dy as Sym, xs), g.scalar(0)], xs.shape)];
  },
};
