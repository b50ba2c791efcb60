/**
 * The training configuration: every hyperparameter the seed article discusses, with the seed's
 * Example 2 + 3 as defaults. The same shape is the `--config` JSON file, the `fineTune()` options
 * and the `config.json` a run writes; the doctor reads it too. Parsing and validation live in
 * `parse-config.ts`.
 */
import type { OptimizerName } from '../graph/optimizers/types.js';
import type { AugmentName } from '../image/augment.js';
import type { Interpolation, PreprocessMode, ResizeMode } from '../image/contract.js';
import type { ArchName } from '../model/architectures.js';
import type { HeadKind } from '../model/head.js';
import type { Precision } from '../model/precision.js';
import type { MonitorMode } from './callbacks/monitor.js';
import type { ScheduleName } from './schedules.js';

// Each closed list of names has one owner module (the one that acts on the names); the schema,
// the flag help and the checks import the list from there.
export type { AugmentName, HeadKind, MonitorMode, OptimizerName, Precision, ScheduleName };

export const LOSS_NAMES = ['categorical_crossentropy', 'binary_crossentropy'] as const;
export type LossName = (typeof LOSS_NAMES)[number];
/** `balanced` weighs each class by n_samples / (n_classes * n_class_samples), as sklearn does. */
export const CLASS_WEIGHTINGS = ['none', 'balanced'] as const;
export type ClassWeighting = (typeof CLASS_WEIGHTINGS)[number];

/** A stage of progressive unfreezing: train with blocks >= `unfreezeFrom` trainable for `epochs`. */
export interface StageSpec {
  /** `head` (nothing of the base), or `block5` … `block1` (that block and every block above it). */
  readonly name: string;
  readonly epochs: number;
}

export interface ReduceLrConfig {
  readonly enabled: boolean;
  readonly monitor: string;
  readonly mode: MonitorMode;
  readonly factor: number;
  readonly patience: number;
  readonly minDelta: number;
  readonly cooldown: number;
  readonly minLr: number;
}

export interface EarlyStoppingConfig {
  readonly enabled: boolean;
  readonly monitor: string;
  readonly mode: MonitorMode;
  readonly patience: number;
  readonly minDelta: number;
  readonly restoreBestWeights: boolean;
}

export interface ScheduleConfig {
  readonly name: ScheduleName;
  /** step: multiply by `gamma` every `stepEpochs`; one-cycle: peak at `maxLr`. */
  readonly stepEpochs: number;
  readonly gamma: number;
  readonly maxLr: number;
}

export interface TrainConfig {
  readonly arch: ArchName;
  /** Registry tag, a local .h5/.safetensors path, or `none` (random init). */
  readonly weights: string;
  /**
   * The weights of a Keras model given as `weights` (a `model.save_weights` .h5 for the
   * architecture-only JSON `model.to_json()` writes); undefined for every other source.
   */
  readonly kerasWeights: string | undefined;
  readonly inputSize: number;
  /** Preprocessing overrides; undefined means the weights' contract. */
  readonly preprocess: PreprocessMode | undefined;
  readonly resize: ResizeMode | undefined;
  readonly interpolation: Interpolation | undefined;
  readonly head: HeadKind;
  readonly dense: number;
  readonly dropout: number;
  readonly loss: LossName;
  readonly labelSmoothing: number;
  readonly classWeights: ClassWeighting;
  readonly optimizer: OptimizerName;
  readonly lr: number;
  readonly momentum: number;
  readonly nesterov: boolean;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly weightDecay: number;
  /** Clip the global gradient norm to this value; 0 disables clipping. */
  readonly clipNorm: number;
  readonly epochs: number;
  readonly batchSize: number;
  readonly valSplit: number;
  readonly val: string | undefined;
  readonly seed: number;
  /** Empty: one stage of `epochs` with the whole base frozen (the seed's default). */
  readonly stages: readonly StageSpec[];
  /** Learning-rate multiplier applied at each stage change. */
  readonly stageLrFactor: number;
  /** Per-block learning-rate multiplier for unfrozen blocks below the top one (deeper = lower). */
  readonly blockLrDecay: number;
  readonly augment: readonly AugmentName[];
  /**
   * Precision of the frozen prefix that computes the cached features: `int8` calibrates on a
   * sample of the training images and is used only if the accuracy guard passes (fp32 otherwise,
   * logged with the figures); the trainable blocks and the head always train in fp32.
   */
  readonly precision: Precision;
  readonly reduceLr: ReduceLrConfig;
  readonly earlyStopping: EarlyStoppingConfig;
  readonly schedule: ScheduleConfig;
  readonly terminateOnNan: boolean;
}

/** The seed's Example 2 (model, optimizer, loss) and Example 3 (fit, ReduceLROnPlateau). */
export const DEFAULT_CONFIG: TrainConfig = {
  arch: 'vgg16',
  weights: 'imagenet',
  kerasWeights: undefined,
  inputSize: 224,
  preprocess: undefined,
  resize: undefined,
  interpolation: undefined,
  head: 'flatten',
  dense: 256,
  dropout: 0.5,
  loss: 'categorical_crossentropy',
  labelSmoothing: 0,
  classWeights: 'none',
  optimizer: 'adam',
  lr: 1e-4,
  momentum: 0.9,
  nesterov: false,
  beta1: 0.9,
  beta2: 0.999,
  epsilon: 1e-7,
  weightDecay: 0,
  clipNorm: 0,
  epochs: 20,
  batchSize: 32,
  valSplit: 0.2,
  val: undefined,
  seed: 1337,
  stages: [],
  stageLrFactor: 0.1,
  blockLrDecay: 1,
  augment: [],
  precision: 'fp32',
  reduceLr: {
    enabled: true,
    monitor: 'val_loss',
    mode: 'auto',
    factor: 0.2,
    patience: 3,
    minDelta: 1e-4,
    cooldown: 0,
    minLr: 1e-6,
  },
  earlyStopping: {
    enabled: false,
    monitor: 'val_loss',
    mode: 'auto',
    patience: 5,
    minDelta: 0,
    restoreBestWeights: true,
  },
  schedule: { name: 'none', stepEpochs: 10, gamma: 0.1, maxLr: 1e-3 },
  terminateOnNan: true,
};
