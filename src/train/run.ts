/**
 * The state of one fine-tune, from its first step to its outputs: what `openRun` resolves before
 * any training (the run folder, the config — the run's own on resume —, the dataset, the head, the
 * base weights and contract, the stages, the training step's memory estimate, the checkpoint to
 * continue from) and what the loop
 * changes as it goes (the loop state, the parameters, the running stage's TrainStep, the files
 * skipped). fit.ts drives it through named steps; nothing here is global, so one process can run
 * many fine-tunes (a sweep's trials) side by side.
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { loadFolderDataset, type FolderDataset } from '../data/dataset.js';
import type { TrainHead, TrainStep } from '../engine/train-step.js';
import type { SkippedFile } from '../image/index.js';
import { defaultCacheDir } from '../model/download.js';
import type { HeadSpec } from '../model/head.js';
import type { WeightMap } from '../model/weight-map.js';
import { writeJsonAtomic, type AtomicWriteOptions } from '../util/atomic.js';
import { UsageError } from '../util/errors.js';
import {
  CHECKPOINT_FILE,
  checkpointExists,
  loadCheckpoint,
  type Checkpoint,
  type LoopState,
} from './checkpoint.js';
import { readTrainConfigFile } from './config-file.js';
import { parseTrainConfig } from './config-schema.js';
import type { StageSpec, TrainConfig } from './config.js';
import { StopTraining, type CallbackList, type TrainingControl } from './events.js';
import type { FineTuneOptions } from './fit-options.js';
import { checkTrainingMemory, type StageMemory } from './memory-check.js';
import type { ModelDescription } from './model-output.js';
import type { ValidationOutputs } from './predictions.js';
import { FRESH_RESOURCES, type TrainingResources } from './resources.js';
import { headSpecFor, initialParams, sameHead, trainHead, type LoadedBase } from './recipe.js';
import { plateauReduction } from './schedules.js';
import { frozenRandomWarning, unfrozenBlocks } from './stages.js';

/** Files of a run folder that the loop writes (the model outputs are in run-output.ts). */
export interface RunFiles {
  readonly checkpoint: string;
  /** The best epoch's trained parameters so far (ModelCheckpoint), turned into `best/` at the end. */
  readonly best: string;
  /** EarlyStopping's snapshot of its best epoch, restored when it stops. */
  readonly bestWeights: string;
}

export class TrainingRun {
  /** Parameters of every layer; a running stage's trained values are merged in after each epoch. */
  readonly params: WeightMap;
  /** The tensors of `params` that `keepTrained` allocated (and so may overwrite). */
  private readonly owned = new WeakSet<Float32Array>();
  loop: LoopState;
  /** The running stage's step (undefined between stages). */
  trainStep: TrainStep | undefined;
  callbacks: CallbackList | undefined;
  readonly skipped: SkippedFile[] = [];
  /**
   * The class probabilities of the model in `params` on the readable validation images, from the
   * last validation pass (or the snapshot EarlyStopping restored): predictions.json's source.
   */
  validation: ValidationOutputs | undefined;
  readonly files: RunFiles;
  readonly control: TrainingControl = {
    getLr: () => this.loop.baseLr,
    setLr: (lr: number) => {
      this.loop = { ...this.loop, baseLr: lr };
    },
  };

  constructor(
    readonly options: FineTuneOptions,
    readonly out: string,
    readonly config: TrainConfig,
    readonly dataset: FolderDataset,
    readonly head: TrainHead,
    readonly headSpec: HeadSpec,
    readonly base: LoadedBase,
    readonly stages: readonly StageSpec[],
    /** The deepest stage's training-step estimate (checked to fit before any work is done). */
    readonly stepMemory: StageMemory,
    /** The checkpoint this run continues from, when resuming. */
    readonly checkpoint: Checkpoint | undefined,
    readonly cacheDir: string,
  ) {
    this.params = initialParams(config, base, headSpec);
    this.loop = checkpoint?.loop ?? {
      epochsCompleted: 0,
      stage: 0,
      baseLr: config.lr,
      globalStep: 0,
      history: [],
      callbacks: {},
    };
    if (checkpoint !== undefined) for (const [key, t] of checkpoint.params) this.params.set(key, t);
    this.validation = checkpoint?.validation;
    this.files = {
      checkpoint: join(out, CHECKPOINT_FILE),
      best: join(out, 'best.safetensors'),
      bestWeights: join(out, 'best-weights.safetensors'),
    };
  }

  log(line: string): void {
    this.options.log?.(line);
  }

  get classNames(): readonly string[] {
    return this.dataset.classNames;
  }

  get totalEpochs(): number {
    return this.stages.reduce((sum, s) => sum + s.epochs, 0);
  }

  /** The epoch count this call trains to: the budget, or `pauseAt` when it pauses earlier. */
  get lastEpoch(): number {
    return Math.min(this.totalEpochs, this.options.pauseAt ?? this.totalEpochs);
  }

  /** How the files rewritten every epoch are written (FineTuneOptions.durableEpochFiles). */
  get epochWrites(): AtomicWriteOptions {
    return { durable: this.options.durableEpochFiles ?? true };
  }

  /** The conv base and feature sources this run borrows (shared between a sweep's trials). */
  get resources(): TrainingResources {
    return this.options.resources ?? FRESH_RESOURCES;
  }

  get description(): ModelDescription {
    return {
      arch: this.config.arch,
      contract: this.base.contract,
      head: this.headSpec,
      classNames: this.classNames,
    };
  }

