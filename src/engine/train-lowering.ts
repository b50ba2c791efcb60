/**
 * How each kind of layer lowers into a training or evaluation graph: one row per LayerKind (as
 * src/model/vgg-graph.ts does for inference), so a new kind is a compile error here until it has a
 * row, and a layer whose kind has no row (a spec built outside the type system) is an error naming
 * it — never a layer silently left out of the graph.
 *
 * A row receives the running value and the layer and returns the layer's output. Trainable layers
 * read their parameters through `param` (graph inputs named by Keras key); the training graph's
 * dropout mask is a graph input created here.
 */
import { BATCH, type GraphBuilder, type OpDef, type Sym } from '../graph/ir.js';
import { conv3x3 } from '../graph/ops/conv3x3.js';
import { maxPool2x2 } from '../graph/ops/max-pool.js';
import { flatten } from '../graph/ops/flatten.js';
import { globalAvgPool, globalMaxPool } from '../graph/ops/global-pool.js';
import { dense } from '../graph/ops/dense.js';
import { relu } from '../graph/ops/elementwise.js';
import { dropout } from '../graph/ops/dropout.js';
import type { LayerKind, LayerSpec } from '../model/architectures.js';
import { biasKey, kernelKey } from '../model/weight-map.js';
import type { TrainHead } from './train-plan.js';

export interface LoweringContext {
  readonly g: GraphBuilder;
  /** A trainable parameter by Keras key (`block5_conv1/kernel`). */
  readonly param: (key: string) => Sym;
  /** Training graphs apply dropout; evaluation graphs leave it out. */
  readonly training: boolean;
  readonly head: TrainHead;
}

export type Lowering = (ctx: LoweringContext, x: Sym, layer: LayerSpec) => Sym;

function one(g: GraphBuilder, op: OpDef<void>, inputs: readonly Sym[]): Sym {
  return g.apply(op, inputs, undefined)[0] as Sym;
}

/** The layer's own op, then its ReLU when it has one (softmax/sigmoid belong to the loss op). */
function withRelu(g: GraphBuilder, z: Sym, layer: LayerSpec): Sym {
  return layer.activation === 'relu' ? one(g, relu, [z]) : z;
}

const weighted =
  (op: OpDef<void>): Lowering =>
  ({ g, param }, x, layer) =>
    withRelu(g, one(g, op, [x, param(kernelKey(layer.name)), param(biasKey(layer.name))]), layer);

export const TRAIN_LOWERING: Readonly<Record<LayerKind, Lowering>> = {
  // The plan's first layer when the whole network trains: the graph input itself.
  input: (_ctx, x) => x,
  conv: weighted(conv3x3),
  pool: ({ g }, x) => one(g, maxPool2x2, [x]),
  flatten: ({ g }, x) => one(g, flatten, [x]),
  'global-avg': ({ g }, x) => one(g, globalAvgPool, [x]),
  'global-max': ({ g }, x) => one(g, globalMaxPool, [x]),
  dense: weighted(dense),
  dropout: ({ g, training, head }, x, layer) =>
    training && head.dropout > 0
      ? one(g, dropout, [x, g.input('mask', [BATCH, ...layer.outputShape])])
      : x,
};

/** Lowers `layers` in order from `x`; a layer kind without a row is an error naming the layer. */
export function lowerLayers(ctx: LoweringContext, x: Sym, layers: readonly LayerSpec[]): Sym {
  let value = x;
  for (const layer of layers) {
    const lower = (TRAIN_LOWERING as Readonly<Record<string, Lowering | undefined>>)[layer.kind];
    if (lower === undefined)
      throw new Error(
        `layer ${layer.name}: no training lowering for layer kind ${JSON.stringify(layer.kind)}`,
      );
    value = lower(ctx, value, layer);
  }
  return value;
}
