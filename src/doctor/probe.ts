/**
 * `vggkit doctor --probe`: short, deterministic training runs on a stratified sample of the data,
 * driving the same engine as `fineTune` (FeatureSource for the frozen prefix, TrainStep for the
 * trainable part). Everything is seeded by the config's seed; nothing is written but the feature
 * cache. Each experiment starts from the same initial parameters: the one training step is reset
 * to them after the overfit probe and after the LR range test (as fastai's LR finder restores its
 * weights), and the gradient and forgetting probes build fresh steps from them.
 *
 * - initial loss: mean loss of the sample at initialisation, dropout off;
 * - overfit one batch: OVERFIT_STEPS steps on OVERFIT_BATCH images at the config's first-stage lr;
 * - LR range test: an exponential sweep LR_START..LR_END over LR_STEPS steps, smoothed loss,
 *   stopped at LR_DIVERGE x the best smoothed loss, NaNs dropped (fastai's `lr_find`); its
 *   suggestions skip the curve's head and are withheld when it never falls LR_MIN_FALL below its
 *   start (`suggestions`);
 * - gradient norms: SGD, momentum 0, no decay, no clipping, one step at lr 1 makes
 *   param_before - param_after the gradient itself (TrainStep has no gradient output);
 * - dead ReLUs: the base cut at each conv layer, run over the sample;
 * - forgetting: when the config's stages unfreeze blocks, head-only steps then steps of the
 *   deepest stage at its configured rate, judged on a held-out half of the sample.
 */
import { buildVggInference } from '../model/vgg-graph.js';
import { vggLayers } from '../model/architectures.js';
import type { WeightMap } from '../model/weight-map.js';
import { inferBatches } from '../engine/inference.js';
import { Session } from '../engine/session.js';
import { TrainStep, type OptimizerSpec } from '../engine/train-step.js';
import { PLAIN_SGD } from '../graph/optimizers/index.js';
import type { StageSpec, TrainConfig } from '../train/config.js';
import { cyclicBatch } from '../data/batches.js';
import { evaluateInBatches, type LabeledBatch } from '../train/batch-mean.js';
import { FeatureSource } from '../train/features.js';
import { groupRates, optimizerSpec, targets } from '../train/recipe.js';
import { STAGE_NAMES, unfrozenBlocks } from '../train/stages.js';
import { VggkitError } from '../util/errors.js';
import type { Float32Tensor } from '../util/tensor.js';
import type {
  DeadReluProbe,
  ForgettingProbe,
  GradientProbe,
  LossAccuracy,
  LrRangeProbe,
  OverfitProbe,
  ProbeResults,
} from './probe-results.js';
import { DEFAULT_PROBE_IMAGES } from './probe-results.js';
import { LR_END, LR_START, suggestions } from './lr-suggestions.js';
import {
  probeModel,
  stratifiedSample,
  trainClasses,
  type ProbeModel,
  type SampleItem,
} from './probe-setup.js';
import type { DataScan } from './scan.js';

/** Images in the overfit batch: Karpathy's "overfit one batch" uses a handful; 16 is one usual batch. */
export const OVERFIT_BATCH = 16;
/** Steps on that batch: at a sound rate a fresh head memorises 16 images well within 30 steps. */
export const OVERFIT_STEPS = 30;
/** Half of fastai's 100 iterations: 5 steps per decade still locates the minimum within a factor of ~1.6. */
export const LR_STEPS = 48;
/** fastai stops the sweep once the smoothed loss exceeds 4x its best. */
export const LR_DIVERGE = 4;
/** fastai's smoothing of the recorded loss. */
export const LR_SMOOTHING = 0.98;
/** Batch of the LR sweep and the gradient probe. */
export const PROBE_BATCH = 16;
/** Images the dead-ReLU probe runs through every cut: a channel silent on all of them is almost surely dead. */
export const DEAD_RELU_IMAGES = 32;
/** Images per pass of the dead-ReLU probe: every conv layer's activations are held at once. */
export const DEAD_RELU_BATCH = 4;
/** Forgetting probe: head-only steps, then steps with the deepest stage unfrozen. */
export const FORGET_HEAD_STEPS = 20;
export const FORGET_STAGE_STEPS = 10;

