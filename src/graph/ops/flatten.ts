/** NHWC [N, H, W, C] -> [N, H*W*C] in (h, w, c) order: Keras' Flatten, so `fc1`-style kernels load as is. */
import type { OpDef, Sym } from '../ir.js';
import { BATCH } from '../ir.js';

export const flatten: OpDef<void> = {
  name: 'flatten',
  forward: (g, [x]) => {
    const features = (x as Sym).shape.slice(1).reduce((a, b) => a * b, 1);
    return [g.node('Reshape', [x as Sym, g.int64s([-1, features])], [BATCH, features])];
  },
  backward: (g, { inputs: [x] }, [dy]) => {
    const xs = x as Sym;
    return [g.node('Reshape', [dy as Sym, g.int64s([-1, ...xs.shape.slice(1)])], xs.shape)];
  },
};
