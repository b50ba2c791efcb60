/**
 * One plan per report: findings built to conflict about the learning rate (a config rule, a
 * diverging log, a NaN log, the LR range test, the overfit-one-batch probe) combine into a report
 * that states one rate everywhere — the measured one when there is a measurement — and
 * `--fix-config` writes it. The issue's case runs for real: Adam at lr 0.3 with `--probe`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { combineFindings } from '../../src/doctor/combine.js';
import { parseHistory } from '../../src/doctor/history.js';
import { runProbes } from '../../src/doctor/probe.js';
import type { FixLoopResult, Score } from '../../src/doctor/fix-loop/types.js';
import { applyFixes } from '../../src/doctor/fix-config.js';
import type { ProbeResults } from '../../src/doctor/probe-results.js';
import { renderTerminal } from '../../src/doctor/render-terminal.js';
import { runDoctor } from '../../src/doctor/run.js';
import { scanDataset } from '../../src/doctor/scan.js';
import type { Finding } from '../../src/doctor/types.js';
import { parseTrainConfig } from '../../src/train/config-schema.js';
import { DEFAULT_CONFIG } from '../../src/train/config.js';
import { assertCoherent } from './coherence.js';
import { kerasCsv, tempDir } from './fixtures.js';
import { colourDataset } from './probe-fixtures.js';

const config = { ...DEFAULT_CONFIG, lr: 0.3 };
const classes = { classes: ['blue', 'green', 'red'] };

/** Training loss that falls, then climbs for four epochs and ends in NaN: diverging-loss and nan-loss. */
const divergingLog = parseHistory(
  kerasCsv(
    [1.1, 0.9, 0.8, 0.85, 1.0, 1.3, 1.9, Number.NaN].map((loss, i) => ({
      loss,
      accuracy: 0.4,
      val_loss: loss,
      val_accuracy: 0.4,
      lr: 0.3 + 0 * i,
    })),
  ),
  'history.csv',
);

/** LR range test and overfit probe results as probe.ts reports them, with a suggestion of 0.013. */
function probesAt(suggestion: number): ProbeResults {
  const lrs = [1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1];
  return {
    classes: 3,
    sampleSize: 36,
    stage: { name: 'head', trainableBlocks: 0, lr: config.lr },
    optimizer: 'adam',
    initialLoss: 1.1,
    overfit: { images: 16, steps: 30, lr: config.lr, startLoss: 1.1, endLoss: 40 },
    lrRange: {
      lrs,
      losses: [1.1, 1.09, 1.0, 0.7, 2, 9],
      minimum: suggestion,
      steepest: 1e-2,
      valley: 3e-3,
      suggestion,
      stoppedEarly: true,
    },
    gradients: { images: 16, trainableBlocks: 0, layers: [] },
    deadRelu: { images: 8, layers: [] },
  };
}

const byId = (findings: readonly Finding[], id: string): Finding => {
  const f = findings.find((x) => x.id === id);
  assert.ok(f !== undefined, `${id} in ${findings.map((x) => x.id).join(', ')}`);
  return f;
};

