/**
 * Keras model family: the user's own saved model (`--keras MODEL`, ctx.keras) judged from its
 * config and training config, against its VGG base's weights contract and the data folder's class
 * count. Ids are shared with the other families where they mean the same thing (lr-too-high,
 * class-count-mismatch, double-preprocessing, …); every finding carries the Keras line to change
 * (`fix.keras`) and the vggkit flag or config patch that does the same in vggkit.
 * Checks that need a VGG base are skipped on other models, with one note saying so.
 */
import type { VggBase } from '../../model/keras/analyse.js';
import {
  close,
  compose,
  explainPreprocessing,
  modeMap,
  STAGES,
} from '../../model/keras/preprocessing.js';
import { unknownLayers, type KerasModel } from '../../model/keras/model.js';
import { numericsFor } from '../../image/contract.js';
import { classCount, trainImages } from '../context.js';
import { optimizerLine } from '../keras-lines.js';
import { underfitting } from '../trends.js';
import type { Check, DoctorContext, Finding, KerasInfo } from '../types.js';
import { ADAM_LIMITS, HEAD_PARAMS_PER_IMAGE, SGD_LIMITS } from './config.js';
import { KERAS_LABEL_CHECKS } from './keras-labels.js';
import { KERAS_MULTI_LABEL_CHECKS, multiLabelEvidence } from './keras-multilabel.js';

const CROSSENTROPY = [
  'categorical_crossentropy',
  'sparse_categorical_crossentropy',
  'binary_crossentropy',
  'categorical_focal_crossentropy',
  'binary_focal_crossentropy',
];
const REGRESSION = [
  'mean_squared_error',
  'mean_absolute_error',
  'huber',
  'log_cosh',
  'mean_squared_logarithmic_error',
];

function keras(ctx: DoctorContext): KerasInfo | undefined {
  return ctx.keras;
}

function lossName(model: KerasModel): string | undefined {
  return model.training?.loss?.name;
}

/** Keras' learning-rate guidance per optimizer family; undefined where there is none (Adadelta, Ftrl…). */
function limitsFor(optimizer: string): typeof ADAM_LIMITS | undefined {
  if (['adam', 'adamw', 'nadam', 'adamax', 'rmsprop', 'lion'].includes(optimizer))
    return ADAM_LIMITS;
  if (optimizer === 'sgd') return SGD_LIMITS;
  return undefined;
}

const outputActivation: Check = {
  ids: ['output-activation-mismatch'],
  family: 'keras',
  run(ctx) {
    const k = keras(ctx);
    const out = k?.analysis.output;
    if (k === undefined || out?.units === undefined || out.activation === undefined) return [];
    const loss = lossName(k.model);
    const evidence = {
      layer: out.layer,
      units: out.units,
      activation: out.activation,
      loss: loss ?? null,
    };
    const classes = classCount(ctx);
    if (out.units === 1 && out.activation === 'softmax') {
      return [
        {
          id: 'output-activation-mismatch',
          severity: 'error',
          title: `${out.layer} is Dense(1) with softmax: it outputs 1.0 for every image`,
          explanation:
            'A softmax normalises over its units; with one unit the result is always exactly 1, so the loss cannot fall and every prediction is the same class.',
          evidence,
          fix: {
            summary:
              'Two classes: one sigmoid unit with binary cross-entropy, or two softmax units with categorical cross-entropy.',
            keras: `layers.Dense(1, activation='sigmoid')(x)  # with loss='binary_crossentropy'`,
            flag: 'vggkit train DATA builds Dense(classes, softmax) from the class folders',
            config: { loss: 'categorical_crossentropy' },
          },
        },
      ];
    }
    if (
      out.activation === 'sigmoid' &&
      out.units > 1 &&
      (loss === 'categorical_crossentropy' || loss === 'sparse_categorical_crossentropy')
    ) {
      const multi = multiLabelEvidence(ctx.scan);
      // Folders sharing images are a multi-label set: the sigmoids fit it, the loss does not.
      if (multi !== undefined)
        return [
          {
            id: 'output-activation-mismatch',
            severity: 'error',
            title: `${out.units} sigmoids on multi-label data, trained with ${loss}`,
            explanation: `${multi.shared} of ${multi.distinct} training images sit in two or more class folders, and independent sigmoids suit that; but ${loss} scores the outputs as one distribution over the classes (one label per image), so it neither trains each yes/no on its own nor allows several labels.`,
            evidence: { ...evidence, shared: multi.shared, distinct: multi.distinct },
            fix: {
              summary:
                'Keep the sigmoids and use binary cross-entropy on one multi-hot label vector per image.',
              keras: `model.compile(loss='binary_crossentropy', metrics=[keras.metrics.BinaryAccuracy(), keras.metrics.AUC(multi_label=True)], optimizer=...)  # y: multi-hot vectors`,
              flag: 'none: vggkit trains single-label class folders only',
            },
          },
        ];
      return [
        {
          id: 'output-activation-mismatch',
          severity: 'error',
          title: `Sigmoid on a ${out.units}-way single-label output with ${loss}`,
          explanation:
            'Categorical cross-entropy expects probabilities that sum to 1 over the classes; independent sigmoids do not, so the loss is mis-scaled and the classes do not compete.',
          evidence,
          fix: {
            summary: 'Use softmax for single-label classification.',
            keras: `layers.Dense(${out.units}, activation='softmax')(x)`,
            flag: 'vggkit heads are softmax for single-label folders',
            config: { loss: 'categorical_crossentropy' },
          },
        },
      ];
    }
    if (
      out.activation === 'sigmoid' &&
      out.units > 2 &&
      loss === 'binary_crossentropy' &&
      ctx.scan !== undefined &&
      classes !== undefined &&
      // Images filed under several classes: the folders are a multi-label set, sigmoids fit it.
      multiLabelEvidence(ctx.scan) === undefined
    ) {
      return [
        {
          id: 'output-activation-mismatch',
          severity: 'warning',
          title: `A multi-label head (${out.units} sigmoids, binary cross-entropy) on single-label class folders`,
          explanation:
            'Each image sits in exactly one class folder, so exactly one output should be on; independent sigmoids do not enforce that and their accuracy counts every correct "no" as a hit.',
          evidence: { ...evidence, classes },
          fix: {
            summary: 'Use softmax with categorical cross-entropy.',
            keras: `layers.Dense(${out.units}, activation='softmax')(x)  # loss='categorical_crossentropy'`,
            flag: '--loss categorical_crossentropy (vggkit heads are softmax for single-label folders)',
            config: { loss: 'categorical_crossentropy' },
          },
        },
      ];
    }
    return [];
  },
};

