/**
 * Writes Keras model files in the exact layouts Keras writes them, for tests (Keras itself is not
 * installable here). A `ModelDef` says what the user built in Keras terms; the writers render it
 * the way each Keras version serialises it, following the writers' source:
 * - config (model.get_config): keras/src/models/functional.py `get_config` + `serialize_node`
 *   (Keras 3: `{module, class_name, config, registered_name, name, inbound_nodes: [{args, kwargs}]}`
 *   with `__keras_tensor__` references and DTypePolicy objects, `batch_shape` on InputLayer);
 *   tf_keras/engine/functional.py + node.py `Node.serialize` (Keras 2: `[[[name, 0, 0, {}]]]`,
 *   `batch_input_shape`, dtype "float32"); Keras 2.0-2.1 Sequential: the bare list of layers with
 *   `batch_input_shape` on the first.
 * - `.keras` (writeKerasZip): keras/src/saving/saving_lib.py `_save_model_to_fileobj`
 *   (metadata.json, config.json, model.weights.h5 stored uncompressed: `zipfile.ZipFile(f, "w")`),
 *   `_save_state` / `_save_container_state` (`layers/<snake_case(class)>[_n]/vars/<i>`, `vars`
 *   stamped with the layer's `name`, Sequential without its InputLayer, traced ops skipped),
 *   `optimizer/vars/<i>` (iteration, learning_rate, then Adam's momentum and velocity per
 *   trainable variable: keras/src/optimizers/adam.py `build`).
 * - legacy `.h5` (writeKerasH5): keras/src/legacy/saving/legacy_h5_format.py
 *   `save_model_to_hdf5` (root `model_config`/`training_config` as UTF-8 bytes, `keras_version`,
 *   `backend`), `save_weights_to_hdf5_group` (`model_weights`, `layer_names`, per-layer groups in
 *   name order, `weight_names` trainable-first: `_legacy_weights`), `save_attributes_to_hdf5_group`
 *   (lists over 64512 bytes split into `name0`, `name1`, … by `np.array_split`), and tf.keras 2.x
 *   `save_optimizer_weights_to_hdf5_group` names (`Adam/iter:0`, `Adam/<layer>/<var>/m:0`).
 * - `model.to_json()` (writeKerasJson) and TF.js layers `model.json` (writeTfjsJson:
 *   `{format, generatedBy, convertedBy, modelTopology: {keras_version, backend, model_config,
 *   training_config}, weightsManifest}` with float32 shards).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { zipSync } from 'fflate';
import h5wasm from 'h5wasm/node';

type Json = Record<string, unknown>;

export interface VariableDef {
  readonly name: string;
  readonly shape: readonly number[];
  /** Values; zeros when absent. */
  readonly data?: Float32Array;
}

export interface LayerDef {
  readonly className: string;
  readonly name: string;
  /** The layer's own config fields (name, trainable and dtype are added by the writers). */
  readonly config: Json;
  readonly trainable?: boolean;
  readonly weights?: readonly VariableDef[];
  /** Functional: the layers feeding this one; default the previous layer. */
  readonly inbound?: readonly string[];
  /** Call kwargs of traced ops (Keras 2 TFOpLambda) — written into the inbound node. */
  readonly callKwargs?: Json;
  /** Extra positional call arguments (Keras 3 operations: the constant of `x + c`). */
  readonly callArgs?: readonly unknown[];
  /** Keras 3 module (`keras.layers` unless given; `keras.src.ops.numpy` for traced ops). */
  readonly module?: string;
  /** A nested model (a `vgg16` Functional inside the user's model). */
  readonly model?: ModelDef;
}

export interface CompileDef {
  /** A string (`"categorical_crossentropy"`) or a loss object `{className, config}`. */
  readonly loss?: string | { readonly className: string; readonly config: Json };
  readonly optimizer: { readonly className: string; readonly config: Json };
  /**
   * Strings as compile was given them, or what tf.keras 2 saves after fit (saving_utils.py
   * `model_metadata` with `user_metrics=False`): the compiled metrics, e.g.
   * `[[{class_name: 'MeanMetricWrapper', config: {name: 'accuracy', fn: 'categorical_accuracy'}}]]`.
   */
  readonly metrics?: readonly unknown[];
}

