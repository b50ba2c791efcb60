/**
 * The search space, from the same flags `vggkit train` takes: a numeric flag given `lo..hi` is a
 * range, any flag given a comma list (or `|` alternatives: a stages or augment value holds commas
 * itself) is a list. `--config FILE` may hold the same as a `search` object. Every value is checked
 * by the one train flag table and its validation (`configFromFlags`) before anything runs, so a bad
 * value is the same error, naming the same flag, that `vggkit train` would give.
 *
 * Ranges of scale-type settings (LOG_SCALE_KEYS) are sampled log-uniformly; a range whose
 * endpoints are whole numbers on a flag that only accepts whole numbers stays integer.
 */
import { configFromFlags, TRAIN_FLAGS, type TrainFlag } from '../train/parse-config.js';
import type { TrainConfig } from '../train/config.js';
import { invalidOption, UsageError, VggkitError } from '../util/errors.js';
import { didYouMean } from '../util/suggest.js';
import type { Dimension, ParamValue, Params, SearchSpace } from './types.js';

/** Settings whose ranges are sampled on a log scale: rates and tiny constants span decades. */
export const LOG_SCALE_KEYS: readonly string[] = [
  'lr',
  'weightDecay',
  'epsilon',
  'reduceLr.minLr',
  'schedule.maxLr',
];

/** Flags whose own value is a comma list: their alternatives are separated by `|` only. */
const LIST_VALUED_KEYS: readonly string[] = ['stages', 'augment'];

const RANGE = /^\s*([^.\s][^\s]*?)\s*\.\.\s*([^\s]+)\s*$/;

/** The dimension's name: the train flag without its dashes. */
export function dimensionName(flag: TrainFlag): string {
  return flag.flag.slice(2);
}

function keyPath(flag: TrainFlag): string {
  return flag.sub === undefined ? flag.key : `${flag.key}.${flag.sub}`;
}

/** The flag a `search` key or dimension name refers to: `batch-size`, `--batch-size` or `batchSize`. */
export function findFlag(name: string, where: string): TrainFlag {
  const bare = name.replace(/^--/, '');
  const flag = TRAIN_FLAGS.find((f) => dimensionName(f) === bare || f.attribute === bare);
  if (flag === undefined)
    throw new UsageError(
      `${where}: unknown setting "${name}"${didYouMean(bare, TRAIN_FLAGS.map(dimensionName))}; expected a train flag such as lr, optimizer, batch-size`,
    );
  return flag;
}

/** The value commander would hand configFromFlags for `text` given to `flag`. */
function flagValue(flag: TrainFlag, text: string, where: string): ParamValue {
  if (flag.kind === 'boolean') {
    if (text === 'true') return true;
    if (text === 'false') return false;
    throw invalidOption(where, 'true or false', text);
  }
  if (flag.kind === 'number') {
    const n = text.trim() === '' ? Number.NaN : Number(text);
    if (Number.isNaN(n)) throw invalidOption(where, 'a number', text);
    return n;
  }
  return text;
}

/** Checks one value exactly as `vggkit train` would; the error names the flag (or `where`, a config file's entry). */
function check(flag: TrainFlag, value: ParamValue, base: TrainConfig, where = flag.flag): void {
  try {
    configFromFlags({ [flag.attribute]: value }, base);
  } catch (error) {
    if (!(error instanceof UsageError) || where === flag.flag) throw error;
    throw new UsageError(`${where}: ${error.message.replace(/^--[a-z0-9-]+(\.[a-zA-Z]+)?: /, '')}`);
  }
}

function accepts(flag: TrainFlag, value: ParamValue, base: TrainConfig): boolean {
  try {
    check(flag, value, base);
    return true;
  } catch (error) {
    if (error instanceof VggkitError) return false;
    throw error;
  }
}

function rangeDimension(
  flag: TrainFlag,
  lowText: string,
  highText: string,
  base: TrainConfig,
  where: string,
): Dimension {
  if (flag.kind !== 'number')
    throw invalidOption(
      where,
      `a list of values (a range lo..hi needs a numeric flag)`,
      `${lowText}..${highText}`,
    );
  const low = flagValue(flag, lowText, where) as number;
  const high = flagValue(flag, highText, where) as number;
  if (!(low < high))
    throw invalidOption(where, 'a range lo..hi with lo < hi', `${lowText}..${highText}`);
  check(flag, low, base, where);
  check(flag, high, base, where);
  const log = LOG_SCALE_KEYS.includes(keyPath(flag));
  if (log && low <= 0)
    throw invalidOption(
      where,
      'a range above 0 (it is sampled log-uniformly); list 0 separately, e.g. 0,1e-5,1e-4',
      `${lowText}..${highText}`,
    );
  // The flag's own validation decides integer-ness: whole endpoints on a flag that refuses 1.5.
  const integer =
    Number.isInteger(low) && Number.isInteger(high) && !accepts(flag, low + 0.5, base);
  const name = dimensionName(flag);
  return integer ? { kind: 'int', name, low, high, log } : { kind: 'float', name, low, high, log };
}

