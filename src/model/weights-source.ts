/**
 * What a `--weights` value is, and the preprocessing contract and input size it implies: the one
 * place that decides it. Loading (load-weights.ts), training (recipe.ts), the doctor, predict and
 * extract all call `resolveWeightsSource`; none of them looks at extensions or tags itself.
 *
 * A value is offered to the entries of WEIGHTS_SOURCES in order; the first that claims it
 * describes it. An entry is
 *
 *   {
 *     kind:     the source's name ('none', 'model-folder', 'keras-h5', 'registry', …),
 *     accepts:  how the error for an unrecognised value lists it ("a Keras .h5/.hdf5 weights file"),
 *     claims:   (weights) => boolean | Promise<boolean>: by name, or by looking at the file (an
 *               entry may open it; a file that is missing or unreadable is simply not claimed),
 *     describe: (weights, arch, options) => Promise<WeightsSource>: its contract at its natural input size,
 *               whether that size is fixed, whether it holds the top, the assumption behind the
 *               contract when the file does not record one, and how to read its weights,
 *   }
 *
 * so a new kind of source is one more entry, placed before the entries it refines (a full Keras
 * model, recognised by its `model_config` attribute, goes before the plain Keras weights entry
 * that claims every `.h5`). The registry entry comes last: it claims every remaining name and
 * raises UNKNOWN_WEIGHTS listing what each entry accepts.
 */
import { resolve } from 'node:path';
import { makeContract, type PreprocessContract } from '../image/contract.js';
import { readingInput, UsageError } from '../util/errors.js';
import { Random } from '../util/random.js';
import type { ArchName, LayerSpec } from './architectures.js';
import type { DownloadOptions } from './download.js';
import type { Network } from './folder-network.js';
import type { HeadSpec } from './head.js';
import { KERAS_MODEL_SOURCE } from './keras/source.js';
import { isModelFolder, readModelFolder, type LoadedModelFolder } from './model-folder.js';
import { WEIGHTS, type WeightsEntry } from './registry.js';
import type { WeightMap } from './weight-map.js';

/** What a reader needs: the layers to fill (at this size, with or without the top), a seed, how to download. */
export interface ReadRequest {
  readonly arch: ArchName;
  readonly layers: readonly LayerSpec[];
  readonly inputSize: readonly [number, number];
  readonly includeTop: boolean;
  readonly seed: number;
  readonly download: DownloadOptions;
}

/** A saved model's own head (vggkit names `dense`, `dense_1`), to continue from when it fits. */
export interface SourceHead {
  readonly spec: HeadSpec;
  readonly weights: WeightMap;
}

export interface ReadWeights {
  readonly weights: WeightMap;
  /** Human-readable origin: registry tag and URL, file path, or the random init and its seed. */
  readonly origin: string;
  /** A whole saved model brings its head too (read without the top). */
  readonly head?: SourceHead;
}

/**
 * A model that runs as it is (a vggkit model folder, a user's Keras model): its inference graph
 * and metadata, as a model folder holds them, and lines a person should see about it.
 */
export interface RunnableModel {
  readonly folder: LoadedModelFolder;
  readonly notes: readonly string[];
  /**
   * The network behind the folder's graph (architecture, head, weights, contract), for building
   * it again at another precision; its weights are read only when this is called.
   */
  readonly network: () => Promise<Network>;
}

export interface WeightsSource {
  readonly kind: string;
  /** The value as given. */
  readonly weights: string;
  /** The contract the weights were trained with, at their natural input size (224 by default). */
  readonly contract: PreprocessContract;
  /** A model folder is built at one size; other weights work at any size >= 32. */
  readonly fixedInputSize: boolean;
  /** Whether the weights hold fc1, fc2 and predictions; undefined when only the file can say. */
  readonly includesTop: boolean | undefined;
  /** Outputs of the top, when the source fixes them (registry rows). */
  readonly classes: number | undefined;
  /**
   * Set when the contract is a convention rather than a record of how the weights were trained
   * (a local file carries none): one line, naming the flag that overrides it, for the caller to
   * log once.
   */
  readonly assumption: string | undefined;
  /** The registry row, for registry sources. */
  readonly entry: WeightsEntry | undefined;
  /** Reads the weights for `layers`; undefined when the source cannot serve as base weights. */
  readonly read: ((request: ReadRequest) => Promise<ReadWeights>) | undefined;
  /**
   * Opens the source as a runnable model (predict, evaluate, the doctor's model check); undefined
   * for plain weights, which are built into a network first. `classNames` names the outputs when
   * the source keeps none (a Keras file), in output order.
   */
  readonly open: ((classNames?: readonly string[]) => Promise<RunnableModel>) | undefined;
}

