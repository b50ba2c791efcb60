/** What every optimizer fragment receives and returns; the table of optimizers is in index.ts. */
import type { GraphBuilder, Sym } from '../ir.js';

/** The optimizers a training graph can carry; RULES in index.ts has one per name. */
export const OPTIMIZER_NAMES = ['adam', 'adamw', 'sgd'] as const;
export type OptimizerName = (typeof OPTIMIZER_NAMES)[number];

export interface OptimizerSpec {
  readonly name: OptimizerName;
  readonly beta1: number;
  readonly beta2: number;
  /** Keras' epsilon: added to sqrt(v) before bias correction ("epsilon hat" in the Adam paper). */
  readonly epsilon: number;
  readonly momentum: number;
  readonly nesterov: boolean;
  /** adamw: decoupled (p -= lr * wd * p); adam and sgd: L2, wd * p added to the gradient. */
  readonly weightDecay: number;
  /** Clip the global norm of all gradients to this value; 0 disables clipping. */
  readonly clipNorm: number;
}

export interface ParamUpdate {
  readonly param: Sym;
  readonly grad: Sym;
  /** The learning rate of the parameter's group: a scalar graph input. */
  readonly lr: Sym;
  /** One value per slot name of the optimizer, same shape as the parameter. */
  readonly state: readonly Sym[];
}

export interface Updated {
  readonly param: Sym;
  readonly state: readonly Sym[];
}

export interface OptimizerRule {
  /** Per-parameter state names, e.g. ['m', 'v']; all start at zero. */
  slots(spec: OptimizerSpec): readonly string[];
  /** `t` is the 1-based index of this update (a float scalar), for bias correction. */
  update(g: GraphBuilder, spec: OptimizerSpec, p: ParamUpdate, t: Sym): Updated;
}