  /** Why training stops: a callback's request, or the stop a resumed run had already reached. */
  stopRequest(): StopTraining | undefined {
    if (this.callbacks?.stopRequest !== undefined) return this.callbacks.stopRequest;
    const stopped = this.loop.stopped;
    return stopped === undefined ? undefined : new StopTraining(stopped.message, stopped.by);
  }

  /**
   * Every parameter, with the running stage's trained values as views of its step's buffers
   * (TrainStep.viewParameters): write them out before the next step, never keep them.
   */
  currentParams(): WeightMap {
    const merged = new Map(this.params);
    if (this.trainStep !== undefined)
      for (const [key, t] of this.trainStep.viewParameters()) merged.set(key, t);
    return merged;
  }

  /**
   * Puts a stage's trained values into `params`: copied into a tensor this run allocated, in
   * place, so only a stage's first epoch allocates; never into the base's tensors, which sweep
   * trials share.
   */
  keepTrained(trained: WeightMap): void {
    for (const [key, t] of trained) {
      const mine = this.params.get(key);
      if (mine !== undefined && this.owned.has(mine.data) && mine.data.length === t.data.length) {
        mine.data.set(t.data);
        continue;
      }
      const copy = { dims: [...t.dims], data: Float32Array.from(t.data) };
      this.owned.add(copy.data);
      this.params.set(key, copy);
    }
  }

  /**
   * The parameters training can change over the whole run: the head and every block some stage
   * unfreezes. Snapshots hold all of them, so restoring one also puts back blocks a later stage
   * moved.
   */
  trainedParams(params: WeightMap = this.currentParams()): WeightMap {
    const deepest = Math.max(...this.stages.map(unfrozenBlocks));
    const trained = new Map();
    for (const [key, t] of params) {
      const block = /^block(\d)_/.exec(key);
      if (block === null || Number(block[1]) > 5 - deepest) trained.set(key, t);
    }
    return trained;
  }
}

/**
 * The resume state: which run folder, whether a checkpoint continues it (then the run's own
 * config.json wins over the requested one), the dataset and head, the base weights and contract,
 * and whether the deepest stage's training step fits in the memory available (BATCH_TOO_LARGE
 * otherwise, before any feature is computed). Writes config.json once all of that holds (the run
 * folder appears only for a run that can start); logs what a person should know
 * before training starts.
 */
export async function openRun(options: FineTuneOptions): Promise<TrainingRun> {
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

  const dataset = await loadFolderDataset({
    dir: options.data,
    val: config.val,
    valSplit: config.valSplit,
    seed: config.seed,
  });
  if (dataset.emptyClasses.length > 0)
    log(`empty class folders (no images): ${dataset.emptyClasses.join(', ')}`);
  const head = trainHead(config, dataset.classNames.length, dataset.train);
  checkMonitors(config, dataset.val.length > 0);

  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const base = await (options.resources ?? FRESH_RESOURCES).base(config, {
    cacheDir,
    ...(options.offline === undefined ? {} : { offline: options.offline }),
    ...(options.onDownloadProgress === undefined
      ? {}
      : { onDownloadProgress: options.onDownloadProgress }),
  });
  base.contractWarnings.forEach(log);
  const plateau = plateauReduction(config);
  if (plateau.note !== undefined) log(plateau.note);
  const frozenRandom = frozenRandomWarning(config);
  if (frozenRandom !== undefined)
    log(
      `${frozenRandom}; vggkit doctor ${options.data} --config ${join(out, 'config.json')} says which fits your data (random-base-frozen)`,
    );
  const stages: StageSpec[] =
    config.stages.length > 0 ? [...config.stages] : [{ name: 'head', epochs: config.epochs }];
  const headSpec = headSpecFor(config, head);
  const stepMemory = checkTrainingMemory(config, base.contract.inputSize, head, headSpec, stages);
  log(
    `memory: about ${(stepMemory.estimate.bytes / 2 ** 30).toFixed(2)} GB for the training step at batch ${config.batchSize}`,
  );
  // The run folder appears only once the run can start: a missing dataset, weights that cannot be
  // downloaded or a batch that cannot fit leave no folder that the dashboard would list as a run.
  await mkdir(out, { recursive: true });
  await writeJsonAtomic(join(out, 'config.json'), config);
  const checkpoint = resuming ? await loadCheckpoint(checkpointFile) : undefined;
  const run = new TrainingRun(
    options,
    out,
    config,
    dataset,
    head,
    headSpec,
    base,
    stages,
    stepMemory,
    checkpoint,
    cacheDir,
  );
  if (base.head !== undefined)
    log(
      sameHead(base.head.spec, headSpec)
        ? `continuing from ${base.source}: its base and its head (${headSpec.kind}, Dense ${headSpec.dense}, ${headSpec.classes} outputs)`
        : `continuing from ${base.source}'s base; its head (${base.head.spec.kind}, Dense ${base.head.spec.dense}, ${base.head.spec.classes} outputs) differs from this run's (${headSpec.kind}, Dense ${headSpec.dense}, ${headSpec.classes} outputs), so a new head is trained`,
    );
  if (checkpoint !== undefined)
    log(`resuming ${out} after epoch ${run.loop.epochsCompleted} of ${run.totalEpochs}`);
  return run;
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
    ...(plateauReduction(config).active ? [['reduceLr', config.reduceLr.monitor]] : []),
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
