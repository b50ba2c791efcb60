/**
 * Reading the LR range test's curve (src/doctor/lr-suggestions.ts): on synthetic curves whose
 * right answer is known, and on real curves of a tiny real image set (the bundled Fashion-MNIST
 * samples, random weights), where SGD without momentum never lowers the loss beyond the noise of
 * its first batches: no suggestion, and the report says the test was inconclusive with its figures
 * instead of the old 1.5e-8 (the rate of the first batches' dip, / 10).
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  LR_END,
  LR_MIN_FALL,
  LR_SKIP_SPAN,
  LR_START,
  lrRangeVerdict,
  suggestions,
} from '../../src/doctor/lr-suggestions.js';
import { LR_STEPS, runProbes } from '../../src/doctor/probe.js';
import { runDoctor } from '../../src/doctor/run.js';
import { scanDataset, type DataScan } from '../../src/doctor/scan.js';
import { parseTrainConfig } from '../../src/train/config-schema.js';
import { Random } from '../../src/util/random.js';
import { tempDir } from './fixtures.js';

/** The sweep's rates, as probe.ts steps them. */
const lrs = Array.from(
  { length: LR_STEPS },
  (_, i) => LR_START * (LR_END / LR_START) ** (i / (LR_STEPS - 1)),
);
const headLimit = LR_START * (LR_END / LR_START) ** LR_SKIP_SPAN;

/** A flat loss of `level` with seeded ±`noise` wander. */
function flat(level: number, noise: number, seed = 7): number[] {
  const random = new Random(seed);
  return lrs.map(() => level * (1 + noise * (2 * random.next() - 1)));
}

test('a flat, noisy curve suggests nothing, whatever its lowest point', () => {
  const losses = flat(1.15, 0.004);
  const s = suggestions(lrs, losses);
  assert.ok(Number.isNaN(s.suggestion) && Number.isNaN(s.minimum) && Number.isNaN(s.valley));
  assert.equal(s.verdict?.conclusive, false);
  assert.ok((s.verdict?.fall ?? 1) < LR_MIN_FALL);
});

test("the issue's shape: the lowest point is the head's dip, then flat, then divergence: no suggestion (was minimum = 1.5e-8)", () => {
  const losses = flat(1.15, 0.003);
  losses[1] = 1.128; // the mean of the first two batches, 1% under the first
  for (let i = 42; i < LR_STEPS; i++) losses[i] = 1.15 * 1.3 ** (i - 41);
  // The old rule: the rate of the lowest loss over the whole curve, / 10.
  const oldRule = (lrs[losses.indexOf(Math.min(...losses))] as number) / 10;
  assert.ok(oldRule < 2e-8, `the old rule gave ${oldRule}`);
  const s = suggestions(lrs, losses);
  assert.ok(Number.isNaN(s.suggestion), `suggested ${s.suggestion}`);
  assert.equal(s.verdict?.conclusive, false);
});

test('a real valley: the loss falls 40% to its lowest at 1e-2, then blows up; minimum/10, steepest and valley lie in the fall', () => {
  // 1.1 until 1e-5, then down by log-rate to 0.66 at 1e-2, then up.
  const losses = lrs.map((lr) => {
    const d = Math.log10(lr);
    if (d <= -5) return 1.1;
    if (d <= -2) return 1.1 - (0.44 * (d + 5)) / 3;
    return 0.66 * 4 ** (d + 2);
  });
  const s = suggestions(lrs, losses);
  assert.equal(s.verdict?.conclusive, true);
  const lowest = s.verdict?.lowestLr as number;
  assert.ok(lowest > 0.6e-2 && lowest < 1.6e-2, `lowest at ${lowest}`);
  assert.equal(s.minimum, lowest / 10);
  assert.equal(s.suggestion, s.minimum);
  assert.ok(s.steepest > 1e-5 && s.steepest <= lowest, `steepest ${s.steepest}`);
  assert.ok(s.valley > 1e-5 && s.valley < lowest, `valley ${s.valley}`);
});

