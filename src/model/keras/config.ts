/**
 * A Keras model config (what `model.get_config()` wraps as `{class_name, config}`) -> KerasLayers,
 * for every layout Keras has written:
 * - Keras 2.0-2.1 Sequential: `config` is the bare list of layers
 *   (keras 2.1 `Sequential.get_config` returned `[{class_name, config}]`);
 * - Keras 2.2+ and 3 Sequential: `{name, layers}` (Keras 3 `Sequential.get_config` adds an
 *   `InputLayer` entry carrying `batch_shape`; 2.x puts `batch_input_shape` on the first layer);
 * - Functional / Model: `{name, layers: [{class_name, config, name, inbound_nodes}], input_layers,
 *   output_layers}` (keras/src/models/functional.py `get_config`). Inbound nodes are lists of
 *   `[layer, node, tensor, kwargs]` in tf.keras (tf_keras/engine/node.py `Node.serialize`; a
 *   TFOpLambda writes one flat entry instead of a list of them) and `{args, kwargs}` with
 *   `__keras_tensor__` objects in Keras 3 (functional.py `serialize_node`).
 * Nested models (a `vgg16` Functional inside the user's Sequential) recurse; their own config
 * carries no `trainable` in Keras 2, only their layers do.
 */
import { VggkitError } from '../../util/errors.js';
import { MODEL_CLASSES, type KerasLayer } from './model.js';

type Json = Record<string, unknown>;

