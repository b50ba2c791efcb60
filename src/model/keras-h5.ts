/**
 * Keras HDF5 weights, read and written the way Keras' legacy `load_weights`/`save_weights` do:
 * the root attribute `layer_names` lists the layers, each layer group's attribute `weight_names`
 * lists its datasets (paths inside the group, kernel first, then bias). Dataset names are never
 * guessed, so the 2016 published files (`block1_conv1_W_1:0` in the group) and TF2-era files
 * (`block1_conv1/kernel:0`, nested) read the same way. Keras layouts already are vggkit's
 * canonical layout (weight-map.ts), so reading is lookup and shape checking, no conversion.
 */
import { randomBytes } from 'node:crypto';
import { rename, rm } from 'node:fs/promises';
import { VggkitError } from '../util/errors.js';
import { type Float32Tensor, tensor } from '../util/tensor.js';
import type { LayerSpec } from './architectures.js';
import {
  corrupt,
  ensureParentGroups,
  float32Values,
  isDataset,
  isGroup,
  openH5,
  type H5File,
  type H5Group,
} from './h5-file.js';
import { biasKey, kernelKey, type WeightMap } from './weight-map.js';

export async function readKerasWeights(
  file: string,
  layers: readonly LayerSpec[],
): Promise<WeightMap> {
  const h5 = await openH5(file, 'r');
  try {
    const root = weightsRoot(h5, file);
    const layerNames = stringsAttribute(root, 'layer_names', file, 'the root group');
    const weights: WeightMap = new Map();
    for (const layer of layers) {
      if (layer.kernelShape === undefined || layer.biasShape === undefined) continue;
      const group = layerNames.includes(layer.name) ? root.get(layer.name) : null;
      if (!isGroup(group)) throw missingLayer(file, layer, layerNames);
      const names = stringsAttribute(group, 'weight_names', file, `layer ${layer.name}`);
      if (names.length !== 2) {
        throw new VggkitError(
          'WEIGHTS_SHAPE',
          `${file}: layer ${layer.name}: expected 2 weights (kernel, bias), received ${names.length} (${names.join(', ')})`,
          { file },
        );
      }
      weights.set(
        kernelKey(layer.name),
        readDataset(group, names[0] as string, layer.kernelShape, file, layer.name, 'kernel'),
      );
      weights.set(
        biasKey(layer.name),
        readDataset(group, names[1] as string, layer.biasShape, file, layer.name, 'bias'),
      );
    }
    return weights;
  } catch (error) {
    throw error instanceof VggkitError ? error : corrupt(file, 'unreadable Keras weights', error);
  } finally {
    h5.close();
  }
}

/** Weights-only files keep layers at the root; whole-model `.h5` files keep them under `model_weights`. */
function weightsRoot(h5: H5File, file: string): H5Group {
  if ('layer_names' in h5.attrs) return h5;
  const nested = h5.get('model_weights');
  if (isGroup(nested) && 'layer_names' in nested.attrs) return nested;
  throw new VggkitError(
    'WEIGHTS_FORMAT',
    `${file}: not a Keras weights file (expected a root attribute layer_names, found none)`,
    { file },
  );
}

function stringsAttribute(group: H5Group, name: string, file: string, where: string): string[] {
  if (!(name in group.attrs)) {
    throw new VggkitError(
      'WEIGHTS_FORMAT',
      `${file}: ${where} has no ${name} attribute, so it is not in Keras weights layout`,
      { file },
    );
  }
  const value = group.get_attribute(name, false);
  const list = Array.isArray(value) ? value : [value];
  // Keras writes these as fixed-length byte strings; padding bytes are not part of the name.
  return list.map((item) =>
    (item instanceof Uint8Array ? Buffer.from(item).toString('utf8') : String(item)).replace(
      /[\0 ]+$/,
      '',
    ),
  );
}

