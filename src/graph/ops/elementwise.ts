/** Element-wise ops with their gradient rules side by side. */
import { attr } from '../onnx.js';
import { broadcastShape, type GraphBuilder, type OpDef, type Sym } from '../ir.js';

export const relu: OpDef<void> = {
  name: 'relu',
  forward: (g, [x]) => [g.node('Relu', [x as Sym], (x as Sym).shape)],
  // The gradient passes where the output is positive; at exactly 0 it is 0, as in PyTorch.
  backward: (g, { outputs: [y] }, [dy]) => {
    const out = y as Sym;
    const mask = g.node('Greater', [out, g.scalar(0)], out.shape, {}, 'bool');
    return [g.node('Where', [mask, dy as Sym, g.scalar(0)], out.shape)];
  },
};

export const add: OpDef<void> = {
  name: 'add',
  forward: (g, [a, b]) => [
    g.node('Add', [a as Sym, b as Sym], broadcastShape((a as Sym).shape, (b as Sym).shape)),
  ],
  backward: (g, { inputs: [a, b] }, [dy]) => [
    unbroadcast(g, dy as Sym, (a as Sym).shape),
    unbroadcast(g, dy as Sym, (b as Sym).shape),
  ],
};

export const mul: OpDef<void> = {
  name: 'mul',
  forward: (g, [a, b]) => [
    g.node('Mul', [a as Sym, b as Sym], broadcastShape((a as Sym).shape, (b as Sym).shape)),
  ],
  backward: (g, { inputs: [a, b] }, [dy]) => {
    const d = dy as Sym;
    return [
      unbroadcast(g, g.node('Mul', [d, b as Sym], d.shape), (a as Sym).shape),
      unbroadcast(g, g.node('Mul', [d, a as Sym], d.shape), (b as Sym).shape),
    ];
  },
};

/**
 * Sums a broadcast gradient back to the shape of the operand it came from: the one place where
 * broadcasting is undone (tinygrad's pattern). The batch dimension (-1) counts as not broadcast.
 */
export function unbroadcast(g: GraphBuilder, grad: Sym, shape: readonly number[]): Sym {
  const lead = grad.shape.length - shape.length;
  const axes: number[] = [];
  grad.shape.forEach((d, i) => {
    const target = i < lead ? undefined : shape[i - lead];
    if (target === undefined || (target === 1 && d !== 1)) axes.push(i);
  });
  if (axes.length === 0) return grad;
  const summed = g.node(
    'ReduceSum',
    [grad, g.int64s(axes)],
    grad.shape.map((d, i) => (axes.includes(i) ? 1 : d)),
    { keepdims: attr.int(1) },
  );
  return g.node('Reshape', [summed, g.int64s(shape)], shape);
}
