/**
 * The int8 half of bench/forward.ts (issue 11 §1):
 *
 *   - speed: VGG16's conv base at 224 in fp32 against its QDQ int8 graph with uint8 activations
 *     (U8S8, what vggkit emits) and with int8 activations (S8S8), interleaved in rounds in one
 *     process so the three share the machine's load; medians and ratios to fp32; plus the whole
 *     extract path (decode + resize + preprocess + forward) in int8 against fp32;
 *   - fusion: how many QLinearConv nodes ORT's optimised graph holds (13 = every conv fused);
 *   - accuracy: the seed recipe's head (Flatten-Dense256-Dropout-Dense, Adam 1e-4, batch 32)
 *     trained by fineTune on features of the frozen base in fp32 and in int8 (`precision: int8`:
 *     calibration, guard and all), on real Fashion-MNIST class folders, same seed; validation
 *     accuracy of both. Weights: VGG16 random-init, seeded, He-scaled (no pretrained weights are
 *     reachable here), written as a Keras .h5 and passed as `weights`.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { int8Kernels } from '../src/engine/cpu.js';
import { calibrate, rangesFor } from '../src/engine/int8/calibrate.js';
import { Session } from '../src/engine/session.js';
import type { PreprocessContract } from '../src/image/index.js';
import type { VggOptions } from '../src/model/architectures.js';
import { modelLayers } from '../src/model/head.js';
import { writeKerasWeights } from '../src/model/keras-h5.js';
import { buildVggInference, type Int8Plan } from '../src/model/vgg-graph.js';
import { biasKey, kernelKey, type WeightMap } from '../src/model/weight-map.js';
import { fineTune } from '../src/train/fit.js';
import { mean, median, sampleSd } from '../src/util/stats.js';
import type { Float32Tensor } from '../src/util/tensor.js';
import { FASHION_MNIST_CLASSES, writeFashionMnist } from './fashion-mnist.js';

export const INT8_TARGET_VNNI = 2;
export const INT8_TARGET_AVX2 = 1.3;
export const RECIPE_TARGET_POINTS = 0.5;

export interface SpeedRow {
  readonly engine: string;
  readonly batch: number;
  readonly imagesPerSecond: number;
}

export interface Int8Sessions {
  readonly u8s8: Session;
  readonly s8s8: Session;
  /** QLinearConv nodes in ORT's optimised graph, per variant. */
  readonly fused: { readonly u8s8: number; readonly s8s8: number; readonly convs: number };
}

/** Glorot init times sqrt(2) (He's gain for ReLU): activations keep their scale through 13 convs. */
export function heScaled(weights: WeightMap): WeightMap {
  for (const [key, t] of weights)
    if (key.endsWith('kernel')) t.data.forEach((v, i) => (t.data[i] = v * Math.SQRT2));
  return weights;
}

