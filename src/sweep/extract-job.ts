/**
 * The feature-extraction shard job: compute one frozen prefix's features for a list of images into
 * the shared cache folder (`vggkit extract --queue`, and a queued sweep's cache filling). Like a
 * trial job it is a pure function of its data and idempotent: entries already cached are read, not
 * recomputed, so a re-delivered shard costs only the images its dead worker had not written.
 */
import type { SkippedFile } from '../image/index.js';
import type { TrainConfig } from '../train/config.js';
import type { WorkerContext } from './worker-context.js';

/** Images per shard: small enough that a dead worker loses little, large enough to batch well. */
export const SHARD_IMAGES = 64;

export interface ExtractJob {
  readonly kind: 'extract';
  /** Names the weights, architecture and contract (arch, weights, inputSize, preprocess …). */
  readonly config: TrainConfig;
  /** Conv blocks above the cut: the prefix ends at block(5 - trainableBlocks)_pool. */
  readonly trainableBlocks: number;
  readonly files: readonly string[];
  readonly cacheDir: string;
  readonly offline: boolean;
}

export interface ExtractOutcome {
  /** Images whose features this shard computed (the rest were cached already). */
  readonly computed: number;
  readonly skipped: readonly SkippedFile[];
  readonly worker: string;
}

export async function runExtractJob(
  job: ExtractJob,
  context: WorkerContext,
): Promise<ExtractOutcome> {
  const base = await context.resources.base(job.config, {
    cacheDir: job.cacheDir,
    offline: job.offline,
  });
  const lease = await context.resources.features(
    {
      arch: job.config.arch,
      weights: base.weights,
      weightsId: base.weightsId,
      contract: base.contract,
      trainableBlocks: job.trainableBlocks,
    },
    { cacheDir: job.cacheDir, batchSize: 16 },
  );
  try {
    const before = lease.value.computed;
    const skipped = await lease.value.prepare(job.files);
    return { computed: lease.value.computed - before, skipped, worker: context.name };
  } finally {
    await lease.release();
  }
}

/** `files` in shards of SHARD_IMAGES. */
export function shards(files: readonly string[]): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < files.length; i += SHARD_IMAGES) out.push(files.slice(i, i + SHARD_IMAGES));
  return out;
}
