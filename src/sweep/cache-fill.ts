/**
 * Filling the feature cache before any trial starts, so the frozen base runs once per image for
 * the whole sweep instead of once per worker. Trials share a prefix when they agree on what
 * determines its output: weights, architecture, contract (input size, preprocessing, resize,
 * interpolation) and cut layer, with no augmentation. Every prefix the space can produce is
 * enumerated from the base config and the list dimensions over those settings; a range over one
 * of them (an input-size range) cannot be enumerated, so those trials fill the cache as they run.
 */
import { loadFolderDataset } from '../data/dataset.js';
import type { TrainConfig } from '../train/config.js';
import type { PrefixSpec } from '../train/features.js';
import { initialParams, headSpecFor, trainHead } from '../train/recipe.js';
import type { TrainingResources } from '../train/resources.js';
import { unfrozenBlocks } from '../train/stages.js';
import { shards, type ExtractJob, type ExtractOutcome } from './extract-job.js';
import { trialConfig } from './space.js';
import type { TrainSettingPath } from '../train/config-schema.js';
import type { Dimension, ParamValue, Params, SearchSpace } from './types.js';

/** Settings that change a frozen prefix's output for an image. */
export const PREFIX_PATHS: readonly TrainSettingPath[] = [
  'arch',
  'weights',
  'inputSize',
  'preprocess',
  'resize',
  'interpolation',
  'stages',
  'augment',
];

export interface CacheFillOptions {
  readonly data: string;
  readonly base: TrainConfig;
  readonly space: SearchSpace;
  readonly cacheDir: string;
  readonly offline: boolean;
  readonly resources: TrainingResources;
  readonly log: (line: string) => void;
  readonly onProgress?: (done: number, total: number) => void;
  /** Runs shards on the queue's workers; absent: the coordinator computes the features itself. */
  readonly extract?: (job: ExtractJob) => Promise<ExtractOutcome>;
}

export interface CacheFill {
  /** Distinct frozen prefixes filled. */
  readonly prefixes: number;
  /** Images whose features were computed now (0 when an earlier sweep or run had cached them). */
  readonly computed: number;
  readonly images: number;
}

function prefixDimensions(space: SearchSpace): Dimension[] {
  return space.dimensions.filter((d) => PREFIX_PATHS.includes(d.path));
}

function combinations(dimensions: readonly Dimension[]): Params[] {
  let out: Record<string, ParamValue>[] = [{}];
  for (const d of dimensions) {
    if (d.kind !== 'categorical') continue;
    out = out.flatMap((p) => d.choices.map((c) => ({ ...p, [d.name]: c })));
  }
  return out;
}

/** The distinct prefixes of the trials the space can produce, each with a config that uses it. */
export async function sweepPrefixes(
  options: Pick<CacheFillOptions, 'base' | 'space' | 'cacheDir' | 'offline' | 'resources'>,
  classCount: number,
): Promise<{ spec: PrefixSpec; config: TrainConfig }[]> {
  const found = new Map<string, { spec: PrefixSpec; config: TrainConfig }>();
  for (const params of combinations(prefixDimensions(options.space))) {
    const config = trialConfig(options.base, options.space, params);
    if (config.augment.length > 0) continue;
    const base = await options.resources.base(config, {
      cacheDir: options.cacheDir,
      offline: options.offline,
    });
    const stages =
      config.stages.length > 0 ? config.stages : [{ name: 'head', epochs: config.epochs }];
    for (const stage of stages) {
      const trainableBlocks = unfrozenBlocks(stage);
      if (trainableBlocks === 5) continue;
      const key = JSON.stringify([config.arch, base.weightsId, base.contract, trainableBlocks]);
      if (found.has(key)) continue;
      const head = trainHead(config, classCount, []);
      found.set(key, {
        config,
        spec: {
          arch: config.arch,
          weights: initialParams(config, base, headSpecFor(config, head)),
          weightsId: base.weightsId,
          contract: base.contract,
          trainableBlocks,
        },
      });
    }
  }
  return [...found.values()];
}

export async function fillFeatureCache(options: CacheFillOptions): Promise<CacheFill> {
  const dataset = await loadFolderDataset({
    dir: options.data,
    val: options.base.val,
    valSplit: options.base.valSplit,
    seed: options.base.seed,
  });
  const files = [...dataset.train, ...dataset.val].map((f) => f.file);
  const ranged = prefixDimensions(options.space).filter((d) => d.kind !== 'categorical');
  for (const d of ranged)
    options.log(
      `--${d.name} is a range: trials fill the feature cache for their own values as they run`,
    );
  const prefixes = await sweepPrefixes(options, dataset.classNames.length);
  if (options.extract !== undefined) {
    const extract = options.extract;
    let done = 0;
    const outcomes = await Promise.all(
      prefixes.flatMap(({ spec, config }) =>
        shards(files).map(async (shard) => {
          const outcome = await extract({
            kind: 'extract',
            config,
            trainableBlocks: spec.trainableBlocks,
            files: shard,
            cacheDir: options.cacheDir,
            offline: options.offline,
          });
          done += shard.length;
          options.onProgress?.(done, files.length * prefixes.length);
          return outcome;
        }),
      ),
    );
    const workers = new Set(outcomes.map((o) => o.worker));
    options.log(
      `feature shards ran on ${workers.size} worker${workers.size === 1 ? '' : 's'}: ${[...workers].join(', ')}`,
    );
    return {
      prefixes: prefixes.length,
      computed: outcomes.reduce((n, o) => n + o.computed, 0),
      images: files.length,
    };
  }
  let computed = 0;
  // A shared source keeps the callback it was created with: it must fall silent once filled.
  let filling = true;
  const onProgress = (done: number, total: number): void => {
    if (filling) options.onProgress?.(done, total);
  };
  for (const { spec, config } of prefixes) {
    const lease = await options.resources.features(spec, {
      cacheDir: options.cacheDir,
      batchSize: config.batchSize,
      onProgress,
    });
    try {
      const before = lease.value.computed;
      await lease.value.prepare(files);
      computed += lease.value.computed - before;
    } finally {
      await lease.release();
    }
  }
  filling = false;
  return { prefixes: prefixes.length, computed, images: files.length };
}