test('the head is read for the start level only: a dip there is ignored, a material fall past it still suggests', () => {
  const losses = lrs.map((lr) => (lr < 1e-3 ? 1.1 : 1.1 * 0.8 ** Math.log10(lr / 1e-3)));
  losses[1] = 0.5; // one wild batch in the head
  losses[losses.length - 1] = 9; // divergence at the end
  const v = lrRangeVerdict(lrs, losses);
  assert.equal(v?.start, 1.1, 'the median of the head ignores its one wild batch');
  const s = suggestions(lrs, losses);
  assert.ok(s.minimum >= headLimit / 10, `minimum ${s.minimum} from past the head`);
  assert.ok(s.verdict?.conclusive);
});

test('too few points past the head (diverged at once) or none at all: no suggestion', () => {
  const s = suggestions(lrs.slice(0, 6), [1.1, 1.0, 1.05, 1.1, 1.0, 0.2]);
  assert.ok(Number.isNaN(s.suggestion));
  assert.equal(s.verdict?.conclusive, false);
  assert.ok(Number.isNaN(suggestions([], []).suggestion));
});

let scan: DataScan;
let root = '';

before(async () => {
  root = await tempDir('lr-suggestions-');
  process.env.VGGKIT_HOME = join(root, 'home');
  // 8 real Fashion-MNIST images of each of 3 classes: the tiny set of the bug report.
  const samples = join(import.meta.dirname, '..', '..', 'samples', 'fashion');
  for (const c of ['tshirt', 'trouser', 'sneaker']) {
    await mkdir(join(root, 'data', c), { recursive: true });
    for (const f of (await readdir(join(samples, c))).sort().slice(0, 8))
      await copyFile(join(samples, c, f), join(root, 'data', c, f));
  }
  scan = await scanDataset(join(root, 'data'));
});

test('a real flat curve (24 real images, random weights, SGD without momentum): no suggestion, and the findings say the test was inconclusive with its figures', async () => {
  const config = parseTrainConfig(
    { weights: 'none', inputSize: 32, optimizer: 'sgd', momentum: 0, lr: 1e-6, seed: 1 },
    'test config',
  );
  const probes = await runProbes({ scan, config, cacheDir: join(root, 'cache') });
  const range = probes.lrRange;
  const v = range.verdict;
  assert.ok(v !== undefined && !v.conclusive, JSON.stringify(v));
  assert.ok(v.fall < LR_MIN_FALL, `fall ${v.fall}`);
  // Recorded for real: the whole sweep, the rates past the head included.
  assert.ok(range.lrs.length > 10 && (range.lrs.at(-1) as number) > 1);
  assert.ok(Number.isNaN(range.suggestion) && Number.isNaN(range.minimum));
  const { findings } = await runDoctor({ scan, config, probes });
  const note = findings.find((f) => f.id === 'lr-range-inconclusive');
  assert.ok(note, findings.map((f) => f.id).join(', '));
  assert.match(note.explanation, new RegExp(`started at ${v.start.toPrecision(4)}`));
  assert.match(note.explanation, new RegExp(`never lower than ${v.lowest.toPrecision(4)}`));
  assert.equal(note.evidence.minFall, LR_MIN_FALL);
  // No lr check compares the configured rate against a suggestion that does not exist.
  for (const f of findings)
    assert.ok(
      !/LR range test's suggestion/.test(`${f.title} ${f.fix.summary}`),
      `${f.id}: ${f.title} / ${f.fix.summary}`,
    );
  // No finding's fix uses a rate under the sweep's head.
  for (const f of findings) {
    const lr = (f.fix.config as { lr?: number } | undefined)?.lr;
    if (lr !== undefined) assert.ok(lr >= headLimit, `${f.id} sets lr ${lr}`);
  }
});
