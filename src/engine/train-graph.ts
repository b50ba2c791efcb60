/**
 * ONNX graphs for a TrainPlan: the training step (forward + loss + backward + optimizer update)
 * and the evaluation pass (forward + loss + probabilities, no dropout). Both take the parameters
 * as inputs named by their Keras key, so the same Float32Arrays feed either graph.
 *
 * Graph interface (names are the contract with train-step.ts):
 *   inputs   x [N, H, W, C], targets [N, classes], `mask` [N, dense] (training with dropout),
 *            every parameter `<key>`; training also `<slot>:<key>` per optimizer slot, `step`
 *            (updates so far) and `lr:<group>` per learning-rate group (all float32 scalars).
 *   outputs  loss (scalar), correct (scalar count of right predictions in the batch); training:
 *            `new:<key>`, `new:<slot>:<key>`, `new:step`; evaluation: probabilities [N, classes].
 */
import { BATCH, GraphBuilder, type Sym } from '../graph/ir.js';
import { attr } from '../graph/onnx.js';
import { gradients } from '../graph/autodiff.js';
import { sigmoidBinaryCrossEntropy, softmaxCrossEntropy } from '../graph/ops/losses.js';
import { applyOptimizer, optimizerSlots, type OptimizerSpec } from '../graph/optimizers/index.js';
import type { TrainPlan } from './train-plan.js';
import { lowerLayers } from './train-lowering.js';
import type { ConvChoice } from './conv-lowering.js';
import type { LayerSpec } from '../model/architectures.js';

export const slotInput = (slot: string, key: string): string => `${slot}:${key}`;
export const updatedOutput = (name: string): string => `new:${name}`;
export const lrInput = (group: string): string => `lr:${group}`;

interface Forward {
  readonly loss: Sym;
  readonly probabilities: Sym;
  readonly correct: Sym;
  readonly params: ReadonlyMap<string, Sym>;
}

/** The lowering chosen for each conv layer of a plan, by layer name (conv-lowering.ts). */
export type ConvLowerings = ReadonlyMap<string, ConvChoice>;

function emitForward(
  g: GraphBuilder,
  plan: TrainPlan,
  convs: ConvLowerings,
  training: boolean,
): Forward {
  const { part } = plan;
  const x0 = g.input('x', [BATCH, ...part.inputShape]);
  const targets = g.input('targets', [BATCH, part.head.classes]);
  const params = new Map(plan.params.map((p) => [p.key, g.input(p.key, p.dims)]));
  const param = (key: string): Sym => {
    const sym = params.get(key);
    if (sym === undefined) throw new Error(`the training plan has no parameter ${key}`);
    return sym;
  };
  const conv = (layer: LayerSpec): ConvChoice => {
    const choice = convs.get(layer.name);
    if (choice === undefined) throw new Error(`no conv lowering chosen for ${layer.name}`);
    return choice;
  };
  const x = lowerLayers({ g, param, conv, training, head: part.head }, x0, plan.layers);
  const lossOp =
    part.head.loss === 'binary_crossentropy' ? sigmoidBinaryCrossEntropy : softmaxCrossEntropy;
  const weights =
    part.head.classWeights === undefined
      ? []
      : [
          g.constant('class_weights', {
            dtype: 'float32',
            dims: [part.head.classWeights.length],
            data: Float32Array.from(part.head.classWeights),
          }),
        ];
  const [loss, probabilities] = g.apply(lossOp, [x, targets, ...weights], {
    labelSmoothing: part.head.labelSmoothing ?? 0,
  });
  return {
    loss: loss as Sym,
    probabilities: probabilities as Sym,
    correct: correctCount(g, part.head.loss, x, targets),
    params,
  };
}

/** Keras' accuracy: argmax agreement (categorical), or per-element threshold 0.5 averaged per sample (binary). */
function correctCount(
  g: GraphBuilder,
  loss: TrainPlan['part']['head']['loss'],
  logits: Sym,
  targets: Sym,
): Sym {
  const sum = (v: Sym): Sym => g.node('ReduceSum', [v], [], { keepdims: attr.int(0) });
  const asFloat = (v: Sym): Sym => g.node('Cast', [v], v.shape, { to: attr.int(1) });
  if (loss === 'categorical_crossentropy') {
    const argmax = (v: Sym): Sym =>
      g.node('ArgMax', [v], [BATCH], { axis: attr.int(1), keepdims: attr.int(0) }, 'int64');
    return sum(asFloat(g.node('Equal', [argmax(logits), argmax(targets)], [BATCH], {}, 'bool')));
  }
  const predicted = g.node('Greater', [logits, g.scalar(0)], logits.shape, {}, 'bool');
  const actual = g.node('Greater', [targets, g.scalar(0.5)], targets.shape, {}, 'bool');
  const perSample = g.node(
    'ReduceMean',
    [asFloat(g.node('Equal', [predicted, actual], logits.shape, {}, 'bool')), g.int64s([1])],
    [BATCH],
    { keepdims: attr.int(0) },
  );
  return sum(perSample);
}

export function buildTrainGraph(
  plan: TrainPlan,
  optimizer: OptimizerSpec,
  convs: ConvLowerings,
): Uint8Array {
  const g = new GraphBuilder();
  const fwd = emitForward(g, plan, convs, true);
  const wrt = plan.params.map((p) => fwd.params.get(p.key) as Sym);
  const grads = gradients(g, fwd.loss, wrt);
  const slots = optimizerSlots(optimizer);
  const lrs = new Map(plan.groups.map((group) => [group, g.input(lrInput(group), [])]));
  const updates = plan.params.map((p, i) => ({
    param: wrt[i] as Sym,
    grad: grads[i] as Sym,
    lr: lrs.get(p.group) as Sym,
    state: slots.map((slot) => g.input(slotInput(slot, p.key), p.dims)),
  }));
  const { updated, step } = g.onnx.scoped(optimizer.name, () =>
    applyOptimizer(g, optimizer, updates, g.input('step', [])),
  );
  g.output(fwd.loss, 'loss');
  g.output(fwd.correct, 'correct');
  plan.params.forEach((p, i) => {
    const u = updated[i] as (typeof updated)[number];
    g.output(u.param, updatedOutput(p.key));
    u.state.forEach((s, k) => g.output(s, updatedOutput(slotInput(slots[k] as string, p.key))));
  });
  g.output(step, updatedOutput('step'));
  return g.serialize({ graphName: 'vggkit_train_step' });
}

export function buildEvalGraph(plan: TrainPlan, convs: ConvLowerings): Uint8Array {
  const g = new GraphBuilder();
  const fwd = emitForward(g, plan, convs, false);
  g.output(fwd.loss, 'loss');
  g.output(fwd.correct, 'correct');
  g.output(fwd.probabilities, 'probabilities');
  return g.serialize({ graphName: 'vggkit_evaluate' });
}