export interface ModelDef {
  readonly className: 'Sequential' | 'Functional' | 'Model';
  readonly name: string;
  /** Including the InputLayer (Keras 2.0-2.1 lists omit it: see `dialect`). */
  readonly layers: readonly LayerDef[];
  readonly compile?: CompileDef;
  /**
   * Which variables the optimizer has slots for: those trainable when the model was compiled.
   * Default: the layers' trainable flags (compiled after freezing). `all` models a
   * `trainable = False` set after compile.
   */
  readonly optimizerSlotsFor?: 'trainable' | 'all' | 'none';
  /** Layer paths trainable at compile time, overriding the flags (trainable set to True after compile). */
  readonly compiledTrainable?: readonly string[];
}

export type Dialect = 'keras2.1' | 'keras2' | 'keras3';

export const KERAS_VERSIONS: Readonly<Record<Dialect, string>> = {
  'keras2.1': '2.1.6',
  keras2: '2.15.0',
  keras3: '3.11.3',
};

// ---- layer factories (config fields as the layers' get_config write them) ----

export function input(name: string, shape: readonly (number | null)[]): LayerDef {
  return {
    className: 'InputLayer',
    name,
    config: { batch_shape: [null, ...shape], sparse: false },
  };
}

export function conv(
  name: string,
  inChannels: number,
  filters: number,
  options: { trainable?: boolean; data?: readonly [Float32Array, Float32Array] } = {},
): LayerDef {
  return {
    className: 'Conv2D',
    name,
    ...(options.trainable === undefined ? {} : { trainable: options.trainable }),
    config: {
      filters,
      kernel_size: [3, 3],
      strides: [1, 1],
      padding: 'same',
      data_format: 'channels_last',
      dilation_rate: [1, 1],
      groups: 1,
      activation: 'relu',
      use_bias: true,
    },
    weights: [
      {
        name: 'kernel',
        shape: [3, 3, inChannels, filters],
        ...(options.data ? { data: options.data[0] } : {}),
      },
      { name: 'bias', shape: [filters], ...(options.data ? { data: options.data[1] } : {}) },
    ],
  };
}

export function maxPool(name: string, trainable?: boolean): LayerDef {
  return {
    className: 'MaxPooling2D',
    name,
    ...(trainable === undefined ? {} : { trainable }),
    config: { pool_size: [2, 2], padding: 'valid', strides: [2, 2], data_format: 'channels_last' },
  };
}

export function dense(
  name: string,
  inputs: number,
  units: number,
  activation: string,
  options: { trainable?: boolean; data?: readonly [Float32Array, Float32Array] } = {},
): LayerDef {
  return {
    className: 'Dense',
    name,
    ...(options.trainable === undefined ? {} : { trainable: options.trainable }),
    config: { units, activation, use_bias: true },
    weights: [
      {
        name: 'kernel',
        shape: [inputs, units],
        ...(options.data ? { data: options.data[0] } : {}),
      },
      { name: 'bias', shape: [units], ...(options.data ? { data: options.data[1] } : {}) },
    ],
  };
}

/**
 * BatchNormalization as keras/src/layers/normalization/batch_normalization.py `build` makes it:
 * gamma (if scale), beta (if center), moving_mean, moving_variance, in that order (the moving
 * statistics are non-trainable, so they come last in `_legacy_weights` too). `data` by name.
 */
export function batchNorm(
  name: string,
  units: number,
  options: { center: boolean; scale: boolean; epsilon: number },
  data: Readonly<Record<string, Float32Array | undefined>> = {},
): LayerDef {
  const roles = [
    ...(options.scale ? ['gamma'] : []),
    ...(options.center ? ['beta'] : []),
    'moving_mean',
    'moving_variance',
  ];
  return {
    className: 'BatchNormalization',
    name,
    config: {
      axis: -1,
      momentum: 0.99,
      epsilon: options.epsilon,
      center: options.center,
      scale: options.scale,
    },
    weights: roles.map((role) => {
      const values = data[role];
      return { name: role, shape: [units], ...(values === undefined ? {} : { data: values }) };
    }),
  };
}

