/** Fully connected layer y = x·W + b with W in Keras layout [in, out]. */
import type { OpDef, Sym } from '../ir.js';

export const dense: OpDef<void> = {
  name: 'dense',
  forward: (g, [x, w, b]) => {
    const xs = x as Sym;
    const ws = w as Sym;
    const shape = [...xs.shape.slice(0, -1), ws.shape[1] as number];
    const xw = g.node('MatMul', [xs, ws], shape);
    return [b === undefined ? xw : g.node('Add', [xw, b], shape)];
  },
  backward: (g, { inputs: [x, w, b], needsGrad }, [dy]) => {
    const xs = x as Sym;
    const ws = w as Sym;
    const d = dy as Sym;
    // The first trainable layer reads the graph input, whose gradient nobody wants.
    const dx =
      needsGrad[0] === true
        ? g.node(
            'MatMul',
            [d, g.node('Transpose', [ws], [ws.shape[1] as number, ws.shape[0] as number])],
            xs.shape,
          )
        : undefined;
    const xt = g.node('Transpose', [xs], [xs.shape[1] as number, xs.shape[0] as number]);
    const dw = g.node('MatMul', [xt, d], ws.shape);
    const grads: (Sym | undefined)[] = [dx, dw];
    if (b !== undefined)
      grads.push(
        g.node('ReduceSum', [d, g.int64s([0])], b.shape, { keepdims: { kind: 'int', value: 0 } }),
      );
    return grads;
  },
};
