/**
 * How each kind of layer lowers into a training or evaluation graph: one row per LayerKind (as
 * src/model/vgg-graph.ts does for inference), so a new kind is a compile error here until it has a
 * row, and a layer whose kind has no row (a spec built outside the type system) is an error naming
 * it — never a layer silently left out of the graph.
 *
 * A row receives the running value and the layer and returns the layer's output. Spatial values
 * carry their layout: each conv runs in the layout of the lowering chosen for it (conv-lowering.ts;
 * NHWC for vggkit's GEMM and Winograd convs, NCHW for ORT's Conv), and a Transpose is inserted
 * only where two neighbours disagree; pools follow the value's layout, and flatten and global
 * pooling take NHWC so the head sees Keras' (h, w, c) order. Trainable layers read their
 * parameters through `param`; the training graph's dropout mask is a graph input created here.
 */
import { BATCH, type GraphBuilder, type OpDef, type Sym } from '../graph/ir.js';
import { maxPool2x2, maxPool2x2Nchw } from '../graph/ops/max-pool.js';
import { flatten } from '../graph/ops/flatten.js';
import { globalAvgPool, globalMaxPool } from '../graph/ops/global-pool.js';
import { dense } from '../graph/ops/dense.js';
import { relu } from '../graph/ops/elementwise.js';
import { dropout } from '../graph/ops/dropout.js';
import { toLayout, type Layout } from '../graph/ops/layout.js';
import type { LayerKind, LayerSpec } from '../model/architectures.js';
import { biasKey, kernelKey } from '../model/weight-map.js';
import type { ConvChoice } from './conv-lowering.js';
import type { TrainHead } from './train-plan.js';

export interface LoweringContext {
  readonly g: GraphBuilder;
  /** A trainable parameter by Keras key (`block5_conv1/kernel`). */
  readonly param: (key: string) => Sym;
  /** The lowering of each conv layer, by layer name. */
  readonly conv: (layer: LayerSpec) => ConvChoice;
  /** Training graphs apply dropout; evaluation graphs leave it out. */
  readonly training: boolean;
  readonly head: TrainHead;
}

/** A value between layers; `layout` describes spatial (4-D) values and is kept through flat ones. */
export interface Value {
  readonly sym: Sym;
  readonly layout: Layout;
}

export type Lowering = (ctx: LoweringContext, x: Value, layer: LayerSpec) => Value;

function one<A>(g: GraphBuilder, op: OpDef<A>, inputs: readonly Sym[], attrs: A): Sym {
  return g.apply(op, inputs, attrs)[0] as Sym;
}

/** `x` in `layout`, transposed when it is in the other one. */
function inLayout(g: GraphBuilder, x: Value, layout: Layout): Value {
  return x.layout === layout ? x : { sym: one(g, toLayout, [x.sym], { to: layout }), layout };
}

/** The layer's own op, then its ReLU when it has one (softmax/sigmoid belong to the loss op). */
function withRelu(g: GraphBuilder, z: Sym, layer: LayerSpec): Sym {
  return layer.activation === 'relu' ? one(g, relu, [z], undefined) : z;
}

/** A layer that only reads NHWC (Keras order) and returns a flat [N, F] value. */
const nhwcOp =
  (op: OpDef<void>): Lowering =>
  ({ g }, x) => ({ sym: one(g, op, [inLayout(g, x, 'nhwc').sym], undefined), layout: 'nhwc' });

export const TRAIN_LOWERING: Readonly<Record<LayerKind, Lowering>> = {
  // The plan's first layer when the whole network trains: the graph input itself.
  input: (_ctx, x) => x,
  conv: ({ g, param, conv }, x, layer) => {
    const choice = conv(layer);
    const input = inLayout(g, x, choice.layout);
    const z = choice.apply(g, input.sym, param(kernelKey(layer.name)), param(biasKey(layer.name)));
    return { sym: withRelu(g, z, layer), layout: choice.layout };
  },
  pool: ({ g }, x) => ({
    sym: one(g, x.layout === 'nchw' ? maxPool2x2Nchw : maxPool2x2, [x.sym], undefined),
    layout: x.layout,
  }),
  flatten: nhwcOp(flatten),
  'global-avg': nhwcOp(globalAvgPool),
  'global-max': nhwcOp(globalMaxPool),
  dense: ({ g, param }, x, layer) => ({
    sym: withRelu(
      g,
      one(g, dense, [x.sym, param(kernelKey(layer.name)), param(biasKey(layer.name))], undefined),
      layer,
    ),
    layout: x.layout,
  }),
  dropout: ({ g, training, head }, x, layer) =>
    training && head.dropout > 0
      ? {
          sym: one(g, dropout, [x.sym, g.input('mask', [BATCH, ...layer.outputShape])], undefined),
          layout: x.layout,
        }
      : x,
};

/**
 * Lowers `layers` in order from the NHWC graph input `x`; a layer kind without a row is an error
 * naming the layer. Returns the last layer's value as it stands (flat for a plan's head).
 */
export function lowerLayers(ctx: LoweringContext, x: Sym, layers: readonly LayerSpec[]): Sym {
  let value: Value = { sym: x, layout: 'nhwc' };
  for (const layer of layers) {
    const lower = (TRAIN_LOWERING as Readonly<Record<string, Lowering | undefined>>)[layer.kind];
    if (lower === undefined)
      throw new Error(
        `layer ${layer.name}: no training lowering for layer kind ${JSON.stringify(layer.kind)}`,
      );
    value = lower(ctx, value, layer);
  }
  return value.sym;
}
