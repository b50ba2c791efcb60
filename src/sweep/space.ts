/**
 * The search space. A dimension varies one training setting (a config schema path such as `lr`
 * or `reduceLr.minLr`): a numeric setting given `lo..hi` is a range, any setting given a list is a
 * list (from the command line `a,b,c`, or `x|y` for the list-valued settings stages and augment,
 * whose own values hold commas). Every value is checked by the config schema's own check for that
 * setting (`validateSetting`) before anything runs, under the name the user wrote (`--dropout`,
 * `cfg.json: search.dropout`), so a bad value is the error `vggkit train` would give.
 *
 * Ranges of scale-type settings (LOG_SCALE_PATHS) are sampled log-uniformly; integer settings stay
 * integers. The command line's flag names are the CLI's business (src/cli/sweep.ts maps flags to
 * settings through the one train flag table); a dimension keeps the name it was given by.
 */
import {
  applySettings,
  settingInfo,
  validateSetting,
  type SettingOverride,
  type TrainSettingPath,
} from '../train/config-schema.js';
import type { TrainConfig } from '../train/config.js';
import { invalidOption, UsageError } from '../util/errors.js';
import type { Dimension, ParamValue, Params, SearchSpace } from './types.js';

/** Settings whose ranges are sampled on a log scale: rates and tiny constants span decades. */
export const LOG_SCALE_PATHS: readonly TrainSettingPath[] = [
  'lr',
  'weightDecay',
  'epsilon',
  'reduceLr.minLr',
  'schedule.maxLr',
];

const RANGE = /^\s*([^.\s][^\s]*?)\s*\.\.\s*([^\s]+)\s*$/;

function isNumeric(path: TrainSettingPath): boolean {
  const { kind } = settingInfo(path);
  return kind === 'number' || kind === 'integer';
}

/** Text as the JSON value the schema checks: numbers and booleans parsed, the rest as written. */
function fromText(path: TrainSettingPath, text: string, name: string): ParamValue {
  const { kind } = settingInfo(path);
  if (kind === 'boolean') {
    if (text === 'true') return true;
    if (text === 'false') return false;
    throw invalidOption(name, 'true or false', text);
  }
  if (kind === 'number' || kind === 'integer') {
    const n = text.trim() === '' ? Number.NaN : Number(text);
    if (Number.isNaN(n)) throw invalidOption(name, 'a number', text);
    return n;
  }
  return text;
}

/** A value in a `search` list as the schema takes it (stages may be written as objects). */
function fromJson(path: TrainSettingPath, value: unknown, name: string): ParamValue {
  if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean')
    return value;
  if (path === 'stages' && Array.isArray(value))
    return validateSetting('stages', value, name)
      .map((s) => `${s.name}:${s.epochs}`)
      .join(',');
  throw invalidOption(name, 'numbers, strings or booleans', value);
}

/** Checks a value exactly as the config schema does, with the rest of the base config around it. */
function check(path: TrainSettingPath, value: ParamValue, base: TrainConfig, name: string): void {
  applySettings(base, [{ path, value, name }]);
}

function range(
  path: TrainSettingPath,
  dimension: string,
  low: number,
  high: number,
  base: TrainConfig,
  name: string,
): Dimension {
  if (!isNumeric(path))
    throw invalidOption(
      name,
      'a list of values (a range lo..hi needs a numeric setting)',
      `${low}..${high}`,
    );
  if (!(low < high)) throw invalidOption(name, 'a range lo..hi with lo < hi', `${low}..${high}`);
  check(path, low, base, name);
  check(path, high, base, name);
  const log = LOG_SCALE_PATHS.includes(path);
  if (log && low <= 0)
    throw invalidOption(
      name,
      'a range above 0 (it is sampled log-uniformly); list 0 separately, e.g. 0,1e-5,1e-4',
      `${low}..${high}`,
    );
  const kind = settingInfo(path).kind === 'integer' ? 'int' : 'float';
  return { kind, name: dimension, path, low, high, log };
}

