/**
 * 2x2 max pooling, stride 2, NHWC, Keras "valid" padding (an odd last row/column is dropped).
 * Lowered as Reshape [N, H/2, 2, W/2, 2, C] + ReduceMax over the two window axes (opset 18 takes
 * the axes as an input); ORT's MaxPool is NCHW-only and has no gradient kernel.
 *
 * Gradient tie rule: the gradient of a window goes to EVERY input equal to the window's maximum
 * (an Equal mask), not to one of them as PyTorch and TensorFlow do. Ties only differ between the
 * two rules for equal maxima; after a ReLU the common tie is at 0, where the ReLU's own gradient
 * is 0 anyway, so a ReLU -> pool network gets the same gradients either way. test/graph pins it.
 */
import { attr } from '../onnx.js';
import { BATCH, type GraphBuilder, type OpDef, type Sym } from '../ir.js';

function windows(g: GraphBuilder, x: Sym): { view: Sym; oh: number; ow: number; c: number } {
  const [, h, w, c] = x.shape as [number, number, number, number];
  const oh = Math.floor(h / 2);
  const ow = Math.floor(w / 2);
  const even =
    h % 2 === 1 || w % 2 === 1
      ? g.node(
          'Slice',
          [x, g.int64s([0, 0]), g.int64s([2 * oh, 2 * ow]), g.int64s([1, 2])],
          [BATCH, 2 * oh, 2 * ow, c],
        )
      : x;
  return {
    view: g.node('Reshape', [even, g.int64s([-1, oh, 2, ow, 2, c])], [BATCH, oh, 2, ow, 2, c]),
    oh,
    ow,
    c,
  };
}

export const maxPool2x2: OpDef<void> = {
  name: 'maxPool2x2',
  forward: (g, [x]) => {
    const { view, oh, ow, c } = windows(g, x as Sym);
    return [
      g.node('ReduceMax', [view, g.int64s([2, 4])], [BATCH, oh, ow, c], { keepdims: attr.int(0) }),
    ];
  },
  backward: (g, { inputs: [x], outputs: [y] }, [dy]) => {
    const xs = x as Sym;
    const [, h, w, c] = xs.shape as [number, number, number, number];
    const { view, oh, ow } = windows(g, xs);
    const atWindow = (v: Sym): Sym =>
      g.node('Reshape', [v, g.int64s([-1, oh, 1, ow, 1, c])], [BATCH, oh, 1, ow, 1, c]);
    const isMax = g.node('Equal', [view, atWindow(y as Sym)], view.shape, {}, 'bool');
    const routed = g.node('Where', [isMax, atWindow(dy as Sym), g.scalar(0)], view.shape);
    const dx = g.node(
      'Reshape',
      [routed, g.int64s([-1, 2 * oh, 2 * ow, c])],
      [BATCH, 2 * oh, 2 * ow, c],
    );
    if (2 * oh === h && 2 * ow === w) return [dx];
    return [g.node('Pad', [dx, g.int64s([0, 0, 0, 0, 0, h - 2 * oh, w - 2 * ow, 0])], xs.shape)];
  },
};

/**
 * The same pooling on NCHW tensors: ORT's MaxPool forward (floor mode drops an odd last
 * row/column, as Keras' valid padding), the same every-maximum tie rule backward.
 */
export const maxPool2x2Nchw: OpDef<void> = {
  name: 'maxPool2x2Nchw',
  forward: (g, [x]) => {
    const [, c, h, w] = (x as Sym).shape as [number, number, number, number];
    return [
      g.node('MaxPool', [x as Sym], [BATCH, c, Math.floor(h / 2), Math.floor(w / 2)], {
        kernel_shape: attr.ints([2, 2]),
        strides: attr.ints([2, 2]),
      }),
    ];
  },
  backward: (g, { inputs: [x], outputs: [y] }, [dy]) => {
    const xs = x as Sym;
    const [, c, h, w] = xs.shape as [number, number, number, number];
    const [oh, ow] = [Math.floor(h / 2), Math.floor(w / 2)];
    const even =
      h % 2 === 1 || w % 2 === 1
        ? g.node(
            'Slice',
            [xs, g.int64s([0, 0]), g.int64s([2 * oh, 2 * ow]), g.int64s([2, 3])],
            [BATCH, c, 2 * oh, 2 * ow],
          )
        : xs;
    const view = g.node(
      'Reshape',
      [even, g.int64s([-1, c, oh, 2, ow, 2])],
      [BATCH, c, oh, 2, ow, 2],
    );
    const atWindow = (v: Sym): Sym =>
      g.node('Reshape', [v, g.int64s([-1, c, oh, 1, ow, 1])], [BATCH, c, oh, 1, ow, 1]);
    const isMax = g.node('Equal', [view, atWindow(y as Sym)], view.shape, {}, 'bool');
    const routed = g.node('Where', [isMax, atWindow(dy as Sym), g.scalar(0)], view.shape);
    const dx = g.node(
      'Reshape',
      [routed, g.int64s([-1, c, 2 * oh, 2 * ow])],
      [BATCH, c, 2 * oh, 2 * ow],
    );
    if (2 * oh === h && 2 * ow === w) return [dx];
    return [g.node('Pad', [dx, g.int64s([0, 0, 0, 0, 0, 0, h - 2 * oh, w - 2 * ow])], xs.shape)];
  },
};
