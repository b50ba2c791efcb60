/**
 * The inputs of the trainable part: the frozen prefix's output (NHWC) for each image.
 *
 * When the prefix is frozen and its input is not augmented, its output for an image never changes,
 * so it is computed once per image and stored in the FeatureCache (keyed by the file's content
 * hash, the weights, the contract and the cut layer): 20 epochs cost one forward pass of the base,
 * and a second run on the same data costs none. With augmentation the prefix runs on every batch.
 * When every block is trainable there is no prefix: the input is the preprocessed image in NHWC.
 * With precision int8 the prefix is the calibrated int8 network when the accuracy guard accepts
 * it (its calibration then keys the cache); otherwise the fp32 one, whose cache entries it shares.
 */
import { availableParallelism } from 'node:os';
import { FeatureCache, hashFile } from '../data/feature-cache.js';
import { decideInt8, type Int8Report, type Int8Request } from '../engine/int8/prepare.js';
import type { Precision } from '../model/precision.js';
import { buildVggInference, type Int8Plan } from '../model/vgg-graph.js';
import type { WeightMap } from '../model/weight-map.js';
import { vggLayers, type ArchName } from '../model/architectures.js';
import { inferBatches } from '../engine/inference.js';
import { Session } from '../engine/session.js';
import {
  augmentImage,
  isImageError,
  loadImage,
  preprocess,
  streamBatches,
  type PreprocessContract,
  type SkippedFile,
} from '../image/index.js';
import type { AugmentName } from '../image/augment.js';
import type { Random } from '../util/random.js';
import type { Float32Tensor } from '../util/tensor.js';

export interface PrefixSpec {
  readonly arch: ArchName;
  readonly weights: WeightMap;
  /** Changes whenever the weights change: keys the cache. */
  readonly weightsId: string;
  readonly contract: PreprocessContract;
  /** Conv blocks trainable from the top (0..5); the prefix is everything below them. */
  readonly trainableBlocks: number;
  /** The prefix's precision; default fp32. int8 needs `calibrationFiles`. */
  readonly precision?: Precision;
}

export interface FeatureSourceOptions {
  readonly cacheDir: string;
  readonly batchSize: number;
  readonly onProgress?: (done: number, total: number) => void;
  /** The images an int8 prefix calibrates and is checked on (the training images). */
  readonly calibrationFiles?: readonly string[];
  readonly onInt8Progress?: Int8Request['onProgress'];
  /** Largest total of features kept in memory between epochs (default 4 GB); beyond it they are read from the cache. */
  readonly memoryBudgetBytes?: number;
}

/** Default largest total of features kept in memory between epochs. */
export const MEMORY_BUDGET_BYTES = 4 * 1024 ** 3;

export class FeatureSource {
  /** Keras name of the prefix's last layer, or `input` when there is no prefix. */
  readonly cutLayer: string;
  /** NHWC [H, W, C] of one image's features. */
  readonly dims: readonly [number, number, number];
  private readonly cache: FeatureCache;
  private readonly hashes = new Map<string, string>();
  private readonly inMemory = new Map<string, Float32Array>();
  private memoryBytes = 0;
  /** Images whose features this source computed (cache misses); a sweep counts base forwards by it. */
  computed = 0;
  /** Built on first need: when every feature is cached, the base never has to be compiled. */
  private session: Promise<Session> | undefined;
  /** With precision int8: whether the prefix runs in int8, and the guard's figures. */
  readonly int8: Int8Report | undefined;
  private readonly plan: Int8Plan | undefined;

  private constructor(
    private readonly spec: PrefixSpec,
    private readonly options: FeatureSourceOptions,
    int8?: { readonly report: Int8Report; readonly plan?: Int8Plan },
  ) {
    this.int8 = int8?.report;
    this.plan = int8?.plan;
    const [h, w] = spec.contract.inputSize;
    const layers = vggLayers({
      arch: spec.arch,
      includeTop: false,
      inputSize: [h, w],
      pooling: 'none',
      classes: 0,
    });
    this.cutLayer = spec.trainableBlocks === 5 ? 'input' : `block${5 - spec.trainableBlocks}_pool`;
    const cut = layers.find(
      (l) => l.name === (spec.trainableBlocks === 5 ? 'input_1' : this.cutLayer),
    );
    const [ch, cw, cc] = cut?.outputShape ?? [];
    if (ch === undefined || cw === undefined || cc === undefined)
      throw new RangeError(`no layer ${this.cutLayer} in ${spec.arch}`);
    this.dims = [ch, cw, cc];
    this.cache = new FeatureCache(
      options.cacheDir,
      {
        weightsId: spec.weightsId,
        contract: spec.contract,
        layer: this.cutLayer,
        ...(this.plan === undefined || this.int8 === undefined ? {} : { int8: this.int8.key }),
      },
      this.dims,
      this.plan === undefined ? {} : { int8Report: this.int8 },
    );
  }

  /**
   * With precision int8 the decision comes first (calibration, or its cached result): it keys the
   * feature cache. The prefix's session itself is still built only when a feature is missing.
   */
  static async create(spec: PrefixSpec, options: FeatureSourceOptions): Promise<FeatureSource> {
    if ((spec.precision ?? 'fp32') === 'fp32' || spec.trainableBlocks === 5)
      return new FeatureSource(spec, options);
    const [h, w] = spec.contract.inputSize;
    const decision = await decideInt8({
      options: {
        arch: spec.arch,
        includeTop: false,
        inputSize: [h, w],
        pooling: 'none',
        classes: 0,
      },
      weights: spec.weights,
      outputLayer: `block${5 - spec.trainableBlocks}_pool`,
      contract: spec.contract,
      files: options.calibrationFiles ?? [],
      cacheDir: options.cacheDir,
      ...(options.onInt8Progress === undefined ? {} : { onProgress: options.onInt8Progress }),
    });
    return new FeatureSource(spec, options, {
      report: decision.report,
      ...(decision.plan === undefined ? {} : { plan: decision.plan }),
    });
  }

