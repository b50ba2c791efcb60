/**
 * Configuration family: a vggkit TrainConfig (`ctx.config`, merged over DEFAULT_CONFIG) judged
 * against the seed's recipe (Adam 1e-4 for the head, frozen base, much lower rates once blocks
 * are unfrozen) and against the data it will train on.
 */
import { vggLayers } from '../../model/architectures.js';
import { frozenRandomBlocks, STAGE_NAMES, unfrozenBlocks } from '../../train/stages.js';
import { DEFAULT_CONFIG, type TrainConfig } from '../../train/config.js';
import { classCount, classCounts, trainImages } from '../context.js';
import { underfitting } from '../trends.js';
import type { Check, Finding } from '../types.js';

interface LrLimits {
  /** Above this the first stage overshoots: Adam moves every weight by ~lr per step whatever the gradient. */
  readonly high: number;
  /** Below this nothing moves within a normal number of epochs. */
  readonly low: number;
  /** Above this pretrained conv blocks are rewritten faster than the head learns (catastrophic forgetting). */
  readonly unfrozen: number;
}

/** Adam/AdamW: Keras' default 1e-3 is the usual top for a new head; 1e-5..1e-4 is the usual range for unfrozen blocks. */
export const ADAM_LIMITS: LrLimits = { high: 3e-3, low: 1e-6, unfrozen: 1e-4 };
/** SGD with momentum 0.9 takes ~10x lr steps: 0.01 is a usual head rate, 1e-3 for unfrozen blocks. */
export const SGD_LIMITS: LrLimits = { high: 0.05, low: 1e-5, unfrozen: 1e-3 };
/** Trainable head parameters per training image above 10,000: the head can memorise the set (the seed's Flatten+Dense256 head has 6.4M). */
export const HEAD_PARAMS_PER_IMAGE = 10_000;
/** SGD momentum below 0.5: Keras' SGD default is 0 (the seed's "simple SGD implementation"); the usual value is 0.9, and 0.5 is about the lowest in common use. Without it, steps are ~10x smaller at the same rate and noisy. */
export const SGD_MIN_MOMENTUM = 0.5;
/** Label smoothing above 0.3: Szegedy et al. (2016) used 0.1 and common practice stays within 0.05-0.2; every extra tenth removes a tenth of the signal that separates the classes. */
export const LABEL_SMOOTHING_HIGH = 0.3;

/**
 * Training images below which VGG from scratch is not a fix for a frozen random base: a network of
 * 15M conv weights trained from scratch is fit on tens of thousands of images (CIFAR-10's 50,000;
 * bench/scratch.ts reaches 72% on 6,000 Fashion-MNIST images in one epoch), while pretrained
 * features carry a few hundred images.
 */
export const FROM_SCRATCH_MIN_IMAGES = 5_000;

export function lrLimits(config: TrainConfig): LrLimits {
  return config.optimizer === 'sgd' ? SGD_LIMITS : ADAM_LIMITS;
}

/** Learning rate of each stage: `lr` for the first, multiplied by `stageLrFactor` at each change. */
export function stageRates(config: TrainConfig): { name: string; lr: number; unfrozen: number }[] {
  const stages =
    config.stages.length > 0 ? config.stages : [{ name: 'head', epochs: config.epochs }];
  return stages.map((stage, i) => ({
    name: stage.name,
    lr: config.lr * config.stageLrFactor ** i,
    unfrozen: unfrozenBlocks(stage),
  }));
}

function pow2Floor(n: number): number {
  return 2 ** Math.floor(Math.log2(Math.max(1, n)));
}

