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
    if (typeof value !== 'number' || !Number.isFinite(value) || !check(value))
      throw invalidOption(name, expected, value);
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
  if (typeof value !== 'string' || value.trim() === '')
    throw invalidOption(name, 'a non-empty string', value);
  return value;
}

/** `null` in JSON (or an absent flag) means "use the weights' own value". */
function optionalOneOf<T extends string>(allowed: readonly T[]): Field<T | undefined> {
  return (value, name) =>
    value === null || value === undefined ? undefined : oneOf(name, allowed, value);
}

function enumField<T extends string>(allowed: readonly T[]): Field<T> {
  return (value, name) => oneOf(name, allowed, value);
}

function stages(value: unknown, name: string): StageSpec[] {
  if (typeof value === 'string') return parseStages(value, name);
  if (!Array.isArray(value))
    throw invalidOption(
      name,
      'a list of {name, epochs} or a string such as "head:10,block5:5"',
      value,
    );
  const list = value.map((entry: unknown) => {
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry))
      throw invalidOption(name, 'stages as {name, epochs} objects', entry);
    rejectUnknownKeys(entry as Record<string, unknown>, ['name', 'epochs'], name);
    const { name: stageName, epochs } = entry as { name?: unknown; epochs?: unknown };
    const checkedName = nonEmptyString(stageName, `${name}.name`);
    if (typeof epochs !== 'number')
      throw invalidOption(name, `a whole number of epochs > 0 for stage ${checkedName}`, epochs);
    return { name: checkedName, epochs };
  });
  return validateStages(list, name);
}

function augment(value: unknown, name: string): AugmentName[] {
  const items =
    typeof value === 'string'
      ? value.trim() === '' || value === 'none'
        ? []
        : value.split(',').map((s) => s.trim())
      : value;
  if (!Array.isArray(items))
    throw invalidOption(name, `a list drawn from ${AUGMENTS.join(', ')}`, value);
  const list = items.map((item: unknown) => oneOf(name, AUGMENTS, item));
  return [...new Set(list)];
}

function optionalString(value: unknown, name: string): string | undefined {
  return value === null || value === undefined ? undefined : nonEmptyString(value, name);
}

function seed(value: unknown, name: string): number {
  return number(
    (n) => Number.isInteger(n) && n >= 0 && n <= 0xffffffff,
    'a whole number in [0, 4294967295]',
  )(value, name, 0);
}