export interface ProbeOptions {
  readonly scan: DataScan;
  readonly config: TrainConfig;
  readonly cacheDir: string;
  readonly images?: number;
  readonly offline?: boolean;
  readonly log?: (line: string) => void;
}

class Probe {
  private readonly sources = new Map<number, FeatureSource>();
  private readonly steps: TrainStep[] = [];

  constructor(
    private readonly config: TrainConfig,
    readonly model: ProbeModel,
    private readonly cacheDir: string,
    readonly sample: SampleItem[],
  ) {}

  /** The frozen prefix below `blocks` trainable blocks, with the whole sample's features prepared (and cached). */
  private async source(blocks: number): Promise<FeatureSource> {
    let source = this.sources.get(blocks);
    if (source === undefined) {
      const { arch } = this.config;
      source = await FeatureSource.create(
        {
          arch,
          weights: this.model.params,
          weightsId: this.model.weightsId,
          contract: this.model.contract,
          trainableBlocks: blocks,
        },
        { cacheDir: this.cacheDir, batchSize: PROBE_BATCH },
      );
      this.sources.set(blocks, source);
      const skipped = await source.prepare(this.sample.map((s) => s.file));
      if (skipped.length > 0)
        throw new VggkitError('CORRUPT_IMAGE', `${skipped[0]?.file}: ${skipped[0]?.reason}`);
    }
    return source;
  }

  /** Features of `items` with `blocks` conv blocks trainable, with their targets. */
  async batch(blocks: number, items: readonly SampleItem[]): Promise<LabeledBatch> {
    const source = await this.source(blocks);
    return {
      x: await source.batch(items.map((i) => i.file)),
      y: targets(items, this.model.head),
    };
  }

  async trainStep(
    blocks: number,
    optimizer: OptimizerSpec,
    weights: WeightMap,
    dropout = this.config.dropout,
  ): Promise<TrainStep> {
    const step = await TrainStep.create({
      arch: this.config.arch,
      trainableBlocks: blocks,
      inputShape: (await this.source(blocks)).dims,
      head: { ...this.model.head, dropout },
      optimizer,
      weights,
      seed: this.config.seed,
      batchSize: PROBE_BATCH,
      cacheDir: this.cacheDir,
    });
    this.steps.push(step);
    return step;
  }

  async evaluate(
    step: TrainStep,
    blocks: number,
    items: readonly SampleItem[],
  ): Promise<LossAccuracy> {
    return evaluateInBatches(step, items, PROBE_BATCH, (slice) => this.batch(blocks, slice));
  }

  rates(step: TrainStep, lr: number): Record<string, number> {
    return groupRates(step.groups, lr, this.config.blockLrDecay);
  }

  async release(): Promise<void> {
    for (const step of this.steps) await step.release();
    for (const source of this.sources.values()) await source.release();
  }
}

/** The model, the seeded sample and the first stage every probe starts from. */
async function setUp(options: ProbeOptions): Promise<{
  probe: Probe;
  classes: string[];
  stages: readonly StageSpec[];
  first: StageSpec;
  firstBlocks: number;
}> {
  const { config, scan } = options;
  const classes = trainClasses(scan);
  const model = await probeModel(config, classes.length, {
    cacheDir: options.cacheDir,
    ...(options.offline === undefined ? {} : { offline: options.offline }),
  });
  const sample = stratifiedSample(scan, options.images ?? DEFAULT_PROBE_IMAGES, config.seed);
  if (sample.length < 2)
    throw new VggkitError(
      'NO_IMAGES',
      `${scan.train.root}: the probes need at least 2 readable training images`,
      { file: scan.train.root },
    );
  const stages =
    config.stages.length > 0 ? config.stages : [{ name: 'head', epochs: config.epochs }];
  const first = stages[0] as StageSpec;
  return {
    probe: new Probe(config, model, options.cacheDir, sample),
    classes,
    stages,
    first,
    firstBlocks: unfrozenBlocks(first),
  };
}

/**
 * The LR range test alone, as `vggkit lr-find` runs it: the same sample, initial weights and
 * first-stage training step as `doctor --probe`'s, so both suggest the same rates.
 */
