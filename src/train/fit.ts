/**
 * `fineTune()`: the seed article's recipe end to end, one call.
 *
 *   folders -> dataset (stratified split) -> weights + contract -> for each stage:
 *     frozen prefix features (cached) -> TrainStep (forward+loss+backward+update in one ORT graph)
 *     -> epochs of shuffled batches -> validation -> callbacks -> resume checkpoint
 *   -> model folder (model.onnx, weights.h5, history.json/csv, config.json)
 *
 * Learning rate of a batch = schedule(baseLr) x group multiplier. `baseLr` starts at `lr`, is
 * multiplied by `stageLrFactor` at each stage change, and is what ReduceLROnPlateau lowers. Each
 * stage recompiles (a fresh optimizer), as Keras does after changing `trainable`.
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { epochBatches } from '../data/batches.js';
import { loadFolderDataset, type LabeledFile } from '../data/dataset.js';
import { defaultCacheDir } from '../model/download.js';
import type { WeightMap } from '../model/weight-map.js';
import { TrainStep, type TrainHead } from '../engine/train-step.js';
import type { PreprocessContract } from '../image/contract.js';
import type { SkippedFile } from '../image/index.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic.js';
import { UsageError, VggkitError } from '../util/errors.js';
import { Random } from '../util/random.js';
import { CSVLogger } from './callbacks/csv-logger.js';
import { EarlyStopping } from './callbacks/early-stopping.js';
import { ModelCheckpoint } from './callbacks/model-checkpoint.js';
import { ReduceLROnPlateau } from './callbacks/reduce-lr-on-plateau.js';
import { TerminateOnNaN } from './callbacks/terminate-on-nan.js';
import {
  CHECKPOINT_FILE,
  checkpointExists,
  loadCheckpoint,
  saveCheckpoint,
  type LoopState,
} from './checkpoint.js';
import type { StageSpec, TrainConfig } from './config.js';
import {
  CallbackList,
  StopTraining,
  type Callback,
  type EpochLogs,
  type TrainingControl,
} from './events.js';
import type { FeatureSource } from './features.js';
import { FRESH_RESOURCES, type TrainingResources } from './resources.js';
import { writePrecisionRecord, type StagePrecision } from './precision-record.js';
import { describeInt8 } from '../engine/int8/describe.js';
import type { Int8Request } from '../engine/int8/prepare.js';
import { writeModel, type ModelDescription } from './model-output.js';
import { encodeSafetensors, readSafetensors } from '../model/safetensors.js';
import { readTrainConfigFile } from './config-file.js';
import { parseTrainConfig } from './config-schema.js';
import {
  groupRates,
  headSpecFor,
  initialParams,
  sameHead,
  optimizerSpec,
  targets,
  trainHead,
} from './recipe.js';
import { renderTrainingReport } from './report.js';
import { scheduledLr } from './schedules.js';
import { unfrozenBlocks } from './stages.js';

export interface FineTuneOptions {
  /** Folder with one sub-folder per class. */
  readonly data: string;
  /** Overrides of the seed's defaults (same keys as the `--config` JSON). */
  readonly config?: Readonly<Record<string, unknown>> | TrainConfig;
  /** Output folder; default `runs/<timestamp>`. */
  readonly out?: string;
  /** Continue from `out`'s checkpoint; the run's own config.json is used. */
  readonly resume?: boolean;
  /** Extra callbacks, run after vggkit's own; they see every training event. */
  readonly callbacks?: readonly Callback[];
  readonly offline?: boolean;
  /** Weights and feature cache; default `$VGGKIT_HOME` or ~/.cache/vggkit. */
  readonly cacheDir?: string;
  /** One-line notes for a person (stage changes, cache use, skipped files). */
  readonly log?: (line: string) => void;
  /** Weights download progress in bytes (only when weights are fetched). */
  readonly onDownloadProgress?: (received: number, total: number | undefined) => void;
  /** Feature-extraction progress: images done of total. */
  readonly onFeatureProgress?: (done: number, total: number) => void;
  /** With precision int8: calibration and checking progress of the frozen prefix. */
  readonly onInt8Progress?: Int8Request['onProgress'];
  /**
   * Stop after this many epochs as a pause, not an end: the checkpoint is written and nothing else
   * (no fit_end, no model files); `resume` continues from it. A sweep's ASHA rungs pause here while
   * the config keeps the trial's full epoch budget, so schedules see the real budget.
   */
  readonly pauseAt?: number;
  /** The conv base and feature sources; default FRESH_RESOURCES (a sweep worker shares them). */
  readonly resources?: TrainingResources;
}

