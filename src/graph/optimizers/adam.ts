/**
 * Adam with Keras' formula (the defaults of vggkit are Keras', so are the semantics), t = 1, 2, …:
 *   m <- m + (g - m)(1 - beta1)
 *   v <- v + (g^2 - v)(1 - beta2)
 *   p <- p - lr * sqrt(1 - beta2^t) / (1 - beta1^t) * m / (sqrt(v) + epsilon)
 * PyTorch instead adds epsilon to the bias-corrected sqrt(v / (1 - beta2^t)); the two differ only
 * while sqrt(v) is comparable to epsilon. AdamW (Keras 3 and PyTorch alike) first shrinks the
 * parameter: p <- p - lr * weightDecay * p, then applies the Adam step.
 */
import type { GraphBuilder, Sym } from '../ir.js';
import type { OptimizerRule } from './types.js';

export const adam: OptimizerRule = {
  slots: () => ['m', 'v'],
  update: (g, spec, { param, grad, lr, state: [m, v] }, t) => {
    const shape = param.shape;
    const mNew = g.node(
      'Add',
      [
        m as Sym,
        g.node('Mul', [g.node('Sub', [grad, m as Sym], shape), g.scalar(1 - spec.beta1)], shape),
      ],
      shape,
    );
    const v0 = v as Sym;
    const vNew = g.node(
      'Add',
      [
        v0,
        g.node(
          'Mul',
          [
            g.node('Sub', [g.node('Mul', [grad, grad], shape), v0], shape),
            g.scalar(1 - spec.beta2),
          ],
          shape,
        ),
      ],
      shape,
    );
    const alpha = g.node('Mul', [lr, biasCorrection(g, spec, t)], []);
    const denom = g.node('Add', [g.node('Sqrt', [vNew], shape), g.scalar(spec.epsilon)], shape);
    const stepValue = g.node('Mul', [g.node('Div', [mNew, denom], shape), alpha], shape);
    const decayed =
      spec.name === 'adamw' && spec.weightDecay > 0
        ? g.node(
            'Sub',
            [
              param,
              g.node('Mul', [param, g.node('Mul', [lr, g.scalar(spec.weightDecay)], [])], shape),
            ],
            shape,
          )
        : param;
    return { param: g.node('Sub', [decayed, stepValue], shape), state: [mNew, vNew] };
  },
};

/** sqrt(1 - beta2^t) / (1 - beta1^t), a scalar. */
function biasCorrection(g: GraphBuilder, spec: { beta1: number; beta2: number }, t: Sym): Sym {
  const one = g.scalar(1);
  const b1t = g.node('Pow', [g.scalar(spec.beta1), t], []);
  const b2t = g.node('Pow', [g.scalar(spec.beta2), t], []);
  return g.node(
    'Div',
    [g.node('Sqrt', [g.node('Sub', [one, b2t], [])], []), g.node('Sub', [one, b1t], [])],
    [],
  );
}
