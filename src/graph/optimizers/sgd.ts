/**
 * SGD with Keras' momentum formula:
 *   velocity <- momentum * velocity - lr * g
 *   p <- p + velocity                          (classic)
 *   p <- p + momentum * velocity - lr * g      (Nesterov)
 * With momentum 0 there is no state and p <- p - lr * g.
 */
import type { Sym } from '../ir.js';
import type { OptimizerRule } from './types.js';

export const sgd: OptimizerRule = {
  slots: (spec) => (spec.momentum > 0 ? ['velocity'] : []),
  update: (g, spec, { param, grad, lr, state: [velocity] }) => {
    const shape = param.shape;
    const lrGrad = g.node('Mul', [grad, lr], shape);
    if (spec.momentum === 0) return { param: g.node('Sub', [param, lrGrad], shape), state: [] };
    const vNew = g.node(
      'Sub',
      [g.node('Mul', [velocity as Sym, g.scalar(spec.momentum)], shape), lrGrad],
      shape,
    );
    const delta = spec.nesterov
      ? g.node('Sub', [g.node('Mul', [vNew, g.scalar(spec.momentum)], shape), lrGrad], shape)
      : vNew;
    return { param: g.node('Add', [param, delta], shape), state: [vNew] };
  },
};