export interface FineTuneResult {
  readonly modelDir: string;
  readonly history: readonly EpochLogs[];
  readonly classNames: readonly string[];
  readonly config: TrainConfig;
  readonly contract: PreprocessContract;
  readonly skipped: readonly SkippedFile[];
  /** Why training ended before the last epoch, if it did. */
  readonly stoppedBy: string | undefined;
  readonly weights: WeightMap;
  /** True when `pauseAt` ended the call: no model was written, `resume` continues. */
  readonly paused: boolean;
}

export async function fineTune(options: FineTuneOptions): Promise<FineTuneResult> {
  const log = options.log ?? (() => undefined);
  const out = resolve(options.out ?? join('runs', new Date().toISOString().replace(/[:.]/g, '-')));
  const checkpointFile = join(out, CHECKPOINT_FILE);
  const resuming = options.resume === true && (await checkpointExists(checkpointFile));
  if (options.resume === true && !resuming)
    log(`no checkpoint in ${out}: starting from the beginning`);
  const requested = parseTrainConfig(options.config ?? {}, 'fineTune options');
  const config = resuming ? await readRunConfig(out) : requested;
  if (resuming) {
    const changed = (Object.keys(config) as (keyof TrainConfig)[]).filter(
      (k) => JSON.stringify(config[k]) !== JSON.stringify(requested[k]),
    );
    if (options.config !== undefined && changed.length > 0)
      log(
        `--resume continues with the run's own config.json; these requested settings differ and are ignored: ${changed.join(', ')}`,
      );
  }
  await mkdir(out, { recursive: true });
  await writeJsonAtomic(join(out, 'config.json'), config);

  const dataset = await loadFolderDataset({
    dir: options.data,
    val: config.val,
    valSplit: config.valSplit,
    seed: config.seed,
  });
  const classNames = dataset.classNames;
  if (dataset.emptyClasses.length > 0)
    log(`empty class folders (no images): ${dataset.emptyClasses.join(', ')}`);
  const head = trainHead(config, classNames.length, dataset.train);
  const headSpec = headSpecFor(config, head);
  const hasVal = dataset.val.length > 0;
  checkMonitors(config, hasVal);

  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const resources = options.resources ?? FRESH_RESOURCES;
  const loaded = await resources.base(config, {
    cacheDir,
    ...(options.offline === undefined ? {} : { offline: options.offline }),
    ...(options.onDownloadProgress === undefined
      ? {}
      : { onDownloadProgress: options.onDownloadProgress }),
  });
  loaded.contractWarnings.forEach(log);
  const { contract, weightsId } = loaded;
  const description: ModelDescription = { arch: config.arch, contract, head: headSpec, classNames };
  const params = initialParams(config, loaded, headSpec);
  if (loaded.head !== undefined)
    log(
      sameHead(loaded.head.spec, headSpec)
        ? `continuing from ${loaded.source}: its base and its head (${headSpec.kind}, Dense ${headSpec.dense}, ${headSpec.classes} outputs)`
        : `continuing from ${loaded.source}'s base; its head (${loaded.head.spec.kind}, Dense ${loaded.head.spec.dense}, ${loaded.head.spec.classes} outputs) differs from this run's (${headSpec.kind}, Dense ${headSpec.dense}, ${headSpec.classes} outputs), so a new head is trained`,
    );
  const stages: StageSpec[] =
    config.stages.length > 0 ? [...config.stages] : [{ name: 'head', epochs: config.epochs }];
  const totalEpochs = stages.reduce((sum, s) => sum + s.epochs, 0);

  const checkpoint = resuming ? await loadCheckpoint(checkpointFile) : undefined;
  let loop: LoopState = checkpoint?.loop ?? {
    epochsCompleted: 0,
    stage: 0,
    baseLr: config.lr,
    globalStep: 0,
    history: [],
    callbacks: {},
  };
  if (checkpoint !== undefined) {
    for (const [key, t] of checkpoint.params) params.set(key, t);
    log(`resuming ${out} after epoch ${loop.epochsCompleted} of ${totalEpochs}`);
  }

  let trainStep: TrainStep | undefined;
  const bestFile = join(out, 'best.safetensors');
  const control: TrainingControl = {
    getLr: () => loop.baseLr,
    setLr: (lr: number) => {
      loop = { ...loop, baseLr: lr };
    },
  };
  const callbacks = new CallbackList([
    ...(config.terminateOnNan ? [new TerminateOnNaN()] : []),
    ...(config.reduceLr.enabled && config.schedule.name === 'none'
      ? [new ReduceLROnPlateau(config.reduceLr)]
      : []),
    ...(config.earlyStopping.enabled
      ? [
          new EarlyStopping<string>(config.earlyStopping, {
            snapshot: async () => {
              const file = join(out, 'best-weights.safetensors');
              await writeFileAtomic(
                file,
                encodeSafetensors(trainedParams(currentParams(), stages)),
              );
              return file;
            },
            restore: async (file) => {
              const { tensors } = await readSafetensors(file);
              for (const [key, t] of tensors) params.set(key, t);
              trainStep?.setParameters(params);
            },
          }),
        ]
      : []),
    new ModelCheckpoint({
      monitor: hasVal ? 'val_loss' : 'loss',
      mode: 'min',
      // Per improvement only what training changed is written (cheap); best/ is built once at the end.
      save: async () =>
        writeFileAtomic(bestFile, encodeSafetensors(trainedParams(currentParams(), stages))),
    }),
    new CSVLogger({ file: join(out, 'history.csv') }),
    ...(options.callbacks ?? []),
  ]);
  callbacks.setState(loop.callbacks);
  // A run a callback stopped ends there, also when it is resumed after a crash before its model
  // was written: training on would not give the uninterrupted run's model.
  const resumedStop =
    loop.stopped === undefined
      ? undefined
      : new StopTraining(loop.stopped.message, loop.stopped.by);
  const stopRequest = (): StopTraining | undefined => callbacks.stopRequest ?? resumedStop;
  const pausing = (): boolean =>
    options.pauseAt !== undefined && loop.epochsCompleted >= options.pauseAt;

  /** Every parameter, with the running stage's trained values. */
  function currentParams(): WeightMap {
    const merged = new Map(params);
    if (trainStep !== undefined)
      for (const [key, t] of trainStep.getParameters()) merged.set(key, t);
    return merged;
  }

  const trainFiles = dataset.train;
  const batchesPerEpoch = Math.ceil(trainFiles.length / config.batchSize);
  await callbacks.dispatch(
    {
      type: 'fit_start',
      epochs: totalEpochs,
      initialEpoch: loop.epochsCompleted,
      stages,
      trainSize: trainFiles.length,
      valSize: dataset.val.length,
      batchesPerEpoch,
      classNames,
    },
    control,
  );

  const skipped: SkippedFile[] = [];
  const precisions: StagePrecision[] = [];
  let firstEpochOfStage = 0;
  for (let s = 0; s < stages.length && stopRequest() === undefined && !pausing(); s++) {
    const stage = stages[s] as StageSpec;
    const stageEnd = firstEpochOfStage + stage.epochs;
    if (loop.epochsCompleted >= stageEnd) {
      firstEpochOfStage = stageEnd;
      continue;
    }
    const continuing =
      checkpoint !== undefined && loop.stage === s && loop.epochsCompleted > firstEpochOfStage;
    // 12 significant digits: 1e-4 x 0.1^2 is 1e-6, not 1.0000000000000002e-6, in every log.
    if (!continuing && s > 0)
      loop = { ...loop, baseLr: Number((config.lr * config.stageLrFactor ** s).toPrecision(12)) };
    const trainableBlocks = unfrozenBlocks(stage);
    const lease = await resources.features(
      {
        arch: config.arch,
        weights: params,
        weightsId,
        contract,
        trainableBlocks,
        precision: config.precision,
      },
      {
        cacheDir,
        batchSize: config.batchSize,
        calibrationFiles: trainFiles.map((f) => f.file),
        ...(options.onFeatureProgress === undefined
          ? {}
          : { onProgress: options.onFeatureProgress }),
        ...(options.onInt8Progress === undefined ? {} : { onInt8Progress: options.onInt8Progress }),
      },
    );
    const features = lease.value;
    try {
      if (features.int8 !== undefined) {
        log(`stage ${stage.name}: ${describeInt8(features.int8)}`);
        precisions.push({ stage: stage.name, cutLayer: features.cutLayer, int8: features.int8 });
        await writePrecisionRecord(out, { precision: config.precision, stages: precisions });
      }
      const augmenting = config.augment.length > 0;
      log(
        augmenting
          ? `stage ${stage.name}: augmentation on (${config.augment.join(', ')}): the frozen base runs on every batch, no feature cache`
          : `stage ${stage.name}: frozen base up to ${features.cutLayer}, features computed once and cached`,
      );
      const stageSkipped = [
        ...(augmenting
          ? await features.validate(trainFiles.map((f) => f.file))
          : await features.prepare(trainFiles.map((f) => f.file))),
        ...(await features.prepare(dataset.val.map((f) => f.file))),
      ];
      for (const k of stageSkipped) {
        if (skipped.some((x) => x.file === k.file)) continue;
        skipped.push(k);
        log(`skipped ${k.file}: ${k.reason}`);
      }
      const bad = new Set(skipped.map((k) => k.file));
      const train = trainFiles.filter((f) => !bad.has(f.file));
      const val = dataset.val.filter((f) => !bad.has(f.file));
      if (train.length === 0)
        throw new VggkitError(
          'NO_TRAINING_IMAGES',
          `${options.data}: no training image could be read`,
          { file: options.data },
        );
      // Files that cannot be decoded take no steps: the schedule spans the steps actually taken.
      const stepsPerEpoch = Math.ceil(train.length / config.batchSize);
      // Otherwise the first epoch runs, then every val_ monitor fails with a puzzling "not logged".
      if (val.length === 0 && dataset.val.length > 0) {
        const valDir = config.val ?? options.data;
        throw new VggkitError(
          'NO_VALIDATION_IMAGES',
          `${valDir}: no validation image could be read (${dataset.val.length} skipped)`,
          { file: valDir },
        );
      }

      trainStep = await TrainStep.create({
        arch: config.arch,
        trainableBlocks,
        inputShape: features.dims,
        head,
        optimizer: optimizerSpec(config),
        weights: params,
        seed: config.seed + s,
        batchSize: config.batchSize,
        cacheDir,
        onConvTiming: (layer, lowering) =>
          log(`timing the ${lowering} lowering of ${layer} (once per shape on this machine)`),
      });
      if (trainStep.convLowerings.size > 0)
        log(
          `conv lowerings: ${[...trainStep.convLowerings].map(([layer, name]) => `${layer} ${name}`).join(', ')}`,
        );
      const step = trainStep;
      try {
        if (continuing && checkpoint !== undefined) step.setOptimizerState(checkpoint.optimizer);
        await callbacks.dispatch(
          {
            type: 'stage_start',
            stage: s,
            name: stage.name,
            firstEpoch: firstEpochOfStage,
            epochs: stage.epochs,
            lr: loop.baseLr,
            resumed: continuing,
          },
          control,
        );
        for (
          let epoch = Math.max(loop.epochsCompleted, firstEpochOfStage);
          epoch < stageEnd;
          epoch++
        ) {
          await callbacks.dispatch(
            {
              type: 'epoch_start',
              epoch,
              epochs: totalEpochs,
              batches: Math.ceil(train.length / config.batchSize),
            },
            control,
          );
          const lrAt = (globalStep: number): number =>
            scheduledLr(
              { lr: loop.baseLr, schedule: config.schedule },
              { step: globalStep, totalSteps: totalEpochs * stepsPerEpoch, epoch },
            );
          const trained = await trainEpoch({
            epoch,
            step,
            features,
            train,
            head,
            config,
            firstStep: loop.globalStep,
            lrAt,
            callbacks,
            control,
          });
          loop = { ...loop, globalStep: loop.globalStep + trained.steps };
          const logs: EpochLogs = {
            loss: trained.loss,
            accuracy: trained.accuracy,
            ...(val.length > 0 ? await validate(step, features, val, head, config.batchSize) : {}),
            lr: lrAt(Math.max(0, loop.globalStep - 1)),
          };
          await callbacks.dispatch({ type: 'epoch_end', epoch, logs }, control);
          loop = {
            ...loop,
            epochsCompleted: epoch + 1,
            stage: s,
            history: [...loop.history, logs],
            callbacks: callbacks.getState(),
            ...(callbacks.stopRequest === undefined
              ? {}
              : {
                  stopped: { by: callbacks.stopRequest.by, message: callbacks.stopRequest.message },
                }),
          };
          for (const [key, t] of step.getParameters()) params.set(key, t);
          await saveCheckpoint(checkpointFile, {
            params: trainedParams(params, stages),
            optimizer: step.getOptimizerState(),
            loop,
          });
          await writeJsonAtomic(
            join(out, 'history.json'),
            historyJson(loop.history, stages, classNames),
          );
          if (stopRequest() !== undefined || pausing()) break;
        }
      } finally {
        trainStep = undefined;
        await step.release();
      }
    } finally {
      await lease.release();
    }
    firstEpochOfStage = stageEnd;
  }

  const stopped = stopRequest();
  if (options.pauseAt !== undefined) {
    return {
      modelDir: out,
      history: loop.history,
      classNames,
      config,
      contract,
      skipped,
      stoppedBy: stopped?.by,
      weights: params,
      paused: true,
    };
  }
  await callbacks.dispatch(
    { type: 'fit_end', epochsCompleted: loop.epochsCompleted, stopped },
    control,
  );
  if (stopped !== undefined) log(`training stopped early by ${stopped.by}: ${stopped.message}`);
  await writeModel(out, description, params);
  if (await checkpointExists(bestFile)) {
    const best = new Map(params);
    for (const [key, t] of (await readSafetensors(bestFile)).tensors) best.set(key, t);
    await writeModel(join(out, 'best'), description, best);
  }
  await writeJsonAtomic(join(out, 'history.json'), historyJson(loop.history, stages, classNames));
  await writeFileAtomic(
    join(out, 'report.html'),
    renderTrainingReport({
      history: loop.history,
      stages,
      config,
      classNames,
      stoppedBy: stopped?.by,
    }),
  );
  return {
    modelDir: out,
    history: loop.history,
    classNames,
    config,
    contract,
    skipped,
    stoppedBy: stopped?.by,
    weights: params,
    paused: false,
  };
}

