/**
 * How a TrainConfig becomes the engine's inputs: the head, the optimizer, the targets, the
 * learning rate of each parameter group and the identity of the weights. fineTune() and the
 * doctor's probes share these, so a probe trains exactly what `vggkit train` would.
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { LabeledFile } from '../data/dataset.js';
import type { OptimizerSpec, TrainHead } from '../engine/train-step.js';
import { UsageError } from '../util/errors.js';
import type { Float32Tensor } from '../util/tensor.js';
import type { TrainConfig } from './config.js';

export function trainHead(config: TrainConfig, classCount: number, train: readonly LabeledFile[]): TrainHead {
  if (config.loss === 'binary_crossentropy' && classCount !== 2) {
    throw new UsageError(`loss binary_crossentropy: expected exactly 2 class folders, received ${classCount}; use categorical_crossentropy for single-label multi-class data`);
  }
  const classes = config.loss === 'binary_crossentropy' ? 1 : classCount;
  let classWeights: number[] | undefined;
  if (config.classWeights === 'balanced') {
    const counts = new Array<number>(classCount).fill(0);
    for (const item of train) counts[item.label] = (counts[item.label] ?? 0) + 1;
    classWeights = counts.map((c) => (c === 0 ? 0 : train.length / (classCount * c)));
  }
  return {
    kind: config.head,
    dense: config.dense,
    dropout: config.dropout,
    classes,
    loss: config.loss,
    labelSmoothing: config.labelSmoothing,
    ...(classWeights === undefined ? {} : { classWeights }),
  };
}

export function optimizerSpec(config: TrainConfig): OptimizerSpec {
  return {
    name: config.optimizer,
    beta1: config.beta1,
    beta2: config.beta2,
    epsilon: config.epsilon,
    momentum: config.momentum,
    nesterov: config.nesterov,
    weightDecay: config.weightDecay,
    clipNorm: config.clipNorm,
  };
}

/** Identifies the weights for the feature cache: the source plus, for local files, size and mtime. */
export async function weightsIdentity(config: TrainConfig, source: string): Promise<string> {
  const info = await stat(config.weights).catch(() => undefined);
  return info === undefined ? `${config.arch}:${source}` : `${config.arch}:${resolve(config.weights)}:${info.size}:${info.mtimeMs}`;
}

export function targets(items: readonly LabeledFile[], head: TrainHead): Float32Tensor {
  const data = new Float32Array(items.length * head.classes);
  items.forEach((item, i) => {
    if (head.classes === 1) data[i] = item.label;
    else data[i * head.classes + item.label] = 1;
  });
  return { dims: [items.length, head.classes], data };
}

/** `head` gets the rate; `blockN` gets rate x decay^(6-N): block5 x decay, block4 x decay^2 … */
export function groupRates(groups: readonly string[], lr: number, decay: number): Record<string, number> {
  const rates: Record<string, number> = {};
  for (const group of groups) {
    const block = /^block(\d)$/.exec(group);
    rates[group] = block === null ? lr : lr * decay ** (6 - Number(block[1]));
  }
  return rates;
}
