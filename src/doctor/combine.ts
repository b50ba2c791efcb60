/**
 * One answer per setting. Each check judges one thing, so several findings of one report can
 * propose fixes for the same setting: a rule says lr 1e-4, the LR range test measured 0.013, a
 * diverging log says "divide by 10". This module combines a report's findings (in report order,
 * most important first) so that no two of them give different values for one setting:
 *
 * 1. The same problem found twice, once by a rule and once by a measurement (`lr-too-high` from
 *    the config's limits and from the LR range test), is one finding: the measured fix, the higher
 *    severity, both evidences (the rule's under `evidence.rule`).
 * 2. Each setting a fix patches has one owner: the finding with the strongest basis (sweep over
 *    probe over rule, types.ts FixBasis), the most important one among equals. Every other finding
 *    that sets it to something else, or names it without a value (`flag: '--lr'`, "raise the
 *    rate"), defers: its own value is dropped from its patch, the owner and its value are recorded
 *    in `fix.deferred`, and its summary and flags are restated from what is left, so the report
 *    reads as one plan. A rule that agrees with a rule owner is left as it is; one that agrees
 *    with a measured owner (a rate within SAME_RATE_FACTOR) defers too, so its value reads as
 *    measured and the measured value is the one written. Once another finding decides an
 *    optimizer other than SGD (the fix loop's Adam), a fix's SGD-only values (momentum, nesterov)
 *    are moot: dropped from its patch, said so in its summary, and with nothing left to decide it
 *    carries no command to measure them.
 *
 * 3. (Applied between 1 and 2.) A finding that says which way a setting must go (`lr-too-high`: lower, `lr-too-low`: raise,
 *    DIRECTIONS) is refuted when a stronger basis decided that setting the other way from the
 *    user's value (the fix loop's trainings chose lr 0.14 where the LR range test called 1e-6 too
 *    high): it leaves the report, and the owner's explanation names it (its evidence lists it under
 *    `overruled`), so no title says "too high" beside a measured fix that raises the rate.
 *
 * Measured evidence therefore always outranks rules, and `--fix-config` (fix-config.ts, first
 * patch wins) writes exactly what the report says.
 */
import {
  describePatch,
  fixSettings,
  formatSettingValue,
  patchFlags,
  SGD_ONLY_SETTINGS,
} from './fix-settings.js';
import { sameRate } from './fix-loop/candidates.js';
import {
  FIX_BASES,
  SEVERITIES,
  type ConfigPatch,
  type Deferral,
  type Finding,
  type FixBasis,
} from './types.js';

export function basisOf(f: Finding): FixBasis {
  return f.fix.basis ?? 'rule';
}

const strength = (b: FixBasis): number => FIX_BASES.indexOf(b);

/** How a report says where a value comes from. */
export const BASIS_PHRASES: Readonly<Record<FixBasis, string>> = {
  rule: 'a rule of thumb, not measured on your data',
  probe: 'measured by the LR range test on a sample of your data',
  sweep: 'measured by training candidate fixes on your data',
};

/**
 * How a report introduces a fix: `Fix (measured)` on the data (its own measurement, or a rule
 * whose every value was decided by one: deferred to it, or confirmed by it), `Fix (rule of thumb)`
 * (advice), or plain `Fix` (no change proposed, or restated from settings other rules decided).
 */