/** A nested object merged key by key over the current value, with the same unknown-key rule. */
function group<T extends object>(fields: { [K in keyof T]: Field<T[K]> }): Field<T> {
  return (value, name, current) => {
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      throw invalidOption(name, 'an object', value);
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

function rejectUnknownKeys(
  record: Record<string, unknown>,
  known: readonly string[],
  where: string,
): void {
  for (const key of Object.keys(record)) {
    if (!known.includes(key)) {
      throw new UsageError(
        `${where}: unknown key "${key}"${didYouMean(key, known)}; expected one of ${known.join(', ')}`,
      );
    }
  }
}

/**
 * With stages, the run lasts the sum of their epochs: `epochs` follows unless the same layer set it
 * explicitly to something else, which is a contradiction worth an error rather than a guess.
 */
function reconcileEpochs(
  config: TrainConfig,
  explicitEpochs: string | undefined,
  stagesName: string,
): TrainConfig {
  if (config.stages.length === 0) return config;
  const total = config.stages.reduce((sum, s) => sum + s.epochs, 0);
  if (explicitEpochs !== undefined && config.epochs !== total) {
    throw invalidOption(
      explicitEpochs,
      `${total}, the sum of the stages' epochs (${stagesName})`,
      config.epochs,
    );
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
  return reconcileEpochs(
    out as unknown as TrainConfig,
    'epochs' in values ? nameOf('epochs') : undefined,
    nameOf('stages'),
  );
}

/** A parsed `--config` file merged over `base` (DEFAULT_CONFIG unless given); `source` names the file in errors. */
export function parseTrainConfig(
  json: unknown,
  source: string,
  base: TrainConfig = DEFAULT_CONFIG,
): TrainConfig {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new UsageError(
      `${source}: expected a JSON object of training settings, received ${Array.isArray(json) ? 'an array' : JSON.stringify(json)}`,
    );
  }
  const record = json as Record<string, unknown>;
  rejectUnknownKeys(record, CONFIG_KEYS, source);
  return applyLayer(base, record, (key) => `${source}: ${key}`);
}

type FlagKind = 'number' | 'text' | 'boolean';

export interface TrainFlag {
  /** The CLI flag; a boolean flag also gets its `--no-` form. */
  readonly flag: string;
  /** commander's camelCase attribute name for the flag. */
  readonly attribute: string;
  readonly key: keyof TrainConfig;
  /** For the nested sections (reduceLr, earlyStopping, schedule): the key inside. */
  readonly sub?: string;
  readonly kind: FlagKind;
  readonly help: string;
}

/** CLI flag -> config key: every setting of the config file is also a flag of `vggkit train`. */
export const TRAIN_FLAGS: readonly TrainFlag[] = [
  {
    flag: '--arch',
    attribute: 'arch',
    key: 'arch',
    kind: 'text',
    help: 'vgg11, vgg13, vgg16 or vgg19',
  },
  {
    flag: '--weights',
    attribute: 'weights',
    key: 'weights',
    kind: 'text',
    help: 'base weights: registry tag, .h5/.safetensors file, or none',
  },
  {
    flag: '--input-size',
    attribute: 'inputSize',
    key: 'inputSize',
    kind: 'number',
    help: 'input height and width in pixels (>= 32)',
  },
  {
    flag: '--preprocess',
    attribute: 'preprocess',
    key: 'preprocess',
    kind: 'text',
    help: "override the weights' preprocessing: caffe, torch, tf, none",
  },
  {
    flag: '--resize',
    attribute: 'resize',
    key: 'resize',
    kind: 'text',
    help: "override the weights' resize mode: stretch, center-crop, pad",
  },
  {
    flag: '--interpolation',
    attribute: 'interpolation',
    key: 'interpolation',
    kind: 'text',
    help: 'override the interpolation: bilinear, nearest, bicubic, lanczos',
  },
  {
    flag: '--head',
    attribute: 'head',
    key: 'head',
    kind: 'text',
    help: 'flatten or avg (global average pooling)',
  },
  {
    flag: '--dense',
    attribute: 'dense',
    key: 'dense',
    kind: 'number',
    help: 'units of the hidden dense layer',
  },
  {
    flag: '--dropout',
    attribute: 'dropout',
    key: 'dropout',
    kind: 'number',
    help: 'dropout rate before the output layer',
  },
  {
    flag: '--loss',
    attribute: 'loss',
    key: 'loss',
    kind: 'text',
    help: 'categorical_crossentropy, or binary_crossentropy for two classes',
  },
  {
    flag: '--label-smoothing',
    attribute: 'labelSmoothing',
    key: 'labelSmoothing',
    kind: 'number',
    help: 'label smoothing in [0, 1)',
  },
  {
    flag: '--class-weights',
    attribute: 'classWeights',
    key: 'classWeights',
    kind: 'text',
    help: 'none or balanced (weigh classes inversely to their size)',
  },
  {
    flag: '--optimizer',
    attribute: 'optimizer',
    key: 'optimizer',
    kind: 'text',
    help: 'adam, adamw or sgd',
  },
  { flag: '--lr', attribute: 'lr', key: 'lr', kind: 'number', help: 'learning rate' },
  {
    flag: '--momentum',
    attribute: 'momentum',
    key: 'momentum',
    kind: 'number',
    help: 'SGD momentum',
  },
  {
    flag: '--nesterov',
    attribute: 'nesterov',
    key: 'nesterov',
    kind: 'boolean',
    help: 'Nesterov momentum for SGD',
  },
  { flag: '--beta1', attribute: 'beta1', key: 'beta1', kind: 'number', help: 'Adam beta1' },
  { flag: '--beta2', attribute: 'beta2', key: 'beta2', kind: 'number', help: 'Adam beta2' },
  { flag: '--epsilon', attribute: 'epsilon', key: 'epsilon', kind: 'number', help: 'Adam epsilon' },
  {
    flag: '--weight-decay',
    attribute: 'weightDecay',
    key: 'weightDecay',
    kind: 'number',
    help: 'weight decay (decoupled for adamw, L2 otherwise)',
  },
  {
    flag: '--clip-norm',
    attribute: 'clipNorm',
    key: 'clipNorm',
    kind: 'number',
    help: 'clip the global gradient norm (0: off)',
  },
  {
    flag: '--epochs',
    attribute: 'epochs',
    key: 'epochs',
    kind: 'number',
    help: 'epochs (with --stages, their sum)',
  },
  {
    flag: '--batch-size',
    attribute: 'batchSize',
    key: 'batchSize',
    kind: 'number',
    help: 'images per step',
  },
  {
    flag: '--val-split',
    attribute: 'valSplit',
    key: 'valSplit',
    kind: 'number',
    help: 'fraction of each class held out for validation',
  },
  {
    flag: '--val',
    attribute: 'val',
    key: 'val',
    kind: 'text',
    help: 'validation folder with the same class sub-folders (replaces --val-split)',
  },
  {
    flag: '--seed',
    attribute: 'seed',
    key: 'seed',
    kind: 'number',
    help: 'seed of the split, shuffling, dropout, augmentation and random init',
  },
  {
    flag: '--stages',
    attribute: 'stages',
    key: 'stages',
    kind: 'text',
    help: 'progressive unfreezing, e.g. head:10,block5:5,block4:5',
  },
  {
    flag: '--stage-lr-factor',
    attribute: 'stageLrFactor',
    key: 'stageLrFactor',
    kind: 'number',
    help: 'learning-rate multiplier at each stage change',
  },
  {
    flag: '--block-lr-decay',
    attribute: 'blockLrDecay',
    key: 'blockLrDecay',
    kind: 'number',
    help: 'learning-rate multiplier per unfrozen block below the head (block5 x d, block4 x d^2 ...)',
  },
  {
    flag: '--augment',
    attribute: 'augment',
    key: 'augment',
    kind: 'text',
    help: 'comma-separated: flip, rotate, zoom, brightness, contrast',
  },
  {
    flag: '--reduce-lr',
    attribute: 'reduceLr',
    key: 'reduceLr',
    sub: 'enabled',
    kind: 'boolean',
    help: 'ReduceLROnPlateau',
  },
  {
    flag: '--reduce-lr-monitor',
    attribute: 'reduceLrMonitor',
    key: 'reduceLr',
    sub: 'monitor',
    kind: 'text',
    help: 'metric ReduceLROnPlateau watches',
  },
  {
    flag: '--reduce-lr-mode',
    attribute: 'reduceLrMode',
    key: 'reduceLr',
    sub: 'mode',
    kind: 'text',
    help: 'min, max or auto (from the metric name)',
  },
  {
    flag: '--reduce-lr-factor',
    attribute: 'reduceLrFactor',
    key: 'reduceLr',
    sub: 'factor',
    kind: 'number',
    help: 'ReduceLROnPlateau factor',
  },
  {
    flag: '--reduce-lr-patience',
    attribute: 'reduceLrPatience',
    key: 'reduceLr',
    sub: 'patience',
    kind: 'number',
    help: 'ReduceLROnPlateau patience (epochs)',
  },
  {
    flag: '--reduce-lr-min-delta',
    attribute: 'reduceLrMinDelta',
    key: 'reduceLr',
    sub: 'minDelta',
    kind: 'number',
    help: 'ReduceLROnPlateau min_delta',
  },
  {
    flag: '--reduce-lr-cooldown',
    attribute: 'reduceLrCooldown',
    key: 'reduceLr',
    sub: 'cooldown',
    kind: 'number',
    help: 'ReduceLROnPlateau cooldown (epochs)',
  },
  {
    flag: '--min-lr',
    attribute: 'minLr',
    key: 'reduceLr',
    sub: 'minLr',
    kind: 'number',
    help: 'ReduceLROnPlateau min_lr',
  },
  {
    flag: '--early-stopping',
    attribute: 'earlyStopping',
    key: 'earlyStopping',
    sub: 'enabled',
    kind: 'boolean',
    help: 'EarlyStopping (restores the best weights)',
  },
  {
    flag: '--early-stopping-monitor',
    attribute: 'earlyStoppingMonitor',
    key: 'earlyStopping',
    sub: 'monitor',
    kind: 'text',
    help: 'metric EarlyStopping watches',
  },
  {
    flag: '--early-stopping-mode',
    attribute: 'earlyStoppingMode',
    key: 'earlyStopping',
    sub: 'mode',
    kind: 'text',
    help: 'min, max or auto (from the metric name)',
  },
  {
    flag: '--early-stopping-patience',
    attribute: 'earlyStoppingPatience',
    key: 'earlyStopping',
    sub: 'patience',
    kind: 'number',
    help: 'EarlyStopping patience (epochs)',
  },
  {
    flag: '--early-stopping-min-delta',
    attribute: 'earlyStoppingMinDelta',
    key: 'earlyStopping',
    sub: 'minDelta',
    kind: 'number',
    help: 'EarlyStopping min_delta',
  },
  {
    flag: '--restore-best-weights',
    attribute: 'restoreBestWeights',
    key: 'earlyStopping',
    sub: 'restoreBestWeights',
    kind: 'boolean',
    help: 'EarlyStopping restores the best epoch',
  },
  {
    flag: '--schedule',
    attribute: 'schedule',
    key: 'schedule',
    sub: 'name',
    kind: 'text',
    help: 'learning-rate schedule: none, step, cosine, one-cycle',
  },
  {
    flag: '--step-epochs',
    attribute: 'stepEpochs',
    key: 'schedule',
    sub: 'stepEpochs',
    kind: 'number',
    help: 'step schedule: epochs between decays',
  },
  {
    flag: '--gamma',
    attribute: 'gamma',
    key: 'schedule',
    sub: 'gamma',
    kind: 'number',
    help: 'step schedule: decay factor',
  },
  {
    flag: '--max-lr',
    attribute: 'maxLr',
    key: 'schedule',
    sub: 'maxLr',
    kind: 'number',
    help: 'one-cycle schedule: peak learning rate',
  },
  {
    flag: '--terminate-on-nan',
    attribute: 'terminateOnNan',
    key: 'terminateOnNan',
    kind: 'boolean',
    help: 'stop when the loss becomes NaN',
  },
];

/** The default a flag stands for, for help texts. */
export function flagDefault(f: TrainFlag): unknown {
  const value = DEFAULT_CONFIG[f.key];
  return f.sub === undefined ? value : (value as unknown as Record<string, unknown>)[f.sub];
}

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
export function configFromFlags(
  flags: Readonly<Record<string, unknown>>,
  base: TrainConfig = DEFAULT_CONFIG,
): TrainConfig {
  const values: Record<string, unknown> = {};
  const flagOf = new Map<string, string>();
  for (const { flag, attribute, key, sub, kind } of TRAIN_FLAGS) {
    const raw = flags[attribute];
    if (raw === undefined) continue;
    const value = kind === 'number' ? flagNumber(flag, raw) : raw;
    if (sub === undefined) {
      values[key] = value;
      flagOf.set(key, flag);
    } else {
      // Nested sections merge flag by flag; errors name the section (`--reduce-lr.factor`).
      values[key] = { ...(values[key] as Record<string, unknown> | undefined), [sub]: value };
      flagOf.set(key, `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
    }
  }
  return applyLayer(base, values, (key) => flagOf.get(key) ?? key);
}
