/**
 * `--fix-config`: the user's config (as written, partial) with every fixable finding's patch
 * applied. Findings arrive most important first; the first patch to touch a key wins, so a fix
 * for an error is never overwritten by one for an info. The result is validated as a config.
 */
import { writeFile } from 'node:fs/promises';
import { parseTrainConfig } from '../train/config-schema.js';
import type { Finding } from './types.js';

export interface FixResult {
  readonly config: Record<string, unknown>;
  /** Which finding set which key. */
  readonly applied: { readonly id: string; readonly keys: readonly string[] }[];
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export function applyFixes(
  raw: Readonly<Record<string, unknown>>,
  findings: readonly Finding[],
): FixResult {
  const config: Record<string, unknown> = structuredClone(raw) as Record<string, unknown>;
  const touched = new Set<string>();
  const applied: { id: string; keys: string[] }[] = [];
  for (const finding of findings) {
    const patch = finding.fix.config;
    if (patch === undefined) continue;
    const keys: string[] = [];
    for (const [key, value] of Object.entries(patch)) {
      if (touched.has(key)) continue;
      touched.add(key);
      keys.push(key);
      if (value === undefined) delete config[key];
      else if (isPlainObject(value))
        config[key] = { ...(isPlainObject(config[key]) ? config[key] : {}), ...value };
      else config[key] = structuredClone(value);
    }
    if (keys.length > 0) applied.push({ id: finding.id, keys });
  }
  parseTrainConfig(config, 'fixed config');
  return { config, applied };
}

export async function writeFixedConfig(
  file: string,
  raw: Readonly<Record<string, unknown>>,
  findings: readonly Finding[],
): Promise<FixResult> {
  const result = applyFixes(raw, findings);
  await writeFile(file, `${JSON.stringify(result.config, null, 2)}\n`);
  return result;
}
