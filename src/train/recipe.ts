/**
 * How a TrainConfig becomes the engine's inputs: the head, the optimizer, the targets, the
 * learning rate of each parameter group and the identity of the weights. fineTune() and the
 * doctor's probes share these, so a probe trains exactly what `vggkit train` would.
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { LabeledFile } from '../data/dataset.js';
import type { OptimizerSpec, TrainHead } from '../engine/train-step.js';
import { resolveContract, type PreprocessContract } from '../image/contract.js';
import { vggLayers } from '../model/architectures.js';
import { headLayers, type HeadSpec } from '../model/head.js';
import { initWeights } from '../model/init.js';
import { loadWeights, type LoadedWeights } from '../model/load-weights.js';
import type { WeightMap } from '../model/weight-map.js';
import { UsageError } from '../util/errors.js';
import { Random } from '../util/random.js';
import type { Float32Tensor } from '../util/tensor.js';
import type { TrainConfig } from './config.js';

export function trainHead(
  config: TrainConfig,
  classCount: number,
  train: readonly LabeledFile[],
): TrainHead {
  if (config.loss === 'binary_crossentropy' && classCount !== 2) {
    throw new UsageError(
      'OPTION_DATA_CONFLICT',
      `loss binary_crossentropy: expected exactly 2 class folders, received ${classCount}; use categorical_crossentropy for single-label multi-class data`,
    );
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
  const identity = async (file: string): Promise<string | undefined> => {
    const info = await stat(file).catch(() => undefined);
    return info === undefined ? undefined : `${resolve(file)}:${info.size}:${info.mtimeMs}`;
  };
  const weights = await identity(config.weights);
  // An architecture's features change with the weights loaded into it (--keras-weights).
  const loaded =
    config.kerasWeights === undefined ? undefined : await identity(config.kerasWeights);
  return weights === undefined
    ? `${config.arch}:${source}`
    : `${config.arch}:${weights}${loaded === undefined ? '' : `+${loaded}`}`;
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
export function groupRates(
  groups: readonly string[],
  lr: number,
  decay: number,
): Record<string, number> {
  const rates: Record<string, number> = {};
  for (const group of groups) {
    const block = /^block(\d)$/.exec(group);
    rates[group] = block === null ? lr : lr * decay ** (6 - Number(block[1]));
  }
  return rates;
}

export interface LoadedBase {
  /** The conv base's weights (Keras names and layouts). */
  readonly weights: WeightMap;
  /** The weights' contract with the config's overrides applied. */
  readonly contract: PreprocessContract;
  /**
   * One line per override that contradicts the weights' contract, and the convention the contract
   * rests on when the weights record none and the config does not override it.
   */
  readonly contractWarnings: readonly string[];
  /** Keys the feature cache: changes whenever the weights change. */
  readonly weightsId: string;
  readonly source: string;
  /** A Keras model's own head, to continue from when this run's head has its shape. */
  readonly head?: LoadedWeights['head'];
}

export interface BaseOptions {
  readonly cacheDir: string;
  readonly offline?: boolean;
  readonly onDownloadProgress?: (received: number, total: number | undefined) => void;
}

/** The conv base the config names, and the preprocessing contract it resolves to. */
export async function loadBase(config: TrainConfig, options: BaseOptions): Promise<LoadedBase> {
  const loaded = await loadWeights({
    arch: config.arch,
    weights: config.weights,
    ...(config.kerasWeights === undefined ? {} : { kerasWeights: config.kerasWeights }),
    includeTop: false,
    inputSize: config.inputSize,
    seed: config.seed,
    offline: options.offline ?? false,
    cacheDir: options.cacheDir,
    ...(options.onDownloadProgress === undefined ? {} : { onProgress: options.onDownloadProgress }),
  });
  const resolved = resolveContract(loaded.contract, {
    ...(config.preprocess === undefined ? {} : { preprocess: config.preprocess }),
    ...(config.resize === undefined ? {} : { resize: config.resize }),
    ...(config.interpolation === undefined ? {} : { interpolation: config.interpolation }),
  });
  return {
    weights: loaded.weights,
    contract: resolved.contract,
    contractWarnings: [
      ...(loaded.assumption === undefined || config.preprocess !== undefined
        ? []
        : [loaded.assumption]),
      ...resolved.warnings,
    ],
    weightsId: await weightsIdentity(config, loaded.source),
    source: loaded.source,
    ...(loaded.head === undefined ? {} : { head: loaded.head }),
  };
}

/** The head's layer description (for graphs and model metadata) from the config. */
export function headSpecFor(config: TrainConfig, head: TrainHead): HeadSpec {
  return {
    kind: config.head,
    dense: config.dense,
    classes: head.classes,
    activation: config.loss === 'binary_crossentropy' ? 'sigmoid' : 'softmax',
  };
}

/** Base weights plus a freshly initialised head (Glorot, seeded by the config), as training starts. */
export function initialParams(
  config: TrainConfig,
  base: LoadedBase,
  headSpec: HeadSpec,
): WeightMap {
  const layers = vggLayers({
    arch: config.arch,
    includeTop: false,
    inputSize: base.contract.inputSize,
    pooling: 'none',
    classes: headSpec.classes,
  });
  const own =
    base.head !== undefined && sameHead(base.head.spec, headSpec) ? base.head.weights : undefined;
  return new Map([
    ...base.weights,
    ...(own ?? initWeights(headLayers(layers, headSpec), new Random(config.seed))),
  ]);
}

/** Whether a saved head can continue as this run's: same pooling, hidden units, classes and output. */
export function sameHead(a: HeadSpec, b: HeadSpec): boolean {
  return (
    a.kind === b.kind &&
    a.dense === b.dense &&
    a.classes === b.classes &&
    a.activation === b.activation &&
    (a.moreDense ?? []).join() === (b.moreDense ?? []).join()
  );
}