/** `Activation('relu')` as its own layer. */
export function activationLayer(name: string, activation: string): LayerDef {
  return { className: 'Activation', name, config: { activation } };
}

export function flatten(name = 'flatten'): LayerDef {
  return { className: 'Flatten', name, config: { data_format: 'channels_last' } };
}

export function globalAvg(name = 'global_average_pooling2d'): LayerDef {
  return {
    className: 'GlobalAveragePooling2D',
    name,
    config: { data_format: 'channels_last', keepdims: false },
  };
}

export function dropout(name: string, rate: number): LayerDef {
  return { className: 'Dropout', name, config: { rate, noise_shape: null, seed: null } };
}

export function rescaling(name: string, scale: number, offset = 0): LayerDef {
  return { className: 'Rescaling', name, config: { scale, offset } };
}

/** Normalization with its statistics given in the constructor (keras/src/layers/preprocessing/normalization.py). */
export function normalization(name: string, mean: number[], variance: number[]): LayerDef {
  return {
    className: 'Normalization',
    name,
    config: { axis: [-1], mean, variance, invert: false },
  };
}

export interface VggBaseOptions {
  /** Conv widths per block (VGG16: [[64,64],[128,128],[256,256,256],[512,512,512],[512,512,512]]). */
  readonly widths: readonly (readonly number[])[];
  /** Blocks from this one up are trainable (6: all frozen, 1: none frozen). */
  readonly trainableFrom: number;
  /** Values per layer name (kernel, bias), else zeros. */
  readonly data?: ReadonlyMap<string, readonly [Float32Array, Float32Array]>;
}

export const VGG16_WIDTHS = [
  [64, 64],
  [128, 128],
  [256, 256, 256],
  [512, 512, 512],
  [512, 512, 512],
] as const;

/** block1_conv1 … block5_pool, as keras/src/applications/vgg16.py names them. */
export function vggBase(options: VggBaseOptions): LayerDef[] {
  const layers: LayerDef[] = [];
  let channels = 3;
  options.widths.forEach((block, b) => {
    const trainable = b + 1 >= options.trainableFrom;
    block.forEach((filters, i) => {
      const name = `block${b + 1}_conv${i + 1}`;
      const data = options.data?.get(name);
      layers.push(conv(name, channels, filters, { trainable, ...(data ? { data } : {}) }));
      channels = filters;
    });
    layers.push(maxPool(`block${b + 1}_pool`, trainable));
  });
  return layers;
}

// ---- configs ----

function dtypeField(dialect: Dialect): unknown {
  return dialect === 'keras3'
    ? {
        module: 'keras',
        class_name: 'DTypePolicy',
        config: { name: 'float32' },
        registered_name: null,
      }
    : 'float32';
}

function layerConfig(layer: LayerDef, dialect: Dialect): Json {
  const config: Json = { name: layer.name };
  if (layer.className === 'InputLayer') {
    const shape = layer.config['batch_shape'];
    return dialect === 'keras3'
      ? { batch_shape: shape, dtype: 'float32', sparse: false, ragged: false, name: layer.name }
      : {
          batch_input_shape: shape,
          dtype: 'float32',
          sparse: false,
          ragged: false,
          name: layer.name,
        };
  }
  config['trainable'] = layer.trainable ?? true;
  config['dtype'] = dtypeField(dialect);
  return { ...config, ...layer.config };
}

/** The model's input shape, from its InputLayer. */
function inputShape(def: ModelDef): unknown {
  const inputLayer = def.layers.find((l) => l.className === 'InputLayer');
  return inputLayer?.config['batch_shape'];
}

