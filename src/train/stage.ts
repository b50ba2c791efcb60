/**
 * One stage's lifetime: the frozen prefix's features (computed once and cached, or run on every
 * batch under augmentation), the files that cannot be read left out, a fresh TrainStep (a new
 * optimizer, as Keras recompiles after changing `trainable`), the stage's epochs with a checkpoint
 * after each, and the sessions released whatever happens.
 */
import type { LabeledFile } from '../data/dataset.js';
import { describeInt8 } from '../engine/int8/describe.js';
import { TrainStep } from '../engine/train-step.js';
import { writeJsonAtomic } from '../util/atomic.js';
import { unreadableInput } from '../util/errors.js';
import { saveCheckpoint } from './checkpoint.js';
import type { StageSpec } from './config.js';
import { trainEpoch, validate } from './epoch.js';
import type { CallbackList, EpochLogs } from './events.js';
import type { FeatureSource, PrefixSpec } from './features.js';
import { featureMemoryBudget } from './memory-check.js';
import { recordStagePrecision } from './precision-record.js';
import { optimizerSpec } from './recipe.js';
import { historyFile, historyJson } from './run-output.js';
import type { TrainingRun } from './run.js';
import { scheduledLr } from './schedules.js';
import { unfrozenBlocks } from './stages.js';

/** Where stage `index` starts in the run's epochs, and where it ends (exclusive). */
export function stageSpan(run: TrainingRun, index: number): { first: number; end: number } {
  const first = run.stages.slice(0, index).reduce((sum, s) => sum + s.epochs, 0);
  return { first, end: first + (run.stages[index] as StageSpec).epochs };
}

/** The frozen prefix a stage trains on top of (the one place its spec is built from the run). */
function prefixSpec(run: TrainingRun, trainableBlocks: number): PrefixSpec {
  const { config, base } = run;
  return {
    arch: config.arch,
    weights: run.params,
    weightsId: base.weightsId,
    contract: base.contract,
    trainableBlocks,
    precision: config.precision,
  };
}

/** Trains stage `index` from where the run stands to the stage's end (or the run's last epoch). */
export async function trainStage(
  run: TrainingRun,
  callbacks: CallbackList,
  index: number,
): Promise<void> {
  const { config } = run;
  const stage = run.stages[index] as StageSpec;
  const { first, end } = stageSpan(run, index);
  if (run.loop.epochsCompleted >= end) return;
  const continuing =
    run.checkpoint !== undefined && run.loop.stage === index && run.loop.epochsCompleted > first;
  // 12 significant digits: 1e-4 x 0.1^2 is 1e-6, not 1.0000000000000002e-6, in every log.
  if (!continuing && index > 0)
    run.loop = {
      ...run.loop,
      baseLr: Number((config.lr * config.stageLrFactor ** index).toPrecision(12)),
    };
  const trainableBlocks = unfrozenBlocks(stage);
  const lease = await run.resources.features(prefixSpec(run, trainableBlocks), {
    cacheDir: run.cacheDir,
    batchSize: config.batchSize,
    // An int8 prefix is calibrated and checked on the training images, never the validation ones.
    calibrationFiles: run.dataset.train.map((f) => f.file),
    memoryBudgetBytes: featureMemoryBudget(run.stepMemory.estimate.bytes),
    ...(run.options.onFeatureProgress === undefined
      ? {}
      : { onProgress: run.options.onFeatureProgress }),
    ...(run.options.onInt8Progress === undefined
      ? {}
      : { onInt8Progress: run.options.onInt8Progress }),
  });
  const features = lease.value;
  try {
    await recordPrecision(run, stage, features);
    const { train, val } = await readableFiles(run, stage, features);
    run.trainStep = await TrainStep.create({
      arch: config.arch,
      trainableBlocks,
      inputShape: features.dims,
      head: run.head,
      optimizer: optimizerSpec(config),
      weights: run.params,
      seed: config.seed + index,
      batchSize: config.batchSize,
      cacheDir: run.cacheDir,
      onConvTiming: (layer, lowering) =>
        run.log(`timing the ${lowering} lowering of ${layer} (once per shape on this machine)`),
    });
    if (run.trainStep.convLowerings.size > 0)
      run.log(
        `conv lowerings: ${[...run.trainStep.convLowerings].map(([layer, name]) => `${layer} ${name}`).join(', ')}`,
      );
    const step = run.trainStep;
    try {
      if (continuing && run.checkpoint !== undefined)
        step.setOptimizerState(run.checkpoint.optimizer);
      await callbacks.dispatch(
        {
          type: 'stage_start',
          stage: index,
          name: stage.name,
          firstEpoch: first,
          epochs: stage.epochs,
          lr: run.loop.baseLr,
          resumed: continuing,
        },
        run.control,
      );
      // Files that cannot be decoded take no steps: the schedule spans the steps actually taken.
      const stepsPerEpoch = Math.ceil(train.length / config.batchSize);
      const last = Math.min(end, run.lastEpoch);
      for (let epoch = Math.max(run.loop.epochsCompleted, first); epoch < last; epoch++) {
        await callbacks.dispatch(
          { type: 'epoch_start', epoch, epochs: run.totalEpochs, batches: stepsPerEpoch },
          run.control,
        );
        const lrAt = (globalStep: number): number =>
          scheduledLr(
            { lr: run.loop.baseLr, schedule: config.schedule },
            { step: globalStep, totalSteps: run.totalEpochs * stepsPerEpoch, epoch },
          );
        const trained = await trainEpoch({
          epoch,
          step,
          features,
          train,
          head: run.head,
          config,
          firstStep: run.loop.globalStep,
          lrAt,
          callbacks,
          control: run.control,
        });
        run.loop = { ...run.loop, globalStep: run.loop.globalStep + trained.steps };
        const validation =
          val.length > 0
            ? await validate(step, features, val, run.head, {
                batchSize: config.batchSize,
                classCount: run.classNames.length,
              })
            : undefined;
        // The model after this epoch is the run's model until training changes it again.
        run.validation = validation?.outputs;
        const logs: EpochLogs = {
          loss: trained.loss,
          accuracy: trained.accuracy,
          ...validation?.logs,
          lr: lrAt(Math.max(0, run.loop.globalStep - 1)),
        };
        await callbacks.dispatch({ type: 'epoch_end', epoch, logs }, run.control);
        await endEpoch(run, callbacks, step, index, epoch, logs);
        if (run.stopRequest() !== undefined) break;
      }
    } finally {
      run.trainStep = undefined;
      await step.release();
    }
  } finally {
    await lease.release();
  }
}