test('rules alone: a config rule and two log rules disagree about lr; the most important decides and the others say so', async () => {
  const { findings } = await runDoctor({ config, history: divergingLog, model: classes });
  const decided = assertCoherent(findings);
  assert.equal(decided.get('lr'), 1e-4);
  const nan = byId(findings, 'nan-loss');
  assert.deepEqual(
    nan.fix.deferred?.map((d) => [d.setting, d.to, d.value, d.instead]),
    [['lr', 'lr-too-high', 1e-4, 0.03]],
  );
  // nan-loss keeps what only it proposes.
  assert.deepEqual(nan.fix.config, { clipNorm: 1, terminateOnNan: true });
  assert.match(nan.fix.summary, /lr 0\.0001, as lr-too-high proposes, not this rule's 0\.03\./);
  assert.match(nan.fix.flag ?? '', /--lr 0\.0001 --clip-norm 1 --terminate-on-nan/);
  // Decided by a rule: the command that would measure it stays.
  assert.ok(byId(findings, 'lr-too-high').fix.basis === undefined);
});

test('a measurement outranks every rule: the LR range test decides lr for the config rule, the logs and the overfit probe', async () => {
  const { findings } = await runDoctor({
    config,
    history: divergingLog,
    model: classes,
    probes: probesAt(0.013),
  });
  const decided = assertCoherent(findings);
  assert.equal(decided.get('lr'), 0.013);
  // One lr-too-high: the measured fix, the rule's severity (error) and both evidences.
  const high = findings.filter((f) => f.id === 'lr-too-high');
  assert.equal(high.length, 1);
  assert.equal(high[0]?.severity, 'error');
  assert.equal(high[0]?.fix.basis, 'probe');
  assert.equal(high[0]?.evidence.source, 'lr-range-test');
  assert.deepEqual((high[0]?.evidence.rule as { limits: unknown }).limits, {
    high: 3e-3,
    low: 1e-6,
  });
  // The overfit probe says which way from the measurement: lower, not raise.
  const overfit = byId(findings, 'cannot-overfit-batch');
  assert.match(overfit.fix.summary, /^Lower the learning rate to 0\.013/);
  for (const id of ['diverging-loss', 'nan-loss']) {
    const f = byId(findings, id);
    assert.equal(f.fix.deferred?.[0]?.basis, 'probe', id);
    assert.match(
      f.fix.summary,
      /lr 0\.013, measured by the LR range test on a sample of your data \(see lr-too-high\)/,
      id,
    );
    assert.doesNotMatch(f.fix.summary, /Use lr 0\.03/, id);
  }
  // The measured rate needs no sweep to settle it.
  assert.equal(byId(findings, 'diverging-loss').fix.measure, undefined);
  const text = renderTerminal({ findings, summary: { ...emptySummary } });
  assert.doesNotMatch(text, /Use lr 0\.03\b/);
  assert.doesNotMatch(text, /Raise the learning rate/);
});

test('a stronger basis wins even when it comes later in the report; agreeing findings are left alone', () => {
  const rule: Finding = {
    id: 'batch-larger-than-dataset',
    severity: 'error',
    title: '',
    explanation: '',
    evidence: {},
    fix: { summary: 'Use batch size 16.', config: { batchSize: 16 }, flag: '--batch-size 16' },
  };
  const agree: Finding = { ...rule, id: 'other', fix: { ...rule.fix } };
  const measured: Finding = {
    id: 'measured-fix',
    severity: 'info',
    title: '',
    explanation: '',
    evidence: {},
    fix: {
      summary: 'Use batch size 8, lr 0.01.',
      config: { batchSize: 8, lr: 0.01 },
      flag: '--batch-size 8 --lr 0.01',
      basis: 'sweep',
    },
  };
  const talks: Finding = {
    id: 'slow-convergence',
    severity: 'warning',
    title: '',
    explanation: '',
    evidence: {},
    fix: { summary: 'Raise the learning rate.', flag: '--lr' },
  };
  const combined = combineFindings([rule, agree, talks, measured]);
  assertCoherent(combined);
  assert.equal(byId(combined, 'batch-larger-than-dataset').fix.deferred?.[0]?.to, 'measured-fix');
  assert.match(
    byId(combined, 'slow-convergence').fix.summary,
    /^Use lr 0\.01, measured by training candidate fixes on your data/,
  );
  assert.equal(byId(combined, 'measured-fix'), measured);
  // Without the measurement, the second rule agrees with the first and is not rewritten.
  const rulesOnly = combineFindings([rule, agree]);
  assert.equal(rulesOnly[1], agree);
});

const emptySummary = {
  errors: 0,
  warnings: 0,
  infos: 0,
  inputs: { data: false, config: true, history: true, batch: false, model: false },
};

test('the issue’s case for real: Adam at lr 0.3 with --probe writes the measured rate, and cannot-overfit-batch agrees with it', async () => {
  const root = await tempDir('combine-');
  const scan = await scanDataset(await colourDataset(join(root, 'data'), 12));
  const parsed = parseTrainConfig({ weights: 'none', inputSize: 32, lr: 0.3 }, 'test config');
  const probes = await runProbes({
    scan,
    config: parsed,
    cacheDir: join(root, 'cache'),
    images: 36,
  });
  const { findings } = await runDoctor({ scan, config: parsed, probes });
  const decided = assertCoherent(findings);
  const suggestion = Number(probes.lrRange.suggestion.toPrecision(2));
  assert.equal(decided.get('lr'), suggestion);
  assert.ok(suggestion < 0.3);
  const overfit = findings.find((f) => f.id === 'cannot-overfit-batch');
  if (overfit !== undefined) assert.match(overfit.fix.summary, /^Lower the learning rate/);
  assert.equal(findings.filter((f) => f.id === 'lr-too-high').length, 1);
});

/** A fix loop as run.ts reports it: the user's config, the range test's rate, and `winner` (its index), with `lr` and `changes`. */
function fixLoopChose(lr: number, changes: Record<string, unknown>): FixLoopResult {
  const score = (accuracy: number): Score => ({
    accuracy,
    loss: 1 - accuracy,
    rawLoss: 1,
    epochs: 2,
  });
  const tried = (label: string, accuracy: number, c: Record<string, unknown>) => ({
    label,
    origin: 'measured' as const,
    changes: c,
    status: 'completed' as const,
    score: score(accuracy),
    history: [],
    seconds: 0.1,
  });
  return {
    settings: ['lr', ...Object.keys(changes)],
    epochs: 2,
    validationImages: 12,
    rules: { lr: 1e-3 },
    lrTests: [],
    tried: [
      tried('your config', 0.33, {}),
      tried('lr 1.5e-8 (LR range test: minimum/10)', 0.33, { lr: 1.5e-8 }),
      tried(`lr ${lr}`, 0.8, { lr, ...changes }),
    ],
    chosen: 2,
    seconds: 1,
  };
}

test("the probe's rate far from the fix loop's winner: one lr in the report, the measured one; the finding the measurement refutes leaves it", async () => {
  // SGD without momentum at 1e-6: the range test (the old rule's 1.5e-8) calls it too high and
  // cannot-overfit-batch says to lower it; the fix loop's trainings chose lr 0.14.
  const raw = { optimizer: 'sgd', momentum: 0, lr: 1e-6 };
  const sgd = parseTrainConfig(raw, 'test config');
  const probes = probesAt(1.5e-8);
  const measuredProbes: ProbeResults = {
    ...probes,
    stage: { ...probes.stage, lr: sgd.lr },
    optimizer: 'sgd',
    overfit: { ...probes.overfit, lr: sgd.lr, endLoss: 1.1 },
  };
  const without = (await runDoctor({ config: sgd, rawConfig: raw, probes: measuredProbes }))
    .findings;
  assert.match(
    byId(without, 'cannot-overfit-batch').fix.summary,
    /^Lower the learning rate to 1\.5e-8/,
  );
  assert.ok(without.some((f) => f.id === 'lr-too-high'));
  const { findings } = await runDoctor({
    config: sgd,
    rawConfig: raw,
    probes: measuredProbes,
    fixLoop: fixLoopChose(0.14, { momentum: 0.9 }),
  });
  const decided = assertCoherent(findings, { lr: '--lr', momentum: '--momentum' });
  assert.equal(decided.get('lr'), 0.14);
  assert.equal(applyFixes(raw, findings).config.lr, 0.14);
  const overfit = byId(findings, 'cannot-overfit-batch');
  assert.match(
    overfit.fix.summary,
    /^Use lr 0\.14, measured by training candidate fixes on your data \(see measured-fix\), not the LR range test's 1\.5e-8\./,
  );
  // "Too high" beside a measured fix that raises the rate 140000x: refuted, listed with the fix.
  assert.equal(findings.filter((f) => f.id === 'lr-too-high').length, 0);
  assert.deepEqual(
    (byId(findings, 'measured-fix').evidence.overruled as { id: string }[]).map((o) => o.id),
    ['lr-too-high'],
  );
  assert.match(
    byId(findings, 'measured-fix').explanation,
    /This overrules lr-too-high \(Learning rate/,
  );
  // Every finding about lr names 0.14, and any other rate only as the value it gave up.
  for (const f of findings) {
    if (!/\blr\b|learning rate/.test(f.fix.summary)) continue;
    assert.match(f.fix.summary, /lr 0\.14\b/, f.id);
    assert.doesNotMatch(f.fix.summary, /(Lower|Raise) the learning rate/, f.id);
  }
  // The other way round the measurement agrees: Adam at 0.3, the loop chose 1e-3, lr-too-high stays.
  const adamRaw = { optimizer: 'adam', lr: 0.3 };
  const adam = await runDoctor({
    config: parseTrainConfig(adamRaw, 'test config'),
    rawConfig: adamRaw,
    probes: probesAt(0.013),
    fixLoop: fixLoopChose(1e-3, {}),
  });
  assert.equal(assertCoherent(adam.findings).get('lr'), 1e-3);
  assert.equal(adam.findings.filter((f) => f.id === 'lr-too-high').length, 1);
});