function kerasTensor(name: string): Json {
  return {
    class_name: '__keras_tensor__',
    config: { shape: null, dtype: 'float32', keras_history: [name, 0, 0] },
  };
}

function layerEntry(
  layer: LayerDef,
  dialect: Dialect,
  previous: string | undefined,
  functional: boolean,
): Json {
  const body =
    layer.model !== undefined ? modelBody(layer.model, dialect) : layerConfig(layer, dialect);
  const entry: Json =
    dialect === 'keras3'
      ? {
          module: layer.model !== undefined ? 'keras' : (layer.module ?? 'keras.layers'),
          class_name: layer.model?.className ?? layer.className,
          config: body,
          registered_name: layer.module?.startsWith('keras.src') === true ? layer.className : null,
        }
      : { class_name: layer.model?.className ?? layer.className, config: body };
  if (dialect === 'keras3' && layer.model === undefined && layer.className !== 'InputLayer')
    entry['build_config'] = { input_shape: null };
  if (!functional) return entry;
  const sources = layer.inbound ?? (previous === undefined ? [] : [previous]);
  entry['name'] = layer.name;
  if (sources.length === 0) entry['inbound_nodes'] = [];
  else if (dialect === 'keras3') {
    entry['inbound_nodes'] = [
      {
        args: [
          sources.length === 1
            ? kerasTensor(sources[0] as string)
            : sources.map((s) => kerasTensor(s)),
          ...(layer.callArgs ?? []),
        ],
        kwargs: layer.callKwargs ?? {},
      },
    ];
  } else if (layer.className === 'TFOpLambda' || layer.className === 'SlicingOpLambda') {
    // Node.serialize: one entry per first-argument tensor, kwargs in its fourth slot, not nested.
    entry['inbound_nodes'] = [[sources[0], 0, 0, layer.callKwargs ?? {}]];
  } else {
    entry['inbound_nodes'] = [sources.map((s) => [s, 0, 0, {}])];
  }
  return entry;
}

function modelBody(def: ModelDef, dialect: Dialect): unknown {
  const functional = def.className !== 'Sequential';
  const layers =
    dialect === 'keras2.1' && !functional
      ? def.layers.filter((l) => l.className !== 'InputLayer')
      : def.layers;
  let previous: string | undefined;
  const entries = layers.map((layer) => {
    const entry = layerEntry(layer, dialect, previous, functional);
    previous = layer.name;
    return entry;
  });
  if (dialect === 'keras2.1' && !functional) {
    const first = entries[0]?.['config'] as Json | undefined;
    if (first !== undefined) first['batch_input_shape'] = inputShape(def);
    return entries;
  }
  const body: Json = { name: def.name };
  if (dialect === 'keras3') {
    body['trainable'] = true;
    body['dtype'] = dtypeField(dialect);
  }
  body['layers'] = entries;
  if (functional) {
    const inputs = def.layers
      .filter((l) => l.className === 'InputLayer')
      .map((l) => [l.name, 0, 0]);
    body['input_layers'] = dialect === 'keras3' ? inputs[0] : inputs;
    const last = def.layers.at(-1)?.name;
    body['output_layers'] = dialect === 'keras3' ? [last, 0, 0] : [[last, 0, 0]];
  } else if (dialect === 'keras3') {
    body['build_input_shape'] = inputShape(def);
  }
  return body;
}

/** serialize_keras_object(model) (Keras 3) or `{class_name, config}` (saving_utils.model_metadata). */
export function modelConfig(def: ModelDef, dialect: Dialect): Json {
  const body = modelBody(def, dialect);
  if (dialect !== 'keras3') return { class_name: def.className, config: body };
  return {
    module: 'keras',
    class_name: def.className === 'Model' ? 'Functional' : def.className,
    config: body,
    registered_name: def.className === 'Sequential' ? null : 'Functional',
    build_config: { input_shape: inputShape(def) },
  };
}