/**
 * Whether metrics=['accuracy'] follows the loss (binary_crossentropy -> binary_accuracy) in this
 * Keras version. Standalone Keras up to 2.3.1 and tf.keras up to 2.2.4-tf (TF 1.x, TF 2.0-2.1)
 * pick it in training_utils `get_metric_function`: `output_shape[-1] == 1 or
 * is_binary_crossentropy`. tf.keras from TF 2.2 ('2.3.0-tf', then 2.4 … 2.15) and Keras 3 pick
 * it in compile_utils from the output shape alone (`is_binary = y_p_last_dim == 1`), so an n-way
 * softmax gets categorical accuracy whatever the loss. Undefined version: not claimed.
 */
function accuracyFollowsLoss(version: string | undefined): boolean {
  const match = /^(\d+)\.(\d+)/.exec(version ?? '');
  if (match === null) return false;
  const [major, minor] = [Number(match[1]), Number(match[2])];
  if (major !== 2) return major < 2;
  return minor < 3 || (minor === 3 && !(version ?? '').includes('-tf'));
}

const lossOutput: Check = {
  ids: ['loss-output-mismatch'],
  family: 'keras',
  run(ctx) {
    const k = keras(ctx);
    const out = k?.analysis.output;
    const loss = k === undefined ? undefined : lossName(k.model);
    if (k === undefined || out?.units === undefined || loss === undefined) return [];
    const evidence = {
      layer: out.layer,
      units: out.units,
      activation: out.activation ?? null,
      loss,
    };
    const findings: Finding[] = [];
    if (loss === 'binary_crossentropy' && out.activation === 'softmax' && out.units > 2) {
      const metrics = k.model.training?.metrics ?? [];
      const named = metrics.some((m) => m === 'binary_accuracy');
      const plain = metrics.some((m) => m === 'accuracy' || m === 'acc');
      const binaryAccuracy = named || (plain && accuracyFollowsLoss(k.model.kerasVersion));
      findings.push({
        id: 'loss-output-mismatch',
        severity: 'error',
        title: `Binary cross-entropy on a ${out.units}-way softmax`,
        explanation: `Binary cross-entropy scores each of the ${out.units} outputs as an independent yes/no, which a single-label softmax is not: the loss is mis-scaled.${binaryAccuracy ? ` ${named ? 'Its binary_accuracy metric' : `In Keras ${k.model.kerasVersion}, 'accuracy' with this loss`} is binary accuracy: it reports about ${(((out.units - 1) / out.units) * 100).toFixed(0)}% ((n-1)/n) while nothing is learned, far better than the model is.` : ''}`,
        evidence: {
          ...evidence,
          kerasVersion: k.model.kerasVersion ?? null,
          accuracyIsBinary: binaryAccuracy,
        },
        fix: {
          summary:
            'Use categorical cross-entropy (one-hot labels) or sparse categorical cross-entropy (integer labels).',
          keras: `model.compile(loss='categorical_crossentropy', optimizer=..., metrics=['accuracy'])`,
          flag: '--loss categorical_crossentropy',
          config: { loss: 'categorical_crossentropy' },
        },
      });
    }
    if (
      (loss === 'categorical_crossentropy' || loss === 'sparse_categorical_crossentropy') &&
      out.units === 1
    ) {
      findings.push({
        id: 'loss-output-mismatch',
        severity: 'error',
        title: `${loss} on a single-unit output`,
        explanation:
          loss === 'categorical_crossentropy'
            ? 'With one output the one-hot label is always [1] and the loss is always 0 (or constant): nothing is learned.'
            : 'Sparse categorical cross-entropy expects one output per class; with one unit every label but 0 is out of range.',
        evidence,
        fix: {
          summary: 'Two classes: one sigmoid unit with binary cross-entropy.',
          keras: `layers.Dense(1, activation='sigmoid')(x); model.compile(loss='binary_crossentropy', ...)`,
          // vggkit's two-class head is Dense(2, softmax), which categorical cross-entropy fits.
          flag: '--loss categorical_crossentropy (vggkit train DATA builds Dense(classes, softmax) from the class folders)',
          config: { loss: 'categorical_crossentropy' },
        },
      });
    }
    if (
      REGRESSION.includes(loss) &&
      (out.activation === 'softmax' || out.activation === 'sigmoid')
    ) {
      findings.push({
        id: 'loss-output-mismatch',
        severity: 'warning',
        title: `${loss} for a ${out.activation} classifier`,
        explanation:
          'A regression loss on probabilities has vanishing gradients when the model is confidently wrong, so classification trains far slower than with cross-entropy.',
        evidence,
        fix: {
          summary: 'Use cross-entropy.',
          keras: `model.compile(loss='${out.activation === 'softmax' ? 'categorical_crossentropy' : 'binary_crossentropy'}', ...)`,
          flag: `--loss ${out.activation === 'softmax' ? 'categorical_crossentropy' : 'binary_crossentropy'}`,
          config: {
            loss: out.activation === 'softmax' ? 'categorical_crossentropy' : 'binary_crossentropy',
          },
        },
      });
    }
    return findings;
  },
};