async function readRunConfig(out: string): Promise<TrainConfig> {
  const file = join(out, 'config.json');
  const missing = {
    message: () => "--resume needs the run's config.json, found none",
    exitCode: 1,
  };
  return (await readTrainConfigFile(file, { missing })).config;
}

/** Callbacks that watch validation metrics need a validation set: say so before any work is done. */
function checkMonitors(config: TrainConfig, hasVal: boolean): void {
  if (hasVal) return;
  const watchers = [
    ...(config.reduceLr.enabled && config.schedule.name === 'none'
      ? [['reduceLr', config.reduceLr.monitor]]
      : []),
    ...(config.earlyStopping.enabled ? [['earlyStopping', config.earlyStopping.monitor]] : []),
  ];
  for (const [name, monitor] of watchers) {
    if (monitor?.startsWith('val_') === true) {
      throw new UsageError(
        'OPTION_DATA_CONFLICT',
        `${name} monitors ${monitor}, but there is no validation set: set valSplit > 0 or --val DIR, or monitor loss`,
      );
    }
  }
}

interface EpochRun {
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
async function trainEpoch(
  run: EpochRun,
): Promise<{ loss: number; accuracy: number; steps: number }> {
  const { epoch, step, features, train, head, config } = run;
  const batches = epochBatches(train.length, config.batchSize, {
    shuffle: true,
    seed: config.seed,
    epoch,
  });
  const augmentRng = new Random(config.seed * 7919 + epoch);
  let lossSum = 0;
  let correct = 0;
  let seen = 0;
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
    lossSum += result.loss * items.length;
    correct += result.correct;
    seen += items.length;
    await run.callbacks.dispatch(
      {
        type: 'batch_end',
        epoch,
        batch: b + 1,
        batches: batches.length,
        loss: lossSum / seen,
        accuracy: correct / seen,
        lr,
        imagesPerSecond: seen / ((performance.now() - started) / 1000),
      },
      run.control,
    );
    // As Keras: a stop during a batch (TerminateOnNaN) ends the epoch there, not after more steps.
    if (run.callbacks.stopRequest !== undefined)
      return { loss: lossSum / seen, accuracy: correct / seen, steps: b + 1 };
  }
  return { loss: lossSum / seen, accuracy: correct / seen, steps: batches.length };
}