function lossJson(loss: CompileDef['loss'], dialect: Dialect): unknown {
  if (loss === undefined || typeof loss === 'string') return loss ?? null;
  return dialect === 'keras3'
    ? {
        module: 'keras.losses',
        class_name: loss.className,
        config: loss.config,
        registered_name: null,
      }
    : { class_name: loss.className, config: loss.config };
}

/** saving_utils.model_metadata's `training_config` (legacy h5, to_json's TF.js twin). */
export function trainingConfig(compile: CompileDef, dialect: Dialect): Json {
  return {
    loss: lossJson(compile.loss, dialect),
    metrics: compile.metrics ?? ['accuracy'],
    weighted_metrics: null,
    loss_weights: null,
    optimizer_config: { class_name: compile.optimizer.className, config: compile.optimizer.config },
  };
}

/** Keras 3 `Model.get_compile_config` (trainers/trainer.py `compile` records its arguments). */
function compileConfig(compile: CompileDef): Json {
  return {
    optimizer: {
      module: 'keras.optimizers',
      class_name: compile.optimizer.className,
      config: compile.optimizer.config,
      registered_name: null,
    },
    loss: lossJson(compile.loss, 'keras3'),
    loss_weights: null,
    metrics: compile.metrics ?? ['accuracy'],
    weighted_metrics: null,
    run_eagerly: false,
    steps_per_execution: 1,
    jit_compile: false,
  };
}

// ---- weights ----

interface FlatVariable {
  readonly layer: LayerDef;
  /** Enclosing model names, outermost first. */
  readonly parents: readonly string[];
  readonly variable: VariableDef;
  /** Effective trainable. */
  readonly trainable: boolean;
}

function flatVariables(
  def: ModelDef,
  parents: string[] = [],
  parentTrainable = true,
): FlatVariable[] {
  return def.layers.flatMap((layer) => {
    const trainable = parentTrainable && layer.trainable !== false;
    if (layer.model !== undefined)
      return flatVariables(layer.model, [...parents, layer.name], trainable);
    return (layer.weights ?? []).map((variable) => ({ layer, parents, variable, trainable }));
  });
}

/** Variables the optimizer built slots for (model.trainable_variables at the first fit). */
function slotVariables(def: ModelDef): FlatVariable[] {
  const all = flatVariables(def);
  const mode = def.optimizerSlotsFor ?? 'trainable';
  if (mode === 'none') return [];
  if (mode === 'all') return all;
  if (def.compiledTrainable !== undefined)
    return all.filter((v) =>
      def.compiledTrainable?.includes([...v.parents, v.layer.name].join('/')),
    );
  return all.filter((v) => v.trainable);
}

function values(variable: VariableDef): Float32Array {
  return variable.data ?? new Float32Array(variable.shape.reduce((a, b) => a * b, 1));
}

function snakeCase(name: string): string {
  return name
    .replace(/\W+/g, '')
    .replace(/(.)([A-Z][a-z]+)/g, '$1_$2')
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toLowerCase();
}

type H5Group = InstanceType<typeof h5wasm.Group>;

function fixedString(group: H5Group, name: string, value: string): void {
  group.create_attribute(name, value, null, `S${Math.max(1, Buffer.byteLength(value))}`);
}

/** numpy `S` arrays, split like save_attributes_to_hdf5_group when over the header limit. */
function stringList(group: H5Group, name: string, list: readonly string[], limit = 64512): void {
  const width = Math.max(1, ...list.map((s) => Buffer.byteLength(s)));
  let chunks = 1;
  // np.array_split: the first (n % chunks) pieces get one item more.
  const split = (k: number): string[][] => {
    const out: string[][] = [];
    const base = Math.floor(list.length / k);
    let start = 0;
    for (let i = 0; i < k; i++) {
      const size = base + (i < list.length % k ? 1 : 0);
      out.push(list.slice(start, start + size));
      start += size;
    }
    return out;
  };
  while (split(chunks).some((piece) => piece.length * width > limit)) chunks++;
  const pieces = split(chunks);
  if (chunks === 1) {
    group.create_attribute(name, [...list], [list.length], `S${width}`);
    return;
  }
  pieces.forEach((piece, i) =>
    group.create_attribute(`${name}${i}`, piece, [piece.length], `S${width}`),
  );
}

