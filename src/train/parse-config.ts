/**
 * Turns a `--config` JSON file and CLI flags into a TrainConfig: file over DEFAULT_CONFIG, flags
 * over the file. Every key is checked by one entry of `FIELDS`; unknown keys and bad values are
 * UsageErrors that name the key, what was expected and what was received. Nothing is silently
 * ignored or replaced by a default (Keras' ReduceLROnPlateau falling back on an unknown mode is the
 * counter-example).
 */
import { ARCH_NAMES } from '../model/architectures.js';
import { INTERPOLATIONS, PREPROCESS_MODES, RESIZE_MODES } from '../image/contract.js';
import { invalidOption, oneOf, UsageError } from '../util/errors.js';
import { didYouMean } from '../util/suggest.js';
import {
  DEFAULT_CONFIG,
  type AugmentName,
  type EarlyStoppingConfig,
  type ReduceLrConfig,
  type ScheduleConfig,
  type StageSpec,
  type TrainConfig,
} from './config.js';
import { parseStages, validateStages } from './stages.js';

export { parseStages } from './stages.js';

/** Checks one value; `current` is the value being overridden (nested objects merge over it). */
type Field<T> = (value: unknown, name: string, current: T) => T;

const AUGMENTS: readonly AugmentName[] = ['flip', 'rotate', 'zoom', 'brightness', 'contrast'];
const MODES = ['min', 'max', 'auto'] as const;

function number(check: (n: number) => boolean, expected: string): Field<number> {
  return (value, name) => {
    if (typeof value !== 'number' || !Number.isFinite(value) || !check(value)) throw invalidOption(name, expected, value);
    return value;
  };
}

const positive = number((n) => n > 0, 'a number > 0');
const nonNegative = number((n) => n >= 0, 'a number >= 0');
const fraction = number((n) => n >= 0 && n < 1, 'a number in [0, 1)');
const positiveInt = number((n) => Number.isInteger(n) && n >= 1, 'a whole number >= 1');
const nonNegativeInt = number((n) => Number.isInteger(n) && n >= 0, 'a whole number >= 0');

function boolean(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw invalidOption(name, 'true or false', value);
  return value;
}

function nonEmptyString(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw invalidOption(name, 'a non-empty string', value);
  return value;
}

/** `null` in JSON (or an absent flag) means "use the weights' own value". */
function optionalOneOf<T extends string>(allowed: readonly T[]): Field<T | undefined> {
  return (value, name) => (value === null || value === undefined ? undefined : oneOf(name, allowed, value));
}

function enumField<T extends string>(allowed: readonly T[]): Field<T> {
  return (value, name) => oneOf(name, allowed, value);
}

function stages(value: unknown, name: string): StageSpec[] {
  if (typeof value === 'string') return parseStages(value, name);
  if (!Array.isArray(value)) throw invalidOption(name, 'a list of {name, epochs} or a string such as "head:10,block5:5"', value);
  const list = value.map((entry: unknown) => {
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) throw invalidOption(name, 'stages as {name, epochs} objects', entry);
    rejectUnknownKeys(entry as Record<string, unknown>, ['name', 'epochs'], name);
    const { name: stageName, epochs } = entry as { name?: unknown; epochs?: unknown };
    const checkedName = nonEmptyString(stageName, `${name}.name`);
    if (typeof epochs !== 'number') throw invalidOption(name, `a whole number of epochs > 0 for stage ${checkedName}`, epochs);
    return { name: checkedName, epochs };
  });
  return validateStages(list, name);
}

function augment(value: unknown, name: string): AugmentName[] {
  const items = typeof value === 'string' ? (value.trim() === '' || value === 'none' ? [] : value.split(',').map((s) => s.trim())) : value;
  if (!Array.isArray(items)) throw invalidOption(name, `a list drawn from ${AUGMENTS.join(', ')}`, value);
  const list = items.map((item: unknown) => oneOf(name, AUGMENTS, item));
  return [...new Set(list)];
}

function optionalString(value: unknown, name: string): string | undefined {
  return value === null || value === undefined ? undefined : nonEmptyString(value, name);
}

