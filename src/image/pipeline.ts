/**
 * Files -> network input. Module shape:
 *
 *   decode.ts      openImage: stat + header checks (size, format, pixel limit) -> sharp pipeline
 *                  (autorotate, flatten alpha, sRGB); runPipeline: -> RgbImage (HWC uint8)
 *   resize.ts      planResize (pure sizes) + applyResize (downscaling, appended to the same
 *                  pipeline so large JPEGs shrink while loading); upscaling in resample.ts (Pillow's
 *                  algorithm on the decoded pixels, since libvips' upscale is corner-aligned)
 *   preprocess.ts  RgbImage -> CHW float32 written in place into a batch buffer
 *   pipeline.ts    (this file) composes them per file, per batch and as a stream
 *
 * One libvips pipeline per file, several files in flight (`concurrency`, default one per core:
 * each libvips pipeline runs on one thread, see decode.ts). Batches are NCHW Float32Tensors.
 * `streamBatches` decodes batch k+1 while the consumer works on batch k and never more, so memory
 * stays at two batches whatever the number of files. Only ImageErrors are skippable; anything else
 * is a bug and propagates.
 */
import { availableParallelism } from 'node:os';
import type { PreprocessContract } from './contract.js';
import {
  DEFAULT_PIXEL_LIMIT,
  openImage,
  runPipeline,
  type DecodeOptions,
  type RgbImage,
} from './decode.js';
import { ImageError, type ImageErrorCode } from './errors.js';
import { preprocess } from './preprocess.js';
import { applyResize, applyResizeInMemory, planResize, upscales } from './resize.js';
import { invalidOption } from '../util/errors.js';
import { tensor, type Float32Tensor } from '../util/tensor.js';

export interface BatchOptions extends DecodeOptions {
  /** Leave out files that raise an ImageError and list them in `skipped`; default false (throw). */
  readonly skipErrors?: boolean;
  /** Files decoded at once; default the number of cores. */
  readonly concurrency?: number;
}

export interface StreamOptions extends BatchOptions {
  readonly batchSize: number;
}

export interface SkippedFile {
  readonly file: string;
  readonly code: ImageErrorCode;
  readonly reason: string;
}

export interface Batch {
  /** [N, 3, H, W], N = files.length. */
  readonly tensor: Float32Tensor;
  /** The files in the tensor, in input order. */
  readonly files: string[];
  readonly skipped: SkippedFile[];
}

/** Decoded and resized to `contract.inputSize` ([height, width]) in one libvips pipeline. */
export async function loadImage(
  file: string,
  contract: PreprocessContract,
  options: DecodeOptions = {},
): Promise<RgbImage> {
  const { info, pipeline } = await openImage(file, options);
  const plan = planResize(info.width, info.height, contract);
  // center-crop resizes the short side first: a sliver (say 10000x1) would become gigapixels.
  const pixelLimit = options.pixelLimit ?? DEFAULT_PIXEL_LIMIT;
  if (plan.width * plan.height > pixelLimit) {
    throw new ImageError(
      'PIXEL_LIMIT',
      file,
      `a ${info.width}x${info.height} image would be resized to ${plan.width}x${plan.height} before the ${contract.resize}, above the limit of ${pixelLimit} pixels (use --resize stretch or pad for such extreme shapes)`,
    );
  }
  if (upscales(plan, info.width, info.height)) {
    return applyResizeInMemory(
      await runPipeline(file, pipeline),
      plan,
      contract.interpolation,
      options.background,
    );
  }
  return runPipeline(file, applyResize(pipeline, plan, contract.interpolation, options.background));
}

/** One image as a [3, H, W] CHW tensor's data. */
export async function loadImageTensor(
  file: string,
  contract: PreprocessContract,
  options: DecodeOptions = {},
): Promise<Float32Array> {
  return preprocess(await loadImage(file, contract, options), contract);
}

export async function loadBatch(
  files: readonly string[],
  contract: PreprocessContract,
  options: BatchOptions = {},
): Promise<Batch> {
  const concurrency = checkPositiveInteger(
    'concurrency',
    options.concurrency ?? availableParallelism(),
  );
  const [height, width] = contract.inputSize;
  const size = 3 * height * width;
  const data = new Float32Array(files.length * size);
  const loaded = new Array<boolean>(files.length).fill(false);
  const failures = new Map<number, ImageError>();
  let next = 0;
  let stop = false;

  // Workers take files in order; each image is preprocessed straight into its slot.
  const worker = async (): Promise<void> => {
    while (!stop && next < files.length) {
      const index = next++;
      const file = files[index] as string;
      try {
        preprocess(await loadImage(file, contract, options), contract, data, index * size);
        loaded[index] = true;
      } catch (error) {
        if (!(error instanceof ImageError)) throw error;
        failures.set(index, error);
        if (options.skipErrors !== true) stop = true;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker));

  if (options.skipErrors !== true && failures.size > 0) {
    // Every file before the first failure was attempted, so this is the earliest bad file.
    throw failures.get(Math.min(...failures.keys())) as ImageError;
  }
  const kept: string[] = [];
  const skipped: SkippedFile[] = [];
  files.forEach((file, index) => {
    const failure = failures.get(index);
    if (failure !== undefined) {
      skipped.push({ file, code: failure.code, reason: failure.reason });
      return;
    }
    if (kept.length !== index)
      data.copyWithin(kept.length * size, index * size, (index + 1) * size);
    kept.push(file);
  });
  const packed = kept.length === files.length ? data : data.slice(0, kept.length * size);
  return { tensor: tensor([kept.length, 3, height, width], packed), files: kept, skipped };
}

/**
 * Batches of `batchSize` input files (fewer in a batch when files are skipped), in order. The next
 * batch is decoding while the caller holds the current one; at most one batch runs ahead.
 */
export async function* streamBatches(
  files: readonly string[],
  contract: PreprocessContract,
  options: StreamOptions,
): AsyncGenerator<Batch> {
  const batchSize = checkPositiveInteger('batchSize', options.batchSize);
  const start = (from: number): Promise<Batch> | undefined => {
    if (from >= files.length) return undefined;
    const pending = loadBatch(files.slice(from, from + batchSize), contract, options);
    // Marked handled now: it may reject while the caller is busy; awaiting it below rethrows.
    pending.catch(() => undefined);
    return pending;
  };
  let pending = start(0);
  for (let from = 0; pending !== undefined; from += batchSize) {
    const batch = await pending;
    pending = start(from + batchSize);
    yield batch;
  }
}

function checkPositiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw invalidOption(name, 'a positive integer', value);
  return value;
}