/** What may come with a `--weights` value. */
export interface SourceOptions {
  /**
   * `--keras-weights`: the weights of a Keras model given as `--weights` (a `model.save_weights`
   * .h5 for the architecture-only JSON `model.to_json()` writes), loaded into it as Keras'
   * `model.load_weights` does. Only a Keras model takes it.
   */
  readonly kerasWeights?: string | undefined;
}

export interface WeightsSourceEntry {
  readonly kind: string;
  readonly accepts: string;
  readonly claims: (weights: string) => boolean | Promise<boolean>;
  readonly describe: (
    weights: string,
    arch: ArchName,
    options: SourceOptions,
  ) => Promise<WeightsSource>;
}

const NATURAL_SIZE = 224;

function source(
  fields: Partial<WeightsSource> & Pick<WeightsSource, 'kind' | 'weights' | 'contract'>,
): WeightsSource {
  return {
    fixedInputSize: false,
    includesTop: undefined,
    classes: undefined,
    assumption: undefined,
    entry: undefined,
    read: undefined,
    open: undefined,
    ...fields,
  };
}

/** A local weights file picked by its extension, in a layout that records no preprocessing. */
function localFile(options: {
  kind: string;
  accepts: string;
  extensions: readonly string[];
  contract: PreprocessContract;
  convention: string;
  read: (file: string, layers: readonly LayerSpec[]) => Promise<WeightMap>;
}): WeightsSourceEntry {
  return {
    kind: options.kind,
    accepts: options.accepts,
    claims: (weights) => options.extensions.some((e) => weights.toLowerCase().endsWith(e)),
    describe: async (weights) => {
      const file = resolve(weights);
      return source({
        kind: options.kind,
        weights,
        contract: options.contract,
        assumption: `${weights}: the file records no preprocessing; ${options.convention} assumed (override with --preprocess, --resize)`,
        // The file was named (--weights FILE): unreadable is exit 2. The registry's cached
        // downloads share the readers but are no one's input, so they keep exit 1.
        read: async ({ layers }) => ({
          weights: await readingInput(() => options.read(file, layers)),
          origin: file,
        }),
      });
    },
  };
}

function unknownWeights(arch: ArchName, weights: string): UsageError {
  const tags = WEIGHTS.filter((row) => row.arch === arch).map((row) => row.tag);
  const listing = tags.length === 0 ? 'none are published' : `known tags: ${tags.join(', ')}`;
  const forms = WEIGHTS_SOURCES.filter((e) => e.kind !== 'registry').map((e) => e.accepts);
  return new UsageError(
    'UNKNOWN_WEIGHTS',
    `--weights: no ${arch} weights tagged ${JSON.stringify(weights)} (${listing}; or ${forms.join(', or ')})`,
  );
}