const learningRate: Check = {
  ids: ['lr-too-high', 'lr-too-low'],
  family: 'config',
  run(ctx) {
    const config = ctx.config;
    if (config === undefined) return [];
    const limits = lrLimits(config);
    const evidence = {
      lr: config.lr,
      optimizer: config.optimizer,
      limits: { high: limits.high, low: limits.low },
    };
    if (config.lr > limits.high) {
      const suggested = config.optimizer === 'sgd' ? 0.01 : 1e-4;
      return [
        {
          id: 'lr-too-high',
          severity: config.lr > 10 * limits.high ? 'error' : 'warning',
          title: `Learning rate ${config.lr} is high for ${config.optimizer} fine-tuning`,
          explanation:
            'Steps this large jump over minima: the loss oscillates or diverges, and any unfrozen pretrained weights are wrecked in the first epoch.',
          evidence,
          fix: {
            summary: `Use lr ${suggested} (the seed's Adam 1e-4; 0.01 for SGD with momentum).`,
            config: { lr: suggested },
            flag: `--lr ${suggested}`,
          },
        },
      ];
    }
    if (config.lr < limits.low) {
      const suggested = config.optimizer === 'sgd' ? 1e-3 : 1e-5;
      return [
        {
          id: 'lr-too-low',
          severity: 'warning',
          title: `Learning rate ${config.lr} is too low for ${config.optimizer} to make progress`,
          explanation:
            'Weights barely move: the loss falls so slowly that training ends long before it converges.',
          evidence,
          fix: {
            summary: `Use lr ${suggested} or higher (or run an LR range test).`,
            config: { lr: suggested },
            flag: `--lr ${suggested}`,
          },
        },
      ];
    }
    return [];
  },
};

const plainSgd: Check = {
  ids: ['sgd-without-momentum'],
  family: 'config',
  run(ctx) {
    const config = ctx.config;
    if (config === undefined || config.optimizer !== 'sgd' || config.momentum >= SGD_MIN_MOMENTUM)
      return [];
    return [
      {
        id: 'sgd-without-momentum',
        severity: 'warning',
        title: `SGD with momentum ${config.momentum}`,
        explanation:
          'Plain SGD steps along each noisy batch gradient alone: at the same rate it moves about 10x less than SGD with momentum 0.9 and zig-zags across narrow valleys. The seed article’s fix was switching to Adam; momentum 0.9 is the other usual remedy.',
        evidence: {
          optimizer: config.optimizer,
          momentum: config.momentum,
          minimum: SGD_MIN_MOMENTUM,
        },
        fix: {
          summary: 'Use momentum 0.9 (or Adam, the seed’s choice).',
          config: { momentum: 0.9 },
          flag: '--momentum 0.9 (or --optimizer adam)',
        },
      },
    ];
  },
};

const labelSmoothing: Check = {
  ids: ['label-smoothing-too-high'],
  family: 'config',
  run(ctx) {
    const config = ctx.config;
    if (config === undefined || config.labelSmoothing <= LABEL_SMOOTHING_HIGH) return [];
    const classes = classCount(ctx);
    const s = config.labelSmoothing;
    const target =
      classes === undefined
        ? undefined
        : { true: 1 - s + s / classes, other: s / classes, classes };
    // At s >= (K-1)/K the true class's target is no higher than any other's: nothing to learn.
    const hopeless = target !== undefined && target.true <= target.other + 1e-12;
    return [
      {
        id: 'label-smoothing-too-high',
        severity: hopeless ? 'error' : 'warning',
        title: `Label smoothing ${s} leaves little to learn`,
        explanation:
          target === undefined
            ? `With smoothing ${s} the true class's target keeps only ${((1 - s) * 100).toFixed(0)}% more weight than the uniform guess: the gradient that separates classes shrinks by that much, and the loss cannot fall far.`
            : `With ${target.classes} classes the target is ${target.true.toFixed(2)} for the true class and ${target.other.toFixed(2)} for each other one: the gradient that separates classes shrinks to ${((1 - s) * 100).toFixed(0)}%, and the loss cannot fall far.`,
        evidence: {
          labelSmoothing: s,
          limit: LABEL_SMOOTHING_HIGH,
          ...(target === undefined ? {} : { target }),
        },
        fix: {
          summary: 'Use label smoothing 0.1 (or none).',
          config: { labelSmoothing: 0.1 },
          flag: '--label-smoothing 0.1',
        },
      },
    ];
  },
};

