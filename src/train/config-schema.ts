/**
 * The training config's schema: one entry per setting of TrainConfig, saying what kind of value it
 * takes and how it is checked. Everything that turns outside values into a TrainConfig goes through
 * it: the `--config` file and `fineTune()` options (parseTrainConfig), the CLI flags of `vggkit
 * train`, `sweep`, `lr-find` and the doctor's fix loop (src/cli/train-flags.ts derives its flag
 * table from SETTINGS), and any single value a caller wants checked (validateSetting).
 *
 * A setting is addressed by its path: `lr`, or `reduceLr.minLr` inside one of the three sections
 * (reduceLr, earlyStopping, schedule). Every check raises a UsageError naming what the caller calls
 * the value (`c.json: reduceLr.minLr`, `--min-lr`), what was expected and what was received.
 * Unknown keys and bad values are errors: nothing is silently ignored or replaced by a default
 * (Keras' ReduceLROnPlateau falling back on an unknown mode is the counter-example).
 */
import { ARCH_NAMES } from '../model/architectures.js';
import { INTERPOLATIONS, PREPROCESS_MODES, RESIZE_MODES } from '../image/contract.js';
import { PRECISIONS } from '../model/precision.js';
import { invalidOption, oneOf, UsageError } from '../util/errors.js';
import { didYouMean } from '../util/suggest.js';
import { OPTIMIZER_NAMES } from '../graph/optimizers/types.js';
import { AUGMENT_NAMES, type AugmentName } from '../image/augment.js';
import { HEAD_KINDS } from '../model/head.js';
import { MONITOR_MODES } from './callbacks/monitor.js';
import {
  CLASS_WEIGHTINGS,
  DEFAULT_CONFIG,
  LOSS_NAMES,
  type StageSpec,
  type TrainConfig,
} from './config.js';
import { SCHEDULE_NAMES } from './schedules.js';
import { parseStages, STAGE_NAMES, validateStages } from './stages.js';

/**
 * How a value is written outside JSON (on a command line, in a sweep range): `number` and `integer`
 * are parsed from text, `boolean` is a switch, `choice` is one name of `choices`, `list` a
 * comma-separated text (`flip,zoom`, `head:10,block5:5`), `text` any non-empty string.
 */
export type SettingKind = 'number' | 'integer' | 'boolean' | 'choice' | 'list' | 'text';

export interface Setting<T> {
  readonly kind: SettingKind;
  /** The closed list a `choice` (or each item of a `list`) is drawn from. */
  readonly choices?: readonly string[];
  /** Checks a JSON value (a list may also come as its text form); `name` is used in errors. */
  readonly check: (value: unknown, name: string) => T;
}

type Leaf = string | number | boolean | undefined | readonly unknown[];

/** The nested sections: reduceLr, earlyStopping, schedule. */
export type SectionKey = {
  [K in keyof TrainConfig]: TrainConfig[K] extends Leaf ? never : K;
}[keyof TrainConfig];

/** Every setting's address: a top-level key, or `section.key`. */
export type TrainSettingPath = {
  [K in keyof TrainConfig]: K extends SectionKey ? `${K}.${keyof TrainConfig[K] & string}` : K;
}[keyof TrainConfig];

/** The type of the value at a path (`SettingValue<'reduceLr.minLr'>` is number). */
export type SettingType<P extends TrainSettingPath> = P extends `${infer S}.${infer L}`
  ? S extends SectionKey
    ? L extends keyof TrainConfig[S]
      ? TrainConfig[S][L]
      : never
    : never
  : P extends keyof TrainConfig
    ? TrainConfig[P]
    : never;

/**
 * What callers may pass as a config (`fineTune({ config })`, a `--config` file): any part of
 * TrainConfig, sections key by key; `stages` and `augment` also in their text forms
 * (`head:10,block5:5`, `flip,zoom`), and `null` for a setting whose absence means "the weights'
 * own value" (preprocess, resize, interpolation, val).
 */
export type TrainConfigInput = {
  readonly [K in keyof TrainConfig]?: K extends SectionKey
    ? Partial<TrainConfig[K]>
    : K extends 'stages' | 'augment'
      ? TrainConfig[K] | string
      : TrainConfig[K] | (undefined extends TrainConfig[K] ? null : never);
};

type Schema = {
  readonly [K in keyof TrainConfig]: K extends SectionKey
    ? { readonly [L in keyof TrainConfig[K]]: Setting<TrainConfig[K][L]> }
    : Setting<TrainConfig[K]>;
};

function number(
  kind: 'number' | 'integer',
  accept: (n: number) => boolean,
  expected: string,
): Setting<number> {
  return {
    kind,
    check: (value, name) => {
      if (typeof value !== 'number' || !Number.isFinite(value) || !accept(value))
        throw invalidOption(name, expected, value);
      return value;
    },
  };
}

