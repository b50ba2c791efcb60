/**
 * Optimizers as graph fragments appended after the backward pass, so one ONNX graph does the whole
 * training step. Parameters, optimizer state and the step count are graph inputs, the updated
 * values graph outputs; each parameter group's learning rate is a scalar graph input, so schedules
 * and ReduceLROnPlateau change a number, never a graph.
 *
 * Order of a step (Keras' order when L2 is a loss term and clipping is `global_clipnorm`):
 *   1. L2 weight decay (adam, sgd): g <- g + weightDecay * p
 *   2. global-norm clipping: g <- g * clipNorm / max(||all g||_2, clipNorm)
 *   3. the optimizer's rule (adam.ts, sgd.ts; adamw's decoupled decay lives in adam.ts).
 *
 * Lives in src/graph (not src/train) because the engine, which builds training graphs, sits below
 * train/ in the layering and these are graph builders, not training policy.
 */
import { attr } from '../onnx.js';
import type { GraphBuilder, Sym } from '../ir.js';
import { adam } from './adam.js';
import { sgd } from './sgd.js';
import type { OptimizerName, OptimizerRule, OptimizerSpec, ParamUpdate, Updated } from './types.js';

export { OPTIMIZER_NAMES } from './types.js';
export type { OptimizerName, OptimizerSpec, ParamUpdate, Updated } from './types.js';

const RULES: Readonly<Record<OptimizerName, OptimizerRule>> = { adam, adamw: adam, sgd };

/** Keras' Adam defaults (the seed recipe's optimizer, before its learning rate). */
export const KERAS_ADAM: OptimizerSpec = {
  name: 'adam',
  beta1: 0.9,
  beta2: 0.999,
  epsilon: 1e-7,
  momentum: 0,
  nesterov: false,
  weightDecay: 0,
  clipNorm: 0,
};

/** SGD without momentum, decay or clipping: one step at rate 1 moves each parameter by its gradient. */
export const PLAIN_SGD: OptimizerSpec = { ...KERAS_ADAM, name: 'sgd' };

/** Per-parameter state slot names for `spec`, e.g. ['m', 'v'] for Adam. */
export function optimizerSlots(spec: OptimizerSpec): readonly string[] {
  return RULES[spec.name].slots(spec);
}

/**
 * Emits the update of every parameter. `step` is the number of updates already applied (a float
 * scalar input); the returned `step` is step + 1.
 */
export function applyOptimizer(
  g: GraphBuilder,
  spec: OptimizerSpec,
  updates: readonly ParamUpdate[],
  step: Sym,
): { updated: Updated[]; step: Sym } {
  const rule = RULES[spec.name];
  let grads = updates.map((u) =>
    spec.name !== 'adamw' && spec.weightDecay > 0
      ? g.node(
          'Add',
          [u.grad, g.node('Mul', [u.param, g.scalar(spec.weightDecay)], u.param.shape)],
          u.param.shape,
        )
      : u.grad,
  );
  if (spec.clipNorm > 0) grads = clipByGlobalNorm(g, grads, spec.clipNorm);
  const t = g.node('Add', [step, g.scalar(1)], []);
  const updated = updates.map((u, i) => rule.update(g, spec, { ...u, grad: grads[i] as Sym }, t));
  return { updated, step: t };
}

/** The global L2 norm of all gradients, as a scalar (also worth logging). */
export function globalNorm(g: GraphBuilder, grads: readonly Sym[]): Sym {
  const squares = grads.map((gr) => g.node('ReduceSumSquare', [gr], [], { keepdims: attr.int(0) }));
  const total = squares.length === 1 ? (squares[0] as Sym) : g.node('Sum', squares, []);
  return g.node('Sqrt', [total], []);
}

function clipByGlobalNorm(g: GraphBuilder, grads: readonly Sym[], clipNorm: number): Sym[] {
  const limit = g.scalar(clipNorm);
  const scale = g.node('Div', [limit, g.node('Max', [globalNorm(g, grads), limit], [])], []);
  return grads.map((gr) => g.node('Mul', [gr, scale], gr.shape));
}
