/**
 * The training flags, derived from the config schema: every setting of TrainConfig is one flag,
 * the kebab-case of its path (`lr` → `--lr`, `reduceLr.minDelta` → `--reduce-lr-min-delta`); a
 * section's switch or name is the section's own flag (`--reduce-lr`, `--early-stopping`,
 * `--schedule`). Only the help texts are written here by hand, plus the short spellings the
 * flags had before they were derived (`--min-lr`, `--gamma` …), kept as aliases.
 *
 * Every command that takes training settings (train, sweep, lr-find, the doctor's fix loop) uses
 * this one table: `registerTrainFlags` adds the flags to a commander Command, `trainFlagOverrides`
 * reads commander's options back as schema overrides named by the flag the user typed, and
 * `configFromFlags` applies them over a base config. `parseFlagValue` checks one text value for
 * one flag exactly as train does, for callers that read values their own way (sweep ranges).
 */
import { Option, type Command } from 'commander';
import {
  applySettings,
  SETTINGS,
  settingValue,
  type SectionKey,
  type SettingKind,
  type SettingOverride,
  type TrainSettingPath,
  validateSetting,
} from '../train/config-schema.js';
import { DEFAULT_CONFIG, type TrainConfig } from '../train/config.js';
import { invalidOption, UsageError } from '../util/errors.js';

export interface TrainFlag {
  /** The flag derived from the path; a boolean flag also has its `--no-` form. */
  readonly flag: string;
  /** Other spellings that set the same setting (hidden from help, named in errors when typed). */
  readonly aliases: readonly string[];
  readonly path: TrainSettingPath;
  readonly kind: SettingKind;
  /** The names a `choice` (or each item of a `list`) accepts. */
  readonly choices: readonly string[] | undefined;
  readonly help: string;
}

/** The section key whose flag is the section's own: `--reduce-lr` switches ReduceLROnPlateau. */
const SECTION_FLAG_KEY: { readonly [S in SectionKey]: keyof TrainConfig[S] & string } = {
  reduceLr: 'enabled',
  earlyStopping: 'enabled',
  schedule: 'name',
};

/** The spellings flags had before they were derived from the schema; still accepted. */
const ALIASES: Partial<Record<TrainSettingPath, readonly string[]>> = {
  'reduceLr.minLr': ['--min-lr'],
  'earlyStopping.restoreBestWeights': ['--restore-best-weights'],
  'schedule.stepEpochs': ['--step-epochs'],
  'schedule.gamma': ['--gamma'],
  'schedule.maxLr': ['--max-lr'],
};

