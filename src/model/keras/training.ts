/**
 * The training config of a saved Keras model -> KerasTraining. Two writers:
 * - legacy h5 / to_json / TF.js: `training_config` = the compile config plus `optimizer_config`
 *   `{class_name, config}` (keras/src/legacy/saving/saving_utils.py `model_metadata`; tf.keras
 *   2.x the same keys, with `lr` instead of `learning_rate` before 2.3);
 * - Keras 3 `.keras`: `compile_config` = `{optimizer, loss, metrics, …}` where each object is
 *   `{module, class_name, config, registered_name}` and a function is `{class_name: "function",
 *   config: "<name>"}` (keras/src/saving/serialization_lib.py `serialize_with_public_fn`).
 * Losses and optimizers can also be plain strings (`compile(loss="mse", optimizer="adam")`).
 */
import type { KerasLoss, KerasOptimizer, KerasTraining } from './model.js';

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** CategoricalCrossentropy -> categorical_crossentropy (keras/src/utils/naming.py `to_snake_case`). */
export function snakeCase(name: string): string {
  return name
    .replace(/\W+/g, '')
    .replace(/(.)([A-Z][a-z]+)/g, '$1_$2')
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toLowerCase();
}

/** Keras' loss aliases (keras/src/losses/__init__.py ALL_OBJECTS_DICT). */
const LOSS_ALIASES: Readonly<Record<string, string>> = {
  mse: 'mean_squared_error',
  mae: 'mean_absolute_error',
  mape: 'mean_absolute_percentage_error',
  msle: 'mean_squared_logarithmic_error',
  bce: 'binary_crossentropy',
  cce: 'categorical_crossentropy',
  kld: 'kl_divergence',
  kullback_leibler_divergence: 'kl_divergence',
};

function canonicalLoss(name: string): string {
  const snake = name.includes('_') || name === name.toLowerCase() ? name : snakeCase(name);
  return LOSS_ALIASES[snake] ?? snake;
}

function parseLoss(value: unknown): KerasLoss | undefined {
  if (typeof value === 'string') return { name: canonicalLoss(value) };
  if (Array.isArray(value)) return parseLoss(value[0]);
  if (!isObject(value)) return undefined;
  const className = value['class_name'];
  if (typeof className !== 'string') {
    // `{output_name: loss}` for a model with named outputs.
    return parseLoss(Object.values(value)[0]);
  }
  const config = value['config'];
  if (className === 'function' && typeof config === 'string')
    return { name: canonicalLoss(config) };
  const c = isObject(config) ? config : {};
  return {
    name: canonicalLoss(className.replace(/^.*>/, '')),
    ...(typeof c['from_logits'] === 'boolean' ? { fromLogits: c['from_logits'] } : {}),
    ...(typeof c['label_smoothing'] === 'number' ? { labelSmoothing: c['label_smoothing'] } : {}),
  };
}

/** Keras 3 defaults for `compile(optimizer="name")` (keras/src/optimizers/*.py). */
const DEFAULT_RATES: Readonly<Record<string, number>> = {
  adam: 0.001,
  adamw: 0.001,
  sgd: 0.01,
  rmsprop: 0.001,
  adagrad: 0.001,
  adadelta: 0.001,
  adamax: 0.001,
  nadam: 0.001,
  ftrl: 0.001,
  lion: 0.001,
};

function parseOptimizer(value: unknown): KerasOptimizer | undefined {
  if (typeof value === 'string') {
    const name = value.toLowerCase();
    const rate = DEFAULT_RATES[name];
    return {
      name,
      className: value,
      ...(rate === undefined ? {} : { learningRate: rate }),
      config: {},
    };
  }
  if (!isObject(value) || typeof value['class_name'] !== 'string') return undefined;
  const className = value['class_name'];
  const config = isObject(value['config']) ? value['config'] : {};
  // `Custom>Adam` (tf.keras 2.11-2.15 registered names), `keras.optimizers>Adam`…
  const name = className.replace(/^.*>/, '').toLowerCase();
  const rate = config['learning_rate'] ?? config['lr'];
  let learningRate: number | undefined;
  let schedule: string | undefined;
  if (typeof rate === 'number') learningRate = rate;
  else if (isObject(rate) && typeof rate['class_name'] === 'string') {
    schedule = rate['class_name'];
    const inner = isObject(rate['config']) ? rate['config'] : {};
    const initial = inner['initial_learning_rate'] ?? inner['maximal_learning_rate'];
    if (typeof initial === 'number') learningRate = initial;
  }
  const momentum = config['momentum'];
  return {
    name,
    className,
    ...(learningRate === undefined ? {} : { learningRate }),
    ...(schedule === undefined ? {} : { schedule }),
    ...(typeof momentum === 'number' ? { momentum } : {}),
    config,
  };
}

function metricNames(value: unknown, out: string[]): void {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const item of value) metricNames(item, out);
  else if (isObject(value)) {
    if (typeof value['class_name'] === 'string') {
      const config = isObject(value['config']) ? value['config'] : {};
      // MeanMetricWrapper records the function Keras resolved 'accuracy' to (binary_accuracy…).
      const fn = config['fn'];
      if (typeof fn === 'string') out.push(fn);
      else if (value['class_name'] === 'function' && typeof value['config'] === 'string')
        out.push(value['config']);
      else if (typeof config['name'] === 'string') out.push(config['name']);
      else out.push(value['class_name']);
    } else for (const item of Object.values(value)) metricNames(item, out);
  }
}

/** `training_config` (legacy) or `compile_config` (Keras 3); undefined when neither says anything. */
export function parseTrainingConfig(value: unknown): KerasTraining | undefined {
  if (!isObject(value)) return undefined;
  const loss = parseLoss(value['loss']);
  const optimizer = parseOptimizer(value['optimizer_config'] ?? value['optimizer']);
  const metrics: string[] = [];
  metricNames(value['metrics'], metrics);
  metricNames(value['weighted_metrics'], metrics);
  if (loss === undefined && optimizer === undefined && metrics.length === 0) return undefined;
  return {
    ...(loss === undefined ? {} : { loss }),
    ...(optimizer === undefined ? {} : { optimizer }),
    metrics,
  };
}