export function fixLabel(f: Finding): string {
  if (basisOf(f) !== 'rule') return 'Fix (measured)';
  const deferred = f.fix.deferred;
  if (deferred !== undefined && deferred.length > 0)
    return f.fix.config === undefined && deferred.every((d) => d.basis !== 'rule')
      ? 'Fix (measured)'
      : 'Fix';
  // A note's flag is guidance (how to do it in vggkit), not a change it proposes.
  const changes = f.fix.config !== undefined || (f.fix.flag !== undefined && f.severity !== 'info');
  return changes ? 'Fix (rule of thumb)' : 'Fix';
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Settings that are rates: two values within SAME_RATE_FACTOR are one (the LR range test's resolution). */
const RATE_SETTINGS: ReadonlySet<string> = new Set(['lr']);

/** Whether a rule's value says what the measured one says: the same, or for a rate within SAME_RATE_FACTOR. */
function agrees(setting: string, value: unknown, measured: unknown): boolean {
  if (same(value, measured)) return true;
  return (
    RATE_SETTINGS.has(setting) &&
    typeof value === 'number' &&
    typeof measured === 'number' &&
    sameRate(value, measured)
  );
}

/** Step 1: a rule finding and a measured finding with the same id and a setting in common become one. */
function mergeSameProblem(findings: readonly Finding[]): Finding[] {
  const out: (Finding | undefined)[] = [...findings];
  for (let i = 0; i < out.length; i++) {
    const a = out[i];
    if (a === undefined) continue;
    for (let j = i + 1; j < out.length; j++) {
      const b = out[j];
      if (b === undefined || b.id !== a.id || basisOf(a) === basisOf(b)) continue;
      const shared = fixSettings(a.fix).some((s) => fixSettings(b.fix).includes(s));
      if (!shared) continue;
      const [measured, rule] = strength(basisOf(a)) > strength(basisOf(b)) ? [a, b] : [b, a];
      const severity = SEVERITIES[
        Math.min(SEVERITIES.indexOf(a.severity), SEVERITIES.indexOf(b.severity))
      ] as Finding['severity'];
      out[i] = { ...measured, severity, evidence: { ...measured.evidence, rule: rule.evidence } };
      out[j] = undefined;
    }
  }
  return out.filter((f): f is Finding => f !== undefined);
}

interface Owner {
  readonly index: number;
  readonly id: string;
  readonly value: unknown;
  readonly basis: FixBasis;
}

function owners(findings: readonly Finding[]): Map<string, Owner> {
  const found = new Map<string, Owner>();
  findings.forEach((f, index) => {
    for (const [setting, value] of Object.entries(f.fix.config ?? {})) {
      const owner = found.get(setting);
      if (owner === undefined || strength(basisOf(f)) > strength(owner.basis))
        found.set(setting, { index, id: f.id, value, basis: basisOf(f) });
    }
  });
  return found;
}

/** How a deferring finding names the value it gave up: its own basis says where it came from. */
const INSTEAD_PHRASES: Readonly<Record<FixBasis, string>> = {
  rule: "this rule's",
  probe: "the LR range test's",
  sweep: "this measurement's",
};

function restate(
  deferred: readonly Deferral[],
  remaining: ConfigPatch | undefined,
  current: Readonly<Record<string, unknown>>,
  basis: FixBasis,
): string {
  const decided = deferred.map((d) => {
    const verb = d.setting in current && same(current[d.setting], d.value) ? 'keep' : 'use';
    const instead =
      d.instead === undefined
        ? ''
        : `, not ${INSTEAD_PHRASES[basis]} ${formatSettingValue(d.instead)}`;
    const source =
      d.basis === 'rule' ? `as ${d.to} proposes` : `${BASIS_PHRASES[d.basis]} (see ${d.to})`;
    return `${verb} ${d.setting} ${formatSettingValue(d.value)}, ${source}${instead}`;
  });
  const also =
    remaining === undefined || Object.keys(remaining).length === 0
      ? ''
      : ` Also set ${describePatch(remaining)}.`;
  const plan = decided.join('; ');
  return `${plan.charAt(0).toUpperCase()}${plan.slice(1)}.${also}`;
}

/** Step 2: every setting decided by one finding; the others defer to it. */
function deferToOwners(
  findings: readonly Finding[],
  current: Readonly<Record<string, unknown>>,
): Finding[] {
  const decided = owners(findings);
  return findings.map((f, index) => {
    const patch: Record<string, unknown> = { ...(f.fix.config ?? {}) };
    const deferred: Deferral[] = [...(f.fix.deferred ?? [])];
    // Another finding decided an optimizer other than SGD (the fix loop's Adam): this one's
    // momentum is moot, neither written nor left with a command to measure it.
    const optimizer = decided.get('optimizer');
    const moot =
      optimizer !== undefined && optimizer.index !== index && optimizer.value !== 'sgd'
        ? SGD_ONLY_SETTINGS.filter((k) => k in patch)
        : [];
    for (const k of moot) delete patch[k];
    for (const setting of fixSettings(f.fix)) {
      const owner = decided.get(setting);
      if (owner === undefined || owner.index === index) continue;
      const proposes = setting in patch;
      const measured = strength(owner.basis) > strength(basisOf(f));
      if (proposes && agrees(setting, patch[setting], owner.value)) {
        // Two rules that agree: nothing to say. A rule a measurement confirms: its value is now
        // measured, and the report says so (and writes the measured value, not the rounder rule's).
        if (!measured) continue;
        deferred.push({ setting, to: owner.id, value: owner.value, basis: owner.basis });
        delete patch[setting];
        continue;
      }
      deferred.push({
        setting,
        to: owner.id,
        value: owner.value,
        basis: owner.basis,
        ...(proposes ? { instead: patch[setting] } : {}),
      });
      delete patch[setting];
    }
    if (moot.length > 0 && !deferred.some((d) => d.setting === 'optimizer'))
      deferred.push({
        setting: 'optimizer',
        to: (optimizer as Owner).id,
        value: (optimizer as Owner).value,
        basis: (optimizer as Owner).basis,
      });
    if (deferred.length === (f.fix.deferred?.length ?? 0)) return f;
    const remaining = Object.keys(patch).length === 0 ? undefined : (patch as ConfigPatch);
    const plan = {
      ...Object.fromEntries(deferred.map((d) => [d.setting, d.value])),
      ...(remaining ?? {}),
    } as ConfigPatch;
    // A setting already measured needs no command to measure it; one a rule decided still does.
    const allMeasured = deferred.every((d) => d.basis !== 'rule') && remaining === undefined;
    const flags = patchFlags(plan);
    const fix: Finding['fix'] = {
      ...f.fix,
      summary: `${restate(deferred, remaining, current, basisOf(f))}${moot.length === 0 ? '' : ` ${describeMoot(moot, f.fix.config ?? {}, (optimizer as Owner).value)}`}`,
      config: remaining,
      flag: flags === '' ? undefined : flags,
      measure: allMeasured ? undefined : f.fix.measure,
      // The Keras line keeps this rule's values; say which the report decided instead.
      keras:
        f.fix.keras === undefined
          ? undefined
          : `${f.fix.keras}  # instead: ${deferred.map((d) => `${d.setting} ${formatSettingValue(d.value)} (${d.to})`).join(', ')}`,
      deferred,
    };
    return { ...f, fix: withoutUndefined(fix) };
  });
}

/** `Momentum 0.9 does not apply to adam.`: the SGD-only values a fix no longer sets. */
function describeMoot(
  moot: readonly string[],
  patch: Readonly<Record<string, unknown>>,
  optimizer: unknown,
): string {
  const values = moot.map((k) => `${k} ${formatSettingValue(patch[k])}`).join(' and ');
  return `${values.charAt(0).toUpperCase()}${values.slice(1)} ${moot.length === 1 ? 'does' : 'do'} not apply to ${formatSettingValue(optimizer)}.`;
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** Findings that claim which way a numeric setting must move from the user's value. */
const DIRECTIONS: Readonly<Record<string, Readonly<Record<string, 'lower' | 'raise'>>>> = {
  'lr-too-high': { lr: 'lower' },
  'lr-too-low': { lr: 'raise' },
};

/** Whether `decided` moves `setting` from `current` against `way` (an equal rate, within SAME_RATE_FACTOR, moves nowhere). */
function against(
  setting: string,
  way: 'lower' | 'raise',
  current: unknown,
  decided: unknown,
): boolean {
  if (typeof current !== 'number' || typeof decided !== 'number') return false;
  if (agrees(setting, decided, current)) return false;
  return way === 'lower' ? decided > current : decided < current;
}

/** Step 3: a direction a stronger basis decided the other way is refuted; its finding leaves the report, listed in the owner's evidence. */
function dropRefuted(
  findings: readonly Finding[],
  current: Readonly<Record<string, unknown>>,
): Finding[] {
  const decided = owners(findings);
  const overruled = new Map<number, { id: string; title: string }[]>();
  const kept = findings.filter((f, index) => {
    for (const [setting, way] of Object.entries(DIRECTIONS[f.id] ?? {})) {
      const owner = decided.get(setting);
      if (owner === undefined || owner.index === index) continue;
      if (strength(owner.basis) <= strength(basisOf(f))) continue;
      if (!against(setting, way, current[setting], owner.value)) continue;
      overruled.set(owner.index, [
        ...(overruled.get(owner.index) ?? []),
        { id: f.id, title: f.title },
      ]);
      return false;
    }
    return true;
  });
  if (overruled.size === 0) return kept;
  return kept.map((f) => {
    const index = findings.indexOf(f);
    const refuted = overruled.get(index);
    if (refuted === undefined) return f;
    const named = refuted.map((r) => `${r.id} (${r.title})`).join('; ');
    return {
      ...f,
      explanation: `${f.explanation} This overrules ${named}: the measurement moved the setting the other way.`,
      evidence: { ...f.evidence, overruled: refuted },
    };
  });
}

/** `current`: the user's config (merged over the defaults), so a decided value it already has reads "keep", not "set". */
export function combineFindings(
  findings: readonly Finding[],
  current: Readonly<Record<string, unknown>> = {},
): Finding[] {
  return deferToOwners(dropRefuted(mergeSameProblem(findings), current), current);
}
