/**
 * Sparse vs categorical: a loss and an accuracy metric that read different label formats. Keras'
 * categorical losses and metrics take one-hot rows (batch, classes); the sparse ones take integer
 * class ids (batch,) or (batch, 1). The saved file shows the mismatch when compile named the
 * metric explicitly (`metrics=['accuracy']` resolves itself from the label shape, so it never
 * mismatches), and a training log shows it by its accuracy column's name.
 *
 * What each mismatch does (keras/src/metrics/accuracy_metrics.py, same logic in tf.keras 2):
 * - categorical loss + sparse metric: `sparse_categorical_accuracy` compares the one-hot rows
 *   with the argmax of the predictions (shapes (batch, n) and (batch,)), a shape error; integer
 *   labels make the loss fail instead. No label format runs both.
 * - sparse loss + categorical metric: `categorical_accuracy` takes `argmax(y_true, -1)` first; an
 *   integer label has no class axis, so the "true class" is 0 for (batch, 1) labels or the batch
 *   position of the largest label for (batch,) labels. It runs, and reports a meaningless number.
 */
import { snakeCase } from '../../model/keras/training.js';
import type { TrainingHistory } from '../history.js';
import type { Check, DoctorContext } from '../types.js';

export type LabelFormat = 'one-hot' | 'integer';

const LOSS_FORMATS: Readonly<Record<string, LabelFormat>> = {
  categorical_crossentropy: 'one-hot',
  categorical_focal_crossentropy: 'one-hot',
  categorical_hinge: 'one-hot',
  sparse_categorical_crossentropy: 'integer',
};

const METRIC_FORMATS: Readonly<Record<string, LabelFormat>> = {
  categorical_accuracy: 'one-hot',
  top_k_categorical_accuracy: 'one-hot',
  categorical_crossentropy: 'one-hot',
  sparse_categorical_accuracy: 'integer',
  sparse_top_k_categorical_accuracy: 'integer',
  sparse_categorical_crossentropy: 'integer',
};

/** `SparseCategoricalAccuracy` and `sparse_categorical_accuracy` alike. */
function metricFormat(name: string): LabelFormat | undefined {
  const key = name === name.toLowerCase() ? name : snakeCase(name);
  return METRIC_FORMATS[key];
}

export function lossFormat(loss: string | undefined): LabelFormat | undefined {
  return loss === undefined ? undefined : LOSS_FORMATS[loss];
}

/**
 * The log's accuracy is a one-hot metric under the model's sparse loss: it measured nothing, so
 * the curve checks must not judge it. (The reverse pairing cannot have run with this loss, so
 * that log's accuracy came from another compile and means what it says.)
 */
export function accuracyContradictsLoss(ctx: DoctorContext): boolean {
  const column = ctx.history?.accuracyName;
  return (
    lossFormat(ctx.keras?.model.training?.loss?.name) === 'integer' &&
    column !== undefined &&
    metricFormat(column) === 'one-hot'
  );
}

function otherThan(format: LabelFormat): LabelFormat {
  return format === 'one-hot' ? 'integer' : 'one-hot';
}

function lastAccuracy(history: TrainingHistory): number | undefined {
  for (let i = history.epochs.length - 1; i >= 0; i--) {
    const a = history.epochs[i]?.accuracy ?? history.epochs[i]?.valAccuracy;
    if (a !== undefined && Number.isFinite(a)) return a;
  }
  return undefined;
}

const INTEGER_LINE =
  "model.compile(loss='sparse_categorical_crossentropy', metrics=['accuracy'], optimizer=...)  # integer labels: image_dataset_from_directory's default label_mode='int', flow_from_directory(class_mode='sparse')";
const ONE_HOT_NOTE =
  "With one-hot labels (label_mode='categorical', flow_from_directory's default class_mode='categorical', to_categorical) keep loss='categorical_crossentropy' and use metrics=['accuracy'] instead.";
