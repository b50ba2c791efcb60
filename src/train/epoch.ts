/** One epoch of training (shuffled batches, running means as Keras reports them) and validation. */
import { epochBatches } from '../data/batches.js';
import type { LabeledFile } from '../data/dataset.js';
import type { TrainHead, TrainStep } from '../engine/train-step.js';
import { batchProbabilities } from '../inference/probabilities.js';
import { Random } from '../util/random.js';
import { BatchMean, evaluateInBatches } from './batch-mean.js';
import type { TrainConfig } from './config.js';
import type { CallbackList, TrainingControl } from './events.js';
import type { FeatureSource } from './features.js';
import { groupRates, targets } from './recipe.js';
import type { ValidationOutputs } from './predictions.js';

export interface EpochRun {
  readonly epoch: number;
  readonly step: TrainStep;
  readonly features: FeatureSource;
  readonly train: readonly LabeledFile[];
  readonly head: TrainHead;
  readonly config: TrainConfig;
  /** Optimizer steps taken before this epoch, for the schedule. */
  readonly firstStep: number;
  readonly lrAt: (globalStep: number) => number;
  readonly callbacks: CallbackList;
  readonly control: TrainingControl;
}

/** One pass over the shuffled training set; running means as Keras reports them. */
export async function trainEpoch(
  run: EpochRun,
): Promise<{ loss: number; accuracy: number; steps: number }> {
  const { epoch, step, features, train, head, config } = run;
  const batches = epochBatches(train.length, config.batchSize, {
    shuffle: true,
    seed: config.seed,
    epoch,
  });
  const augmentRng = new Random(config.seed * 7919 + epoch);
  const mean = new BatchMean();
  const started = performance.now();
  for (let b = 0; b < batches.length; b++) {
    const items = (batches[b] as number[]).map((i) => train[i] as LabeledFile);
    const files = items.map((i) => i.file);
    const x =
      config.augment.length > 0
        ? await features.augmentedBatch(files, config.augment, augmentRng)
        : await features.batch(files);
    const lr = run.lrAt(run.firstStep + b);
    const result = await step.step(
      x,
      targets(items, head),
      groupRates(step.groups, lr, config.blockLrDecay),
    );
    mean.add(result.loss, result.correct, items.length);
    await run.callbacks.dispatch(
      {
        type: 'batch_end',
        epoch,
        batch: b + 1,
        batches: batches.length,
        loss: mean.loss,
        accuracy: mean.accuracy,
        batchLoss: result.loss,
        lr,
        imagesPerSecond: mean.images / ((performance.now() - started) / 1000),
      },
      run.control,
    );
    // As Keras: a stop during a batch (TerminateOnNaN) ends the epoch there, not after more steps.
    if (run.callbacks.stopRequest !== undefined)
      return { loss: mean.loss, accuracy: mean.accuracy, steps: b + 1 };
  }
  return { loss: mean.loss, accuracy: mean.accuracy, steps: batches.length };
}

/** Validation loss and accuracy, and the class probabilities behind them (predictions.json's). */
export async function validate(
  step: TrainStep,
  features: FeatureSource,
  val: readonly LabeledFile[],
  head: TrainHead,
  config: { readonly batchSize: number; readonly classCount: number },
): Promise<{ logs: { val_loss: number; val_accuracy: number }; outputs: ValidationOutputs }> {
  const { loss, accuracy, outputs } = await evaluateInBatches(
    step,
    val,
    config.batchSize,
    async (items) => ({
      x: await features.batch(items.map((v) => v.file)),
      y: targets(items, head),
    }),
  );
  const probabilities = batchProbabilities(outputs, config.classCount);
  if (probabilities === undefined)
    throw new Error(
      `the head gave ${String(outputs.dims[1])} outputs for ${config.classCount} classes`,
    );
  return {
    logs: { val_loss: loss, val_accuracy: accuracy },
    outputs: { files: val.map((v) => v.file), labels: val.map((v) => v.label), probabilities },
  };
}