export async function runLrRangeTest(
  options: ProbeOptions,
): Promise<{ lrRange: LrRangeProbe; sampleSize: number; stage: string; trainableBlocks: number }> {
  const { probe, first, firstBlocks } = await setUp(options);
  try {
    const step = await probe.trainStep(
      firstBlocks,
      optimizerSpec(options.config),
      probe.model.params,
    );
    return {
      lrRange: await lrRangeTest(probe, step, firstBlocks),
      sampleSize: probe.sample.length,
      stage: first.name,
      trainableBlocks: firstBlocks,
    };
  } finally {
    await probe.release();
  }
}

export async function runProbes(options: ProbeOptions): Promise<ProbeResults> {
  const { config } = options;
  const log = options.log ?? (() => undefined);
  const { probe, classes, stages, first, firstBlocks } = await setUp(options);
  const { model, sample } = probe;
  const deepest = Math.max(...stages.map(unfrozenBlocks));
  try {
    const step = await probe.trainStep(firstBlocks, optimizerSpec(config), model.params);
    const initialState = step.getOptimizerState();
    const initialLoss = (await probe.evaluate(step, firstBlocks, sample)).loss;
    log(
      `probe: initial loss ${initialLoss.toFixed(4)} on ${sample.length} images (ln ${classes.length} = ${Math.log(classes.length).toFixed(4)})`,
    );
    const overfit = await overfitBatch(probe, step, firstBlocks, config.lr);
    step.setParameters(model.params);
    step.setOptimizerState(initialState);
    const lrRange = await lrRangeTest(probe, step, firstBlocks);
    step.setParameters(model.params);
    step.setOptimizerState(initialState);
    const gradients = await gradientNorms(probe, Math.max(1, deepest), model.params);
    const deadRelu = await deadRelus(config, model, sample.slice(0, DEAD_RELU_IMAGES));
    const forgetting =
      deepest > 0 ? await forgettingProbe(probe, config, stages, deepest) : undefined;
    return {
      classes: classes.length,
      sampleSize: sample.length,
      stage: { name: first.name, trainableBlocks: firstBlocks, lr: config.lr },
      optimizer: config.optimizer,
      ...(model.headFrom === undefined ? {} : { headFrom: model.headFrom }),
      initialLoss,
      overfit,
      lrRange,
      gradients,
      deadRelu,
      ...(forgetting === undefined ? {} : { forgetting }),
    };
  } finally {
    await probe.release();
  }
}

async function overfitBatch(
  probe: Probe,
  step: TrainStep,
  blocks: number,
  lr: number,
): Promise<OverfitProbe> {
  const items = probe.sample.slice(0, OVERFIT_BATCH);
  const b = await probe.batch(blocks, items);
  const startLoss = (await step.evaluate(b.x, b.y)).loss;
  for (let i = 0; i < OVERFIT_STEPS; i++) await step.step(b.x, b.y, probe.rates(step, lr));
  const endLoss = (await step.evaluate(b.x, b.y)).loss;
  return { images: items.length, steps: OVERFIT_STEPS, lr, startLoss, endLoss };
}

/** fastai's LR finder over the sample's batches; the caller restores the weights afterwards. */
async function lrRangeTest(probe: Probe, step: TrainStep, blocks: number): Promise<LrRangeProbe> {
  const lrs: number[] = [];
  const losses: number[] = [];
  let average = 0;
  let best = Number.POSITIVE_INFINITY;
  let stoppedEarly = false;
  for (let i = 0; i < LR_STEPS; i++) {
    const lr = LR_START * (LR_END / LR_START) ** (i / (LR_STEPS - 1));
    const b = await probe.batch(blocks, cyclicBatch(probe.sample, i, PROBE_BATCH));
    const { loss } = await step.step(b.x, b.y, probe.rates(step, lr));
    if (!Number.isFinite(loss)) {
      stoppedEarly = true;
      break;
    }
    average = LR_SMOOTHING * average + (1 - LR_SMOOTHING) * loss;
    const smoothed = average / (1 - LR_SMOOTHING ** (i + 1));
    lrs.push(lr);
    losses.push(smoothed);
    best = Math.min(best, smoothed);
    if (smoothed > LR_DIVERGE * best) {
      stoppedEarly = true;
      break;
    }
  }
  return { lrs, losses, stoppedEarly, ...suggestions(lrs, losses) };
}