const logits: Check = {
  ids: ['logits-mismatch'],
  family: 'keras',
  run(ctx) {
    const k = keras(ctx);
    const out = k?.analysis.output;
    const loss = k?.model.training?.loss;
    if (
      k === undefined ||
      out?.activation === undefined ||
      loss === undefined ||
      !CROSSENTROPY.includes(loss.name)
    )
      return [];
    const fromLogits = loss.fromLogits === true;
    const probabilities = out.activation === 'softmax' || out.activation === 'sigmoid';
    const evidence = { layer: out.layer, activation: out.activation, loss: loss.name, fromLogits };
    const cls = loss.name
      .replace(/(^|_)([a-z])/g, (_m, _s: string, c: string) => c.toUpperCase())
      .replace('crossentropy', 'Crossentropy');
    if (fromLogits && probabilities) {
      return [
        {
          id: 'logits-mismatch',
          severity: 'error',
          title: `from_logits=True on a ${out.activation} output: ${out.activation} is applied twice`,
          explanation: `The loss applies ${out.activation} again to values that already are probabilities (0..1), so its gradients are squashed and training crawls; the reported loss is wrong.`,
          evidence,
          fix: {
            summary: `Drop from_logits=True (the output already is ${out.activation}).`,
            keras: `loss=keras.losses.${cls}(from_logits=False)`,
            flag: 'vggkit heads end in softmax/sigmoid and its losses take their probabilities',
          },
        },
      ];
    }
    if (!fromLogits && (out.activation === 'linear' || out.activation === 'relu')) {
      return [
        {
          id: 'logits-mismatch',
          severity: 'error',
          title: `A ${out.activation} output with from_logits=False`,
          explanation:
            'The loss treats raw scores as probabilities: Keras clips them into [1e-7, 1 - 1e-7], so most gradients are zero and the loss does not reflect the predictions.',
          evidence,
          fix: {
            summary: 'Either give the loss the logits, or end the model with softmax/sigmoid.',
            keras: `loss=keras.losses.${cls}(from_logits=True)`,
            flag: 'vggkit heads end in softmax/sigmoid',
          },
        },
      ];
    }
    return [];
  },
};

