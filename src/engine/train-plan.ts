/**
 * The trainable part of a fine-tune, resolved from a short description into Keras-named layers,
 * parameter keys and learning-rate groups. Pure data: train-graph.ts turns it into ONNX graphs,
 * train-step.ts runs them.
 *
 * The trainable part always starts at a block boundary: with `trainableBlocks` k (0..5) it is
 * blocks 6-k..5 of the VGG base plus the head, and its input is the frozen prefix's output
 * (block(5-k)_pool, or the preprocessed image when k = 5) in NHWC. Frozen layers are not in the
 * graph at all, so their weights cannot change.
 */
import {
  ARCHITECTURES,
  convBlocks,
  type ArchName,
  type LayerSpec,
} from '../model/architectures.js';
import { type HeadSpec, headLayers } from '../model/head.js';
import { biasKey, kernelKey } from '../model/weight-map.js';
import { invalidOption } from '../util/errors.js';

export type TrainLoss = 'categorical_crossentropy' | 'binary_crossentropy';

export interface TrainHead {
  readonly kind: 'flatten' | 'avg';
  /** Units of the hidden Dense(relu) layer `dense`. */
  readonly dense: number;
  /** Dropout rate after `dense`; 0 leaves dropout out of the graph. */
  readonly dropout: number;
  /** Units of `dense_1`. */
  readonly classes: number;
  readonly loss: TrainLoss;
  readonly labelSmoothing?: number;
  /** categorical: one weight per class; binary: [negative, positive]. */
  readonly classWeights?: readonly number[];
}

export interface TrainPart {
  readonly arch: ArchName;
  /** How many conv blocks, counted from the top, are trainable: 0 (head only) to 5 (everything). */
  readonly trainableBlocks: number;
  /** NHWC [H, W, C] of the input the trainable part receives (the frozen prefix's output). */
  readonly inputShape: readonly [number, number, number];
  readonly head: TrainHead;
}

export interface TrainParam {
  /** Keras weight key, e.g. `block5_conv1/kernel` or `dense/bias`. */
  readonly key: string;
  readonly dims: readonly number[];
  /** Learning-rate group: `head`, `block5`, `block4`, … */
  readonly group: string;
}

export interface TrainPlan {
  readonly part: TrainPart;
  /** Trainable layers in order (convs, pools, then the head's flatten/pool, dense, dropout, dense_1). */
  readonly layers: readonly LayerSpec[];
  readonly params: readonly TrainParam[];
  /** Group names in the order they appear: deepest trainable block first, `head` last. */
  readonly groups: readonly string[];
}

export function planTraining(part: TrainPart): TrainPlan {
  const blocks = ARCHITECTURES[part.arch];
  const k = part.trainableBlocks;
  if (!Number.isInteger(k) || k < 0 || k > blocks.length)
    throw invalidOption('trainableBlocks', `an integer from 0 to ${blocks.length}`, k);
  const [height, width, channels] = part.inputShape;
  const firstBlock = blocks.length - k + 1;
  const expectedChannels = k === blocks.length ? 3 : (blocks[firstBlock - 2]?.at(-1) as number);
  if (channels !== expectedChannels) {
    throw invalidOption(
      'inputShape',
      `[H, W, ${expectedChannels}] (the output of ${k === blocks.length ? 'preprocessing' : `block${firstBlock - 1}_pool`})`,
      `[${part.inputShape.join(', ')}]`,
    );
  }
  if (part.head.dense < 1 || part.head.classes < 1)
    throw invalidOption(
      'head',
      'dense and classes of at least 1',
      `dense ${part.head.dense}, classes ${part.head.classes}`,
    );
  if (!(part.head.dropout >= 0 && part.head.dropout < 1))
    throw invalidOption('head.dropout', 'a rate in [0, 1)', part.head.dropout);

  const layers: LayerSpec[] = convBlocks(blocks, firstBlock, [height, width, channels]);
  const [h, w] = layers.at(-1)?.outputShape ?? [height, width];
  if (h === 0 || w === 0)
    throw invalidOption(
      'inputShape',
      `a spatial size that survives ${k} 2x2 poolings`,
      `[${part.inputShape.join(', ')}]`,
    );
  const spatial: LayerSpec = layers.at(-1) ?? {
    name: 'input',
    kind: 'input',
    outputShape: [height, width, channels],
  };
  const headSpec: HeadSpec = {
    kind: part.head.kind,
    dense: part.head.dense,
    classes: part.head.classes,
    activation: part.head.loss === 'binary_crossentropy' ? 'sigmoid' : 'softmax',
  };
  layers.push(...headLayers([spatial], headSpec));

  const params: TrainParam[] = [];
  for (const layer of layers) {
    if (layer.kernelShape === undefined || layer.biasShape === undefined) continue;
    const group = layer.block === undefined ? 'head' : `block${layer.block}`;
    params.push(
      { key: kernelKey(layer.name), dims: layer.kernelShape, group },
      { key: biasKey(layer.name), dims: layer.biasShape, group },
    );
  }
  return { part, layers, params, groups: [...new Set(params.map((p) => p.group))] };
}
