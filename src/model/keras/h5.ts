/**
 * Legacy full-model `.h5` (`model.save('m.h5')`, Keras 2.0 to 3.x), as
 * keras/src/legacy/saving/legacy_h5_format.py `save_model_to_hdf5` writes it:
 * - root attributes `keras_version`, `backend`, `model_config` (JSON `{class_name, config}`) and,
 *   when compiled, `training_config` (saving_utils.py `model_metadata`);
 * - group `model_weights` (`save_weights_to_hdf5_group`): attribute `layer_names`, one group per
 *   layer with attribute `weight_names` listing dataset paths inside it (`conv2d_1/kernel:0` in
 *   tf.keras, `sequential/conv2d/kernel` in Keras 3, `block1_conv1_W_1:0` in Keras 1), trainable
 *   variables first (`_legacy_weights`). A nested model is one group holding all its layers' weights;
 * - group `optimizer_weights` with its own `weight_names` (`save_optimizer_weights_to_hdf5_group`).
 * `layer_names` / `weight_names` longer than HDF5's 64 KiB attribute limit are split into
 * `name0`, `name1`, … (`save_attributes_to_hdf5_group`); reading joins them
 * (`load_attributes_from_hdf5_group`).
 * A `save_weights` file has `layer_names` at the root and no `model_config`: it is named as a
 * weights file and pointed to `--keras-weights` (read.ts `attachWeights` reads it).
 */
import { VggkitError } from '../../util/errors.js';
import { tensor } from '../../util/tensor.js';
import { corrupt, float32Values, isDataset, isGroup, openH5, type H5Group } from '../h5-file.js';
import { parseJson, parseModelConfig } from './config.js';
import {
  layerPath,
  leafLayers,
  type KerasLayer,
  type KerasModel,
  type KerasVariable,
  type KerasVariableInfo,
  type LayerVariables,
  type OptimizerState,
} from './model.js';
import { parseTrainingConfig } from './training.js';

export interface ReadOptions {
  /** Read the weight values too (the doctor's static checks need only their names and shapes). */
  readonly withWeights?: boolean;
}

function decode(value: unknown): string {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  return String(value);
}

/** A string attribute (h5py writes str or bytes; both arrive here). */
export function stringAttribute(group: H5Group, name: string): string | undefined {
  if (!(name in group.attrs)) return undefined;
  const value = group.get_attribute(name, false);
  return decode(Array.isArray(value) ? value[0] : value).replace(/\0+$/, '');
}

/** A list-of-strings attribute, joined from `name0`, `name1`, … when Keras had to split it. */
export function stringsAttribute(group: H5Group, name: string): string[] | undefined {
  const one = (key: string): string[] => {
    const value = group.get_attribute(key, false);
    const list: unknown[] = Array.isArray(value) ? value : value === null ? [] : [value];
    // Fixed-length byte strings keep their padding; it is not part of the name.
    return list.map((item) => decode(item).replace(/[\0 ]+$/, '')).filter((s) => s !== '');
  };
  if (name in group.attrs) return one(name);
  if (!(`${name}0` in group.attrs)) return undefined;
  const joined: string[] = [];
  for (let chunk = 0; `${name}${chunk}` in group.attrs; chunk++)
    joined.push(...one(`${name}${chunk}`));
  return joined;
}

/** `block1_conv1/kernel:0` -> kernel; Keras 1's `block1_conv1_W_1:0` -> kernel. */
export function variableName(raw: string, layerName: string): string {
  const base = raw.replace(/:\d+$/, '');
  const last = base.split('/').at(-1) ?? base;
  if (base.includes('/')) return last;
  const suffix = last.startsWith(`${layerName}_`) ? last.slice(layerName.length + 1) : last;
  const role = suffix.replace(/_\d+$/, '');
  return role === 'W' ? 'kernel' : role === 'b' ? 'bias' : role;
}

/** The leaf layer of `layer` (itself when it is not a model) a weight name belongs to. */
function ownerOf(layer: KerasLayer, raw: string): KerasLayer {
  if (layer.layers === undefined) return layer;
  const parts = raw.replace(/:\d+$/, '').split('/');
  const inner = leafLayers(layer.layers);
  for (let i = parts.length - 2; i >= 0; i--) {
    const found = inner.find((candidate) => candidate.name === parts[i]);
    if (found !== undefined) return found;
  }
  // Keras 1 names without slashes: the longest layer name the weight name starts with.
  const prefixed = inner
    .filter((candidate) => raw.startsWith(`${candidate.name}_`))
    .sort((a, b) => b.name.length - a.name.length)[0];
  return prefixed ?? layer;
}