const classes: Check = {
  ids: ['class-count-mismatch'],
  family: 'keras',
  run(ctx) {
    const k = keras(ctx);
    const out = k?.analysis.output;
    if (k === undefined || out?.units === undefined || ctx.scan === undefined) return [];
    const n = classCount(ctx);
    if (n === undefined || n < 2) return [];
    const matches = out.units === n || (out.units === 1 && n === 2 && out.activation === 'sigmoid');
    if (matches) return [];
    return [
      {
        id: 'class-count-mismatch',
        severity: 'error',
        title: `${out.layer} has ${out.units} output unit(s); the data has ${n} classes`,
        explanation:
          'Each output unit is one class: with fewer units some classes can never be predicted, with more the surplus units soak up probability for classes that do not exist.',
        evidence: { layer: out.layer, units: out.units, classes: n },
        fix: {
          summary: `Give the last layer ${n} units.`,
          keras: `layers.Dense(${n}, activation='softmax')(x)`,
          flag: 'vggkit train DATA sizes the head from the class folders',
        },
      },
    ];
  },
};

const vggOnlyNote: Check = {
  ids: ['vgg-checks-skipped'],
  family: 'keras',
  run(ctx) {
    const k = keras(ctx);
    if (k === undefined || k.analysis.vgg !== undefined) return [];
    return [
      {
        id: 'vgg-checks-skipped',
        severity: 'info',
        title: `${k.model.name} is not VGG-based: the VGG checks were skipped`,
        explanation:
          'Its layers hold no keras.applications VGG base (block1_conv1 … block5_conv3), so the checks of the top, the frozen blocks, the head size and the preprocessing contract do not apply. The output, loss, logits, class-count and learning-rate checks still ran.',
        evidence: { model: k.model.name, layers: k.model.layers.length },
        fix: {
          summary:
            'Nothing to change for the checks that ran. The VGG checks need a keras.applications VGG base, which is also what vggkit trains.',
          keras:
            "base = keras.applications.VGG16(include_top=False, weights='imagenet', input_shape=(224, 224, 3))",
          flag: 'vggkit train DATA --arch vgg16',
        },
      },
    ];
  },
};

const noTraining: Check = {
  ids: ['training-config-absent'],
  family: 'keras',
  run(ctx) {
    const k = keras(ctx);
    if (k === undefined || k.model.training !== undefined) return [];
    const json = k.model.format === 'keras-json';
    return [
      {
        id: 'training-config-absent',
        severity: 'info',
        title: `${k.model.name} holds no training config: the loss, metric and optimizer checks did not run`,
        explanation: json
          ? 'model.to_json() writes the architecture only; the loss, the metrics and the optimizer with its learning rate are not in it, so the loss/output, sparse/categorical and learning-rate checks had nothing to judge.'
          : 'The file was saved before model.compile (or with include_optimizer=False), so it records no loss, metrics or optimizer; the loss/output, sparse/categorical and learning-rate checks had nothing to judge.',
        evidence: { model: k.model.name, format: k.model.format },
        fix: {
          summary: 'Give the doctor the file model.save writes after compile, which carries them.',
          keras: "model.save('model.keras')  # after model.compile(...)",
          flag: 'vggkit doctor DATA --keras MODEL --probe measures a learning rate on your data instead',
        },
      },
    ];
  },
};

const unknown: Check = {
  ids: ['unknown-layer'],
  family: 'keras',
  run(ctx) {
    const k = keras(ctx);
    if (k === undefined) return [];
    const found = unknownLayers(k.model);
    const opaque = k.analysis.preprocessing.opaque;
    const listed =
      opaque === undefined || found.some((u) => u.layer.endsWith(opaque))
        ? found
        : [...found, { layer: opaque, className: 'preprocessing not understood' }];
    if (listed.length === 0) return [];
    return [
      {
        id: 'unknown-layer',
        severity: 'info',
        title: `vggkit does not know ${listed.length} layer(s): ${listed
          .slice(0, 4)
          .map((u) => `${u.layer} (${u.className})`)
          .join(', ')}`,
        explanation:
          'Checks that depend on what these layers do were not run on them, and the model cannot be converted to run inside vggkit.',
        evidence: { layers: listed },
        fix: {
          summary:
            'Nothing to change for the other checks; this is a limit of vggkit. To run or continue the model inside vggkit, move what these layers do out of the model (preprocessing into the input pipeline) or retrain with the fixed config.',
          keras: `# replace ${listed[0]?.layer ?? 'the layer'} with built-in layers, or do its work in the input pipeline: ds.map(lambda x, y: (keras.applications.vgg16.preprocess_input(x), y))`,
          flag: 'vggkit doctor DATA --keras MODEL --fix-config OUT.json, then vggkit train DATA --config OUT.json',
        },
      },
    ];
  },
};