const HELP: Record<TrainSettingPath, string> = {
  arch: 'network',
  weights:
    'base weights: registry tag, .h5/.hdf5/.safetensors file, your Keras model (.keras, model.save .h5), or none',
  kerasWeights:
    'with --weights MODEL.json (model.to_json()): the .h5 model.save_weights wrote, loaded as model.load_weights does',
  inputSize: 'input height and width in pixels (>= 32)',
  preprocess: "override the weights' preprocessing",
  resize: "override the weights' resize mode",
  interpolation: "override the weights' interpolation",
  head: 'classifier head (avg: global average pooling)',
  dense: 'units of the hidden dense layer',
  dropout: 'dropout rate before the output layer',
  loss: 'loss (binary_crossentropy needs exactly two classes)',
  labelSmoothing: 'label smoothing in [0, 1)',
  classWeights: 'class weights (balanced: inversely to class size)',
  optimizer: 'optimizer',
  lr: 'learning rate',
  momentum: 'SGD momentum',
  nesterov: 'Nesterov momentum for SGD',
  beta1: 'Adam beta1',
  beta2: 'Adam beta2',
  epsilon: 'Adam epsilon',
  weightDecay: 'weight decay (decoupled for adamw, L2 otherwise)',
  clipNorm: 'clip the global gradient norm (0: off)',
  epochs: 'epochs (with --stages, their sum)',
  batchSize: 'images per step',
  valSplit: 'fraction of each class held out for validation',
  val: 'validation folder with the same class sub-folders (replaces --val-split)',
  seed: 'seed of the split, shuffling, dropout, augmentation and random init',
  stages: 'progressive unfreezing as name:epochs pairs, e.g. head:10,block5:5,block4:5',
  stageLrFactor: 'learning-rate multiplier at each stage change',
  blockLrDecay:
    'learning-rate multiplier per unfrozen block below the head (block5 x d, block4 x d^2 ...)',
  augment: 'comma-separated augmentations',
  precision:
    'precision of the frozen base computing the cached features (int8: calibrated on a sample of the training images, used only if it agrees with fp32 on held-out ones)',
  'reduceLr.enabled': 'ReduceLROnPlateau',
  'reduceLr.monitor': 'metric ReduceLROnPlateau watches',
  'reduceLr.mode': 'ReduceLROnPlateau direction (auto: from the metric name)',
  'reduceLr.factor': 'ReduceLROnPlateau factor',
  'reduceLr.patience': 'ReduceLROnPlateau patience (epochs)',
  'reduceLr.minDelta': 'ReduceLROnPlateau min_delta',
  'reduceLr.cooldown': 'ReduceLROnPlateau cooldown (epochs)',
  'reduceLr.minLr': 'ReduceLROnPlateau min_lr',
  'earlyStopping.enabled': 'EarlyStopping (restores the best weights)',
  'earlyStopping.monitor': 'metric EarlyStopping watches',
  'earlyStopping.mode': 'EarlyStopping direction (auto: from the metric name)',
  'earlyStopping.patience': 'EarlyStopping patience (epochs)',
  'earlyStopping.minDelta': 'EarlyStopping min_delta',
  'earlyStopping.restoreBestWeights': 'EarlyStopping restores the best epoch',
  'schedule.name': 'learning-rate schedule',
  'schedule.stepEpochs': 'step schedule: epochs between decays',
  'schedule.gamma': 'step schedule: decay factor',
  'schedule.maxLr': 'one-cycle schedule: peak learning rate',
  terminateOnNan: 'stop when the loss becomes NaN',
};

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** commander's attribute for a long flag: `--reduce-lr-min-lr` → `reduceLrMinLr`. */
export function flagAttribute(flag: string): string {
  return flag.replace(/^--(no-)?/, '').replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function derivedFlag(section: SectionKey | undefined, key: string): string {
  if (section === undefined) return `--${kebab(key)}`;
  if (SECTION_FLAG_KEY[section] === key) return `--${kebab(section)}`;
  return `--${kebab(section)}-${kebab(key)}`;
}

/** Every training setting as a flag, in the order of TrainConfig. */
export const TRAIN_FLAGS: readonly TrainFlag[] = SETTINGS.map(
  ({ path, section, key, kind, choices }) => ({
    flag: derivedFlag(section, key),
    aliases: ALIASES[path] ?? [],
    path,
    kind,
    choices,
    help: HELP[path],
  }),
);

const BY_PATH = new Map<string, TrainFlag>(TRAIN_FLAGS.map((f) => [f.path, f]));

export function trainFlag(path: TrainSettingPath): TrainFlag {
  const flag = BY_PATH.get(path);
  if (flag === undefined) throw new TypeError(`no training setting ${path}`);
  return flag;
}

/** The default a flag stands for, for help texts. */
export function flagDefault(flag: TrainFlag): unknown {
  return settingValue(flag.path, DEFAULT_CONFIG);
}

/** `help: choices (default x; also --alias)`, the line `--help` shows for a flag. */
function helpText(f: TrainFlag, state?: 'on' | 'off'): string {
  const fallback = flagDefault(f);
  const choices =
    f.choices === undefined
      ? ''
      : f.kind === 'list'
        ? ` (names: ${f.choices.join(', ')})`
        : `: ${f.choices.join(', ')}`;
  const notes: string[] = [];
  if (state === undefined && fallback !== undefined)
    notes.push(
      `default ${Array.isArray(fallback) ? fallback.join(',') || 'none' : String(fallback)}`,
    );
  if (state !== undefined && fallback === (state === 'on')) notes.push('default');
  if (f.aliases.length > 0)
    notes.push(
      `also ${f.aliases.map((a) => (state === 'off' ? `--no-${a.slice(2)}` : a)).join(', ')}`,
    );
  const described = state === undefined ? `${f.help}${choices}` : `${f.help}: ${state}`;
  return notes.length === 0 ? described : `${described} (${notes.join('; ')})`;
}

export interface RegisterOptions {
  /** Settings the command does not take as flags (e.g. one it fixes itself). */
  readonly except?: readonly TrainSettingPath[];
}

/** Adds every training flag (and its aliases, hidden from help) to `command`. */
export function registerTrainFlags(command: Command, options: RegisterOptions = {}): Command {
  const add = (option: Option, attribute: string): void => {
    // The lookup in trainFlagOverrides relies on this attribute; commander must agree.
    if (option.attributeName() !== attribute)
      throw new TypeError(`${option.flags}: commander names it ${option.attributeName()}`);
    command.addOption(option);
  };
  for (const f of TRAIN_FLAGS) {
    if (options.except?.includes(f.path) === true) continue;
    for (const [index, spelling] of [f.flag, ...f.aliases].entries()) {
      const hidden = index > 0;
      const attribute = flagAttribute(spelling);
      const options =
        f.kind === 'boolean'
          ? [
              new Option(spelling, helpText(f, 'on')),
              new Option(`--no-${spelling.slice(2)}`, helpText(f, 'off')),
            ]
          : [
              new Option(
                `${spelling} <${f.kind === 'number' || f.kind === 'integer' ? 'x' : 'value'}>`,
                helpText(f),
              ),
            ];
      for (const option of options) add(hidden ? option.hideHelp() : option, attribute);
    }
  }
  return command;
}

/** Text from a command line as the JSON value the schema checks (numbers, booleans). */
function fromText(f: TrainFlag, raw: unknown, typed: string): unknown {
  if (typeof raw !== 'string') return raw;
  if (f.kind === 'number' || f.kind === 'integer') {
    const n = raw.trim() === '' ? Number.NaN : Number(raw);
    if (Number.isNaN(n)) throw invalidOption(typed, 'a number', raw);
    return n;
  }
  if (f.kind === 'boolean') {
    if (raw !== 'true' && raw !== 'false') throw invalidOption(typed, 'true or false', raw);
    return raw === 'true';
  }
  return raw;
}

/**
 * Checks one value given for one flag as `vggkit train` does: text becomes a number for the
 * numeric kinds (`true`/`false` for a boolean), then the schema checks it. `typed` is the spelling
 * the user wrote, which errors name (an alias, or `--no-…`).
 */
export function parseFlagValue(f: TrainFlag, raw: unknown, typed: string = f.flag): unknown {
  return validateSetting(f.path, fromText(f, raw, typed), typed);
}

/**
 * The training settings among commander's options, each named by the flag that was typed.
 * Options that are not training settings (`out`, `json`, `resume` …) are left to the command.
 */
export function trainFlagOverrides(flags: Readonly<Record<string, unknown>>): SettingOverride[] {
  const overrides: SettingOverride[] = [];
  for (const f of TRAIN_FLAGS) {
    const given = [f.flag, ...f.aliases].filter((s) => flags[flagAttribute(s)] !== undefined);
    if (given.length > 1)
      throw new UsageError(
        'CONFLICTING_OPTIONS',
        `${given.join(' and ')}: expected one of them (both set ${f.path}), received both`,
      );
    const spelling = given[0];
    if (spelling === undefined) continue;
    const raw = flags[flagAttribute(spelling)];
    const typed = raw === false ? `--no-${spelling.slice(2)}` : spelling;
    overrides.push({ path: f.path, value: fromText(f, raw, typed), name: typed });
  }
  return overrides;
}

/** Applies the training flags among commander's options over `base` (a `--config` file's result). */
export function configFromFlags(
  flags: Readonly<Record<string, unknown>>,
  base: TrainConfig = DEFAULT_CONFIG,
): TrainConfig {
  return applySettings(base, trainFlagOverrides(flags));
}