function seed(value: unknown, name: string): number {
  return number((n) => Number.isInteger(n) && n >= 0 && n <= 0xffffffff, 'a whole number in [0, 4294967295]')(value, name, 0);
}

/** A nested object merged key by key over the current value, with the same unknown-key rule. */
function group<T extends object>(fields: { [K in keyof T]: Field<T[K]> }): Field<T> {
  return (value, name, current) => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalidOption(name, 'an object', value);
    const record = value as Record<string, unknown>;
    rejectUnknownKeys(record, Object.keys(fields), name);
    const out: Record<string, unknown> = { ...(current as Record<string, unknown>) };
    for (const key of Object.keys(record)) {
      const field = fields[key as keyof T] as Field<unknown>;
      out[key] = field(record[key], `${name}.${key}`, (current as Record<string, unknown>)[key]);
    }
    return out as T;
  };
}

const reduceLr = group<ReduceLrConfig>({
  enabled: boolean,
  monitor: nonEmptyString,
  mode: enumField(MODES),
  factor: number((n) => n > 0 && n < 1, 'a number in (0, 1)'),
  patience: nonNegativeInt,
  minDelta: nonNegative,
  cooldown: nonNegativeInt,
  minLr: nonNegative,
});

const earlyStopping = group<EarlyStoppingConfig>({
  enabled: boolean,
  monitor: nonEmptyString,
  mode: enumField(MODES),
  patience: nonNegativeInt,
  minDelta: nonNegative,
  restoreBestWeights: boolean,
});

const schedule = group<ScheduleConfig>({
  name: enumField(['none', 'step', 'cosine', 'one-cycle']),
  stepEpochs: positiveInt,
  gamma: positive,
  maxLr: positive,
});

const FIELDS: { [K in keyof TrainConfig]: Field<TrainConfig[K]> } = {
  arch: enumField(ARCH_NAMES),
  weights: nonEmptyString,
  inputSize: number((n) => Number.isInteger(n) && n >= 32, 'a whole number >= 32'),
  preprocess: optionalOneOf(PREPROCESS_MODES),
  resize: optionalOneOf(RESIZE_MODES),
  interpolation: optionalOneOf(INTERPOLATIONS),
  head: enumField(['flatten', 'avg']),
  dense: positiveInt,
  dropout: fraction,
  loss: enumField(['categorical_crossentropy', 'binary_crossentropy']),
  labelSmoothing: fraction,
  classWeights: enumField(['none', 'balanced']),
  optimizer: enumField(['adam', 'adamw', 'sgd']),
  lr: positive,
  momentum: fraction,
  nesterov: boolean,
  beta1: fraction,
  beta2: fraction,
  epsilon: positive,
  weightDecay: nonNegative,
  clipNorm: nonNegative,
  epochs: positiveInt,
  batchSize: positiveInt,
  valSplit: fraction,
  val: optionalString,
  seed,
  stages,
  stageLrFactor: positive,
  blockLrDecay: number((n) => n > 0 && n <= 1, 'a number in (0, 1]'),
  augment,
  reduceLr,
  earlyStopping,
  schedule,
  terminateOnNan: boolean,
};

const CONFIG_KEYS = Object.keys(FIELDS);

function rejectUnknownKeys(record: Record<string, unknown>, known: readonly string[], where: string): void {
  for (const key of Object.keys(record)) {
    if (!known.includes(key)) {
      throw new UsageError(`${where}: unknown key "${key}"${didYouMean(key, known)}; expected one of ${known.join(', ')}`);
    }
  }
}

/**
 * With stages, the run lasts the sum of their epochs: `epochs` follows unless the same layer set it
 * explicitly to something else, which is a contradiction worth an error rather than a guess.
 */
function reconcileEpochs(config: TrainConfig, explicitEpochs: string | undefined, stagesName: string): TrainConfig {
  if (config.stages.length === 0) return config;
  const total = config.stages.reduce((sum, s) => sum + s.epochs, 0);
  if (explicitEpochs !== undefined && config.epochs !== total) {
    throw invalidOption(explicitEpochs, `${total}, the sum of the stages' epochs (${stagesName})`, config.epochs);
  }
  return { ...config, epochs: total };
}