const topKept: Check = {
  ids: ['top-not-removed'],
  family: 'keras',
  run(ctx) {
    const vgg = keras(ctx)?.analysis.vgg;
    if (vgg === undefined || vgg.top.length === 0) return [];
    const newHead = vgg.head.filter((l) => l.kind === 'dense');
    const evidence = {
      top: vgg.top,
      headAfterTop: vgg.head.map((l) => l.name),
      trainableBlocks: vgg.trainableBlocks,
    };
    const fix = {
      summary: 'Load the base without its ImageNet classifier and put the new head on block5_pool.',
      keras: `base = VGG16(weights='imagenet', include_top=False, input_shape=(224, 224, 3))`,
      flag: 'vggkit train DATA --weights imagenet (the notop base; the head is built for your classes)',
      config: { weights: 'imagenet', head: 'flatten' as const },
    };
    if (vgg.top.includes('predictions') && newHead.length > 0) {
      return [
        {
          id: 'top-not-removed',
          severity: 'error',
          title: 'A new head is stacked on the ImageNet 1000-way softmax (include_top=True)',
          explanation:
            'The new layers see only the 1000 ImageNet class probabilities, a squashed, mostly-zero summary of the image; what block5 extracted is lost before the head.',
          evidence,
          fix,
        },
      ];
    }
    return [
      {
        id: 'top-not-removed',
        severity: 'warning',
        title: `The ImageNet classifier layers ${vgg.top.join(', ')} are still in the model`,
        explanation:
          "fc1 and fc2 hold 119.5M parameters trained for ImageNet's classes and fix the input at 224x224; a small head on block5_pool (include_top=False) learns a new task with far less data and memory.",
        evidence,
        fix,
      },
    ];
  },
};

const preprocessing: Check = {
  ids: [
    'double-preprocessing',
    'normalization-mismatch',
    'channel-order-mismatch',
    'preprocessing-assumed',
  ],
  family: 'keras',
  run(ctx) {
    const k = keras(ctx);
    const pre = k?.analysis.preprocessing;
    if (k === undefined || k.analysis.vgg === undefined || pre?.map === undefined) return [];
    const expected = k.contract.mode;
    const expectedStage = STAGES.find((s) => close(s.map, modeMap(expected)));
    const steps = explainPreprocessing(pre.map);
    const evidence = { layers: pre.layers, map: pre.map, weightsContract: expected };
    const line = `x = keras.applications.vgg16.preprocess_input(inputs)  # and nothing else`;
    if (steps !== undefined && steps.length === 0) {
      if (pre.layers.length > 0) return [];
      return [
        {
          id: 'preprocessing-assumed',
          severity: 'info',
          title: `The model applies no preprocessing itself: it must be fed ${expected}-preprocessed images`,
          explanation: `Keras' VGG weights expect preprocess_input (${expected} mode) outside the model; vggkit assumes that when it runs this model, and --preprocess MODE overrides the assumption.`,
          evidence,
          fix: {
            summary: `Feed preprocess_input(images) to the model (vggkit does this by itself).`,
            keras: `model.fit(keras.applications.vgg16.preprocess_input(images), ...)  # the same before predict/evaluate`,
            flag: `--preprocess ${expected} (the default for Keras VGG weights)`,
          },
        },
      ];
    }
    if (steps !== undefined && steps.length === 1 && steps[0]?.name === expectedStage?.name)
      return [];
    if (steps !== undefined && steps.length === 2) {
      return [
        {
          id: 'double-preprocessing',
          severity: 'error',
          title: `The model preprocesses its input twice: ${steps.map((s) => s.name).join(', then ')}`,
          explanation: `Layers ${pre.layers.join(', ')} apply two normalisations in a row; the weights expect ${expected} mode once, so every input reaching block1_conv1 is shrunk or shifted away from what the filters learned.`,
          evidence: { ...evidence, steps: steps.map((s) => s.name) },
          fix: {
            summary: 'Keep only preprocess_input.',
            keras: line,
            flag: `--preprocess ${expected}`,
          },
        },
      ];
    }
    const flipped = compose(pre.map, { source: [2, 1, 0], scale: [1, 1, 1], offset: [0, 0, 0] });
    const flipExpected =
      expectedStage !== undefined &&
      close({ ...flipped, source: expectedStage.map.source }, expectedStage.map) &&
      pre.map.source.join() !== expectedStage.map.source.join();
    if (
      flipExpected ||
      (expectedStage !== undefined &&
        close({ ...pre.map, source: expectedStage.map.source }, expectedStage.map))
    ) {
      return [
        {
          id: 'channel-order-mismatch',
          severity: 'error',
          title: `The model's preprocessing keeps the wrong channel order for ${expected} weights`,
          explanation: `Its scale and mean are ${expected}'s, but channels reach block1_conv1 in ${pre.map.source.join(',') === '0,1,2' ? 'RGB' : 'BGR'} order while the weights were trained on ${numericsFor(expected).channelOrder.toUpperCase()}: red and blue filters see each other's colour.`,
          evidence,
          fix: {
            summary: 'Use preprocess_input, which also reorders the channels.',
            keras: line,
            flag: `--preprocess ${expected}`,
          },
        },
      ];
    }
    return [
      {
        id: 'normalization-mismatch',
        severity: 'error',
        title: `The model's own preprocessing (${steps?.map((s) => s.name).join(' + ') ?? pre.layers.join(', ')}) is not the ${expected} contract of its VGG weights`,
        explanation: `Keras' ImageNet VGG weights were trained on ${expected}-mode inputs; layers ${pre.layers.join(', ')} feed block1_conv1 differently scaled or centred values, so the pretrained filters respond to the wrong ranges.`,
        evidence: { ...evidence, steps: steps?.map((s) => s.name) ?? null },
        fix: {
          summary: 'Replace the preprocessing layers by preprocess_input.',
          keras: line,
          flag: `--preprocess ${expected}`,
        },
      },
    ];
  },
};