async function gradientNorms(
  probe: Probe,
  blocks: number,
  params: WeightMap,
): Promise<GradientProbe> {
  const items = probe.sample.slice(0, PROBE_BATCH);
  const b = await probe.batch(blocks, items);
  // Dropout off: the gradient of the network as evaluated, not of one random mask.
  const step = await probe.trainStep(blocks, PLAIN_SGD, params, 0);
  const before = step.getParameters();
  await step.step(b.x, b.y, Object.fromEntries(step.groups.map((g) => [g, 1])));
  const after = step.getParameters();
  const layers = new Map<string, { sum: number; count: number }>();
  for (const [key, t] of before) {
    const layer = key.split('/')[0] as string;
    const moved = after.get(key)?.data as Float32Array;
    const entry = layers.get(layer) ?? { sum: 0, count: 0 };
    for (let i = 0; i < t.data.length; i++)
      entry.sum += ((t.data[i] as number) - (moved[i] as number)) ** 2;
    entry.count += t.data.length;
    layers.set(layer, entry);
  }
  return {
    images: items.length,
    trainableBlocks: blocks,
    layers: [...layers].map(([layer, { sum, count }]) => ({
      layer,
      group: /^block\d/.exec(layer)?.[0] ?? 'head',
      norm: Math.sqrt(sum),
      rms: Math.sqrt(sum / count),
    })),
  };
}

async function deadRelus(
  config: TrainConfig,
  model: ProbeModel,
  items: readonly SampleItem[],
): Promise<DeadReluProbe> {
  const options = {
    arch: config.arch,
    includeTop: false,
    inputSize: model.contract.inputSize,
    pooling: 'none',
    classes: 0,
  } as const;
  const convs = vggLayers(options).filter((l) => l.kind === 'conv');
  const names = convs.map((c) => c.name);
  // One graph returns every conv layer's activations, so the base runs once per batch.
  const session = await Session.create(
    buildVggInference({
      options,
      weights: model.params,
      outputLayer: names[names.length - 1] as string,
      extraOutputs: names,
    }),
  );
  const alive = convs.map((conv) => new Uint8Array(conv.outputShape[2] as number));
  try {
    const batches = inferBatches(
      session,
      items.map((i) => i.file),
      model.contract,
      { batchSize: DEAD_RELU_BATCH, outputs: names },
    );
    for await (const batch of batches) {
      convs.forEach((conv, k) => {
        const data = (batch.outputs[conv.name] as Float32Tensor).data;
        const seen = alive[k] as Uint8Array;
        const channels = seen.length;
        for (let i = 0; i < data.length; i++) if ((data[i] as number) > 0) seen[i % channels] = 1;
      });
    }
  } finally {
    await session.release();
  }
  const layers = convs.map((conv, k) => ({
    layer: conv.name,
    channels: (alive[k] as Uint8Array).length,
    dead: (alive[k] as Uint8Array).filter((a) => a === 0).length,
  }));
  return { images: items.length, layers };
}

async function forgettingProbe(
  probe: Probe,
  config: TrainConfig,
  stages: readonly StageSpec[],
  deepest: number,
): Promise<ForgettingProbe> {
  const train = probe.sample.filter((_, i) => i % 2 === 0);
  const heldOut = probe.sample.filter((_, i) => i % 2 === 1);
  const head = await probe.trainStep(0, optimizerSpec(config), probe.model.params);
  for (let i = 0; i < FORGET_HEAD_STEPS; i++) {
    const b = await probe.batch(0, cyclicBatch(train, i, PROBE_BATCH));
    await head.step(b.x, b.y, probe.rates(head, config.lr));
  }
  const before = await probe.evaluate(head, 0, heldOut);
  const stageIndex = stages.findIndex((s) => unfrozenBlocks(s) === deepest);
  const stageLr = config.lr * config.stageLrFactor ** stageIndex;
  const weights = new Map([...probe.model.params, ...head.getParameters()]);
  const unfrozen = await probe.trainStep(deepest, optimizerSpec(config), weights);
  for (let i = 0; i < FORGET_STAGE_STEPS; i++) {
    const b = await probe.batch(deepest, cyclicBatch(train, i, PROBE_BATCH));
    await unfrozen.step(b.x, b.y, probe.rates(unfrozen, stageLr));
  }
  const after = await probe.evaluate(unfrozen, deepest, heldOut);
  return { stage: STAGE_NAMES[deepest] as string, stageLr, heldOut: heldOut.length, before, after };
}
