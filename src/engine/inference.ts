/**
 * Batch inference over image files with bounded memory: files stream through decode -> resize ->
 * preprocess (src/image streamBatches, which decodes the next batch while the caller holds the
 * current one) -> one reused ORT session. Since ORT runs off the JavaScript thread, decoding batch
 * k+1 on libuv's pool overlaps running batch k; at most two batches are in memory.
 */
import { type PreprocessContract, type SkippedFile, streamBatches } from '../image/index.js';
import type { DecodeOptions } from '../image/index.js';
import type { Float32Tensor } from '../util/tensor.js';
import type { Session } from './session.js';

export interface InferenceOptions {
  readonly batchSize: number;
  /** Files decoded at once; default the number of cores. */
  readonly concurrency?: number;
  /** Skip files that are not readable images and report them; default true. */
  readonly skipErrors?: boolean;
  /** Graph output to fetch; default `output`. */
  readonly output?: string;
  /** Several graph outputs to fetch (the first is also `output`); overrides `output`. */
  readonly outputs?: readonly string[];
  readonly decode?: DecodeOptions;
}

export interface InferenceBatch {
  /** The files whose rows `output` holds, in input order. */
  readonly files: readonly string[];
  /** [files.length, ...]; empty when every file of the batch was skipped. */
  readonly output: Float32Tensor;
  /** Every fetched output by name. */
  readonly outputs: Readonly<Record<string, Float32Tensor>>;
  readonly skipped: readonly SkippedFile[];
}

export async function* inferBatches(
  session: Session,
  files: readonly string[],
  contract: PreprocessContract,
  options: InferenceOptions,
): AsyncGenerator<InferenceBatch> {
  const fetches = options.outputs ?? [options.output ?? 'output'];
  const outputName = fetches[0] as string;
  const batches = streamBatches(files, contract, {
    ...options.decode,
    batchSize: options.batchSize,
    skipErrors: options.skipErrors ?? true,
    ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
  });
  for await (const batch of batches) {
    if (batch.files.length === 0) {
      yield {
        files: [],
        output: { dims: [0], data: new Float32Array(0) },
        outputs: {},
        skipped: batch.skipped,
      };
      continue;
    }
    const results = await session.run({ input: batch.tensor }, fetches);
    const output = results[outputName];
    if (output === undefined) throw new Error(`the model has no output named ${outputName}`);
    yield { files: batch.files, output, outputs: results, skipped: batch.skipped };
  }
}