const unfrozenLr: Check = {
  ids: ['unfrozen-with-high-lr'],
  family: 'config',
  run(ctx) {
    const config = ctx.config;
    if (config === undefined || config.weights === 'none') return [];
    const limits = lrLimits(config);
    const rates = stageRates(config);
    const risky = rates.filter((s) => s.unfrozen > 0 && s.lr > limits.unfrozen * (1 + 1e-9));
    if (risky.length === 0) return [];
    const first = rates.findIndex((s) => s.unfrozen > 0);
    const fix =
      first === 0
        ? {
            summary: 'Train the head alone first, then unfreeze with a 10x lower rate.',
            config: {
              stages: [
                { name: 'head', epochs: Math.max(1, Math.round(config.epochs / 2)) },
                ...config.stages,
              ],
              stageLrFactor: Math.min(config.stageLrFactor, limits.unfrozen / config.lr),
            },
          }
        : {
            summary: `Lower the rate at each unfreezing so unfrozen blocks train at <= ${limits.unfrozen}.`,
            config: {
              stageLrFactor: Number(((limits.unfrozen / config.lr) ** (1 / first)).toPrecision(2)),
            },
          };
    return [
      {
        id: 'unfrozen-with-high-lr',
        severity: 'warning',
        title: `Pretrained blocks are unfrozen at learning rate ${risky[0].lr.toPrecision(2)} (${risky.map((s) => s.name).join(', ')})`,
        explanation:
          first === 0
            ? 'Blocks are trainable from the first epoch, while the new head is random: its large gradients flow into the pretrained filters and erase them (catastrophic forgetting).'
            : `Unfrozen conv blocks above ${limits.unfrozen} (${config.optimizer}) drift away from their pretrained features faster than the head adapts (catastrophic forgetting).`,
        evidence: { stages: rates, limit: limits.unfrozen, optimizer: config.optimizer },
        fix: { ...fix, flag: '--stages head:N,block5:M --stage-lr-factor 0.1' },
      },
    ];
  },
};

const tooMuchFrozen: Check = {
  ids: ['too-much-frozen'],
  family: 'config',
  run(ctx) {
    const config = ctx.config;
    if (config === undefined || ctx.history === undefined || config.weights === 'none') return [];
    if (stageRates(config).some((s) => s.unfrozen > 0)) return [];
    const evidence = underfitting(ctx.history, classCount(ctx));
    if (evidence === undefined) return [];
    const headEpochs = config.stages.length > 0 ? config.stages[0].epochs : config.epochs;
    return [
      {
        id: 'too-much-frozen',
        severity: 'warning',
        title: `The whole VGG base is frozen and training ${evidence.finalAccuracy === undefined ? `loss stalls at ${evidence.finalLoss?.toFixed(3)}` : `accuracy stalls at ${(evidence.finalAccuracy * 100).toFixed(0)}%`}`,
        explanation:
          "ImageNet features alone do not separate these classes; the head has reached what it can do on them. The seed's remedy: unfreeze the top block after the head has trained, at a much lower rate.",
        evidence: { ...evidence, stages: stageRates(config) },
        fix: {
          summary: 'Add a block5 stage after the head stage, with the rate divided by 10.',
          config: {
            stages: [
              { name: 'head', epochs: headEpochs },
              { name: 'block5', epochs: Math.max(3, Math.round(headEpochs / 2)) },
            ],
            stageLrFactor: 0.1,
          },
          flag: `--stages head:${headEpochs},block5:${Math.max(3, Math.round(headEpochs / 2))} --stage-lr-factor 0.1`,
        },
      },
    ];
  },
};

