/**
 * Keras 3 `.keras` archives, as keras/src/saving/saving_lib.py `_save_model_to_fileobj` writes
 * them: a zip holding `metadata.json` (`{keras_version, date_saved}`), `config.json`
 * (`serialize_keras_object(model)`: `{module, class_name, config, build_config,
 * compile_config}`) and `model.weights.h5` (or `.npz`, which vggkit does not read).
 *
 * The weights file has no layer names in its paths: `_save_state` walks `model.layers` and gives
 * each layer the snake-cased class name, made unique per container (`_save_container_state`:
 * `conv2d`, `conv2d_1`, …), so a layer's variables live at `layers/<that name>/vars/<i>`, a nested
 * model's at `layers/functional/layers/conv2d/vars/0`, and the optimizer's at `optimizer/vars/<i>`.
 * `Sequential.layers` omits the InputLayer, `Functional.layers` keeps it; traced ops
 * (`keras.src.ops.*`) are operations, not layers, and take no name. Newer writers also stamp
 * each `vars` group with the layer's `name` attribute (`_save_state` metadata), which this reader
 * prefers when present. `_layer_checkpoint_dependencies` replaces `layers` in files from the
 * Keras 2.13 transition (`H5Entry`'s "Fix for 2.13 compatibility").
 */
import { randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { VggkitError } from '../../util/errors.js';
import { tensor } from '../../util/tensor.js';
import {
  corrupt,
  float32Values,
  isDataset,
  isGroup,
  openH5,
  type H5File,
  type H5Group,
} from '../h5-file.js';
import { parseJson, parseModelConfig } from './config.js';
import type { ReadOptions } from './h5.js';
import {
  layerPath,
  type KerasLayer,
  type KerasModel,
  type KerasVariable,
  type KerasVariableInfo,
  type LayerVariables,
  type OptimizerState,
} from './model.js';
import { parseTrainingConfig, snakeCase } from './training.js';

/** Variable order of `save_own_variables` (trainable variables, then non-trainable) per class. */
const VARIABLE_NAMES: Readonly<Record<string, readonly string[]>> = {
  Conv2D: ['kernel', 'bias'],
  Dense: ['kernel', 'bias'],
  BatchNormalization: ['gamma', 'beta', 'moving_mean', 'moving_variance'],
  Normalization: ['mean', 'variance', 'count'],
};

/** Traced ops in a Functional config are Operations, not Layers: `model.layers` skips them. */
function isOperation(layer: KerasLayer): boolean {
  return layer.module?.startsWith('keras.src.ops') === true;
}

interface Located {
  readonly layer: KerasLayer;
  readonly group: string;
}

/** Each weighted layer and the `vars` group `_save_state` wrote it to. */
function locate(
  h5: H5File,
  layers: readonly KerasLayer[],
  sequential: boolean,
  prefix: string,
  out: Located[],
): void {
  const used = new Map<string, number>();
  const container =
    h5.get(`${prefix}layers`) === null && h5.get(`${prefix}_layer_checkpoint_dependencies`) !== null
      ? '_layer_checkpoint_dependencies'
      : 'layers';
  for (const layer of layers) {
    if (isOperation(layer) || (sequential && layer.className === 'InputLayer')) continue;
    const base = snakeCase(layer.className);
    const count = used.get(base);
    used.set(base, count === undefined ? 0 : count + 1);
    const name = count === undefined ? base : `${base}_${count + 1}`;
    const path = `${prefix}${container}/${name}`;
    if (layer.layers !== undefined)
      locate(h5, layer.layers, layer.className === 'Sequential', `${path}/`, out);
    else out.push({ layer, group: `${path}/vars` });
  }
}

/** Groups stamped with a layer `name` (newer writers), by that name; names used twice are dropped. */
function stampedGroups(h5: H5File): Map<string, string> {
  const found = new Map<string, string | null>();
  const walk = (group: H5Group, path: string): void => {
    for (const key of group.keys()) {
      const child = group.get(key);
      if (!isGroup(child)) continue;
      const childPath = path === '' ? key : `${path}/${key}`;
      if (key === 'vars' && 'name' in child.attrs && !childPath.startsWith('optimizer')) {
        const name = String(child.get_attribute('name', false));
        found.set(name, found.has(name) ? null : childPath);
      } else if (key !== 'vars') walk(child, childPath);
    }
  };
  walk(h5, '');
  const unique = new Map<string, string>();
  for (const [name, path] of found) if (path !== null) unique.set(name, path);
  return unique;
}

function numbered(group: H5Group): string[] {
  return group
    .keys()
    .filter((key) => /^\d+$/.test(key))
    .sort((a, b) => Number(a) - Number(b));
}

/** Variables of `layers` from an h5 in saving_lib layout (`model.weights.h5`, Keras 3 `.weights.h5`). */
export function readSavingLibWeights(
  h5: H5File,
  layers: readonly KerasLayer[],
  sequential: boolean,
  withWeights: boolean,
  file: string,
): LayerVariables {
  const located: Located[] = [];
  locate(h5, layers, sequential, '', located);
  const stamped = stampedGroups(h5);
  const info = new Map<string, KerasVariableInfo[]>();
  const values = new Map<string, KerasVariable[]>();
  for (const { layer, group: computed } of located) {
    const path = stamped.get(layer.name) ?? computed;
    const group = h5.get(path);
    if (!isGroup(group)) continue;
    const key = layerPath(layer);
    const names = VARIABLE_NAMES[layer.className];
    const indices = numbered(group);
    const list: KerasVariableInfo[] = [];
    const read: KerasVariable[] = [];
    for (const index of indices) {
      const dataset = group.get(index);
      if (!isDataset(dataset)) continue;
      const name = names?.[Number(index)] ?? index;
      const shape = [...(dataset.shape ?? [])];
      list.push({ name, shape });
      if (withWeights) {
        const data = float32Values(dataset);
        if (data === undefined) {
          throw new VggkitError(
            'KERAS_FORMAT',
            `${file}: ${key} variable ${index}: expected float32 or float64 weights, received ${dataset.dtype}`,
            { file },
          );
        }
        read.push({ name, tensor: tensor(shape, data) });
      }
    }
    if (list.length > 0) info.set(key, list);
    if (read.length > 0) values.set(key, read);
  }
  return { info, values };
}

function optimizerState(h5: H5File): OptimizerState | undefined {
  const group = h5.get('optimizer/vars');
  if (!isGroup(group)) return undefined;
  const slots = numbered(group).map((index) => {
    const dataset = group.get(index);
    return { name: index, shape: isDataset(dataset) ? [...(dataset.shape ?? [])] : [] };
  });
  return { slots };
}

function unzip(bytes: Uint8Array, file: string): Record<string, Uint8Array> {
  try {
    return unzipSync(bytes, {
      filter: (entry) =>
        entry.name === 'config.json' ||
        entry.name === 'metadata.json' ||
        entry.name.startsWith('model.weights'),
    });
  } catch (cause) {
    throw new VggkitError(
      'KERAS_FORMAT',
      `${file}: not a readable .keras archive (${(cause as Error).message}); the zip is truncated or damaged, save the model again`,
      { file, cause },
    );
  }
}

function text(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('utf8');
}

export async function readKerasZip(file: string, options: ReadOptions = {}): Promise<KerasModel> {
  const bytes = await readFile(file).catch((cause: unknown) => {
    throw new VggkitError('NOT_FOUND', `${file}: cannot read (${(cause as Error).message})`, {
      file,
      cause,
    });
  });
  const entries = unzip(bytes, file);
  const configBytes = entries['config.json'];
  if (configBytes === undefined) {
    throw new VggkitError(
      'KERAS_FORMAT',
      `${file}: a .keras archive must hold config.json (what model.save writes), found ${Object.keys(entries).join(', ') || 'none of config.json, metadata.json, model.weights.h5'}`,
      { file },
    );
  }
  const json = parseJson(text(configBytes), file, 'config.json') as Record<string, unknown>;
  const parsed = parseModelConfig(json, file);
  const metadata =
    entries['metadata.json'] === undefined
      ? {}
      : (parseJson(text(entries['metadata.json']), file, 'metadata.json') as Record<
          string,
          unknown
        >);
  const kerasVersion =
    typeof metadata['keras_version'] === 'string' ? metadata['keras_version'] : undefined;
  const training = parseTrainingConfig(json['compile_config']);
  const weightsBytes = entries['model.weights.h5'];
  if (weightsBytes === undefined && entries['model.weights.npz'] !== undefined) {
    throw new VggkitError(
      'KERAS_FORMAT',
      `${file}: holds its weights as model.weights.npz, which vggkit does not read; save the model with the default weights_format="h5"`,
      { file },
    );
  }
  const base = {
    file,
    format: 'keras-zip' as const,
    ...(kerasVersion === undefined ? {} : { kerasVersion }),
    className: parsed.className,
    name: parsed.name,
    layers: parsed.layers,
    ...(parsed.output === undefined ? {} : { output: parsed.output }),
    ...(parsed.inputShape === undefined ? {} : { inputShape: parsed.inputShape }),
    ...(training === undefined ? {} : { training }),
  };
  if (weightsBytes === undefined) return base;
  // h5wasm opens files by path: the archive member goes through a private temporary file.
  const temp = join(tmpdir(), `vggkit-keras-${randomBytes(6).toString('hex')}.weights.h5`);
  await writeFile(temp, weightsBytes);
  try {
    const h5 = await openH5(temp, 'r').catch((error: unknown) => {
      throw corrupt(`${file} (model.weights.h5)`, 'not a readable HDF5 file', error);
    });
    try {
      const read = readSavingLibWeights(
        h5,
        parsed.layers,
        parsed.className === 'Sequential',
        options.withWeights === true,
        file,
      );
      const optimizer = optimizerState(h5);
      return {
        ...base,
        variables: read.info,
        weightsFile: file,
        ...(options.withWeights === true ? { weights: read.values } : {}),
        ...(optimizer === undefined ? {} : { optimizerState: optimizer }),
      };
    } catch (error) {
      throw error instanceof VggkitError
        ? error
        : corrupt(`${file} (model.weights.h5)`, 'unreadable weights', error);
    } finally {
      h5.close();
    }
  } finally {
    await rm(temp, { force: true });
  }
}