function ensureGroup(root: H5Group, path: string): H5Group {
  let group = root;
  for (const part of path.split('/').filter((p) => p !== '')) {
    const next = group.get(part);
    group = next instanceof h5wasm.Group ? next : group.create_group(part);
  }
  return group;
}

function dataset(root: H5Group, path: string, data: Float32Array, shape: readonly number[]): void {
  const parts = path.split('/');
  const parent = ensureGroup(root, parts.slice(0, -1).join('/'));
  parent.create_dataset({ name: parts.at(-1) as string, data, shape: [...shape], dtype: '<f4' });
}

/** saving_lib `_save_state`: layers/<snake>/vars/<i>, nested models recursing. */
function writeSavingLibLayers(
  h5: InstanceType<typeof h5wasm.File>,
  def: ModelDef,
  prefix: string,
): void {
  const used = new Map<string, number>();
  for (const layer of def.layers) {
    if (layer.module?.startsWith('keras.src.ops') === true) continue;
    if (def.className === 'Sequential' && layer.className === 'InputLayer') continue;
    const cls =
      layer.model?.className === 'Model'
        ? 'Functional'
        : (layer.model?.className ?? layer.className);
    const base = snakeCase(cls);
    const count = used.get(base);
    used.set(base, count === undefined ? 0 : count + 1);
    const path = `${prefix}layers/${count === undefined ? base : `${base}_${count + 1}`}`;
    const vars = ensureGroup(h5, `${path}/vars`);
    fixedStringOrVlen(vars, 'name', layer.name);
    if (layer.model !== undefined) {
      writeSavingLibLayers(h5, layer.model, `${path}/`);
      continue;
    }
    (layer.weights ?? []).forEach((variable, i) => {
      dataset(h5, `${path}/vars/${i}`, values(variable), variable.shape);
    });
  }
}

function fixedStringOrVlen(group: H5Group, name: string, value: string): void {
  // h5py stores a Python str attribute as a variable-length string.
  group.create_attribute(name, value);
}

async function withTemp<T>(suffix: string, body: (path: string) => Promise<T> | T): Promise<T> {
  const path = join(tmpdir(), `vggkit-writer-${randomBytes(6).toString('hex')}${suffix}`);
  try {
    return await body(path);
  } finally {
    await rm(path, { force: true });
  }
}

async function ready(): Promise<void> {
  await h5wasm.ready;
}

/**
 * saving_lib's weights file: `_save_state` over the model (layers/…/vars) and, when compiled, its
 * optimizer (optimizer/vars). What a `.keras` archive holds as model.weights.h5, and what Keras 3
 * `model.save_weights('m.weights.h5')` writes (saving_lib.py `save_weights_only`).
 */
function writeSavingLibWeights(path: string, def: ModelDef): void {
  const h5 = new h5wasm.File(path, 'w');
  writeSavingLibLayers(h5, def, '');
  ensureGroup(h5, 'vars');
  const slots = slotVariables(def);
  if (def.compile !== undefined && (def.optimizerSlotsFor ?? 'trainable') !== 'none') {
    const opt = ensureGroup(h5, 'optimizer/vars');
    fixedStringOrVlen(opt, 'name', def.compile.optimizer.className.toLowerCase());
    dataset(h5, 'optimizer/vars/0', new Float32Array([10]), []);
    dataset(h5, 'optimizer/vars/1', new Float32Array([1e-4]), []);
    let i = 2;
    for (const slot of slots) {
      for (let k = 0; k < 2; k++)
        dataset(
          h5,
          `optimizer/vars/${i++}`,
          new Float32Array(slot.variable.shape.reduce((a, b) => a * b, 1)),
          slot.variable.shape,
        );
    }
  }
  h5.close();
}

/** Keras 3 `model.save_weights('m.weights.h5')`: the saving_lib layout on its own. */
export async function writeKerasWeightsH5(file: string, def: ModelDef): Promise<void> {
  await ready();
  await mkdir(dirname(file), { recursive: true });
  writeSavingLibWeights(file, def);
}