export const WEIGHTS_SOURCES: readonly WeightsSourceEntry[] = [
  {
    // Random init is built like Keras' VGG16, so it is fed like it.
    kind: 'none',
    accepts: "'none' (random init)",
    claims: (weights) => weights === 'none',
    describe: async (weights) =>
      source({
        kind: 'none',
        weights,
        contract: makeContract({ mode: 'caffe', inputSize: NATURAL_SIZE }),
        read: async ({ layers, seed }) => ({
          weights: (await import('./init.js')).initWeights(layers, new Random(seed)),
          origin: `random init (Glorot-uniform kernels, zero biases, seed ${seed})`,
        }),
      }),
  },
  {
    // A folder vggkit wrote: its metadata records the contract, classes and input size.
    kind: 'model-folder',
    accepts: 'a vggkit model folder',
    claims: (weights) => isModelFolder(weights),
    describe: async (weights) => {
      const folder = await readModelFolder(weights);
      return source({
        kind: 'model-folder',
        weights,
        contract: folder.metadata.contract,
        fixedInputSize: true,
        includesTop: true,
        open: async () => ({
          folder,
          notes: [],
          network: async () => (await import('./folder-network.js')).folderNetwork(weights, folder),
        }),
      });
    },
  },
  KERAS_MODEL_SOURCE,
  localFile({
    kind: 'keras-h5',
    accepts: 'a Keras .h5/.hdf5 weights file',
    extensions: ['.h5', '.hdf5'],
    contract: makeContract({ mode: 'caffe', inputSize: NATURAL_SIZE, resize: 'stretch' }),
    convention: "Keras' caffe contract (BGR, ImageNet mean, stretch)",
    read: readKerasWeightsLazily,
  }),
  localFile({
    kind: 'torchvision-safetensors',
    accepts: 'a torchvision-layout .safetensors file',
    extensions: ['.safetensors'],
    contract: makeContract({ mode: 'torch', inputSize: NATURAL_SIZE, resize: 'center-crop' }),
    convention: "torchvision's torch contract (RGB, ImageNet mean/std, center-crop)",
    read: readTorchvisionWeightsLazily,
  }),
  {
    kind: 'registry',
    accepts: 'a registry tag',
    claims: () => true,
    describe: async (weights, arch) => {
      const entry = WEIGHTS.find((row) => row.arch === arch && row.tag === weights);
      if (entry === undefined) throw unknownWeights(arch, weights);
      const read = READ_LAYOUT[entry.layout];
      return source({
        kind: 'registry',
        weights,
        contract: entry.contract,
        includesTop: entry.includesTop,
        classes: entry.classes,
        entry,
        read: async ({ layers, download }) => ({
          weights: await read(
            await (await import('./download.js')).ensureWeightsFile(entry, download),
            layers,
          ),
          origin: `${arch}.${entry.tag} (${entry.url})`,
        }),
      });
    },
  },
];

// The readers (h5wasm, safetensors) load when weights are read, not when a value is resolved:
// a one-image predict on a model folder resolves its --weights and never reads a weights file.
async function readKerasWeightsLazily(
  file: string,
  layers: readonly LayerSpec[],
): Promise<WeightMap> {
  return (await import('./keras-h5.js')).readKerasWeights(file, layers);
}

async function readTorchvisionWeightsLazily(
  file: string,
  layers: readonly LayerSpec[],
): Promise<WeightMap> {
  return (await import('./torchvision-weights.js')).readTorchvisionWeights(file, layers);
}

const READ_LAYOUT: Record<
  WeightsEntry['layout'],
  (file: string, layers: readonly LayerSpec[]) => Promise<WeightMap>
> = {
  'keras-h5': readKerasWeightsLazily,
  'torchvision-safetensors': readTorchvisionWeightsLazily,
};

/**
 * The first entry of WEIGHTS_SOURCES that claims `weights`, and what it says about them. The value
 * was named on the command line (--weights, evaluate's model), so a file or folder that cannot be
 * read while it is looked at (a .h5 that is no HDF5, a truncated .keras) exits 2 (readingInput).
 */
export async function resolveWeightsSource(
  arch: ArchName,
  weights: string,
  options: SourceOptions = {},
): Promise<WeightsSource> {
  return readingInput(() => firstClaim(arch, weights, options));
}

async function firstClaim(
  arch: ArchName,
  weights: string,
  options: SourceOptions,
): Promise<WeightsSource> {
  for (const entry of WEIGHTS_SOURCES) {
    if (!(await entry.claims(weights))) continue;
    // Described first: a name that is nothing at all is UNKNOWN_WEIGHTS, the clearer error.
    const described = await entry.describe(weights, arch, options);
    if (options.kerasWeights !== undefined && entry.kind !== KERAS_MODEL_SOURCE.kind)
      throw new UsageError(
        'CONFLICTING_OPTIONS',
        `--keras-weights ${options.kerasWeights}: goes with a Keras model (a model.to_json() JSON, .keras or model.save .h5) as the model; ${weights} is ${entry.kind === 'registry' ? 'a registry tag' : entry.accepts}`,
      );
    return described;
  }
  throw unknownWeights(arch, weights);
}

/** The source's contract at `inputSize` (a fixed-size source keeps its own). */
export function contractAt(
  resolved: WeightsSource,
  inputSize: number | readonly [number, number],
): PreprocessContract {
  if (resolved.fixedInputSize) return resolved.contract;
  const { mode, resize, interpolation } = resolved.contract;
  return makeContract({ mode, inputSize, resize, interpolation });
}
