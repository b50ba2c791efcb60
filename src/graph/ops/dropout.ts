/**
 * Inverted dropout with the keep-mask as a graph input: y = x * mask, where the mask holds 0 for a
 * dropped unit and 1/(1-rate) for a kept one. Drawing the mask in TypeScript from a seeded Random
 * (not ONNX's RandomUniform) makes every run reproducible and a resumed run identical. The mask has
 * no gradient; evaluation graphs simply leave the op out.
 */
import type { OpDef, Sym } from '../ir.js';
import type { Random } from '../../util/random.js';

export const dropout: OpDef<void> = {
  name: 'dropout',
  forward: (g, [x, mask]) => [g.node('Mul', [x as Sym, mask as Sym], (x as Sym).shape)],
  backward: (g, { inputs: [x, mask] }, [dy]) => [
    g.node('Mul', [dy as Sym, mask as Sym], (x as Sym).shape),
    undefined,
  ],
};

/** A keep-mask of `count` units: each kept with probability 1 - rate and then scaled by 1/(1 - rate). */
export function dropoutMask(random: Random, count: number, rate: number): Float32Array {
  if (!(rate >= 0 && rate < 1))
    throw new RangeError(`dropout rate must be in [0, 1), received ${rate}`);
  const mask = new Float32Array(count);
  const kept = 1 / (1 - rate);
  for (let i = 0; i < count; i++) mask[i] = random.next() < rate ? 0 : kept;
  return mask;
}
