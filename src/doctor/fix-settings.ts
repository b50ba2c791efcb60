/**
 * Which training settings a fix is about, and a config patch written as train flags. A fix speaks
 * about a setting in two structured ways: its config patch (`{ lr: 1e-4 }`), or the train flag it
 * names without a value (`flag: '--lr'`: "raise the learning rate"). Both are read through the one
 * train flag table (src/cli/train-flags.ts, whose own docs name the doctor's fix loop as a user),
 * so a flag here is always the flag `vggkit train` takes.
 */
import { TRAIN_FLAGS, trainFlag } from '../cli/train-flags.js';
import type { TrainSettingPath } from '../train/config-schema.js';
import type { StageSpec } from '../train/config.js';
import type { ConfigPatch, Fix } from './types.js';

/**
 * The settings only SGD reads (graph/optimizers/sgd.ts; Adam and AdamW ignore them): once the
 * optimizer decided for a fix is not SGD, a value for them changes nothing and a fix about them
 * is moot (combine.ts, checks/fix.ts, fix-loop/candidates.ts).
 */
export const SGD_ONLY_SETTINGS: readonly string[] = ['momentum', 'nesterov'];

/** Every spelling of a train flag -> the top-level config key it sets (`--min-lr` -> reduceLr). */
const FLAG_SETTINGS = new Map<string, string>(
  TRAIN_FLAGS.flatMap((f) =>
    [f.flag, ...f.aliases].map((spelling) => [spelling, f.path.split('.')[0] as string]),
  ),
);

function flagSettings(flag: string | undefined): string[] {
  if (flag === undefined) return [];
  const named = flag.match(/--[a-z][a-z0-9-]*/g) ?? [];
  return named
    .map((spelling) => FLAG_SETTINGS.get(spelling.replace(/^--no-/, '--')))
    .filter((s): s is string => s !== undefined);
}

/** The top-level config keys a fix sets (its patch) or speaks about (the flags it names). */
export function fixSettings(fix: Fix): string[] {
  return [...new Set([...Object.keys(fix.config ?? {}), ...flagSettings(fix.flag)])];
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function flagValue(path: TrainSettingPath, value: unknown): string | undefined {
  const { flag, kind } = trainFlag(path);
  if (value === undefined) return undefined;
  if (kind === 'boolean') return value === true ? flag : `--no-${flag.slice(2)}`;
  if (Array.isArray(value)) {
    const items = value.map((v) =>
      isPlainObject(v) ? `${String((v as unknown as StageSpec).name)}:${String(v.epochs)}` : v,
    );
    return `${flag} ${items.length === 0 ? 'none' : items.join(',')}`;
  }
  return `${flag} ${String(value)}`;
}

/** `--lr 0.013 --batch-size 16`: the train flags that apply a patch (keys set back to the default are left out). */
export function patchFlags(patch: ConfigPatch): string {
  const flags: string[] = [];
  for (const [key, value] of Object.entries(patch)) {
    if (isPlainObject(value)) {
      for (const [inner, v] of Object.entries(value)) {
        const f = flagValue(`${key}.${inner}` as TrainSettingPath, v);
        if (f !== undefined) flags.push(f);
      }
    } else {
      const f = flagValue(key as TrainSettingPath, value);
      if (f !== undefined) flags.push(f);
    }
  }
  return flags.join(' ');
}

/** A value as a person reads it in a sentence: whole numbers as they are (batch 128, not 130), others to 2 significant digits, stages as `head:10,block5:5`. */
export function formatSettingValue(value: unknown): string {
  if (value === undefined) return 'the default';
  if (typeof value === 'number')
    return String(Number.isInteger(value) ? value : Number(value.toPrecision(2)));
  if (Array.isArray(value))
    return value.length === 0
      ? 'none'
      : value
          .map((v) =>
            isPlainObject(v) ? `${String(v.name)}:${String(v.epochs)}` : String(v as unknown),
          )
          .join(',');
  if (isPlainObject(value))
    return Object.entries(value)
      .map(([k, v]) => `${k} ${formatSettingValue(v)}`)
      .join(', ');
  return String(value);
}

/** `lr 0.013, batchSize 16`: a patch as a phrase. */
export function describePatch(patch: ConfigPatch): string {
  return Object.entries(patch)
    .map(([key, value]) => `${key} ${formatSettingValue(value)}`)
    .join(', ');
}
