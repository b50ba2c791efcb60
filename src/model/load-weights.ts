/**
 * The one entry point from a `--weights` value to weights in memory.
 *
 * Design: `weights` is a registry tag, a local file, or `none`. Tags resolve through the registry
 * (registry.ts) to a cached, checksum-verified file (download.ts); the row's `layout` picks the
 * reader. Local files pick the reader by extension: `.h5`/`.hdf5` is Keras layout and, by the
 * Keras ImageNet convention, the caffe contract; `.safetensors` is torchvision layout and the
 * torch contract. `none` is Keras' random init with the caffe contract. Every reader returns the
 * canonical Keras-layout WeightMap (weight-map.ts) for exactly the layers `vggLayers` lists, so a
 * with-top file loaded without the top yields the convolutional base, and a notop file asked for
 * the top fails with WEIGHTS_NO_TOP before any graph is built. The contract is returned with the
 * weights so no caller can preprocess differently from what the weights were trained with; its
 * input size is the one the model is built at (VGG's conv base accepts any size >= 32).
 */
import { resolve } from 'node:path';
import {
  makeContract,
  type PreprocessContract,
  type PreprocessMode,
  type ResizeMode,
} from '../image/contract.js';
import { invalidOption, UsageError, VggkitError } from '../util/errors.js';
import { Random } from '../util/random.js';
import { vggLayers, type ArchName, type LayerSpec } from './architectures.js';
import { ensureWeightsFile, type DownloadOptions } from './download.js';
import { initWeights } from './init.js';
import { readKerasWeights } from './keras-h5.js';
import { findWeights, WEIGHTS, type WeightsLayout } from './registry.js';
import { readTorchvisionWeights } from './torchvision-weights.js';
import { biasKey, kernelKey, type WeightMap } from './weight-map.js';
import type { HeadSpec } from './head.js';
import { convertKerasFile, isKerasModelPath } from './keras/run.js';
import type { Float32Tensor } from '../util/tensor.js';

export interface LoadWeightsOptions extends DownloadOptions {
  readonly arch: ArchName;
  /** A registry tag (`imagenet`), a path to a `.h5`/`.hdf5`/`.safetensors` file, or `none`. */
  readonly weights: string;
  readonly includeTop: boolean;
  /** Default 224; must be 224 with the top. */
  readonly inputSize?: number | readonly [number, number];
  /** Outputs of `predictions` with the top: registry rows fix it; local files and `none` default to 1000. */
  readonly classes?: number;
  /** Seed of the random init for `none`; default 0. */
  readonly seed?: number;
}

export interface LoadedWeights {
  readonly weights: WeightMap;
  /** A user's Keras model also brings its head (vggkit names `dense`, `dense_1`), when it has one vggkit can express. */
  readonly head?: { readonly spec: HeadSpec; readonly weights: WeightMap };
  /** Lines for a person: what was assumed about the weights (a Keras model's contract). */
  readonly notes?: readonly string[];
  readonly contract: PreprocessContract;
  /** Whether `weights` holds fc1, fc2 and predictions. */
  readonly includesTop: boolean;
  /** Human-readable origin: registry tag and URL, file path, or the random init and its seed. */
  readonly source: string;
}

interface Reader {
  readonly read: (file: string, layers: readonly LayerSpec[]) => Promise<WeightMap>;
  readonly mode: PreprocessMode;
  readonly resize: ResizeMode;
}

const READERS: Record<WeightsLayout, Reader> = {
  'keras-h5': { read: readKerasWeights, mode: 'caffe', resize: 'stretch' },
  'torchvision-safetensors': { read: readTorchvisionWeights, mode: 'torch', resize: 'center-crop' },
};

const EXTENSIONS: readonly (readonly [string, WeightsLayout])[] = [
  ['.h5', 'keras-h5'],
  ['.hdf5', 'keras-h5'],
  ['.safetensors', 'torchvision-safetensors'],
];