const positive = number('number', (n) => n > 0, 'a number > 0');
const nonNegative = number('number', (n) => n >= 0, 'a number >= 0');
const fraction = number('number', (n) => n >= 0 && n < 1, 'a number in [0, 1)');
const positiveInt = number('integer', (n) => Number.isInteger(n) && n >= 1, 'a whole number >= 1');
const nonNegativeInt = number(
  'integer',
  (n) => Number.isInteger(n) && n >= 0,
  'a whole number >= 0',
);

const boolean: Setting<boolean> = {
  kind: 'boolean',
  check: (value, name) => {
    if (typeof value !== 'boolean') throw invalidOption(name, 'true or false', value);
    return value;
  },
};

function nonEmptyString(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.trim() === '')
    throw invalidOption(name, 'a non-empty string', value);
  return value;
}

const text: Setting<string> = { kind: 'text', check: nonEmptyString };

/** `null` in JSON (or an absent flag) means "use the weights' own value". */
const optionalText: Setting<string | undefined> = {
  kind: 'text',
  check: (value, name) =>
    value === null || value === undefined ? undefined : nonEmptyString(value, name),
};

function choice<T extends string>(choices: readonly T[]): Setting<T> {
  return { kind: 'choice', choices, check: (value, name) => oneOf(name, choices, value) };
}

function optionalChoice<T extends string>(choices: readonly T[]): Setting<T | undefined> {
  return {
    kind: 'choice',
    choices,
    check: (value, name) =>
      value === null || value === undefined ? undefined : oneOf(name, choices, value),
  };
}

const augment: Setting<AugmentName[]> = {
  kind: 'list',
  choices: AUGMENT_NAMES,
  check: (value, name) => {
    const items =
      typeof value === 'string'
        ? value.trim() === '' || value === 'none'
          ? []
          : value.split(',').map((s) => s.trim())
        : value;
    if (!Array.isArray(items))
      throw invalidOption(name, `a list drawn from ${AUGMENT_NAMES.join(', ')}`, value);
    const list = items.map((item: unknown) => oneOf(name, AUGMENT_NAMES, item));
    return [...new Set(list)];
  },
};

const stages: Setting<StageSpec[]> = {
  kind: 'list',
  choices: STAGE_NAMES,
  check: (value, name) => {
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
  },
};

const seed = number(
  'integer',
  (n) => Number.isInteger(n) && n >= 0 && n <= 0xffffffff,
  'a whole number in [0, 4294967295]',
);

const SCHEMA: Schema = {
  arch: choice(ARCH_NAMES),
  weights: text,
  kerasWeights: optionalText,
  inputSize: number('integer', (n) => Number.isInteger(n) && n >= 32, 'a whole number >= 32'),
  preprocess: optionalChoice(PREPROCESS_MODES),
  resize: optionalChoice(RESIZE_MODES),
  interpolation: optionalChoice(INTERPOLATIONS),
  head: choice(HEAD_KINDS),
  dense: positiveInt,
  dropout: fraction,
  loss: choice(LOSS_NAMES),
  labelSmoothing: fraction,
  classWeights: choice(CLASS_WEIGHTINGS),
  optimizer: choice(OPTIMIZER_NAMES),
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
  val: optionalText,
  seed,
  stages,
  stageLrFactor: positive,
  blockLrDecay: number('number', (n) => n > 0 && n <= 1, 'a number in (0, 1]'),
  augment,
  precision: choice(PRECISIONS),
  reduceLr: {
    enabled: boolean,
    monitor: text,
    mode: choice(MONITOR_MODES),
    factor: number('number', (n) => n > 0 && n < 1, 'a number in (0, 1)'),
    patience: nonNegativeInt,
    minDelta: nonNegative,
    cooldown: nonNegativeInt,
    minLr: nonNegative,
  },
  earlyStopping: {
    enabled: boolean,
    monitor: text,
    mode: choice(MONITOR_MODES),
    patience: nonNegativeInt,
    minDelta: nonNegative,
    restoreBestWeights: boolean,
  },
  schedule: {
    name: choice(SCHEDULE_NAMES),
    stepEpochs: positiveInt,
    gamma: positive,
    maxLr: positive,
  },
  terminateOnNan: boolean,
};

/** One setting with its address: what flag tables, sweeps and help texts iterate over. */
export interface SettingInfo extends Setting<unknown> {
  readonly path: TrainSettingPath;
  /** The section it belongs to, for `reduceLr.minLr`. */
  readonly section: SectionKey | undefined;
  /** The key inside the section, or the top-level key. */
  readonly key: string;
}

function isSection(key: keyof TrainConfig): key is SectionKey {
  return !('check' in SCHEMA[key]);
}

const TOP_KEYS = Object.keys(SCHEMA) as (keyof TrainConfig)[];