function convBlocksTrainable(vgg: VggBase): number[] {
  return [...vgg.trainableBlocks];
}

const learningRate: Check = {
  ids: ['lr-too-high', 'lr-too-low', 'unfrozen-with-high-lr'],
  family: 'keras',
  run(ctx) {
    const k = keras(ctx);
    const optimizer = k?.model.training?.optimizer;
    const lr = optimizer?.learningRate;
    if (k === undefined || optimizer === undefined || lr === undefined) return [];
    const limits = limitsFor(optimizer.name);
    if (limits === undefined) return [];
    const evidence = {
      optimizer: optimizer.className,
      learningRate: lr,
      schedule: optimizer.schedule ?? null,
      limits,
    };
    const findings: Finding[] = [];
    // The rate the fixed config trains at: lr-too-high's suggestion replaces the saved one, and
    // the unfreeze stage's factor must be taken against that rate, not the saved one.
    let fixedLr = lr;
    if (lr > limits.high) {
      const suggested = optimizer.name === 'sgd' ? 0.01 : 1e-4;
      fixedLr = suggested;
      findings.push({
        id: 'lr-too-high',
        severity: lr > 10 * limits.high ? 'error' : 'warning',
        title: `Learning rate ${lr} is high for ${optimizer.className} ${k.analysis.vgg === undefined ? 'training' : 'fine-tuning'}`,
        explanation:
          'Steps this large jump over minima: the loss oscillates or diverges, and any unfrozen pretrained weights are wrecked in the first epoch.',
        evidence,
        fix: {
          summary: `Use ${suggested}.`,
          keras: optimizerLine(optimizer.name, suggested),
          flag: `--lr ${suggested}`,
          config: { lr: suggested },
        },
      });
    } else if (lr < limits.low) {
      const suggested = optimizer.name === 'sgd' ? 1e-3 : 1e-5;
      findings.push({
        id: 'lr-too-low',
        severity: 'warning',
        title: `Learning rate ${lr} is too low for ${optimizer.className} to make progress`,
        explanation:
          'Weights barely move: the loss falls so slowly that training ends long before it converges.' +
          // Keras saves the optimizer's current rate: a callback may have lowered it during fit.
          ' The file stores the rate at save time: if a callback such as ReduceLROnPlateau lowered it during fit, this is where it ended, not the rate model.compile was given.',
        evidence,
        fix: {
          summary: `Use ${suggested} or higher.`,
          keras: optimizerLine(optimizer.name, suggested),
          flag: `--lr ${suggested}`,
          config: { lr: suggested },
        },
      });
    }
    const vgg = k.analysis.vgg;
    if (vgg !== undefined && vgg.trainableBlocks.length > 0 && lr > limits.unfrozen * (1 + 1e-9)) {
      const blocks = convBlocksTrainable(vgg);
      const from = Math.min(...blocks);
      const factor = Number(Math.min(0.1, limits.unfrozen / fixedLr).toPrecision(2));
      findings.push({
        id: 'unfrozen-with-high-lr',
        severity: 'warning',
        title: `VGG blocks ${blocks.join(', ')} are trainable at learning rate ${lr}`,
        explanation: `Unfrozen pretrained blocks above ${limits.unfrozen} (${optimizer.className}) drift away from their ImageNet features faster than the new head adapts (catastrophic forgetting), the more so while the head is still random.`,
        evidence: { ...evidence, trainableBlocks: blocks },
        fix: {
          summary: `Train the head alone first, then unfreeze from block${from} at ${limits.unfrozen} or lower.`,
          keras: `for layer in base.layers: layer.trainable = layer.name.startswith(${JSON.stringify(blocks.map((b) => `block${b}`))}); model.compile(${optimizerLine(optimizer.name, limits.unfrozen)}, ...)`,
          flag: `--stages head:10,block${from}:5 --stage-lr-factor ${factor}`,
          config: {
            stages: [
              { name: 'head', epochs: 10 },
              { name: `block${from}`, epochs: 5 },
            ],
            stageLrFactor: factor,
          },
        },
      });
    }
    return findings;
  },
};