const randomBaseFrozen: Check = {
  ids: ['random-base-frozen'],
  family: 'config',
  run(ctx) {
    const config = ctx.config;
    if (config === undefined) return [];
    const frozen = frozenRandomBlocks(config);
    if (frozen === 0) return [];
    // A parsed config's epochs are its stages' sum (config-schema.ts reconciles them).
    const epochs = config.epochs;
    const images = trainImages(ctx);
    const fromScratch = images !== undefined && images >= FROM_SCRATCH_MIN_IMAGES;
    return [
      {
        id: 'random-base-frozen',
        severity: 'warning',
        title:
          frozen === STAGE_NAMES.length - 1
            ? 'The VGG base starts from random weights (weights: none) and stays frozen: only the head trains'
            : `The VGG base starts from random weights (weights: none) and blocks 1-${frozen} stay frozen`,
        explanation:
          'Freezing keeps weights as they are, which helps when they are pretrained. Frozen random filters compute fixed random features for the whole run: the head can only learn what those happen to separate. In Keras: VGG16(weights=None) with base.trainable = False.',
        evidence: {
          weights: config.weights,
          frozenBlocks: frozen,
          trainImages: images,
          stages: stageRates(config),
        },
        fix: fromScratch
          ? {
              summary: `Train every block from the first epoch: ${images} training images are enough to train VGG from scratch. Or start from pretrained weights (--weights imagenet) and keep the frozen base.`,
              config: { stages: [{ name: 'block1', epochs }] },
              flag: `--stages block1:${epochs}`,
            }
          : {
              // Neither a config patch nor a flag the fix loop would take for a setting to
              // measure: it cannot train with weights this machine may not be able to download.
              summary: `Start from pretrained weights (--weights imagenet) and keep the frozen base: ${images === undefined ? 'a small data set' : `${images} training images`} will not train a network this size from scratch (that takes ${FROM_SCRATCH_MIN_IMAGES.toLocaleString('en-US')}+).`,
            },
      },
    ];
  },
};

const lossOutput: Check = {
  ids: ['loss-output-mismatch'],
  family: 'config',
  run(ctx) {
    const classes = classCount(ctx);
    if (ctx.config === undefined || classes === undefined) return [];
    if (ctx.config.loss !== 'binary_crossentropy' || classes <= 2) return [];
    return [
      {
        id: 'loss-output-mismatch',
        severity: 'error',
        title: `Binary cross-entropy on a ${classes}-class softmax output`,
        explanation:
          'Binary cross-entropy treats each of the outputs as an independent yes/no, which does not match a single-label softmax: the loss is mis-scaled and the reported accuracy is inflated.',
        evidence: { loss: ctx.config.loss, classes },
        fix: {
          summary: 'Use categorical cross-entropy for single-label classification.',
          config: { loss: 'categorical_crossentropy' },
          flag: 'loss: "categorical_crossentropy" in --config',
        },
      },
    ];
  },
};

const classMismatch: Check = {
  ids: ['class-count-mismatch'],
  family: 'config',
  run(ctx) {
    const findings: Finding[] = [];
    const train = [...classCounts(ctx).entries()].filter(([, n]) => n > 0).map(([c]) => c);
    if (ctx.scan?.val !== undefined) {
      const val = ctx.scan.val.classes;
      const missing = train.filter((c) => !val.includes(c));
      const extra = val.filter((c) => !train.includes(c));
      if (missing.length > 0 || extra.length > 0) {
        findings.push({
          id: 'class-count-mismatch',
          severity: 'error',
          title: `Training and validation folders name different classes (${train.length} vs ${val.length})`,
          explanation:
            'Class indices come from the sorted folder names; when the two sets differ, index k means a different class in each, and validation accuracy is meaningless.',
          evidence: { train, val, missingFromVal: missing, onlyInVal: extra },
          fix: { summary: 'Give both folders exactly the same class sub-folders.' },
        });
      }
    }
    const modelClasses = ctx.model?.classes;
    if (
      modelClasses !== undefined &&
      train.length > 0 &&
      (modelClasses.length !== train.length ||
        modelClasses.some((c, i) => c !== [...train].sort()[i]))
    ) {
      findings.push({
        id: 'class-count-mismatch',
        severity: 'error',
        title: `The model was trained on ${modelClasses.length} classes; the data has ${train.length}`,
        explanation:
          "The model's output units are the classes it was trained on; evaluating or continuing it on other classes mislabels every image.",
        evidence: { model: modelClasses, data: train },
        fix: {
          summary: 'Use the data the model was trained on, or train a new head for these classes.',
        },
      });
    }
    return findings;
  },
};