export function readModelWeights(
  group: H5Group,
  layers: readonly KerasLayer[],
  withWeights: boolean,
  file: string,
): LayerVariables {
  const info = new Map<string, KerasVariableInfo[]>();
  const values = new Map<string, KerasVariable[]>();
  const names = stringsAttribute(group, 'layer_names') ?? [];
  for (const layerName of names) {
    const layerGroup = group.get(layerName);
    if (!isGroup(layerGroup)) continue;
    const layer = layers.find((candidate) => candidate.name === layerName);
    for (const raw of stringsAttribute(layerGroup, 'weight_names') ?? []) {
      const dataset = layerGroup.get(raw);
      if (!isDataset(dataset)) {
        throw new VggkitError(
          'KERAS_FORMAT',
          `${file}: model_weights/${layerName}: weight_names lists ${raw}, but the group has no such dataset`,
          { file },
        );
      }
      const owner = layer === undefined ? undefined : ownerOf(layer, raw);
      const key = owner === undefined ? layerName : layerPath(owner);
      const name = variableName(raw, owner?.name ?? layerName);
      const shape = [...(dataset.shape ?? [])];
      info.set(key, [...(info.get(key) ?? []), { name, shape }]);
      if (withWeights) {
        const data = float32Values(dataset);
        if (data === undefined) {
          throw new VggkitError(
            'KERAS_FORMAT',
            `${file}: ${key} ${name}: expected float32 or float64 weights, received ${dataset.dtype}`,
            { file },
          );
        }
        values.set(key, [...(values.get(key) ?? []), { name, tensor: tensor(shape, data) }]);
      }
    }
  }
  return { info, values };
}

function optimizerState(root: H5Group): OptimizerState | undefined {
  const group = root.get('optimizer_weights');
  if (!isGroup(group)) return undefined;
  const slots = (stringsAttribute(group, 'weight_names') ?? []).map((name) => {
    const dataset = group.get(name);
    return { name, shape: isDataset(dataset) ? [...(dataset.shape ?? [])] : [] };
  });
  return { slots };
}

export async function readKerasH5(file: string, options: ReadOptions = {}): Promise<KerasModel> {
  const h5 = await openH5(file, 'r');
  try {
    const configText = stringAttribute(h5, 'model_config');
    if (configText === undefined) {
      const weightsOnly =
        'layer_names' in h5.attrs ||
        'layer_names0' in h5.attrs ||
        (isGroup(h5.get('model_weights')) && !('model_config' in h5.attrs));
      // VGG16 base weights (keras.applications' own files, or save_weights of a flat fine-tune)
      // are what --weights takes: a user holding only those can still train from them.
      const vggBase =
        weightsOnly && (stringsAttribute(h5, 'layer_names') ?? []).includes('block1_conv1');
      throw new VggkitError(
        weightsOnly ? 'KERAS_WEIGHTS_ONLY' : 'KERAS_FORMAT',
        weightsOnly
          ? `${file}: holds only weights (what model.save_weights writes: layer_names, no model_config), not a model; give the architecture (model.to_json()) as the model and this file with --keras-weights ${file}${vggBase ? `, or train from its VGG16 base with vggkit train DATA --weights ${file}` : ''}`
          : `${file}: not a Keras model file (expected a root attribute model_config, found none)`,
        { file },
      );
    }
    const parsed = parseModelConfig(parseJson(configText, file, 'model_config'), file);
    const trainingText = stringAttribute(h5, 'training_config');
    const training =
      trainingText === undefined
        ? undefined
        : parseTrainingConfig(parseJson(trainingText, file, 'training_config'));
    const weightsGroup = h5.get('model_weights');
    const variables = isGroup(weightsGroup)
      ? readModelWeights(weightsGroup, parsed.layers, options.withWeights === true, file)
      : undefined;
    const kerasVersion =
      stringAttribute(h5, 'keras_version') ??
      (isGroup(weightsGroup) ? stringAttribute(weightsGroup, 'keras_version') : undefined);
    const backend = stringAttribute(h5, 'backend');
    const optimizer = optimizerState(h5);
    return {
      file,
      format: 'keras-h5',
      ...(kerasVersion === undefined ? {} : { kerasVersion }),
      ...(backend === undefined ? {} : { backend }),
      className: parsed.className,
      name: parsed.name,
      layers: parsed.layers,
      ...(parsed.output === undefined ? {} : { output: parsed.output }),
      ...(parsed.inputShape === undefined ? {} : { inputShape: parsed.inputShape }),
      ...(training === undefined ? {} : { training }),
      ...(variables === undefined ? {} : { variables: variables.info, weightsFile: file }),
      ...(options.withWeights === true && variables !== undefined
        ? { weights: variables.values }
        : {}),
      ...(optimizer === undefined ? {} : { optimizerState: optimizer }),
    };
  } catch (error) {
    throw error instanceof VggkitError ? error : corrupt(file, 'unreadable Keras model', error);
  } finally {
    h5.close();
  }
}

/** Whether an `.h5` is a full saved model (root attribute `model_config`), not a weights file. */
export async function isKerasModelH5(file: string): Promise<boolean> {
  const h5 = await openH5(file, 'r');
  try {
    return 'model_config' in h5.attrs;
  } finally {
    h5.close();
  }
}