/** Every setting, in the order of TrainConfig (sections expanded in place). */
export const SETTINGS: readonly SettingInfo[] = TOP_KEYS.flatMap((top): SettingInfo[] => {
  if (!isSection(top))
    return [
      {
        ...(SCHEMA[top] as Setting<unknown>),
        path: top as TrainSettingPath,
        section: undefined,
        key: top,
      },
    ];
  return Object.entries(SCHEMA[top] as Record<string, Setting<unknown>>).map(([key, setting]) => ({
    ...setting,
    path: `${top}.${key}` as TrainSettingPath,
    section: top,
    key,
  }));
});

const BY_PATH = new Map<string, SettingInfo>(SETTINGS.map((s) => [s.path, s]));

export function settingInfo(path: TrainSettingPath): SettingInfo {
  const info = BY_PATH.get(path);
  if (info === undefined) throw new TypeError(`no training setting ${path}`);
  return info;
}

/** The value of a setting in `config` (DEFAULT_CONFIG unless given). */
export function settingValue<P extends TrainSettingPath>(
  path: P,
  config: TrainConfig = DEFAULT_CONFIG,
): SettingType<P> {
  const { section, key } = settingInfo(path);
  const holder = (section === undefined ? config : config[section]) as unknown as Record<
    string,
    unknown
  >;
  return holder[key] as SettingType<P>;
}

/** Checks one value for one setting; `name` is what errors call it (`--gamma`, `c.json: lr`). */
export function validateSetting<P extends TrainSettingPath>(
  path: P,
  value: unknown,
  name: string,
): SettingType<P> {
  return settingInfo(path).check(value, name) as SettingType<P>;
}

/** One value to apply: its setting, the value, and the name errors use for it. */
export interface SettingOverride {
  readonly path: TrainSettingPath;
  readonly value: unknown;
  readonly name: string;
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
    throw new UsageError(
      'CONFLICTING_OPTIONS',
      `${explicitEpochs}: expected ${total}, the sum of the stages' epochs (${stagesName}), received ${config.epochs}`,
    );
  }
  return { ...config, epochs: total };
}

/**
 * One layer of overrides (a config file, a set of flags, a sweep trial) applied over `base`: each
 * value is checked, sections merge key by key, and `epochs` is reconciled with `stages`.
 */
export function applySettings(
  base: TrainConfig,
  overrides: readonly SettingOverride[],
): TrainConfig {
  const out = { ...base } as unknown as Record<string, unknown>;
  for (const { path, value, name } of overrides) {
    const { section, key, check } = settingInfo(path);
    const checked = check(value, name);
    if (section === undefined) out[key] = checked;
    else out[section] = { ...(out[section] as Record<string, unknown>), [key]: checked };
  }
  const nameOf = (path: TrainSettingPath): string | undefined =>
    [...overrides].reverse().find((o) => o.path === path)?.name;
  return reconcileEpochs(
    out as unknown as TrainConfig,
    nameOf('epochs'),
    nameOf('stages') ?? 'stages',
  );
}

function rejectUnknownKeys(
  record: Record<string, unknown>,
  known: readonly string[],
  where: string,
): void {
  for (const key of Object.keys(record)) {
    if (!known.includes(key)) {
      throw new UsageError(
        'UNKNOWN_CONFIG_KEY',
        `${where}: unknown key "${key}"${didYouMean(key, known)}; expected one of ${known.join(', ')}`,
      );
    }
  }
}

/**
 * A config object (a parsed `--config` file, `fineTune()` options, a run's config.json) merged over
 * `base` (DEFAULT_CONFIG unless given); `source` names it in errors (`c.json: reduceLr.factor`).
 */
export function parseTrainConfig(
  json: unknown,
  source: string,
  base: TrainConfig = DEFAULT_CONFIG,
): TrainConfig {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new UsageError(
      'CONFIG_FORMAT',
      `${source}: expected a JSON object of training settings, received ${Array.isArray(json) ? 'an array' : JSON.stringify(json)}`,
    );
  }
  const record = json as Record<string, unknown>;
  rejectUnknownKeys(record, TOP_KEYS, source);
  const overrides: SettingOverride[] = [];
  for (const [top, value] of Object.entries(record)) {
    if (!isSection(top as keyof TrainConfig)) {
      overrides.push({ path: top as TrainSettingPath, value, name: `${source}: ${top}` });
      continue;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      throw invalidOption(`${source}: ${top}`, 'an object', value);
    const section = value as Record<string, unknown>;
    rejectUnknownKeys(section, Object.keys(SCHEMA[top as SectionKey]), `${source}: ${top}`);
    for (const [key, inner] of Object.entries(section)) {
      const path = `${top}.${key}` as TrainSettingPath;
      overrides.push({ path, value: inner, name: `${source}: ${path}` });
    }
  }
  return applySettings(base, overrides);
}