const frozen: Check = {
  ids: ['too-much-frozen'],
  family: 'keras',
  run(ctx) {
    const vgg = keras(ctx)?.analysis.vgg;
    if (vgg === undefined || vgg.trainableBlocks.length > 0 || ctx.history === undefined) return [];
    const evidence = underfitting(ctx.history, classCount(ctx));
    if (evidence === undefined) return [];
    return [
      {
        id: 'too-much-frozen',
        severity: 'warning',
        title: `The whole VGG base is frozen and training ${evidence.finalAccuracy === undefined ? `loss stalls at ${evidence.finalLoss?.toFixed(3)}` : `accuracy stalls at ${(evidence.finalAccuracy * 100).toFixed(0)}%`}`,
        explanation:
          'ImageNet features alone do not separate these classes; the head has reached what it can. Unfreeze the top block after the head has trained, at a much lower rate.',
        evidence: { ...evidence, trainableBlocks: [] },
        fix: {
          summary: 'After the head stage, unfreeze block5 and recompile with a 10x lower rate.',
          keras: `for layer in base.layers: layer.trainable = layer.name.startswith('block5'); model.compile(optimizer=keras.optimizers.Adam(1e-5), ...)`,
          flag: '--stages head:10,block5:5 --stage-lr-factor 0.1',
          config: {
            stages: [
              { name: 'head', epochs: 10 },
              { name: 'block5', epochs: 5 },
            ],
            stageLrFactor: 0.1,
          },
        },
      },
    ];
  },
};

/** Trainable parameters of the head's dense layers (from the file's variables, else the configs). */
function headParameters(k: KerasInfo): { parameters: number; features: number } | undefined {
  const vgg = k.analysis.vgg;
  if (vgg === undefined) return undefined;
  let parameters = 0;
  let features: number | undefined;
  for (const layer of vgg.head.filter((l) => l.kind === 'dense' && l.trainable)) {
    const vars = k.model.variables?.get(layer.path);
    if (vars === undefined) return undefined;
    features ??= vars[0]?.shape[0];
    parameters += vars.reduce((sum, v) => sum + v.shape.reduce((a, b) => a * b, 1), 0);
  }
  return features === undefined ? undefined : { parameters, features };
}

const headSize: Check = {
  ids: ['head-too-large'],
  family: 'keras',
  run(ctx) {
    const k = keras(ctx);
    const n = trainImages(ctx);
    if (k === undefined || n === undefined || n === 0) return [];
    const head = headParameters(k);
    if (head === undefined || head.parameters / n <= HEAD_PARAMS_PER_IMAGE) return [];
    const flatten = k.analysis.vgg?.head.some((l) => l.kind === 'flatten') === true;
    return [
      {
        id: 'head-too-large',
        severity: 'warning',
        title: `The head has ${head.parameters.toLocaleString('en-US')} trainable parameters for ${n} training images`,
        explanation: `${Math.round(head.parameters / n).toLocaleString('en-US')} parameters per image lets the head memorise the training set (train accuracy near 100%, validation far below).`,
        evidence: { ...head, trainImages: n, limit: HEAD_PARAMS_PER_IMAGE },
        fix: flatten
          ? {
              summary: 'Average the block5 features instead of flattening them.',
              keras: 'x = layers.GlobalAveragePooling2D()(base.output)',
              flag: '--head avg',
              config: { head: 'avg' },
            }
          : {
              summary: 'Use a smaller hidden layer, and more data or augmentation.',
              keras: "x = layers.Dense(128, activation='relu')(x)",
              flag: '--dense 128',
              config: { dense: 128 },
            },
      },
    ];
  },
};

/** Leaf-layer weights by trainable flag, and the optimizer's non-scalar slots, as shape multisets. */
function slotEvidence(
  k: KerasInfo,
): { trainable: string[]; frozen: string[]; slots: string[] } | undefined {
  const state = k.model.optimizerState;
  const variables = k.model.variables;
  if (state === undefined || variables === undefined) return undefined;
  const trainable: string[] = [];
  const frozen: string[] = [];
  const leaves = new Map(
    (function walk(layers: KerasModel['layers']): [string, boolean][] {
      return layers.flatMap((l) =>
        l.layers === undefined
          ? [[[...l.parents, l.name].join('/'), l.trainable] as [string, boolean]]
          : walk(l.layers),
      );
    })(k.model.layers),
  );
  for (const [path, vars] of variables) {
    // Non-trainable variables (BatchNorm statistics) get no slots whatever the flag.
    for (const v of vars.filter((x) => !x.name.startsWith('moving_') && x.name !== 'count'))
      (leaves.get(path) === false ? frozen : trainable).push(
        `${path}/${v.name}:${v.shape.join('x')}`,
      );
  }
  const slots = state.slots
    .filter((s) => s.shape.length > 0 && !/vhat|iteration|learning_rate/.test(s.name))
    .map((s) => `${s.name}:${s.shape.join('x')}`);
  return { trainable, frozen, slots };
}