export interface ParsedModelConfig {
  readonly className: string;
  readonly name: string;
  readonly layers: KerasLayer[];
  readonly output?: string;
  readonly inputShape?: (number | null)[];
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function bad(file: string, expected: string, received: unknown): VggkitError {
  const shown = JSON.stringify(received)?.slice(0, 120) ?? String(received);
  return new VggkitError(
    'KERAS_FORMAT',
    `${file}: model config: expected ${expected}, received ${shown}`,
    { file },
  );
}

/** Layers of a model config body: the Keras 2.0 bare list, or `config.layers`. */
function layerEntries(config: unknown, file: string, where: string): unknown[] {
  if (Array.isArray(config)) return config;
  if (isObject(config) && Array.isArray(config['layers'])) return config['layers'];
  throw bad(file, `${where} to hold a list of layers`, config);
}

function shapeOf(value: unknown): (number | null)[] | undefined {
  if (!Array.isArray(value)) return undefined;
  return value.map((d) => (typeof d === 'number' ? d : null));
}

/** `batch_input_shape` (Keras 2), `batch_shape` (Keras 3 InputLayer), or a built layer's input shape. */
function declaredInputShape(layer: Json): (number | null)[] | undefined {
  const config = isObject(layer['config']) ? layer['config'] : {};
  const build = isObject(layer['build_config']) ? layer['build_config'] : {};
  return (
    shapeOf(config['batch_input_shape']) ??
    shapeOf(config['batch_shape']) ??
    shapeOf(build['input_shape'])
  );
}

/** Every `[name, node, tensor, kwargs]` or `__keras_tensor__` reference inside one node. */
function nodeSources(node: unknown, names: string[], args: unknown[]): void {
  if (Array.isArray(node)) {
    if (typeof node[0] === 'string' && typeof node[1] === 'number') {
      names.push(node[0]);
      if (isObject(node[3]) && Object.keys(node[3]).length > 0) args.push(node[3]);
      return;
    }
    for (const item of node) nodeSources(item, names, args);
    return;
  }
  if (!isObject(node)) return;
  if (node['class_name'] === '__keras_tensor__') {
    const history = isObject(node['config']) ? node['config']['keras_history'] : undefined;
    if (Array.isArray(history) && typeof history[0] === 'string') names.push(history[0]);
    return;
  }
  if ('args' in node || 'kwargs' in node) {
    // Keras 3: every argument except the tensors is call data (constants of traced ops).
    const rest: unknown[] = [];
    for (const arg of Array.isArray(node['args']) ? node['args'] : []) {
      const before = names.length;
      nodeSources(arg, names, args);
      if (names.length === before) rest.push(arg);
    }
    if (rest.length > 0 || (isObject(node['kwargs']) && Object.keys(node['kwargs']).length > 0))
      args.push({ args: rest, kwargs: node['kwargs'] ?? {} });
    return;
  }
  for (const value of Object.values(node)) nodeSources(value, names, args);
}

function parseLayers(
  entries: readonly unknown[],
  sequential: boolean,
  parents: readonly string[],
  parentTrainable: boolean,
  file: string,
): KerasLayer[] {
  const layers: KerasLayer[] = [];
  let previous: string | undefined;
  for (const entry of entries) {
    if (!isObject(entry) || typeof entry['class_name'] !== 'string')
      throw bad(file, 'each layer to be {class_name, config}', entry);
    const className = entry['class_name'];
    const module = typeof entry['module'] === 'string' ? { module: entry['module'] } : {};
    const config = isObject(entry['config']) ? entry['config'] : {};
    const name =
      typeof config['name'] === 'string'
        ? config['name']
        : typeof entry['name'] === 'string'
          ? entry['name']
          : `${className.toLowerCase()}_${layers.length}`;
    // A nested model's config has no flag in Keras 2 (its layers carry them): absent means trainable.
    const own = config['trainable'] !== false;
    const trainable = parentTrainable && own;
    const inbound: string[] = [];
    const callArgs: unknown[] = [];
    if (sequential) {
      if (previous !== undefined) inbound.push(previous);
    } else {
      nodeSources(entry['inbound_nodes'] ?? [], inbound, callArgs);
    }
    const isModel = MODEL_CLASSES.includes(className) || Array.isArray(config['layers']);
    if (isModel && (Array.isArray(config['layers']) || Array.isArray(entry['config']))) {
      const nested = parseModelBody(
        className,
        entry['config'],
        [...parents, name],
        trainable,
        file,
      );
      const rest = Object.fromEntries(Object.entries(config).filter(([key]) => key !== 'layers'));
      layers.push({
        className,
        ...module,
        name,
        config: rest,
        trainable,
        inbound,
        callArgs,
        parents,
        layers: nested.layers,
        ...(nested.output === undefined ? {} : { output: nested.output }),
      });
    } else {
      layers.push({ className, ...module, name, config, trainable, inbound, callArgs, parents });
    }
    previous = name;
  }
  return layers;
}

/** The first output layer's name in `output_layers` (`[[name, 0, 0]]`, or `[name, 0, 0]` for one output). */
function outputName(config: unknown): string | undefined {
  if (!isObject(config)) return undefined;
  const outputs = config['output_layers'];
  if (!Array.isArray(outputs)) return undefined;
  const first: unknown = Array.isArray(outputs[0]) ? outputs[0] : outputs;
  return Array.isArray(first) && typeof first[0] === 'string' ? first[0] : undefined;
}

function parseModelBody(
  className: string,
  body: unknown,
  parents: readonly string[],
  parentTrainable: boolean,
  file: string,
): { layers: KerasLayer[]; output?: string } {
  const sequential = className === 'Sequential';
  const where = `${className}${parents.length > 0 ? ` ${parents.join('/')}` : ''}`;
  const layers = parseLayers(
    layerEntries(body, file, where),
    sequential,
    parents,
    parentTrainable,
    file,
  );
  const output = sequential ? layers.at(-1)?.name : outputName(body);
  return output === undefined ? { layers } : { layers, output };
}

function inputShapeOf(root: Json): (number | null)[] | undefined {
  const config = root['config'];
  const entries = Array.isArray(config)
    ? config
    : isObject(config) && Array.isArray(config['layers'])
      ? config['layers']
      : [];
  for (const entry of entries) {
    if (!isObject(entry)) continue;
    const shape = declaredInputShape(entry);
    if (shape !== undefined) return shape;
    if (isObject(entry['config']) && Array.isArray(entry['config']['layers'])) {
      const nested = inputShapeOf(entry);
      if (nested !== undefined) return nested;
    }
    break;
  }
  const build = isObject(config) ? shapeOf(config['build_input_shape']) : undefined;
  return (
    build ??
    (isObject(root['build_config']) ? shapeOf(root['build_config']['input_shape']) : undefined)
  );
}

/** `{class_name, config}` of a whole model, from any Keras version. */
export function parseModelConfig(json: unknown, file: string): ParsedModelConfig {
  if (!isObject(json) || typeof json['class_name'] !== 'string')
    throw bad(file, 'a Keras model config {class_name, config}', json);
  const className = json['class_name'];
  const body = json['config'];
  if (!MODEL_CLASSES.includes(className) && !(isObject(body) && Array.isArray(body['layers']))) {
    throw new VggkitError(
      'KERAS_FORMAT',
      `${file}: expected a Keras model (Sequential or Functional), received a single ${className} layer config`,
      { file },
    );
  }
  // A frozen top model (`model.trainable = False`) freezes everything inside it.
  const trainable = !(isObject(body) && body['trainable'] === false);
  const parsed = parseModelBody(className, body, [], trainable, file);
  const name =
    isObject(body) && typeof body['name'] === 'string' ? body['name'] : className.toLowerCase();
  const inputShape = inputShapeOf(json);
  return {
    className,
    name,
    layers: parsed.layers,
    ...(parsed.output === undefined ? {} : { output: parsed.output }),
    ...(inputShape === undefined ? {} : { inputShape }),
  };
}

/** JSON.parse with a KERAS_FORMAT error naming the file and what it held. */
export function parseJson(text: string, file: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new VggkitError(
      'KERAS_FORMAT',
      `${file}: ${what}: expected JSON, received text that does not parse (${(cause as Error).message})`,
      { file, cause },
    );
  }
}
