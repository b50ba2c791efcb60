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
import type { WeightMap } from './weight-map.js';

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