function list(
  path: TrainSettingPath,
  dimension: string,
  choices: readonly ParamValue[],
  base: TrainConfig,
  name: string,
): Dimension {
  const unique = choices.filter((c, i) => choices.indexOf(c) === i);
  if (unique.length < 2)
    throw invalidOption(name, 'at least two different values to search over', choices);
  for (const choice of unique) check(path, choice, base, name);
  return { kind: 'categorical', name: dimension, path, choices: unique };
}

/** Whether text given for a setting asks for a search (a range or a list) rather than one value. */
export function isSearchText(path: TrainSettingPath, text: string): boolean {
  const listValued = settingInfo(path).kind === 'list';
  return (
    text.includes('|') ||
    (!listValued && text.includes(',')) ||
    (isNumeric(path) && RANGE.test(text))
  );
}

/**
 * Text as given on a command line for `path` (named `name` in errors, `dimension` in results):
 * a dimension, or undefined when it is one fixed value.
 */
export function parseDimensionText(
  path: TrainSettingPath,
  dimension: string,
  text: string,
  base: TrainConfig,
  name: string,
): Dimension | undefined {
  const listValued = settingInfo(path).kind === 'list';
  if (text.includes('|') || (!listValued && text.includes(','))) {
    const parts = text.split(listValued || text.includes('|') ? '|' : ',').map((s) => s.trim());
    return list(
      path,
      dimension,
      parts.map((p) => fromText(path, p, name)),
      base,
      name,
    );
  }
  const match = isNumeric(path) ? RANGE.exec(text) : null;
  if (match === null) return undefined;
  return range(
    path,
    dimension,
    fromText(path, match[1] as string, name) as number,
    fromText(path, match[2] as string, name) as number,
    base,
    name,
  );
}

/** One entry of a `search` object: "lo..hi" or "a,b", a list, or `{ "low": …, "high": … }`. */
export function parseDimensionJson(
  path: TrainSettingPath,
  dimension: string,
  value: unknown,
  base: TrainConfig,
  name: string,
): Dimension {
  if (typeof value === 'string') {
    const parsed = parseDimensionText(path, dimension, value, base, name);
    if (parsed === undefined)
      throw invalidOption(name, 'a range "lo..hi" or a list of values', value);
    return parsed;
  }
  if (Array.isArray(value))
    return list(
      path,
      dimension,
      value.map((v: unknown) => fromJson(path, v, name)),
      base,
      name,
    );
  if (value !== null && typeof value === 'object' && 'low' in value && 'high' in value) {
    const { low, high } = value as { low: unknown; high: unknown };
    if (typeof low !== 'number' || typeof high !== 'number')
      throw invalidOption(name, 'numbers for low and high', value);
    return range(path, dimension, low, high, base, name);
  }
  throw invalidOption(name, 'a range "lo..hi", a list, or { "low": …, "high": … }', value);
}

export function makeSpace(dimensions: readonly Dimension[]): SearchSpace {
  const paths = dimensions.map((d) => d.path);
  const twice = dimensions.find((d, i) => paths.indexOf(d.path) !== i);
  if (twice !== undefined)
    throw new UsageError(
      'CONFLICTING_OPTIONS',
      `${twice.name}: searched twice (as a flag and in the --config search object, or under two spellings); give it once`,
    );
  return { dimensions: [...dimensions] };
}

/** A trial's complete config: the base with the trial's values applied, checked as train checks them. */
export function trialConfig(base: TrainConfig, space: SearchSpace, params: Params): TrainConfig {
  const overrides: SettingOverride[] = space.dimensions
    .filter((d) => d.name in params)
    .map((d) => ({ path: d.path, value: params[d.name], name: d.name }));
  return applySettings(base, overrides);
}

/** `lr=1.0e-3 optimizer=adam`: a trial's values for one line of output. */
export function formatParams(params: Params): string {
  return Object.entries(params)
    .map(([k, v]) => `${k}=${typeof v === 'number' ? formatNumber(v) : String(v)}`)
    .join(' ');
}

export function formatNumber(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 0.01 && Math.abs(v) < 1000
    ? String(Number(v.toPrecision(3)))
    : v.toExponential(2);
}