async function validate(
  step: TrainStep,
  features: FeatureSource,
  val: readonly LabeledFile[],
  head: TrainHead,
  batchSize: number,
): Promise<{ val_loss: number; val_accuracy: number }> {
  let lossSum = 0;
  let correct = 0;
  for (let i = 0; i < val.length; i += batchSize) {
    const items = val.slice(i, i + batchSize);
    const result = await step.evaluate(
      await features.batch(items.map((v) => v.file)),
      targets(items, head),
    );
    lossSum += result.loss * items.length;
    correct += result.correct;
  }
  return { val_loss: lossSum / val.length, val_accuracy: correct / val.length };
}

/**
 * The parameters training can change over the whole run: the head and every block some stage
 * unfreezes. Snapshots hold all of them, so restoring one also puts back blocks a later stage moved.
 */
function trainedParams(params: WeightMap, stages: readonly StageSpec[]): WeightMap {
  const deepest = Math.max(...stages.map(unfrozenBlocks));
  const trained = new Map();
  for (const [key, t] of params) {
    const block = /^block(\d)_/.exec(key);
    if (block === null || Number(block[1]) > 5 - deepest) trained.set(key, t);
  }
  return trained;
}

/**
 * history.json: the class names and one record per epoch with Keras' metric names and the stage it
 * belonged to (what `vggkit doctor --history` reads; the class count sets its chance level).
 */
function historyJson(
  history: readonly EpochLogs[],
  stages: readonly StageSpec[],
  classNames: readonly string[],
): { classNames: readonly string[]; epochs: Record<string, unknown>[] } {
  const stageOfEpoch = stages.flatMap((s) => new Array<string>(s.epochs).fill(s.name));
  // JSON has no NaN or Infinity: write them as the strings Python's json and the doctor read back.
  const finite = (logs: EpochLogs): Record<string, unknown> =>
    Object.fromEntries(
      Object.entries(logs).map(([k, v]) => [
        k,
        typeof v === 'number' && !Number.isFinite(v) ? String(v) : v,
      ]),
    );
  return {
    classNames,
    epochs: history.map((logs, epoch) => ({ epoch, ...finite(logs), stage: stageOfEpoch[epoch] })),
  };
}