/** One layer of overrides (already typed as JSON values) applied over `base`. */
function applyLayer(
  base: TrainConfig,
  values: Record<string, unknown>,
  nameOf: (key: string) => string,
): TrainConfig {
  const out: Record<string, unknown> = { ...base };
  for (const key of Object.keys(values)) {
    const field = FIELDS[key as keyof TrainConfig] as Field<unknown>;
    out[key] = field(values[key], nameOf(key), base[key as keyof TrainConfig]);
  }
  return reconcileEpochs(out as unknown as TrainConfig, 'epochs' in values ? nameOf('epochs') : undefined, nameOf('stages'));
}

/** A parsed `--config` file merged over `base` (DEFAULT_CONFIG unless given); `source` names the file in errors. */
export function parseTrainConfig(json: unknown, source: string, base: TrainConfig = DEFAULT_CONFIG): TrainConfig {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new UsageError(`${source}: expected a JSON object of training settings, received ${Array.isArray(json) ? 'an array' : JSON.stringify(json)}`);
  }
  const record = json as Record<string, unknown>;
  rejectUnknownKeys(record, CONFIG_KEYS, source);
  return applyLayer(base, record, (key) => `${source}: ${key}`);
}

type FlagKind = 'number' | 'text';

/** CLI flag -> config key. Keys are commander's camelCase attribute names for the flags. */
export const TRAIN_FLAGS: readonly { readonly flag: string; readonly attribute: string; readonly key: keyof TrainConfig; readonly kind: FlagKind }[] = [
  { flag: '--arch', attribute: 'arch', key: 'arch', kind: 'text' },
  { flag: '--weights', attribute: 'weights', key: 'weights', kind: 'text' },
  { flag: '--input-size', attribute: 'inputSize', key: 'inputSize', kind: 'number' },
  { flag: '--epochs', attribute: 'epochs', key: 'epochs', kind: 'number' },
  { flag: '--batch-size', attribute: 'batchSize', key: 'batchSize', kind: 'number' },
  { flag: '--lr', attribute: 'lr', key: 'lr', kind: 'number' },
  { flag: '--optimizer', attribute: 'optimizer', key: 'optimizer', kind: 'text' },
  { flag: '--momentum', attribute: 'momentum', key: 'momentum', kind: 'number' },
  { flag: '--epsilon', attribute: 'epsilon', key: 'epsilon', kind: 'number' },
  { flag: '--head', attribute: 'head', key: 'head', kind: 'text' },
  { flag: '--dense', attribute: 'dense', key: 'dense', kind: 'number' },
  { flag: '--dropout', attribute: 'dropout', key: 'dropout', kind: 'number' },
  { flag: '--val-split', attribute: 'valSplit', key: 'valSplit', kind: 'number' },
  { flag: '--val', attribute: 'val', key: 'val', kind: 'text' },
  { flag: '--seed', attribute: 'seed', key: 'seed', kind: 'number' },
  { flag: '--stages', attribute: 'stages', key: 'stages', kind: 'text' },
  { flag: '--stage-lr-factor', attribute: 'stageLrFactor', key: 'stageLrFactor', kind: 'number' },
  { flag: '--augment', attribute: 'augment', key: 'augment', kind: 'text' },
];

function flagNumber(flag: string, value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const n = value.trim() === '' ? Number.NaN : Number(value);
  if (Number.isNaN(n)) throw invalidOption(flag, 'a number', value);
  return n;
}

/**
 * Applies CLI flags over `base` (the config file's result, or DEFAULT_CONFIG). `flags` is commander's
 * options object; attributes that are not training settings (`out`, `json`, `resume` …) are ignored
 * here because the CLI handles them.
 */
export function configFromFlags(flags: Readonly<Record<string, unknown>>, base: TrainConfig = DEFAULT_CONFIG): TrainConfig {
  const values: Record<string, unknown> = {};
  const flagOf = new Map<string, string>();
  for (const { flag, attribute, key, kind } of TRAIN_FLAGS) {
    const value = flags[attribute];
    if (value === undefined) continue;
    values[key] = kind === 'number' ? flagNumber(flag, value) : value;
    flagOf.set(key, flag);
  }
  return applyLayer(base, values, (key) => flagOf.get(key) ?? key);
}