function listDimension(
  flag: TrainFlag,
  choices: readonly ParamValue[],
  base: TrainConfig,
  where: string,
): Dimension {
  const unique = choices.filter((c, i) => choices.findIndex((d) => d === c) === i);
  if (unique.length < 2)
    throw invalidOption(where, 'at least two different values to search over', choices);
  for (const choice of unique) check(flag, choice, base, where);
  return { kind: 'categorical', name: dimensionName(flag), choices: unique };
}

/** Whether a flag's text asks for a search (a range or a list) rather than one value. */
export function isSearchText(flag: TrainFlag, text: string): boolean {
  const listValued = LIST_VALUED_KEYS.includes(flag.key);
  return (
    text.includes('|') ||
    (!listValued && text.includes(',')) ||
    (flag.kind === 'number' && RANGE.test(text))
  );
}

/** A flag's text as given: a dimension, or undefined when it is a single fixed value. */
export function parseFlagDimension(
  flag: TrainFlag,
  text: string,
  base: TrainConfig,
  where = flag.flag,
): Dimension | undefined {
  const listValued = LIST_VALUED_KEYS.includes(flag.key);
  if (text.includes('|') || (!listValued && text.includes(','))) {
    const parts = text.split(listValued || text.includes('|') ? '|' : ',').map((s) => s.trim());
    return listDimension(
      flag,
      parts.map((p) => flagValue(flag, p, where)),
      base,
      where,
    );
  }
  const range = flag.kind === 'number' ? RANGE.exec(text) : null;
  if (range !== null)
    return rangeDimension(flag, range[1] as string, range[2] as string, base, where);
  return undefined;
}

/** One entry of a `search` object: "lo..hi", a list, or `{ low, high }`. */
function parseSearchEntry(
  flag: TrainFlag,
  value: unknown,
  base: TrainConfig,
  where: string,
): Dimension {
  if (typeof value === 'string') {
    const dimension = parseFlagDimension(flag, value, base, where);
    if (dimension === undefined)
      throw invalidOption(where, 'a range "lo..hi" or a list of values', value);
    return dimension;
  }
  if (Array.isArray(value)) {
    const choices = value.map((v: unknown) => {
      if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
      if (flag.key === 'stages' && Array.isArray(v))
        return v
          .map((s: { name?: unknown; epochs?: unknown }) => `${String(s.name)}:${String(s.epochs)}`)
          .join(',');
      throw invalidOption(where, 'numbers, strings or booleans', v);
    });
    return listDimension(flag, choices, base, where);
  }
  if (value !== null && typeof value === 'object' && 'low' in value && 'high' in value) {
    const { low, high } = value as { low: unknown; high: unknown };
    return rangeDimension(flag, String(low), String(high), base, where);
  }
  throw invalidOption(where, 'a range "lo..hi", a list, or { "low": …, "high": … }', value);
}

/** A `search` object from a --config file. */
export function parseSearchObject(search: unknown, base: TrainConfig, source: string): Dimension[] {
  if (search === null || typeof search !== 'object' || Array.isArray(search))
    throw invalidOption(`${source}: search`, 'an object of setting -> range or list', search);
  return Object.entries(search as Record<string, unknown>).map(([name, value]) =>
    parseSearchEntry(findFlag(name, `${source}: search`), value, base, `${source}: search.${name}`),
  );
}

export function makeSpace(dimensions: readonly Dimension[]): SearchSpace {
  const names = dimensions.map((d) => d.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined)
    throw new UsageError(
      `--${twice}: searched twice (as a flag and in the --config search object); give it once`,
    );
  return { dimensions: [...dimensions] };
}

/** A trial's complete config: the base with the trial's values applied, validated as train does. */
export function trialConfig(base: TrainConfig, params: Params): TrainConfig {
  const flags: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(params))
    flags[findFlag(name, 'params').attribute] = value;
  return configFromFlags(flags, base);
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
