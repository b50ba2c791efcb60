/**
 * What a training log shows about the pipeline that wrote it, before any curve is judged: epochs
 * that ran no training batch, and an "accuracy" that is BinaryAccuracy on a multi-class softmax.
 * Part of the dynamics family. The static twin of the second is the Keras model check
 * `loss-output-mismatch` (softmax with binary cross-entropy, judged from the saved model: standalone
 * Keras 2 then resolves metrics=['accuracy'] to binary_accuracy, keras/engine/training.py
 * `handle_metrics`, while tf.keras 2.2+ resolves it by output shape); this one judges the numbers
 * in the log, so it also catches an explicit BinaryAccuracy(name='accuracy').
 */
import { classCount } from '../context.js';
import type { EpochRecord } from '../history.js';
import { binaryAccuracy, BINARY_LOSS_FRACTION, finite, lastValue } from '../trends.js';
import { series } from '../history.js';
import type { Check } from '../types.js';

/** Spacing between empty epochs when it is regular (every 3rd epoch), else undefined. */
function period(empty: readonly EpochRecord[]): number | undefined {
  const gaps = empty.slice(1).map((e, i) => e.index - (empty[i] as EpochRecord).index);
  return gaps.length > 0 && gaps.every((g) => g === gaps[0]) ? gaps[0] : undefined;
}

const emptyEpochs: Check = {
  ids: ['empty-epochs'],
  family: 'dynamics',
  run(ctx) {
    const h = ctx.history;
    const empty = h?.epochs.filter((e) => e.empty === true) ?? [];
    if (h === undefined || empty.length === 0) return [];
    const every = period(empty);
    return [
      {
        id: 'empty-epochs',
        severity: 'warning',
        title: `${empty.length} of ${h.epochs.length} epochs ran no training batch${every === undefined ? '' : ` (every ${every === 2 ? '2nd' : every === 3 ? '3rd' : `${every}th`} epoch)`}: their loss and accuracy are logged as exactly 0`,
        explanation:
          "Keras logs zeros for an epoch whose training data ran out before it began: a generator or tf.data pipeline without .repeat() while steps_per_epoch (times epochs) asks for more batches than it yields (Keras prints 'Your input ran out of data'). Those epochs train nothing, and their validation numbers come from whatever the validation iterator had left. The doctor ignores them.",
        evidence: {
          emptyEpochs: empty.length,
          epochs: h.epochs.length,
          ...(every === undefined ? {} : { every }),
          positions: empty.map((e) => e.index),
          epochRange: [
            (empty[0] as EpochRecord).index,
            (empty[empty.length - 1] as EpochRecord).index,
          ],
        },
        fix: {
          summary:
            'In Keras, leave steps_per_epoch and validation_steps unset (one full pass per epoch) or set them to len(generator), and call .repeat() on a tf.data dataset meant to run several passes. vggkit train passes over the whole training set every epoch, so its logs never have empty epochs.',
        },
      },
    ];
  },
};

const binaryAccuracyCheck: Check = {
  ids: ['binary-accuracy-on-multiclass'],
  family: 'dynamics',
  run(ctx) {
    const h = ctx.history;
    const classes = classCount(ctx);
    const found = h === undefined ? undefined : binaryAccuracy(h, classes);
    if (h === undefined || classes === undefined || found === undefined) return [];
    const losses = finite(series(h, 'loss')).map((p) => p.value);
    const chanceLoss = Math.log(classes);
    const finalLoss = lastValue(h, 'loss');
    const categoricalScale =
      losses.length > 0 && Math.min(...losses) >= BINARY_LOSS_FRACTION * chanceLoss;
    const name = h.accuracyName ?? 'accuracy';
    return [
      {
        id: 'binary-accuracy-on-multiclass',
        severity: 'warning',
        title: `"${name}" is binary accuracy: its ${(found.accuracy * 100).toFixed(1)}% is what a ${classes}-class softmax scores while predicting nothing (${classes - 1}/${classes} = ${(found.nothingLearned * 100).toFixed(1)}%)`,
        explanation: `BinaryAccuracy thresholds each of the ${classes} softmax outputs at 0.5 and averages over all of them, so a model that puts no class above 0.5 scores ${classes - 1}/${classes} without learning anything (and never less than ${classes - 2}/${classes}). Standalone Keras 2 (and tf.keras' TF 1 training loop) picks it for metrics=['accuracy'] whenever the loss is binary_crossentropy; listing 'binary_accuracy' or BinaryAccuracy(name='accuracy') does the same in any version. ${
          categoricalScale
            ? `The loss is on the categorical scale, so training itself used categorical cross-entropy; only the metric is wrong.`
            : `The loss is on the binary cross-entropy scale: training used binary cross-entropy on a softmax (with the model file, --keras reports it as loss-output-mismatch).`
        }${finalLoss === undefined ? '' : ` Judge the run by its loss: ${finalLoss.toFixed(3)} at the end against ln ${classes} = ${chanceLoss.toFixed(3)} for uniform guessing.`} The doctor ignores this accuracy.`,
        evidence: {
          column: found.column,
          accuracy: Number(found.accuracy.toFixed(4)),
          nothingLearned: Number(found.nothingLearned.toFixed(4)),
          classes,
          namedBinary: found.named,
          ...(finalLoss === undefined ? {} : { finalLoss, chanceLoss }),
        },
        fix: {
          summary:
            "In Keras, compile with loss='categorical_crossentropy' (or 'sparse_categorical_crossentropy' for integer labels) and metrics=['accuracy'], or name the metric: metrics=[keras.metrics.CategoricalAccuracy()]. In vggkit, keep the default loss categorical_crossentropy: its history.json records categorical accuracy, which the doctor judges against 1/classes.",
          keras:
            "model.compile(loss='categorical_crossentropy', metrics=[keras.metrics.CategoricalAccuracy(name='accuracy')], optimizer=...)",
          flag: '--loss categorical_crossentropy (the default)',
          ...(ctx.config?.loss === 'binary_crossentropy'
            ? { config: { loss: 'categorical_crossentropy' as const } }
            : {}),
        },
      },
    ];
  },
};

export const LOG_CHECKS: readonly Check[] = [emptyEpochs, binaryAccuracyCheck];
