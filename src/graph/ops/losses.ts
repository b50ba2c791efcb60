/**
 * Losses from logits, each a single op (forward and gradient side by side) whose outputs are the
 * scalar loss and the probabilities. Only the loss carries a gradient. Reduction follows Keras'
 * default `sum_over_batch_size`: the weighted per-sample losses are summed and divided by the
 * batch size (not by the sum of the weights).
 *
 * softmaxCrossEntropy — inputs: logits [N, K], targets [N, K] (one-hot or soft), optional class
 * weights [K]. Label smoothing as Keras: y = t * (1 - s) + s / K. A sample's weight is
 * sum_k t_k * w_k (Keras' class_weight for one-hot targets).
 *   loss = mean_n( w_n * -sum_k y_nk * log softmax(z_n)_k );  dL/dz = w_n (p * sum_k y_nk - y) / N.
 *
 * sigmoidBinaryCrossEntropy — inputs: logits [N, K], targets [N, K] in [0, 1], optional class
 * weights [2] = (negative, positive). Smoothing as Keras: y = t * (1 - s) + s / 2. Each element
 * is weighted t * w_pos + (1 - t) * w_neg (for K = 1 this is Keras' class_weight) and the mean is
 * over all N*K elements, as Keras' mean over the last axis then over the batch.
 *   l = max(z, 0) - z*y + log(1 + exp(-|z|));  dL/dz = w (sigmoid(z) - y) / (N*K).
 */
import { attr } from '../onnx.js';
import { BATCH, type GraphBuilder, type OpDef, type Sym } from '../ir.js';

export interface LossAttrs {
  readonly labelSmoothing: number;
}

function floatCount(g: GraphBuilder, x: Sym, what: 'batch' | 'all'): Sym {
  const n =
    what === 'all'
      ? g.node('Size', [x], [], {}, 'int64')
      : g.node(
          'Gather',
          [g.node('Shape', [x], [x.shape.length], {}, 'int64'), g.int64s([0])],
          [1],
          { axis: attr.int(0) },
          'int64',
        );
  return g.node('Cast', [n], what === 'all' ? [] : [1], { to: attr.int(1) });
}

function smoothed(g: GraphBuilder, t: Sym, smoothing: number, classes: number): Sym {
  if (smoothing === 0) return t;
  return g.node(
    'Add',
    [g.node('Mul', [t, g.scalar(1 - smoothing)], t.shape), g.scalar(smoothing / classes)],
    t.shape,
  );
}

function noProbabilityGradient(op: string, gradOutputs: readonly (Sym | undefined)[]): void {
  if (gradOutputs[1] !== undefined)
    throw new Error(`${op}: gradients flow only from its loss output, not from its probabilities`);
}

export const softmaxCrossEntropy: OpDef<LossAttrs> = {
  name: 'softmaxCrossEntropy',
  forward: (g, [z, t, w], { labelSmoothing }) => {
    const zs = z as Sym;
    const k = zs.shape[1] as number;
    const logp = g.node('LogSoftmax', [zs], zs.shape, { axis: attr.int(-1) });
    const y = smoothed(g, t as Sym, labelSmoothing, k);
    let perSample = g.node(
      'Neg',
      [
        g.node('ReduceSum', [g.node('Mul', [y, logp], zs.shape), g.int64s([1])], [BATCH], {
          keepdims: attr.int(0),
        }),
      ],
      [BATCH],
    );
    if (w !== undefined)
      perSample = g.node('Mul', [perSample, sampleWeights(g, t as Sym, w)], [BATCH]);
    const loss = g.node('ReduceMean', [perSample], [], { keepdims: attr.int(0) });
    return [loss, g.node('Exp', [logp], zs.shape)];
  },
  backward: (g, { inputs: [z, t, w], outputs: [, p], attrs }, [dloss, ...rest]) => {
    noProbabilityGradient('softmaxCrossEntropy', [dloss, ...rest]);
    const zs = z as Sym;
    const y = smoothed(g, t as Sym, attrs.labelSmoothing, zs.shape[1] as number);
    const ySum = g.node('ReduceSum', [y, g.int64s([1])], [BATCH, 1], { keepdims: attr.int(1) });
    let dz = g.node('Sub', [g.node('Mul', [p as Sym, ySum], zs.shape), y], zs.shape);
    if (w !== undefined)
      dz = g.node(
        'Mul',
        [dz, g.node('Unsqueeze', [sampleWeights(g, t as Sym, w), g.int64s([1])], [BATCH, 1])],
        zs.shape,
      );
    const scale = g.node('Div', [dloss as Sym, floatCount(g, zs, 'batch')], [1]);
    return [g.node('Mul', [dz, scale], zs.shape), ...noGradient(t, w)];
  },
};

/** The targets and the optional class weights carry no gradient: one undefined per input given. */
function noGradient(t: Sym | undefined, w: Sym | undefined): undefined[] {
  return [t, w].filter((s) => s !== undefined).map(() => undefined);
}

function sampleWeights(g: GraphBuilder, t: Sym, w: Sym): Sym {
  return g.node('ReduceSum', [g.node('Mul', [t, w], t.shape), g.int64s([1])], [BATCH], {
    keepdims: attr.int(0),
  });
}

function elementWeights(g: GraphBuilder, t: Sym, w: Sym): Sym {
  const neg = g.node('Gather', [w, g.int64s([0])], [1], { axis: attr.int(0) });
  const pos = g.node('Gather', [w, g.int64s([1])], [1], { axis: attr.int(0) });
  // t * pos + (1 - t) * neg = neg + t * (pos - neg)
  return g.node('Add', [neg, g.node('Mul', [t, g.node('Sub', [pos, neg], [1])], t.shape)], t.shape);
}

export const sigmoidBinaryCrossEntropy: OpDef<LossAttrs> = {
  name: 'sigmoidBinaryCrossEntropy',
  forward: (g, [z, t, w], { labelSmoothing }) => {
    const zs = z as Sym;
    const y = smoothed(g, t as Sym, labelSmoothing, 2);
    const softplusNegAbs = g.node(
      'Softplus',
      [g.node('Neg', [g.node('Abs', [zs], zs.shape)], zs.shape)],
      zs.shape,
    );
    let l = g.node(
      'Add',
      [
        g.node('Sub', [g.node('Relu', [zs], zs.shape), g.node('Mul', [zs, y], zs.shape)], zs.shape),
        softplusNegAbs,
      ],
      zs.shape,
    );
    if (w !== undefined) l = g.node('Mul', [l, elementWeights(g, t as Sym, w)], zs.shape);
    return [
      g.node('ReduceMean', [l], [], { keepdims: attr.int(0) }),
      g.node('Sigmoid', [zs], zs.shape),
    ];
  },
  backward: (g, { inputs: [z, t, w], outputs: [, p], attrs }, [dloss, ...rest]) => {
    noProbabilityGradient('sigmoidBinaryCrossEntropy', [dloss, ...rest]);
    const zs = z as Sym;
    const y = smoothed(g, t as Sym, attrs.labelSmoothing, 2);
    let dz = g.node('Sub', [p as Sym, y], zs.shape);
    if (w !== undefined) dz = g.node('Mul', [dz, elementWeights(g, t as Sym, w)], zs.shape);
    const scale = g.node('Div', [dloss as Sym, floatCount(g, zs, 'all')], []);
    return [g.node('Mul', [dz, scale], zs.shape), ...noGradient(t, w)];
  },
};