/** Percentile calibration on `files`, then the U8S8 and S8S8 sessions of the same network. */
export async function int8Sessions(
  options: VggOptions,
  weights: WeightMap,
  contract: PreprocessContract,
  files: readonly string[],
  threads: number,
): Promise<Int8Sessions> {
  const convs = modelLayers(options).filter((l) => l.kind === 'conv');
  const stats = await calibrate({ options, weights, convs, contract, files });
  const ranges = rangesFor(stats, contract, 'percentile');
  const kernels = int8Kernels();
  const plan = (activations: Int8Plan['activations']): Int8Plan => ({
    activations,
    weightBits: kernels.weightBits,
    ranges,
  });
  const dir = await mkdtemp(join(tmpdir(), 'vggkit-int8-bench-'));
  try {
    const make = async (activations: Int8Plan['activations']): Promise<[Session, number]> => {
      const file = join(dir, `${activations}.onnx`);
      const session = await Session.create(
        buildVggInference({ options, weights, int8: plan(activations) }),
        { threads, optimizedModelFilePath: file },
      );
      const model = onnxProto.onnx.ModelProto.decode(await readFile(file));
      return [session, (model.graph?.node ?? []).filter((n) => n.opType === 'QLinearConv').length];
    };
    const [u8s8, fusedU8] = await make('uint8');
    const [s8s8, fusedS8] = await make('int8');
    return { u8s8, s8s8, fused: { u8s8: fusedU8, s8s8: fusedS8, convs: convs.length } };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Interleaved rounds: every round runs each engine once per batch size, so a burst of load hits
 * all of them; the figure is the median over rounds.
 */
export async function interleaved(
  engines: readonly (readonly [string, Session])[],
  batches: readonly number[],
  rounds: number,
): Promise<SpeedRow[]> {
  const samples = new Map<string, number[]>();
  const inputs = new Map<number, Float32Tensor>(
    batches.map((b) => [
      b,
      {
        dims: [b, 3, 224, 224],
        data: Float32Array.from({ length: b * 3 * 224 * 224 }, (_, i) => Math.sin(i) * 50),
      },
    ]),
  );
  for (const [, session] of engines)
    for (const input of inputs.values()) await session.run({ input });
  for (let r = 0; r < rounds; r++) {
    for (const batch of batches) {
      for (const [name, session] of engines) {
        const input = inputs.get(batch) as Float32Tensor;
        const start = performance.now();
        await session.run({ input });
        const rate = batch / ((performance.now() - start) / 1000);
        const key = `${name}|${batch}`;
        samples.set(key, [...(samples.get(key) ?? []), rate]);
      }
    }
  }
  return [...samples].map(([key, rates]) => {
    const [engine, batch] = key.split('|') as [string, string];
    return { engine, batch: Number(batch), imagesPerSecond: median(rates) };
  });
}

export interface RecipeResult {
  readonly source: string;
  readonly trainImages: number;
  readonly valImages: number;
  readonly inputSize: number;
  readonly epochs: number;
  /** The head's training seeds (its init, dropout and shuffling); features are the same for all. */
  readonly seeds: readonly number[];
  /** Final and best validation accuracy per seed, in `seeds` order. */
  readonly fp32: { readonly valAccuracy: number[]; readonly bestValAccuracy: number[] };
  readonly int8: {
    readonly valAccuracy: number[];
    readonly bestValAccuracy: number[];
    readonly precisionUsed: string;
    readonly figures: string;
  };
  /** |mean int8 - mean fp32| final validation accuracy over the seeds, in percentage points. */
  readonly points: number;
  /** Sample standard deviation of fp32's final validation accuracy across seeds, in points: the noise `points` sits in. */
  readonly fp32SeedSpreadPoints: number;
}

/**
 * The seed recipe's head on fp32 and on int8 features of the same random VGG16, once per seed.
 * One seed cannot tell a 0.5-point effect: the head's own seed moves validation accuracy by more
 * (session 5: int8 2.9 points above fp32 on one seed), so the figure is the mean over seeds with
 * fp32's seed-to-seed spread beside it.
 */
export async function recipeAccuracy(options: {
  readonly perClassTrain: number;
  readonly perClassVal: number;
  readonly inputSize: number;
  readonly epochs: number;
  readonly seeds: readonly number[];
  readonly weights: WeightMap;
  readonly log: (line: string) => void;
}): Promise<RecipeResult> {
  const work = await mkdtemp(join(tmpdir(), 'vggkit-int8-recipe-'));
  try {
    const classes = FASHION_MNIST_CLASSES.map((_, i) => i);
    const train = join(work, 'train');
    const val = join(work, 'val');
    const trainImages = await writeFashionMnist(train, classes, options.perClassTrain, 'train');
    const valImages = await writeFashionMnist(val, classes, options.perClassVal, 't10k');
    const base: VggOptions = {
      arch: 'vgg16',
      includeTop: false,
      inputSize: [options.inputSize, options.inputSize],
      pooling: 'none',
      classes: 0,
    };
    const h5 = join(work, 'vgg16-random-he.h5');
    await writeKerasWeights(
      h5,
      modelLayers(base).map((layer) => {
        const kernel = options.weights.get(kernelKey(layer.name));
        const bias = options.weights.get(biasKey(layer.name));
        return kernel === undefined || bias === undefined
          ? { name: layer.name, weights: [] }
          : {
              name: layer.name,
              weights: [
                { name: 'kernel', tensor: kernel },
                { name: 'bias', tensor: bias },
              ],
            };
      }),
    );
    const run = async (
      precision: 'fp32' | 'int8',
      seed: number,
    ): Promise<{ acc: number; best: number }> => {
      const result = await fineTune({
        data: train,
        out: join(work, `run-${precision}-${seed}`),
        cacheDir: join(work, 'cache'),
        offline: true,
        config: {
          weights: h5,
          inputSize: options.inputSize,
          epochs: options.epochs,
          val,
          precision,
          seed,
        },
        log: (line) => options.log(`${precision}: ${line}`),
      });
      const accuracies = result.history.map((h) => h.val_accuracy ?? Number.NaN);
      return { acc: accuracies.at(-1) ?? Number.NaN, best: Math.max(...accuracies) };
    };
    const fp32: { acc: number; best: number }[] = [];
    const int8: { acc: number; best: number }[] = [];
    for (const seed of options.seeds) {
      fp32.push(await run('fp32', seed));
      int8.push(await run('int8', seed));
    }
    const first = `run-int8-${options.seeds[0]}`;
    const record = JSON.parse(await readFile(join(work, first, 'precision.json'), 'utf8')) as {
      stages: {
        int8: {
          precision: string;
          method?: string;
          methods: Record<string, { cosine: number; minCosine: number }>;
        };
      }[];
    };
    const decision = record.stages[0]?.int8;
    const kept = decision?.method === undefined ? undefined : decision.methods[decision.method];
    return {
      source: 'Fashion-MNIST (train set for training, t10k for validation)',
      trainImages,
      valImages,
      inputSize: options.inputSize,
      epochs: options.epochs,
      seeds: options.seeds,
      fp32: { valAccuracy: fp32.map((r) => r.acc), bestValAccuracy: fp32.map((r) => r.best) },
      int8: {
        valAccuracy: int8.map((r) => r.acc),
        bestValAccuracy: int8.map((r) => r.best),
        precisionUsed: decision?.precision ?? 'unknown',
        figures:
          kept === undefined
            ? ''
            : `${decision?.method}: cosine ${kept.cosine.toFixed(4)}, worst ${kept.minCosine.toFixed(4)}`,
      },
      points: Math.abs(mean(int8.map((r) => r.acc)) - mean(fp32.map((r) => r.acc))) * 100,
      fp32SeedSpreadPoints: sampleSd(fp32.map((r) => r.acc)) * 100,
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
