/**
 * `vggkit extract --queue`: a large data set's frozen-base features computed by the queue's
 * workers, shard by shard, into the shared cache folder (each worker writes its shard's entries;
 * nothing is computed twice, a re-delivered shard recomputes only what its dead worker had not
 * written), then read back here in the files' order for features.npy.
 */
import type { SkippedFile } from '../image/index.js';
import type { TrainConfig } from '../train/config.js';
import { FeatureSource } from '../train/features.js';
import { loadBase } from '../train/recipe.js';
import { QueueExecutor } from './executors/bullmq.js';
import { shards, type ExtractOutcome } from './extract-job.js';

export interface QueueExtractOptions {
  readonly url: string;
  readonly files: readonly string[];
  /** Names the network, weights and contract (arch, weights, inputSize, preprocess …). */
  readonly config: TrainConfig;
  /** Conv blocks above the cut: features of block(5 - trainableBlocks)_pool. */
  readonly trainableBlocks: number;
  readonly cacheDir: string;
  readonly offline: boolean;
  /** Shards in flight at once. */
  readonly slots: number;
  readonly onProgress?: (done: number, total: number) => void;
}

export interface QueueExtraction {
  readonly kept: readonly string[];
  readonly skipped: readonly SkippedFile[];
  /** NHWC features per kept file, in `kept` order. */
  rows(): AsyncGenerator<Float32Array>;
  readonly workers: readonly string[];
  readonly source: string;
  readonly contract: unknown;
  release(): Promise<void>;
}

export async function extractOnQueue(options: QueueExtractOptions): Promise<QueueExtraction> {
  const executor = new QueueExecutor({ url: options.url, slots: options.slots });
  let outcomes: ExtractOutcome[];
  try {
    const pending = shards(options.files);
    let done = 0;
    outcomes = [];
    let next = 0;
    const lane = async (): Promise<void> => {
      for (let i = next++; i < pending.length; i = next++) {
        const files = pending[i] as string[];
        outcomes.push(
          await executor.extract({
            kind: 'extract',
            config: options.config,
            trainableBlocks: options.trainableBlocks,
            files,
            cacheDir: options.cacheDir,
            offline: options.offline,
          }),
        );
        done += files.length;
        options.onProgress?.(done, options.files.length);
      }
    };
    await Promise.all(Array.from({ length: options.slots }, lane));
  } finally {
    await executor.close();
  }
  // Every entry is cached now: reading them back needs the cache key (weights, contract, cut), not the base.
  const base = await loadBase(options.config, {
    cacheDir: options.cacheDir,
    offline: options.offline,
  });
  const source = await FeatureSource.create(
    {
      arch: options.config.arch,
      weights: base.weights,
      weightsId: base.weightsId,
      contract: base.contract,
      trainableBlocks: options.trainableBlocks,
    },
    { cacheDir: options.cacheDir, batchSize: 16 },
  );
  const skipped = await source.prepare(options.files);
  const bad = new Set(skipped.map((s) => s.file));
  const kept = options.files.filter((f) => !bad.has(f));
  return {
    kept,
    skipped,
    workers: [...new Set(outcomes.map((o) => o.worker))],
    source: base.source,
    contract: base.contract,
    async *rows() {
      for (const file of kept) yield (await source.batch([file])).data;
    },
    release: () => source.release(),
  };
}