/** A Keras 3 `.keras` archive. */
export async function writeKerasZip(
  file: string,
  def: ModelDef,
  options: { omit?: 'config.json' | 'model.weights.h5'; kerasVersion?: string } = {},
): Promise<void> {
  await ready();
  const config = modelConfig(def, 'keras3');
  if (def.compile !== undefined) config['compile_config'] = compileConfig(def.compile);
  const weights = await withTemp('.h5', async (path) => {
    writeSavingLibWeights(path, def);
    return readFile(path);
  });
  const entries: Record<string, Uint8Array> = {};
  const metadata = JSON.stringify({
    keras_version: options.kerasVersion ?? KERAS_VERSIONS.keras3,
    date_saved: '2025-01-30@12:00:00',
  });
  entries['metadata.json'] = Buffer.from(metadata);
  if (options.omit !== 'config.json') entries['config.json'] = Buffer.from(JSON.stringify(config));
  if (options.omit !== 'model.weights.h5') entries['model.weights.h5'] = new Uint8Array(weights);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, zipSync(entries, { level: 0 }));
}

/** A legacy full-model `.h5` (tf.keras 2.x, or `dialect: 'keras2.1'` for a Keras 2.1 Sequential list). */
export async function writeKerasH5(
  file: string,
  def: ModelDef,
  options: { dialect?: Dialect; weightsOnly?: boolean; attributeLimit?: number } = {},
): Promise<void> {
  await ready();
  const dialect = options.dialect ?? 'keras2';
  await mkdir(dirname(file), { recursive: true });
  const h5 = new h5wasm.File(file, 'w');
  const version = KERAS_VERSIONS[dialect];
  const limit = options.attributeLimit ?? 64512;
  const root = options.weightsOnly === true ? h5 : ensureGroup(h5, 'model_weights');
  if (options.weightsOnly !== true) {
    h5.create_attribute('keras_version', version);
    h5.create_attribute('backend', 'tensorflow');
    fixedString(h5, 'model_config', JSON.stringify(modelConfig(def, dialect)));
    if (def.compile !== undefined)
      fixedString(h5, 'training_config', JSON.stringify(trainingConfig(def.compile, dialect)));
  }
  // Sequential.layers omits the InputLayer; Functional.layers keeps it.
  const top = def.layers.filter(
    (l) => def.className !== 'Sequential' || l.className !== 'InputLayer',
  );
  stringList(
    root,
    'layer_names',
    top.map((l) => l.name),
    limit,
  );
  fixedString(root, 'backend', 'tensorflow');
  fixedString(root, 'keras_version', version);
  for (const layer of [...top].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const group = root.create_group(layer.name);
    const flat: FlatVariable[] =
      layer.model !== undefined
        ? flatVariables(layer.model, [layer.name], layer.trainable !== false)
        : (layer.weights ?? []).map((variable) => ({
            layer,
            parents: [],
            variable,
            trainable: layer.trainable !== false,
          }));
    // _legacy_weights: trainable weights first, then the rest.
    const ordered = [...flat.filter((v) => v.trainable), ...flat.filter((v) => !v.trainable)];
    const names = ordered.map((v) => `${v.layer.name}/${v.variable.name}:0`);
    stringList(group, 'weight_names', names, limit);
    ordered.forEach((v, i) =>
      dataset(group, names[i] as string, values(v.variable), v.variable.shape),
    );
  }
  if (
    options.weightsOnly !== true &&
    def.compile !== undefined &&
    (def.optimizerSlotsFor ?? 'trainable') !== 'none'
  ) {
    const opt = h5.create_group('optimizer_weights');
    const prefix = def.compile.optimizer.className;
    const names = [`${prefix}/iter:0`];
    const shapes: (readonly number[])[] = [[]];
    for (const kind of ['m', 'v'])
      for (const slot of slotVariables(def)) {
        names.push(`${prefix}/${slot.layer.name}/${slot.variable.name}/${kind}:0`);
        shapes.push(slot.variable.shape);
      }
    stringList(opt, 'weight_names', names, limit);
    names.forEach((name, i) => {
      const shape = shapes[i] as readonly number[];
      dataset(
        opt,
        name,
        new Float32Array(
          Math.max(
            1,
            shape.reduce((a, b) => a * b, 1),
          ),
        ),
        shape,
      );
    });
  }
  h5.close();
}

