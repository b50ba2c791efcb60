/**
 * What "a coherent report" means, checked on a report's findings: for every setting, every value
 * the report states — in a config patch, in a `--flag value`, in a deferral — is one value, and
 * `--fix-config` writes that value.
 */
import assert from 'node:assert/strict';
import { applyFixes } from '../../src/doctor/fix-config.js';
import { fixSettings } from '../../src/doctor/fix-settings.js';
import type { Finding } from '../../src/doctor/types.js';

/** The value each finding states for `setting`: its patch, its flag's value, its deferral. */
function stated(f: Finding, setting: string, flag: string): unknown[] {
  const out: unknown[] = [];
  if (f.fix.config !== undefined && setting in f.fix.config)
    out.push((f.fix.config as Record<string, unknown>)[setting]);
  for (const d of f.fix.deferred ?? []) if (d.setting === setting) out.push(d.value);
  const match = new RegExp(`${flag} (\\S+)`).exec(f.fix.flag ?? '');
  if (match !== null && !Number.isNaN(Number(match[1]))) out.push(Number(match[1]));
  return out;
}

/** Asserts one value per numeric setting across the report; returns the value per setting. */
export function assertCoherent(
  findings: readonly Finding[],
  settings: Readonly<Record<string, string>> = { lr: '--lr', batchSize: '--batch-size' },
): Map<string, unknown> {
  const decided = new Map<string, unknown>();
  for (const [setting, flag] of Object.entries(settings)) {
    const values = findings.flatMap((f) => stated(f, setting, flag).map((v) => ({ id: f.id, v })));
    const distinct = [...new Set(values.map((x) => JSON.stringify(x.v)))];
    assert.ok(
      distinct.length <= 1,
      `${setting}: ${values.map((x) => `${x.id} says ${JSON.stringify(x.v)}`).join('; ')}`,
    );
    if (distinct.length === 1) decided.set(setting, JSON.parse(distinct[0] as string));
    // A finding that speaks about the setting states the decided value, or defers to it.
    for (const f of findings)
      if (fixSettings(f.fix).includes(setting) && decided.has(setting))
        assert.ok(
          stated(f, setting, flag).length > 0,
          `${f.id} speaks about ${setting} without the decided value: ${f.fix.summary}`,
        );
  }
  const written = applyFixes({}, findings).config;
  for (const [setting, value] of decided) assert.deepEqual(written[setting], value, setting);
  return decided;
}