const VGGKIT_FLAG =
  'vggkit train DATA (labels come from the class folders; its loss and accuracy always read the same labels)';

const labelFormats: Check = {
  ids: ['loss-output-mismatch'],
  family: 'keras',
  run(ctx) {
    const k = ctx.keras;
    const loss = k?.model.training?.loss?.name;
    const format = lossFormat(loss);
    const out = k?.analysis.output;
    // A single-unit output with a categorical loss is its own finding (checks/keras.ts).
    if (k === undefined || loss === undefined || format === undefined || out?.units === 1)
      return [];
    const other = otherThan(format);
    const inFile = (k.model.training?.metrics ?? []).filter((m) => metricFormat(m) === other);
    const column = ctx.history?.accuracyName;
    const inLog = column !== undefined && metricFormat(column) === other ? column : undefined;
    if (inFile.length === 0 && inLog === undefined) return [];
    const metric = inFile[0] ?? (inLog as string);
    const logAccuracy =
      inLog === undefined || ctx.history === undefined ? undefined : lastAccuracy(ctx.history);
    const evidence = {
      loss,
      lossReads: format,
      metricsInFile: inFile,
      logColumn: inLog ?? null,
      ...(logAccuracy === undefined ? {} : { logFinalAccuracy: logAccuracy }),
      ...(ctx.history === undefined ? {} : { log: ctx.history.file }),
    };
    const where =
      inFile.length > 0 && inLog !== undefined
        ? `compile's metrics and the log's ${inLog} column`
        : inFile.length > 0
          ? "compile's metrics"
          : `the log's ${inLog} column`;
    if (format === 'one-hot') {
      return [
        {
          id: 'loss-output-mismatch',
          severity: inFile.length > 0 ? 'error' : 'warning',
          title: `${loss} reads one-hot labels but ${metric} (${where}) reads integer labels`,
          explanation:
            (inFile.length > 0
              ? `No label format runs both: with one-hot labels ${metric} compares (batch, classes) rows with (batch,) predicted ids and fit stops with a shape error (or, where the shapes happen to broadcast, reports a meaningless number); with integer labels the loss stops with a shape error instead.`
              : `The log was written by a model whose accuracy read integer labels, while this file's loss needs one-hot labels: the log and the saved compile do not come from the same setup, or the model was compiled again with another loss after this log.`) +
            ' Which one to change depends on the labels you feed.',
          evidence,
          fix: {
            summary: `Make the loss match the labels and let Keras pick the accuracy: metrics=['accuracy'] resolves to the right variant by itself. ${ONE_HOT_NOTE}`,
            keras: INTEGER_LINE,
            flag: VGGKIT_FLAG,
          },
        },
      ];
    }
    return [
      {
        id: 'loss-output-mismatch',
        severity: 'warning',
        title: `${loss} reads integer labels but ${metric} (${where}) reads one-hot labels: its accuracy is meaningless`,
        explanation: `The loss trains normally on integer labels (image_dataset_from_directory's default label_mode='int'), but ${metric} first takes argmax(label) as the true class, and an integer label has no class axis: it compares every prediction with class 0 ((batch, 1) labels) or with the batch position of the largest label ((batch,) labels). The reported accuracy says nothing about the model${logAccuracy === undefined ? '' : ` (the log's last ${inLog} is ${(logAccuracy * 100).toFixed(1)}%)`}, and EarlyStopping or ModelCheckpoint watching it keep the wrong epoch.${inLog === undefined ? '' : ' The doctor ignores that accuracy column and judges the curves by the loss.'}`,
        evidence,
        fix: {
          summary:
            "Keep the loss and use metrics=['accuracy'] (Keras resolves it to sparse_categorical_accuracy for integer labels).",
          keras: INTEGER_LINE,
          flag: VGGKIT_FLAG,
        },
      },
    ];
  },
};

export const KERAS_LABEL_CHECKS: readonly Check[] = [labelFormats];
