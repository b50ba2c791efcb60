/**
 * The PyTorch oracle's cases (test/fixtures/keras/make_fixtures.py) as Keras models: the weights
 * the script wrote, put into a `ModelDef` the writer renders in any Keras layout, plus the raw
 * pixels and the probabilities Keras computes for them. Shared by the tests that run a user's
 * Keras model inside vggkit (run.test.ts in-process, architecture-weights.test.ts through the CLI).
 */
import { join } from 'node:path';
import { readNpy } from '../../../src/data/npy.js';
import { readSafetensors } from '../../../src/model/safetensors.js';
import type { Float32Tensor } from '../../../src/util/tensor.js';
import {
  activationLayer,
  batchNorm,
  dense,
  dropout,
  flatten,
  globalAvg,
  input,
  rescaling,
  vggBase,
  type CompileDef,
  type LayerDef,
  type ModelDef,
} from './writer.js';

export const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures', 'keras');

const WIDTHS = [
  [4, 4],
  [4, 4],
  [8, 8, 8],
  [8, 8, 8],
  [8, 8, 8],
] as const;

const COMPILE: CompileDef = {
  loss: 'categorical_crossentropy',
  optimizer: { className: 'Adam', config: { learning_rate: 1e-4 } },
};

export interface OracleCase {
  readonly name: string;
  readonly size: readonly [number, number];
  readonly build: (w: Map<string, Float32Tensor>, base: LayerDef[]) => LayerDef[];
  readonly contract: string;
}

export function pair(w: Map<string, Float32Tensor>, layer: string): [Float32Array, Float32Array] {
  return [
    w.get(`${layer}/kernel`)?.data as Float32Array,
    w.get(`${layer}/bias`)?.data as Float32Array,
  ];
}

export const CASES: readonly OracleCase[] = [
  {
    name: 'flatten_caffe',
    size: [64, 96],
    contract: 'caffe',
    build: (w, base) => [
      ...base,
      flatten('flatten'),
      dense('dense_7', 48, 6, 'relu', { data: pair(w, 'dense_7') }),
      dropout('dropout', 0.5),
      dense('dense_8', 6, 3, 'softmax', { data: pair(w, 'dense_8') }),
    ],
  },
  {
    name: 'rescale_avg',
    size: [32, 32],
    contract: 'none',
    build: (w, base) => [
      rescaling('rescaling', 1 / 255),
      ...base,
      globalAvg(),
      dense('dense', 8, 5, 'relu', { data: pair(w, 'dense') }),
      dense('dense_1', 5, 1, 'sigmoid', { data: pair(w, 'dense_1') }),
    ],
  },
  {
    name: 'top_kept',
    size: [32, 32],
    contract: 'caffe',
    build: (w, base) => [
      ...base,
      flatten('flatten'),
      dense('fc1', 8, 8, 'relu', { data: pair(w, 'fc1') }),
      dense('fc2', 8, 8, 'relu', { data: pair(w, 'fc2') }),
      dropout('dropout', 0.3),
      dense('dense_1', 8, 4, 'softmax', { data: pair(w, 'dense_1') }),
    ],
  },
  {
    // Two hidden Dense layers and BatchNormalization after Flatten, between a linear Dense and
    // its Activation, and after a Dense(relu); flatten at 32x32 gives 8 features.
    name: 'bn_head',
    size: [32, 32],
    contract: 'caffe',
    build: (w, base) => [
      ...base,
      flatten('flatten'),
      batchNorm(
        'batch_normalization',
        8,
        { center: false, scale: true, epsilon: 1e-3 },
        bn(w, 'batch_normalization'),
      ),
      dense('dense', 8, 6, 'linear', { data: pair(w, 'dense') }),
      batchNorm(
        'batch_normalization_1',
        6,
        { center: true, scale: true, epsilon: 1e-3 },
        bn(w, 'batch_normalization_1'),
      ),
      activationLayer('activation', 'relu'),
      dropout('dropout', 0.5),
      dense('dense_1', 6, 5, 'relu', { data: pair(w, 'dense_1') }),
      batchNorm(
        'batch_normalization_2',
        5,
        { center: true, scale: false, epsilon: 1e-2 },
        bn(w, 'batch_normalization_2'),
      ),
      dense('dense_2', 5, 3, 'softmax', { data: pair(w, 'dense_2') }),
    ],
  },
];

/** A BatchNormalization layer's variables the script wrote (only those the layer has). */
function bn(
  w: Map<string, Float32Tensor>,
  layer: string,
): Record<string, Float32Array | undefined> {
  return Object.fromEntries(
    ['gamma', 'beta', 'moving_mean', 'moving_variance'].map((role) => [
      role,
      w.get(`${layer}/${role}`)?.data,
    ]),
  );
}

export function oracleCase(name: string): OracleCase {
  const found = CASES.find((c) => c.name === name);
  if (found === undefined) throw new Error(`no oracle case ${name}`);
  return found;
}

/** The case as the user built it: a flat Functional, or the base nested as `vgg16` in a Sequential. */
export async function modelFor(c: OracleCase, nested: boolean): Promise<ModelDef> {
  const { tensors } = await readSafetensors(join(FIXTURES, `${c.name}.safetensors`));
  const data = new Map<string, readonly [Float32Array, Float32Array]>();
  for (const key of tensors.keys()) {
    const layer = key.split('/')[0] as string;
    if (/^block\d_conv\d$/.test(layer)) data.set(layer, pair(tensors, layer));
  }
  const base = vggBase({ widths: WIDTHS, trainableFrom: 6, data });
  const inputLayer = input('input_1', [c.size[0], c.size[1], 3]);
  const layers = c.build(tensors, base);
  if (!nested)
    return {
      className: 'Functional',
      name: 'model',
      layers: [inputLayer, ...layers],
      compile: COMPILE,
    };
  // The base as keras.applications builds it, nested in the user's Sequential.
  const first = layers.findIndex((l) => l.name === 'block1_conv1');
  const last = layers.findIndex((l) => l.name === 'block5_pool');
  const vgg: LayerDef = {
    className: 'Functional',
    name: 'vgg16',
    config: {},
    model: {
      className: 'Functional',
      name: 'vgg16',
      layers: [inputLayer, ...layers.slice(first, last + 1)],
    },
  };
  return {
    className: 'Sequential',
    name: 'sequential',
    layers: [
      input('vgg16_input', [c.size[0], c.size[1], 3]),
      ...layers.slice(0, first),
      vgg,
      ...layers.slice(last + 1),
    ],
    compile: COMPILE,
  };
}

/** The raw uint8 NHWC pixels of the case and the probabilities Keras computes for them. */
export async function oracle(
  c: OracleCase,
): Promise<{ pixels: Uint8Array; dims: readonly number[]; probs: Float32Array }> {
  const pixels = await readNpy(join(FIXTURES, `${c.name}.input.npy`));
  const probs = await readNpy(join(FIXTURES, `${c.name}.probs.npy`));
  return {
    pixels: pixels.data as Uint8Array,
    dims: pixels.dims,
    probs: probs.data as Float32Array,
  };
}

/** The largest |a - b| over two equally long arrays. */
export function worstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - (b[i] as number)));
  return worst;
}