/**
 * The batch the rule suggests for `n` training images: the default (Keras' 32, which the usual
 * rates are tuned at), or the largest power of two up to half the data when that is smaller, so an
 * epoch is at least two steps. Half the data alone was too large on anything but a tiny set: 300
 * images gave 128, 3 steps an epoch, and a 10-epoch fine-tune of 30 steps recovered to 29%
 * validation accuracy where batch 32 reaches 43% (bench/fix.ts, Fashion-MNIST, weights none).
 */
export function batchForData(n: number): number {
  return Math.min(DEFAULT_CONFIG.batchSize, pow2Floor(n / 2));
}

const batchVsData: Check = {
  ids: ['batch-larger-than-dataset'],
  family: 'config',
  run(ctx) {
    const n = trainImages(ctx);
    if (ctx.config === undefined || n === undefined || n === 0 || ctx.config.batchSize <= n)
      return [];
    const suggested = batchForData(n);
    return [
      {
        id: 'batch-larger-than-dataset',
        severity: 'warning',
        title: `Batch size ${ctx.config.batchSize} exceeds the ${n} training images`,
        explanation:
          'Each epoch is a single partial batch: one optimizer step per epoch, so training barely advances and the batch size setting means nothing.',
        evidence: { batchSize: ctx.config.batchSize, trainImages: n },
        fix: {
          summary: `Use batch size ${suggested}.`,
          config: { batchSize: suggested },
          flag: `--batch-size ${suggested}`,
        },
      },
    ];
  },
};

/** Trainable parameters of the new head (hidden Dense + output) for this config. */
export function headParameters(
  config: TrainConfig,
  classes: number,
): { features: number; parameters: number } {
  const layers = vggLayers({
    arch: config.arch,
    includeTop: false,
    inputSize: [config.inputSize, config.inputSize],
    pooling: config.head === 'avg' ? 'avg' : 'none',
    classes,
  });
  const features = layers[layers.length - 1].outputShape.reduce((a, b) => a * b, 1);
  const hidden = config.dense > 0 ? features * config.dense + config.dense : 0;
  const outputs = (config.dense > 0 ? config.dense : features) * classes + classes;
  return { features, parameters: hidden + outputs };
}

const headSize: Check = {
  ids: ['head-too-large'],
  family: 'config',
  run(ctx) {
    const n = trainImages(ctx);
    const classes = classCount(ctx);
    if (ctx.config === undefined || n === undefined || n === 0 || classes === undefined) return [];
    const { features, parameters } = headParameters(ctx.config, classes);
    const perImage = parameters / n;
    if (perImage <= HEAD_PARAMS_PER_IMAGE) return [];
    const avg = headParameters({ ...ctx.config, head: 'avg' }, classes).parameters;
    return [
      {
        id: 'head-too-large',
        severity: 'warning',
        title: `The head has ${parameters.toLocaleString('en-US')} trainable parameters for ${n} training images`,
        explanation: `${Math.round(perImage).toLocaleString('en-US')} parameters per image lets the head memorise the training set (train accuracy near 100%, validation far below).`,
        evidence: {
          head: ctx.config.head,
          dense: ctx.config.dense,
          features,
          parameters,
          trainImages: n,
          perImage: Math.round(perImage),
          limit: HEAD_PARAMS_PER_IMAGE,
        },
        fix:
          ctx.config.head === 'flatten'
            ? {
                summary: `Use global average pooling instead of Flatten (${avg.toLocaleString('en-US')} parameters).`,
                config: { head: 'avg' },
                flag: '--head avg',
              }
            : {
                summary: 'Use a smaller hidden layer (or none), and more data or augmentation.',
                config: {
                  dense: Math.max(16, pow2Floor((HEAD_PARAMS_PER_IMAGE * n) / features / 2)),
                },
                flag: '--dense N',
              },
      },
    ];
  },
};

export const CONFIG_CHECKS: readonly Check[] = [
  learningRate,
  plainSgd,
  labelSmoothing,
  unfrozenLr,
  tooMuchFrozen,
  randomBaseFrozen,
  lossOutput,
  classMismatch,
  batchVsData,
  headSize,
];