/** `model.to_json()` of a tf.keras 2.x (or Keras 2.1, Keras 3) model. */
export async function writeKerasJson(
  file: string,
  def: ModelDef,
  dialect: Dialect = 'keras2',
): Promise<void> {
  const config = modelConfig(def, dialect);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(
    file,
    JSON.stringify({ ...config, keras_version: KERAS_VERSIONS[dialect], backend: 'tensorflow' }),
  );
}

/** A TF.js layers model.json with one float32 shard beside it. */
export async function writeTfjsJson(file: string, def: ModelDef): Promise<void> {
  const variables = flatVariables(def);
  const shard = Buffer.concat(
    variables.map((v) => Buffer.from(values(v.variable).buffer.slice(0))),
  );
  const json = {
    format: 'layers-model',
    generatedBy: `keras v${KERAS_VERSIONS.keras2}`,
    convertedBy: 'TensorFlow.js Converter v4.22.0',
    modelTopology: {
      keras_version: KERAS_VERSIONS.keras2,
      backend: 'tensorflow',
      model_config: modelConfig(def, 'keras2'),
      ...(def.compile === undefined
        ? {}
        : { training_config: trainingConfig(def.compile, 'keras2') }),
    },
    weightsManifest: [
      {
        paths: ['group1-shard1of1.bin'],
        weights: variables.map((v) => ({
          name: `${v.layer.name}/${v.variable.name}`,
          shape: v.variable.shape,
          dtype: 'float32',
        })),
      },
    ],
  };
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify(json));
  await writeFile(join(dirname(file), 'group1-shard1of1.bin'), shard);
}

// ---- the article's model ----

export interface Example2Options {
  readonly classes: number;
  readonly widths?: readonly (readonly number[])[];
  readonly size?: number;
  readonly trainableFrom?: number;
  readonly nested?: boolean;
}

/** The seed article's Example 2: VGG16(include_top=False) frozen, Flatten, Dense(256), Dropout(0.5), Dense(n, softmax), Adam 1e-4. */
export function example2(options: Example2Options): ModelDef {
  const widths = options.widths ?? VGG16_WIDTHS;
  const size = options.size ?? 224;
  const last = (widths.at(-1) as readonly number[]).at(-1) as number;
  const spatial = size / 32;
  const base = vggBase({ widths, trainableFrom: options.trainableFrom ?? 6 });
  const head = [
    flatten('flatten'),
    dense('dense', spatial * spatial * last, 256, 'relu'),
    dropout('dropout', 0.5),
    dense('dense_1', 256, options.classes, 'softmax'),
  ];
  const compile: CompileDef = {
    loss: 'categorical_crossentropy',
    optimizer: {
      className: 'Adam',
      config: {
        name: 'Adam',
        learning_rate: 1e-4,
        beta_1: 0.9,
        beta_2: 0.999,
        epsilon: 1e-7,
        amsgrad: false,
      },
    },
    metrics: ['accuracy'],
  };
  const inputLayer = input('input_1', [size, size, 3]);
  if (options.nested === true) {
    return {
      className: 'Functional',
      name: 'model',
      layers: [
        input('input_2', [size, size, 3]),
        {
          className: 'Functional',
          name: 'vgg16',
          config: {},
          model: { className: 'Functional', name: 'vgg16', layers: [inputLayer, ...base] },
        },
        ...head,
      ],
      compile,
    };
  }
  return {
    className: 'Functional',
    name: 'model',
    layers: [inputLayer, ...base, ...head],
    compile,
  };
}