function readDataset(
  group: H5Group,
  name: string,
  expected: readonly number[],
  file: string,
  layer: string,
  role: string,
): Float32Tensor {
  const dataset = group.get(name);
  if (!isDataset(dataset)) {
    throw new VggkitError(
      'WEIGHTS_FORMAT',
      `${file}: layer ${layer}: weight_names lists ${name}, but the group has no such dataset`,
      { file },
    );
  }
  const shape = dataset.shape ?? [];
  if (shape.length !== expected.length || shape.some((size, axis) => size !== expected[axis])) {
    throw new VggkitError(
      'WEIGHTS_SHAPE',
      `${file}: layer ${layer} ${role} (${name}): expected shape [${expected.join(', ')}], received [${shape.join(', ')}]`,
      { file },
    );
  }
  const data = float32Values(dataset);
  if (data !== undefined) return tensor(expected, data);
  throw new VggkitError(
    'WEIGHTS_FORMAT',
    `${file}: layer ${layer} ${role} (${name}): expected float32 or float64 data, received ${dataset.dtype}`,
    { file },
  );
}

function missingLayer(file: string, layer: LayerSpec, present: readonly string[]): VggkitError {
  if (layer.kind === 'dense') {
    // Layers beside the VGG base are a head of the user's own: the file is model.save_weights
    // of their fine-tune, which runs with its architecture, not with ImageNet's top.
    const own = present.filter((n) => !/^(block\d+_(conv\d+|pool)|input(_\d+)?)$/.test(n));
    return new VggkitError(
      'WEIGHTS_NO_TOP',
      own.length > 0
        ? `${file}: has no weights for ${layer.name}: it holds a VGG base with a head of its own (${own.slice(0, 6).join(', ')}), what model.save_weights writes; to run that model give its architecture with these weights (--weights model.json --keras-weights ${file}) or the file model.save wrote (--weights model.keras); train and extract take this file's base as it is`
        : `${file}: has no weights for ${layer.name}: it holds only the convolutional base (no top), so it cannot classify; give a model with a classifier (the file model.save wrote, a vggkit model folder, or --weights imagenet-top for ImageNet's classes); train and extract take this file as it is`,
      { file },
    );
  }
  return new VggkitError(
    'WEIGHTS_MISSING_LAYER',
    `${file}: expected weights for layer ${layer.name}, found layers ${present.join(', ')}`,
    { file },
  );
}

export interface KerasLayerWeights {
  readonly name: string;
  /** In Keras order (kernel, then bias); `name` is the variable name, e.g. `kernel`. */
  readonly weights: readonly { readonly name: string; readonly tensor: Float32Tensor }[];
}

/** The Keras version stamped into files; TF2-era Keras reads legacy h5 weights by these attributes. */
const KERAS_VERSION = '2.15.0';

/**
 * Writes TF2-era Keras `save_weights` HDF5: root attributes layer_names, backend, keras_version;
 * per layer a group whose weight_names (e.g. `fc1/kernel:0`) are the dataset paths inside it.
 * Layers without weights (input, pooling) are listed with empty weight_names, as Keras does.
 */
export async function writeKerasWeights(
  file: string,
  layers: readonly KerasLayerWeights[],
): Promise<void> {
  const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  const h5 = await openH5(temp, 'w');
  let closed = false;
  try {
    fixedStringsAttribute(
      h5,
      'layer_names',
      layers.map((layer) => layer.name),
    );
    h5.create_attribute('backend', 'tensorflow');
    h5.create_attribute('keras_version', KERAS_VERSION);
    for (const layer of layers) {
      const group = h5.create_group(layer.name);
      const weightNames = layer.weights.map((weight) => `${layer.name}/${weight.name}:0`);
      fixedStringsAttribute(group, 'weight_names', weightNames);
      layer.weights.forEach((weight, index) => {
        ensureParentGroups(group, weightNames[index] as string);
        group.create_dataset({
          name: weightNames[index] as string,
          data: weight.tensor.data,
          shape: [...weight.tensor.dims],
          dtype: '<f4',
        });
      });
    }
    h5.close();
    closed = true;
    await rename(temp, file);
  } finally {
    if (!closed) h5.close();
    await rm(temp, { force: true });
  }
}

/** Fixed-length byte strings, like the numpy `S` arrays h5py writes for Keras (not variable-length). */
function fixedStringsAttribute(group: H5Group, name: string, values: readonly string[]): void {
  const width = Math.max(1, ...values.map((value) => Buffer.byteLength(value)));
  group.create_attribute(name, [...values], [values.length], `A${width}`);
}