export async function loadWeights(options: LoadWeightsOptions): Promise<LoadedWeights> {
  const size = options.inputSize ?? 224;
  const inputSize: readonly [number, number] = typeof size === 'number' ? [size, size] : size;
  const { arch, includeTop } = options;

  if (options.weights === 'none') {
    const seed = options.seed ?? 0;
    const layers = layersFor(arch, includeTop, inputSize, options.classes ?? 1000);
    return {
      weights: initWeights(layers, new Random(seed)),
      contract: makeContract({ mode: 'caffe', inputSize }),
      includesTop: includeTop,
      source: `random init (Glorot-uniform kernels, zero biases, seed ${seed})`,
    };
  }

  // A whole saved Keras model (.keras, .json, or an .h5 with model_config), not a weights file.
  if (await isKerasModelPath(options.weights)) return loadKerasModel(options, inputSize);

  const local = localLayout(options.weights);
  if (local !== undefined) {
    const file = resolve(options.weights);
    const reader = READERS[local];
    const layers = layersFor(arch, includeTop, inputSize, options.classes ?? 1000);
    return {
      weights: await reader.read(file, layers),
      contract: makeContract({ mode: reader.mode, inputSize, resize: reader.resize }),
      includesTop: includeTop,
      source: file,
    };
  }

  const entry = findWeights(arch, options.weights);
  if (includeTop && !entry.includesTop) {
    const withTop = WEIGHTS.filter((row) => row.arch === arch && row.includesTop).map(
      (row) => row.tag,
    );
    throw new VggkitError(
      'WEIGHTS_NO_TOP',
      `${arch} weights ${entry.tag} hold only the convolutional base (no top); drop includeTop, or use ${withTop.join(' or ')}`,
      { exitCode: 2 },
    );
  }
  if (includeTop && options.classes !== undefined && options.classes !== entry.classes) {
    throw invalidOption(
      'classes',
      `${entry.classes} (the ${entry.tag} top's outputs)`,
      options.classes,
    );
  }
  const file = await ensureWeightsFile(entry, options);
  const layers = layersFor(arch, includeTop, inputSize, entry.classes);
  return {
    weights: await READERS[entry.layout].read(file, layers),
    contract: makeContract({
      mode: entry.contract.mode,
      inputSize,
      resize: entry.contract.resize,
      interpolation: entry.contract.interpolation,
    }),
    includesTop: includeTop,
    source: `${arch}.${entry.tag} (${entry.url})`,
  };
}

/**
 * The base (and the top, when asked for) of a user's Keras model, for the layers `vggLayers` lists,
 * shape-checked; its head too; the contract its own preprocessing implies (kerasToVgg).
 */
async function loadKerasModel(
  options: LoadWeightsOptions,
  inputSize: readonly [number, number],
): Promise<LoadedWeights> {
  const file = resolve(options.weights);
  const converted = await convertKerasFile(file);
  if (converted.inputTransform !== undefined) {
    throw new VggkitError(
      'KERAS_UNSUPPORTED',
      `${file}: its own preprocessing layers are none of vggkit's contracts (caffe, torch, tf, none), so vggkit cannot train on from it; its VGG weights expect caffe: replace them by preprocess_input in Keras (vggkit predict and evaluate run it as it is)`,
      { file },
    );
  }
  const layers = layersFor(
    options.arch,
    options.includeTop,
    inputSize,
    options.classes ?? converted.options.classes,
  );
  const weights: WeightMap = new Map();
  for (const layer of layers) {
    if (layer.kernelShape === undefined || layer.biasShape === undefined) continue;
    for (const [key, shape] of [
      [kernelKey(layer.name), layer.kernelShape],
      [biasKey(layer.name), layer.biasShape],
    ] as const) {
      const found = converted.weights.get(key);
      if (found === undefined) {
        throw layer.kind === 'dense'
          ? new VggkitError(
              'WEIGHTS_NO_TOP',
              `${file}: has no ${layer.name} (the model was built with include_top=False); load it without the top`,
              { file },
            )
          : new VggkitError(
              'WEIGHTS_MISSING_LAYER',
              `${file}: expected layer ${layer.name}, the model has none`,
              { file },
            );
      }
      if (found.dims.length !== shape.length || found.dims.some((d, i) => d !== shape[i])) {
        throw new VggkitError(
          'WEIGHTS_SHAPE',
          `${file}: ${key}: expected shape [${shape.join(', ')}] (${options.arch} at ${inputSize.join('x')}), received [${found.dims.join(', ')}]`,
          { file },
        );
      }
      weights.set(key, found);
    }
  }
  const head =
    converted.head === undefined || options.includeTop
      ? undefined
      : {
          spec: converted.head,
          weights: new Map(
            ['dense', 'dense_1'].flatMap((name) => [
              [kernelKey(name), converted.weights.get(kernelKey(name)) as Float32Tensor],
              [biasKey(name), converted.weights.get(biasKey(name)) as Float32Tensor],
            ]),
          ),
        };
  return {
    weights,
    contract: makeContract({
      mode: converted.contract.mode,
      inputSize,
      resize: converted.contract.resize,
      interpolation: converted.contract.interpolation,
    }),
    includesTop: options.includeTop,
    source: file,
    ...(head === undefined ? {} : { head }),
    ...(converted.assumption === undefined ? {} : { notes: [converted.assumption] }),
  };
}

/** The layout a local weights path implies, or undefined for something that is not a path. */
function localLayout(weights: string): WeightsLayout | undefined {
  const lower = weights.toLowerCase();
  const match = EXTENSIONS.find(([extension]) => lower.endsWith(extension));
  if (match !== undefined) return match[1];
  if (/[\\/]/.test(weights) || /\.[a-z0-9]+$/i.test(weights)) {
    throw invalidOption(
      '--weights',
      `a tag, 'none', or a file ending in ${EXTENSIONS.map(([extension]) => extension).join(', ')}`,
      weights,
    );
  }
  return undefined;
}

function layersFor(
  arch: ArchName,
  includeTop: boolean,
  inputSize: readonly [number, number],
  classes: number,
): LayerSpec[] {
  try {
    return vggLayers({ arch, includeTop, inputSize, pooling: 'none', classes });
  } catch (error) {
    throw new UsageError('INVALID_OPTION', `--input-size: ${(error as Error).message}`);
  }
}
