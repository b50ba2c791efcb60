/**
 * What every doctor computation on images needs, built the way `fineTune` builds it (same weights
 * loader, contract resolution, head and initialisation), so a probe measures the run the config
 * would actually start: the weights and contract, the fresh head's parameters, and a stratified
 * seeded sample of the training images.
 */
import type { HeadSpec } from '../model/head.js';
import type { WeightMap } from '../model/weight-map.js';
import type { TrainHead } from '../engine/train-step.js';
import type { PreprocessContract } from '../image/contract.js';
import type { TrainConfig } from '../train/config.js';
import { headSpecFor, initialParams, loadBase, sameHead, trainHead } from '../train/recipe.js';
import { UsageError } from '../util/errors.js';
import { Random } from '../util/random.js';
import { readable } from './context.js';
import type { DataScan } from './scan.js';

export interface SampleItem {
  readonly file: string;
  /** Index into the sorted class names. */
  readonly label: number;
}

export interface ProbeModel {
  readonly contract: PreprocessContract;
  /** Base weights plus the freshly initialised head. */
  readonly params: WeightMap;
  readonly weightsId: string;
  readonly head: TrainHead;
  readonly headSpec: HeadSpec;
  /** The weights file whose own head the probes start from (a Keras model's); absent: a fresh head. */
  readonly headFrom?: string;
}

export interface SetupOptions {
  readonly cacheDir: string;
  readonly offline?: boolean;
}

/** Class folders of the training split that hold at least one readable image, sorted as the trainer sorts them. */
export function trainClasses(scan: DataScan): string[] {
  const names = new Set(readable(scan.records, 'train').map((r) => r.className as string));
  return scan.train.classes.filter((c) => names.has(c));
}

/**
 * Up to `size` readable training images, drawn round-robin over the classes after a seeded
 * shuffle of each: every class is represented as equally as its images allow, and consecutive
 * items alternate classes (so any prefix of the sample is itself stratified).
 */
export function stratifiedSample(scan: DataScan, size: number, seed: number): SampleItem[] {
  const classes = trainClasses(scan);
  const random = new Random(seed);
  const pools = classes.map((name) =>
    random.shuffle(
      readable(scan.records, 'train')
        .filter((r) => r.className === name)
        .map((r) => r.file),
    ),
  );
  const out: SampleItem[] = [];
  for (let round = 0; out.length < size && pools.some((p) => p.length > round); round++) {
    pools.forEach((pool, label) => {
      const file = pool[round];
      if (file !== undefined && out.length < size) out.push({ file, label });
    });
  }
  return out;
}

export async function probeModel(
  config: TrainConfig,
  classCount: number,
  options: SetupOptions,
): Promise<ProbeModel> {
  if (classCount < 2)
    throw new UsageError(
      'OPTION_DATA_CONFLICT',
      `doctor --probe: expected at least 2 class folders with images, received ${classCount}`,
    );
  const base = await loadBase(config, options);
  // Class weights only rescale the loss; the probes judge the unweighted loss against ln(classes).
  const head = trainHead({ ...config, classWeights: 'none' }, classCount, []);
  const headSpec = headSpecFor(config, head);
  const params = initialParams(config, base, headSpec);
  const own = base.head !== undefined && sameHead(base.head.spec, headSpec);
  return {
    contract: base.contract,
    params,
    weightsId: base.weightsId,
    head,
    headSpec,
    ...(own ? { headFrom: base.source } : {}),
  };
}
