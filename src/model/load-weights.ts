/**
 * The one entry point from a `--weights` value to weights in memory.
 *
 * What the value is (a registry tag, a local file, `none`, …) and which contract it implies is
 * decided by weights-source.ts; this module checks the request against it (the top of a notop
 * source, the classes of a registry top) and reads the weights. Every reader returns the canonical
 * Keras-layout WeightMap (weight-map.ts) for exactly the layers `vggLayers` lists, so a with-top
 * file loaded without the top yields the convolutional base, and a notop file asked for the top
 * fails with WEIGHTS_NO_TOP before any graph is built. The contract is returned with the weights
 * so no caller can preprocess differently from what the weights were trained with; its input size
 * is the one the model is built at (VGG's conv base accepts any size >= 32).
 */
import type { PreprocessContract } from '../image/contract.js';
import { invalidOption, UsageError, VggkitError } from '../util/errors.js';
import { vggLayers, type ArchName, type LayerSpec } from './architectures.js';
import type { DownloadOptions } from './download.js';
import { WEIGHTS } from './registry.js';
import type { WeightMap } from './weight-map.js';
import { contractAt, resolveWeightsSource, type SourceHead } from './weights-source.js';

export interface LoadWeightsOptions extends DownloadOptions {
  readonly arch: ArchName;
  /** A registry tag (`imagenet`), a path to a `.h5`/`.hdf5`/`.safetensors` file, or `none`. */
  readonly weights: string;
  /** `--keras-weights`: the weights of a Keras model architecture given as `weights`. */
  readonly kerasWeights?: string;
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
  readonly head?: SourceHead;
  readonly contract: PreprocessContract;
  /** Whether `weights` holds fc1, fc2 and predictions. */
  readonly includesTop: boolean;
  /** Human-readable origin: registry tag and URL, file path, or the random init and its seed. */
  readonly source: string;
  /** The convention the contract rests on when the weights record none; the caller logs it once. */
  readonly assumption: string | undefined;
}

export async function loadWeights(options: LoadWeightsOptions): Promise<LoadedWeights> {
  const size = options.inputSize ?? 224;
  const inputSize: readonly [number, number] = typeof size === 'number' ? [size, size] : size;
  const { arch, includeTop } = options;
  const resolved = await resolveWeightsSource(arch, options.weights, {
    kerasWeights: options.kerasWeights,
  });
  if (resolved.read === undefined)
    throw new UsageError(
      'UNKNOWN_WEIGHTS',
      `--weights: expected base weights (a tag, 'none', or a weights file), received ${resolved.kind} ${options.weights}; predict, extract and evaluate take it directly`,
    );
  if (includeTop && resolved.includesTop === false) {
    const withTop = WEIGHTS.filter((row) => row.arch === arch && row.includesTop).map(
      (row) => row.tag,
    );
    throw new VggkitError(
      'WEIGHTS_NO_TOP',
      `${arch} weights ${options.weights} hold only the convolutional base (no top); drop includeTop, or use ${withTop.join(' or ')}`,
      { exitCode: 2 },
    );
  }
  if (
    includeTop &&
    resolved.classes !== undefined &&
    options.classes !== undefined &&
    options.classes !== resolved.classes
  ) {
    throw invalidOption(
      'classes',
      `${resolved.classes} (the ${options.weights} top's outputs)`,
      options.classes,
    );
  }
  const layers = layersFor(
    arch,
    includeTop,
    inputSize,
    resolved.classes ?? options.classes ?? 1000,
  );
  const { weights, origin, head } = await resolved.read({
    arch,
    layers,
    inputSize,
    includeTop,
    seed: options.seed ?? 0,
    download: options,
  });
  return {
    weights,
    ...(head === undefined ? {} : { head }),
    contract: contractAt(resolved, inputSize),
    includesTop: includeTop,
    source: origin,
    assumption: resolved.assumption,
  };
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