  /** The prefix's inference session, or undefined when there is no prefix (every block trains). */
  private prefix(): Promise<Session> | undefined {
    if (this.spec.trainableBlocks === 5) return undefined;
    const [h, w] = this.spec.contract.inputSize;
    this.session ??= Session.create(
      buildVggInference({
        options: {
          arch: this.spec.arch,
          includeTop: false,
          inputSize: [h, w],
          pooling: 'none',
          classes: 0,
        },
        weights: this.spec.weights,
        outputLayer: `block${5 - this.spec.trainableBlocks}_pool`,
        ...(this.plan === undefined ? {} : { int8: this.plan }),
      }),
    );
    return this.session;
  }

  /**
   * Makes sure every file's unaugmented features are cached; returns the files that could not be
   * decoded (they must be left out of training and reported, never crash the run).
   */
  async prepare(files: readonly string[]): Promise<SkippedFile[]> {
    const missing: string[] = [];
    let done = 0;
    for (const file of files) {
      const hash = this.hashes.get(file) ?? (await hashFile(file));
      this.hashes.set(file, hash);
      const cached = this.inMemory.get(hash) ?? (await this.cache.get(hash));
      if (cached === undefined) {
        missing.push(file);
      } else {
        this.remember(hash, cached);
        this.options.onProgress?.(++done, files.length);
      }
    }
    const skipped: SkippedFile[] = [];
    if (missing.length === 0) return skipped;
    const session = await this.prefix();
    const batches =
      session === undefined
        ? streamBatches(missing, this.spec.contract, {
            batchSize: this.options.batchSize,
            skipErrors: true,
          })
        : inferBatches(session, missing, this.spec.contract, {
            batchSize: this.options.batchSize,
          });
    for await (const batch of batches) {
      skipped.push(...batch.skipped);
      const output = 'output' in batch ? batch.output : nchwToNhwc(batch.tensor);
      const size = this.dims[0] * this.dims[1] * this.dims[2];
      for (let i = 0; i < batch.files.length; i++) {
        const hash = this.hashes.get(batch.files[i] as string) as string;
        const features = output.data.slice(i * size, (i + 1) * size);
        await this.cache.put(hash, features);
        this.remember(hash, features);
      }
      this.computed += batch.files.length;
      done += batch.files.length + batch.skipped.length;
      this.options.onProgress?.(done, files.length);
    }
    return skipped;
  }

  /** NHWC features of `files` (all prepared), in order. */
  async batch(files: readonly string[]): Promise<Float32Tensor> {
    const size = this.dims[0] * this.dims[1] * this.dims[2];
    const data = new Float32Array(files.length * size);
    for (let i = 0; i < files.length; i++) {
      const file = files[i] as string;
      const hash = this.hashes.get(file);
      const features =
        hash === undefined ? undefined : (this.inMemory.get(hash) ?? (await this.cache.get(hash)));
      if (features === undefined) throw new Error(`features of ${file} were not prepared`);
      data.set(features, i * size);
    }
    return { dims: [files.length, ...this.dims], data };
  }

  /** Features of freshly augmented images: decode, augment, preprocess, run the prefix. */
  async augmentedBatch(
    files: readonly string[],
    ops: readonly AugmentName[],
    rng: Random,
  ): Promise<Float32Tensor> {
    const [h, w] = this.spec.contract.inputSize;
    const input = new Float32Array(files.length * 3 * h * w);
    const images = await Promise.all(files.map((file) => loadImage(file, this.spec.contract)));
    images.forEach((image, i) =>
      preprocess(augmentImage(image, ops, rng), this.spec.contract, input, i * 3 * h * w),
    );
    const tensor: Float32Tensor = { dims: [files.length, 3, h, w], data: input };
    const session = await this.prefix();
    if (session === undefined) return nchwToNhwc(tensor);
    const out = await session.run({ input: tensor }, ['output']);
    return out.output as Float32Tensor;
  }

  /** Checks that `files` decode, without running the network (the augmented path needs no cache). */
  async validate(files: readonly string[]): Promise<SkippedFile[]> {
    const skipped: SkippedFile[] = [];
    const queue = [...files];
    const worker = async (): Promise<void> => {
      for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
        try {
          await loadImage(file, this.spec.contract);
        } catch (error) {
          if (!isImageError(error)) throw error;
          skipped.push({ file, code: error.code, reason: error.message });
        }
      }
    };
    await Promise.all(Array.from({ length: availableParallelism() }, worker));
    return skipped.sort((a, b) => files.indexOf(a.file) - files.indexOf(b.file));
  }

  async release(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    await (await session)?.release();
  }

  private remember(hash: string, features: Float32Array): void {
    const budget = this.options.memoryBudgetBytes ?? MEMORY_BUDGET_BYTES;
    if (this.memoryBytes + features.byteLength > budget || this.inMemory.has(hash)) return;
    this.inMemory.set(hash, features);
    this.memoryBytes += features.byteLength;
  }
}

function nchwToNhwc(t: Float32Tensor): Float32Tensor {
  const [n, c, h, w] = t.dims as [number, number, number, number];
  const out = new Float32Array(t.data.length);
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++)
          out[((b * h + y) * w + x) * c + ch] = t.data[((b * c + ch) * h + y) * w + x] as number;
  return { dims: [n, h, w, c], data: out };
}
