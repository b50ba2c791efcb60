/**
 * The up-front memory check of `train`: before any feature is computed, the stage that unfreezes
 * the most blocks is estimated (src/engine/memory-estimate.ts) at the configured batch size, and a
 * batch that cannot fit in the memory available now is refused with the figures.
 */
import { availableParallelism } from 'node:os';
import { planTraining, type TrainHead } from '../engine/train-plan.js';
import {
  availableMemoryBytes,
  checkBatchFits,
  estimateTrainingMemory,
  type MemoryEstimate,
} from '../engine/memory-estimate.js';
import { optimizerSlots } from '../graph/optimizers/index.js';
import { vggLayers } from '../model/architectures.js';
import { headLayers, type HeadSpec } from '../model/head.js';
import type { StageSpec, TrainConfig } from './config.js';
import { MEMORY_BUDGET_BYTES } from './features.js';
import { optimizerSpec } from './recipe.js';
import { unfrozenBlocks } from './stages.js';

export interface StageMemory {
  /** Conv blocks trainable in the most demanding stage. */
  readonly trainableBlocks: number;
  readonly estimate: MemoryEstimate;
}

/** The estimate of the stage that unfreezes the most blocks, at `config.batchSize`. */
export function deepestStageMemory(
  config: TrainConfig,
  inputSize: readonly [number, number],
  head: TrainHead,
  headSpec: HeadSpec,
  stages: readonly StageSpec[],
): StageMemory {
  const trainableBlocks = Math.max(...stages.map(unfrozenBlocks));
  const base = vggLayers({
    arch: config.arch,
    includeTop: false,
    inputSize,
    pooling: 'none',
    classes: head.classes,
  });
  const cut =
    trainableBlocks === 5
      ? base[0]
      : base.find((l) => l.name === `block${5 - trainableBlocks}_pool`);
  const inputShape = cut?.outputShape as [number, number, number];
  const plan = planTraining({ arch: config.arch, trainableBlocks, inputShape, head });
  const estimate = estimateTrainingMemory({
    plan,
    modelLayers: [...base, ...headLayers(base, headSpec)],
    optimizerSlots: optimizerSlots(optimizerSpec(config)).length,
    batch: config.batchSize,
    threads: availableParallelism(),
  });
  return { trainableBlocks, estimate };
}

/** Throws BATCH_TOO_LARGE when the deepest stage cannot fit; returns its estimate otherwise. */
export function checkTrainingMemory(
  config: TrainConfig,
  inputSize: readonly [number, number],
  head: TrainHead,
  headSpec: HeadSpec,
  stages: readonly StageSpec[],
  available: number = availableMemoryBytes(),
): StageMemory {
  const stage = deepestStageMemory(config, inputSize, head, headSpec, stages);
  const blocks =
    stage.trainableBlocks === 0 ? 'the head' : `blocks ${6 - stage.trainableBlocks}-5 + head`;
  checkBatchFits(
    stage.estimate,
    available,
    config.batchSize,
    `${blocks} at ${inputSize[0]}x${inputSize[1]}`,
  );
  return stage;
}

/**
 * How many bytes of features the fit loop may keep in memory besides the training step: what is
 * available beyond the step's estimate and a 1 GB margin, at most the feature source's default.
 */
export function featureMemoryBudget(
  stepBytes: number,
  available: number = availableMemoryBytes(),
): number {
  return Math.max(0, Math.min(MEMORY_BUDGET_BYTES, available - stepBytes - 2 ** 30));
}