const shapeOf = (entry: string): string => entry.slice(entry.lastIndexOf(':') + 1);

function countShapes(list: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const entry of list) counts.set(shapeOf(entry), (counts.get(shapeOf(entry)) ?? 0) + 1);
  return counts;
}

const changedAfterCompile: Check = {
  ids: ['trainable-changed-after-compile'],
  family: 'keras',
  run(ctx) {
    const k = keras(ctx);
    const found = k === undefined ? undefined : slotEvidence(k);
    if (
      k === undefined ||
      found === undefined ||
      found.slots.length === 0 ||
      found.trainable.length + found.frozen.length === 0
    )
      return [];
    const trainable = countShapes(found.trainable);
    const all = countShapes([...found.trainable, ...found.frozen]);
    const slots = countShapes(found.slots);
    const perVariable =
      found.trainable.length === 0 ? 0 : found.slots.length / found.trainable.length;
    const consistent = (targets: Map<string, number>, k2: number): boolean =>
      Number.isInteger(k2) &&
      k2 > 0 &&
      [...new Set([...targets.keys(), ...slots.keys()])].every(
        (s) => (slots.get(s) ?? 0) === k2 * (targets.get(s) ?? 0),
      );
    if (consistent(trainable, perVariable)) return [];
    const perAll = found.slots.length / (found.trainable.length + found.frozen.length);
    const frozenTrained = found.frozen.length > 0 && consistent(all, perAll);
    // trainable = True set after compile: the slots cover only part of the trainable variables,
    // k per variable (Adam 2, RMSprop and SGD with momentum 1), and the rest never trained.
    const perTrained = frozenTrained
      ? undefined
      : [1, 2, 3].find((k2) =>
          [...slots].every(([s, c]) => c % k2 === 0 && c <= k2 * (trainable.get(s) ?? 0)),
        );
    const untrained =
      perTrained === undefined ? 0 : found.trainable.length - found.slots.length / perTrained;
    const unfrozenLate = untrained > 0;
    const evidence = {
      trainableVariables: found.trainable.length,
      frozenVariables: found.frozen.length,
      optimizerSlots: found.slots.length,
      frozenLayers: [...new Set(found.frozen.map((f) => f.slice(0, f.lastIndexOf('/'))))].slice(
        0,
        12,
      ),
    };
    return [
      {
        id: 'trainable-changed-after-compile',
        severity: 'warning',
        title: frozenTrained
          ? `Layers marked frozen in the file were trained: the optimizer holds state for all ${found.trainable.length + found.frozen.length} variables`
          : unfrozenLate
            ? `${untrained} of the ${found.trainable.length} variables marked trainable have no optimizer state: they were unfrozen after compile and never trained`
            : `The optimizer's state does not match the trainable layers (${found.slots.length} slot variables for ${found.trainable.length} trainable variables)`,
        explanation: frozenTrained
          ? "trainable = False was set after model.compile (and not compiled again), so fit kept updating those layers: the pretrained base was trained at the head's learning rate while the saved flags say it was frozen."
          : unfrozenLate
            ? 'trainable = True was set after model.compile (and not compiled again): the optimizer updates only the variables that were trainable when it was compiled, so the unfrozen layers kept their pretrained weights while the file says they were fine-tuned.'
            : 'The trainable flags were changed after model.compile without compiling again, so the layers that trained are not the ones the file marks trainable.',
        evidence: { ...evidence, ...(unfrozenLate ? { untrainedVariables: untrained } : {}) },
        fix: {
          summary: 'Set trainable before compile, and compile again after every change.',
          keras: `for layer in base.layers: layer.trainable = ${unfrozenLate ? "layer.name.startswith('block5')" : 'False'}\nmodel.compile(optimizer=..., loss=..., metrics=[...])  # after changing trainable`,
          flag: '--stages head:N,block5:M (vggkit rebuilds the optimizer at every stage)',
        },
      },
    ];
  },
};

export const KERAS_CHECKS: readonly Check[] = [
  outputActivation,
  ...KERAS_MULTI_LABEL_CHECKS,
  lossOutput,
  ...KERAS_LABEL_CHECKS,
  logits,
  classes,
  topKept,
  preprocessing,
  learningRate,
  frozen,
  headSize,
  changedAfterCompile,
  unknown,
  noTraining,
  vggOnlyNote,
];