/** With precision int8: the prefix's decision, logged and written to the run's precision.json. */
async function recordPrecision(
  run: TrainingRun,
  stage: StageSpec,
  features: FeatureSource,
): Promise<void> {
  if (features.int8 === undefined) return;
  run.log(`stage ${stage.name}: ${describeInt8(features.int8)}`);
  await recordStagePrecision(run.out, run.config.precision, {
    stage: stage.name,
    cutLayer: features.cutLayer,
    int8: features.int8,
  });
}

/**
 * The stage's training and validation files that decode, each unreadable file reported once over
 * the run; errors when none of either set is left.
 */
async function readableFiles(
  run: TrainingRun,
  stage: StageSpec,
  features: FeatureSource,
): Promise<{ train: LabeledFile[]; val: LabeledFile[] }> {
  const { config, dataset } = run;
  const augmenting = config.augment.length > 0;
  run.log(
    augmenting
      ? `stage ${stage.name}: augmentation on (${config.augment.join(', ')}): the frozen base runs on every batch, no feature cache`
      : `stage ${stage.name}: frozen base up to ${features.cutLayer}, features computed once and cached`,
  );
  const trainFiles = dataset.train.map((f) => f.file);
  const computedBefore = features.computed;
  const stageSkipped = [
    ...(augmenting ? await features.validate(trainFiles) : await features.prepare(trainFiles)),
    ...(await features.prepare(dataset.val.map((f) => f.file))),
  ];
  // The progress bars count cached features as they are read: say which were not computed now.
  const prepared = (augmenting ? 0 : trainFiles.length) + dataset.val.length - stageSkipped.length;
  const computedNow = features.computed - computedBefore;
  if (prepared > computedNow)
    run.log(
      `features: ${prepared - computedNow} of ${prepared} images read from the cache, ${computedNow} computed now`,
    );
  for (const k of stageSkipped) {
    if (run.skipped.some((x) => x.file === k.file)) continue;
    run.skipped.push(k);
    run.log(`skipped ${k.file}: ${k.reason}`);
  }
  const bad = new Set(run.skipped.map((k) => k.file));
  const train = dataset.train.filter((f) => !bad.has(f.file));
  const val = dataset.val.filter((f) => !bad.has(f.file));
  if (train.length === 0)
    throw unreadableInput(
      'NO_TRAINING_IMAGES',
      `${run.options.data}: no training image could be read`,
      { file: run.options.data },
    );
  // Otherwise the first epoch runs, then every val_ monitor fails with a puzzling "not logged".
  if (val.length === 0 && dataset.val.length > 0) {
    const valDir = config.val ?? run.options.data;
    throw unreadableInput(
      'NO_VALIDATION_IMAGES',
      `${valDir}: no validation image could be read (${dataset.val.length} skipped)`,
      { file: valDir },
    );
  }
  return { train, val };
}

/** After each epoch: the loop state, the trained parameters, the checkpoint and history.json. */
async function endEpoch(
  run: TrainingRun,
  callbacks: CallbackList,
  step: TrainStep,
  index: number,
  epoch: number,
  logs: EpochLogs,
): Promise<void> {
  const stop = callbacks.stopRequest;
  run.loop = {
    ...run.loop,
    epochsCompleted: epoch + 1,
    stage: index,
    history: [...run.loop.history, logs],
    callbacks: callbacks.getState(),
    ...(stop === undefined ? {} : { stopped: { by: stop.by, message: stop.message } }),
  };
  run.keepTrained(step.viewParameters());
  // Views of the step's slots: the file is streamed from them before the next step changes them.
  await saveCheckpoint(
    run.files.checkpoint,
    {
      params: run.trainedParams(run.params),
      optimizer: step.viewOptimizerState(),
      loop: run.loop,
      ...(run.validation === undefined ? {} : { validation: run.validation }),
    },
    run.epochWrites,
  );
  await writeJsonAtomic(historyFile(run), historyJson(run), run.epochWrites);
}
