/**
 * `precision.json` in a run folder, written when a run asks for `precision: int8`: per stage, the
 * frozen prefix's int8 decision — whether int8 computed the features, the calibration method, and
 * the accuracy guard's figures against fp32 on held-out training images (or why it fell back).
 *
 *   { "precision": "int8",
 *     "stages": [ { "stage": "head", "cutLayer": "block5_pool", "int8": Int8Report }, ... ] }
 *
 * A stage that trains every block has no prefix and no entry. Int8Report is documented in
 * src/engine/int8/prepare.ts.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Int8Report } from '../engine/int8/prepare.js';
import type { Precision } from '../model/precision.js';
import { writeJsonAtomic } from '../util/atomic.js';

export const PRECISION_FILE = 'precision.json';

export interface StagePrecision {
  readonly stage: string;
  readonly cutLayer: string;
  readonly int8: Int8Report;
}

export interface PrecisionRecord {
  readonly precision: Precision;
  readonly stages: readonly StagePrecision[];
}

/**
 * Adds (or replaces) one stage's entry. The file is read back first, so a resumed run keeps the
 * entries of the stages it finished before it stopped.
 */
export async function recordStagePrecision(
  dir: string,
  precision: Precision,
  entry: StagePrecision,
): Promise<void> {
  const file = join(dir, PRECISION_FILE);
  const earlier = await readFile(file, 'utf8').then(
    (text) => (JSON.parse(text) as PrecisionRecord).stages,
    () => [],
  );
  const stages = [...earlier.filter((s) => s.stage !== entry.stage), entry];
  await writeJsonAtomic(file, { precision, stages } satisfies PrecisionRecord);
}
