/**
 * The fix loop (src/doctor/fix-loop/): broken fine-tunes of each kind issue 12 names, each with a
 * healthy twin, on small real images made here (three colour classes, 32 px, random VGG16
 * weights, features cached). For each, the doctor measures its fixes on the data, `--fix-config`'s
 * config is retrained for the user's budget beside the broken and the healthy config, and the fixed
 * one must train better than the broken one and come near the healthy one. The conflict tests
 * build reports where a rule, the LR range test, the overfit-one-batch probe and the fix loop all
 * speak about the same settings, and check the report gives one value per setting and writes it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { before, test } from 'node:test';
import { loadFolderDataset } from '../../src/data/dataset.js';
import { fixLabel } from '../../src/doctor/combine.js';
import { describePatch } from '../../src/doctor/fix-settings.js';
import { chartSpecs } from '../../src/report/chart-spec.js';
import { applyFixes } from '../../src/doctor/fix-config.js';
import { batchForData } from '../../src/doctor/checks/config.js';
import { configurations } from '../../src/doctor/fix-loop/candidates.js';
import { fixIsProven, measureFixes } from '../../src/doctor/fix-loop/measure.js';
import { touchedSettings } from '../../src/doctor/fix-loop/run.js';
import { parseHistory } from '../../src/doctor/history.js';
import { scoreRun } from '../../src/doctor/fix-loop/score.js';
import type { FixLoopResult, Score } from '../../src/doctor/fix-loop/types.js';
import { runProbes } from '../../src/doctor/probe.js';
import { renderTerminal } from '../../src/doctor/render-terminal.js';
import { runDoctor, type DoctorReport } from '../../src/doctor/run.js';
import { scanDataset, type DataScan } from '../../src/doctor/scan.js';
import type { DoctorContext, Finding } from '../../src/doctor/types.js';
import { trainCandidates } from '../../src/sweep/candidates.js';
import { parseTrainConfig } from '../../src/train/config-schema.js';
import type { TrainConfig } from '../../src/train/config.js';
import type { EpochLogs } from '../../src/train/events.js';
import { assertCoherent } from './coherence.js';
import { kerasCsv, tempDir, writeJson, type Epoch } from './fixtures.js';
import { colourDataset } from './probe-fixtures.js';

const CLASSES = 3;
/** 16 per class, a quarter held out: 12 validation images, so one image is 8 points of accuracy. */
const PER_CLASS = 16;
const EPOCHS = 10;
/** The settings a report may state values for, with their flags. */
const SETTINGS = {
  lr: '--lr',
  batchSize: '--batch-size',
  momentum: '--momentum',
  labelSmoothing: '--label-smoothing',
  optimizer: '--optimizer',
};

let root = '';
let data = '';
let scan: DataScan;
let cacheDir = '';

before(async () => {
  root = await tempDir('fix-loop-');
  process.env.VGGKIT_HOME = join(root, 'home');
  cacheDir = join(root, 'cache');
  data = await colourDataset(join(root, 'data'), PER_CLASS);
  scan = await scanDataset(data);
});

/** The user's JSON: a small fine-tune that the healthy settings train to high accuracy in EPOCHS. */
function raw(settings: Record<string, unknown>): Record<string, unknown> {
  return {
    weights: 'none',
    inputSize: 32,
    epochs: EPOCHS,
    valSplit: 0.25,
    seed: 1,
    batchSize: 8,
    ...settings,
  };
}

const parse = (json: Record<string, unknown>): TrainConfig => parseTrainConfig(json, 'test config');

async function measure(
  json: Record<string, unknown>,
  extra: Partial<DoctorContext> = {},
  verify = false,
): Promise<DoctorReport> {
  const ctx: DoctorContext = { scan, config: parse(json), rawConfig: json, ...extra };
  return measureFixes(ctx, await runDoctor(ctx), { cacheDir, verify });
}

/** Validation scores of full-budget runs of `configs`, on the shared feature cache. */
async function train(name: string, configs: readonly TrainConfig[]): Promise<Score[]> {
  const results = await trainCandidates({
    data,
    candidates: configs,
    out: join(root, 'runs', name),
    cacheDir,
  });
  return results.map((r, i) => {
    assert.equal(r.status, 'completed', `${name} run ${i}: ${r.error?.message ?? ''}`);
    return scoreRun(r.history, configs[i] as TrainConfig, CLASSES, true);
  });
}

const ids = (findings: readonly Finding[]): string[] => findings.map((f) => f.id);

interface BrokenCase {
  readonly name: string;
  readonly broken: Record<string, unknown>;
  readonly healthy: Record<string, unknown>;
  /** A finding the doctor must raise about the broken config. */
  readonly finding?: string;
}

const CASES: readonly BrokenCase[] = [
  {
    name: 'Adam at lr 0.3',
    broken: { optimizer: 'adam', lr: 0.3 },
    healthy: { optimizer: 'adam', lr: 1e-3 },
    finding: 'lr-too-high',
  },
  {
    name: 'Adam at lr 1e-8',
    broken: { optimizer: 'adam', lr: 1e-8 },
    healthy: { optimizer: 'adam', lr: 1e-3 },
    finding: 'lr-too-low',
  },
  {
    name: 'SGD without momentum at lr 1e-6',
    broken: { optimizer: 'sgd', momentum: 0, lr: 1e-6 },
    healthy: { optimizer: 'sgd', momentum: 0.9, lr: 1e-2 },
    finding: 'sgd-without-momentum',
  },
  {
    name: 'a batch larger than the data at lr 1e-4',
    broken: { optimizer: 'adam', lr: 1e-4, batchSize: 64 },
    healthy: { optimizer: 'adam', lr: 1e-3, batchSize: 8 },
    finding: 'batch-larger-than-dataset',
  },
  {
    name: 'label smoothing 0.6 at lr 1e-6',
    broken: { optimizer: 'adam', lr: 1e-6, labelSmoothing: 0.6 },
    healthy: { optimizer: 'adam', lr: 1e-3, labelSmoothing: 0 },
    finding: 'label-smoothing-too-high',
  },
];

for (const c of CASES)
  test(`fix loop: ${c.name} — the measured fix trains better than the broken config and near its healthy twin`, async () => {
    const broken = raw(c.broken);
    const report = await measure(broken);
    if (c.finding !== undefined) assert.ok(ids(report.findings).includes(c.finding), c.finding);
    const loop = report.fixLoop;
    assert.ok(loop !== undefined, 'the loop ran');
    assert.equal(loop.tried[0]?.label, 'your config');
    assert.ok(loop.tried.length >= 3, `${loop.tried.length} candidates`);
    assert.ok(ids(report.findings).includes('measured-fix'), ids(report.findings).join(', '));
    assert.ok(fixIsProven(report));
    assertCoherent(report.findings, SETTINGS);

    const fixedJson = applyFixes(broken, report.findings).config;
    // --fix-config writes the winning candidate: its changes over the user's config, nothing else.
    const chosen = loop.tried[loop.chosen as number];
    assert.ok(chosen !== undefined);
    for (const [key, value] of Object.entries(chosen.changes))
      assert.deepEqual(fixedJson[key], value, key);

    const [before, after, healthy] = await train(c.name.replace(/\W+/g, '-'), [
      parse(broken),
      parse(fixedJson),
      parse(raw(c.healthy)),
    ]);
    assert.ok(before !== undefined && after !== undefined && healthy !== undefined);
    const detail = `broken ${before.accuracy}, fixed ${after.accuracy}, healthy ${healthy.accuracy}`;
    assert.ok(healthy.accuracy >= 0.9, `the healthy twin trains: ${detail}`);
    assert.ok(after.accuracy > before.accuracy, `fixed beats broken: ${detail}`);
    assert.ok(after.accuracy >= 0.8 * healthy.accuracy, `fixed recovers: ${detail}`);
  });

test('fix loop: a batch larger than the data — every candidate trains the same share of its budget (equal epochs, not equal steps), the default batch is a candidate, and the fix retrained over your epochs beats your config', async () => {
  const json = raw({ optimizer: 'adam', lr: 1e-4, batchSize: 64 });
  const report = await measure(json, {}, true);
  const loop = report.fixLoop;
  assert.ok(loop !== undefined, 'the loop ran');
  const config = parse(json);
  const dataset = await loadFolderDataset({
    dir: data,
    valSplit: config.valSplit,
    seed: config.seed,
  });
  const n = dataset.train.length;
  assert.ok(config.batchSize > n, `batch ${config.batchSize} > ${n} images`);
  const batches = new Set<number>();
  for (const t of loop.tried) {
    assert.equal(t.status, 'completed', `${t.label}: ${t.error ?? ''}`);
    batches.add((t.changes.batchSize as number | undefined) ?? config.batchSize);
    // No stages: the same share of every budget is the same epochs, whatever the batch.
    assert.equal(t.history.length, loop.epochs, `${t.label}: ${t.history.length} epochs`);
  }
  assert.ok(loop.epochs < EPOCHS, `short: ${loop.epochs} of ${EPOCHS}`);
  assert.ok(batches.has(batchForData(n)), `default batch tried: ${[...batches].join(', ')}`);
  assert.ok(batches.size >= 3, `batch sizes tried: ${[...batches].join(', ')}`);
  const chosen = loop.tried[loop.chosen as number];
  assert.ok(chosen !== undefined, 'a fix was chosen');
  const v = loop.verification;
  assert.ok(v !== undefined, 'verified');
  assert.equal(v.epochs, EPOCHS);
  assert.equal(v.before.history.length, EPOCHS);
  assert.equal(v.after.history.length, EPOCHS);
  const detail = `${chosen.label}: ${v.before.score.accuracy} -> ${v.after.score.accuracy}`;
  assert.ok(v.improved, detail);
  assert.ok(v.after.score.accuracy > v.before.score.accuracy, detail);
  // What --fix-config writes is that candidate, retrained here apart from the loop.
  const fixedJson = applyFixes(json, report.findings).config;
  const [broken, fixed] = await train('batch-share', [parse(json), parse(fixedJson)]);
  assert.ok(broken !== undefined && fixed !== undefined);
  assert.ok(
    fixed.accuracy > broken.accuracy,
    `retrained at ${EPOCHS} epochs: broken ${broken.accuracy}, fixed ${fixed.accuracy}`,
  );
});

test('fix loop: a rate that is wrong with SGD (too high, diverging, stuck at chance) touches the optimizer, so Adam is a candidate; plain SGD touches momentum too', async () => {
  const history = (losses: number[], accuracy: (i: number) => number): DoctorContext['history'] =>
    parseHistory(
      kerasCsv(losses.map((loss, i): Epoch => ({ loss, accuracy: accuracy(i), lr: 0.01 }))),
      'history.csv',
    );
  const cases: {
    name: string;
    json: Record<string, unknown>;
    history?: DoctorContext['history'];
    finding: string;
    momentum: boolean;
  }[] = [
    {
      name: 'SGD momentum 0.9 at lr 2',
      json: raw({ optimizer: 'sgd', momentum: 0.9, lr: 2 }),
      finding: 'lr-too-high',
      momentum: false,
    },
    {
      name: 'SGD momentum 0.9 at lr 0.01, diverging log',
      json: raw({ optimizer: 'sgd', momentum: 0.9, lr: 0.01 }),
      history: history([0.7, 0.5, 0.4, 0.45, 0.6, 0.9, 1.4], () => 0.6),
      finding: 'diverging-loss',
      momentum: false,
    },
    {
      name: 'SGD momentum 0.6 at lr 0.01, stuck at chance',
      json: raw({ optimizer: 'sgd', momentum: 0.6, lr: 0.01 }),
      history: history([1.1, 1.1, 1.1, 1.1, 1.1, 1.1, 1.1, 1.1], (i) => 0.33 + 0.01 * (i % 2)),
      finding: 'stuck-at-chance',
      momentum: false,
    },
    {
      name: 'SGD momentum 0 at lr 1e-6',
      json: raw({ optimizer: 'sgd', momentum: 0, lr: 1e-6 }),
      finding: 'lr-too-low',
      momentum: true,
    },
  ];
  for (const c of cases) {
    const config = parse(c.json);
    const report = await runDoctor({
      scan,
      config,
      rawConfig: c.json,
      ...(c.history === undefined ? {} : { history: c.history }),
    });
    assert.ok(
      ids(report.findings).includes(c.finding),
      `${c.name}: ${ids(report.findings).join(', ')}`,
    );
    const settings = touchedSettings(report.findings, config);
    assert.ok(settings.includes('optimizer'), `${c.name}: ${settings.join(', ')}`);
    assert.equal(settings.includes('momentum'), c.momentum, `${c.name}: ${settings.join(', ')}`);
    const rules = parse(applyFixes(c.json, report.findings).config);
    const { train: images } = await loadFolderDataset({
      dir: data,
      valSplit: config.valSplit,
      seed: config.seed,
    });
    const configs = configurations(config, rules, settings, images.length);
    assert.ok(
      configs.some((x) => x.config.optimizer === 'adam'),
      `${c.name}: Adam among ${configs.map((x) => x.config.optimizer).join(', ')}`,
    );
  }
  // Adam's own rate findings leave the optimizer alone.
  const adam = raw({ optimizer: 'adam', lr: 0.3 });
  const report = await runDoctor({ scan, config: parse(adam), rawConfig: adam });
  assert.ok(!touchedSettings(report.findings, parse(adam)).includes('optimizer'));
});

test('fix loop conflicts: a rule, the LR range test, overfit-one-batch and the loop speak about lr, batch size, momentum and smoothing; the report states one value each and writes it', async () => {
  const broken = raw({
    optimizer: 'sgd',
    momentum: 0,
    lr: 0.3,
    batchSize: 64,
    labelSmoothing: 0.6,
  });
  const config = parse(broken);
  const probes = await runProbes({ scan, config, cacheDir, images: 36 });
  const probed = await runDoctor({ scan, config, rawConfig: broken, probes });
  // Before the loop: the rules and the probes already agree with each other.
  assertCoherent(probed.findings, SETTINGS);
  const report = await measureFixes({ scan, config, rawConfig: broken, probes }, probed, {
    cacheDir,
  });
  const found = ids(report.findings);
  for (const id of ['lr-too-high', 'sgd-without-momentum', 'label-smoothing-too-high'])
    assert.ok(found.includes(id), `${id} in ${found.join(', ')}`);
  assert.ok(found.includes('measured-fix'), found.join(', '));
  const decided = assertCoherent(report.findings, SETTINGS);
  // The loop decides the rate; every rule about it defers to the measurement.
  const measured = report.findings.find((f) => f.id === 'measured-fix');
  assert.equal(decided.get('lr'), measured?.fix.config?.lr);
  for (const f of report.findings)
    if (f.id !== 'measured-fix' && f.fix.deferred?.some((d) => d.setting === 'lr'))
      assert.ok(
        f.fix.deferred.every((d) => d.setting !== 'lr' || d.to === 'measured-fix'),
        f.id,
      );
  assert.doesNotMatch(
    renderTerminal(report),
    /not measured on your data\. To measure them/,
    'a measured report does not call its fixes advice',
  );
  // Measured fixes do not carry a command to measure them again.
  assert.equal(measured?.fix.measure, undefined);
});

/** A log that never leaves chance on 3 classes: stuck-at-chance, whose cause is usually the rate. */
const stuckLog = (): DoctorContext['history'] =>
  parseHistory(
    kerasCsv(
      [1.1, 1.1, 1.1, 1.1, 1.1, 1.1, 1.1, 1.1].map((loss, i): Epoch => ({
        loss,
        accuracy: 0.33 + 0.01 * (i % 2),
        lr: 1e-6,
      })),
    ),
    'history.csv',
  );

test('stuck-at-chance sends you to --probe only until something was measured: after --probe it points at the LR range test findings, after the fix loop at the measured fix', async () => {
  const json = raw({ optimizer: 'sgd', momentum: 0, lr: 1e-6 });
  const config = parse(json);
  const ctx: DoctorContext = { scan, config, rawConfig: json, history: stuckLog() };
  const stuck = (report: DoctorReport): Finding => {
    const f = report.findings.find((x) => x.id === 'stuck-at-chance');
    assert.ok(f !== undefined, ids(report.findings).join(', '));
    return f;
  };
  const plain = await runDoctor(ctx);
  assert.match(stuck(plain).fix.summary, /vggkit doctor --probe/);

  const probes = await runProbes({ scan, config, cacheDir, images: 36 });
  const probed = await runDoctor({ ...ctx, probes });
  assert.doesNotMatch(stuck(probed).fix.summary, /--probe/);
  assert.match(stuck(probed).fix.summary, /LR range test has run on your data/);
  assert.doesNotMatch(renderTerminal(probed), /--probe/);

  const measured = await measureFixes(ctx, plain, { cacheDir });
  assert.ok(ids(measured.findings).includes('measured-fix'), ids(measured.findings).join(', '));
  assert.doesNotMatch(stuck(measured).fix.summary, /--probe/);
  assert.match(stuck(measured).fix.summary, /see measured-fix/);
  assert.doesNotMatch(renderTerminal(measured), /--probe/);
  assertCoherent(measured.findings, SETTINGS);
});

test('stuck-at-chance after a fix loop where nothing beat your config, or the winner lost over the full budget: no --probe, and it says the settings tried are unlikely causes', async () => {
  const json = raw({ optimizer: 'adam', lr: 0.3 });
  const config = parse(json);
  for (const [chosen, improved] of [
    [undefined, undefined],
    [1, false],
  ] as const) {
    const report = await runDoctor({
      scan,
      config,
      rawConfig: json,
      history: stuckLog(),
      fixLoop: loopResult(chosen, improved),
    });
    assert.ok(ids(report.findings).includes('no-better-fix'), ids(report.findings).join(', '));
    const stuck = report.findings.find((f) => f.id === 'stuck-at-chance');
    assert.ok(stuck !== undefined, ids(report.findings).join(', '));
    assert.match(stuck.fix.summary, /see no-better-fix.*unlikely causes/);
    assert.doesNotMatch(renderTerminal(report), /--probe/);
  }
});

test('sgd-without-momentum after the fix loop chose Adam: its momentum is moot, not written, and it carries no command to measure SGD momentum', async () => {
  // On this data and seed the loop's winner is Adam (LR range test rate); with seed 1 it is SGD
  // with momentum 0.9, which the SGD case above covers.
  const json = raw({ optimizer: 'sgd', momentum: 0, lr: 1e-6, seed: 2 });
  const report = await measure(json);
  const loop = report.fixLoop;
  assert.ok(loop !== undefined && loop.chosen !== undefined, 'a fix was chosen');
  const chosen = loop.tried[loop.chosen];
  assert.equal(chosen?.changes.optimizer, 'adam', `the winner: ${chosen?.label ?? ''}`);
  const sgd = report.findings.find((f) => f.id === 'sgd-without-momentum');
  assert.ok(sgd !== undefined, ids(report.findings).join(', '));
  assert.equal(sgd.fix.measure, undefined, sgd.fix.measure);
  assert.equal(sgd.fix.config?.momentum, undefined);
  assert.match(
    sgd.fix.summary,
    /optimizer adam.*see measured-fix.*Momentum 0\.9 does not apply to adam/,
  );
  const text = renderTerminal(report);
  assert.doesNotMatch(text, /measure it:/);
  assert.doesNotMatch(text, /--momentum/);
  assertCoherent(report.findings, SETTINGS);
  // --fix-config writes Adam at the measured rate and leaves momentum as the user wrote it.
  const fixed = applyFixes(json, report.findings).config;
  assert.equal(fixed.optimizer, 'adam');
  assert.equal(fixed.momentum, 0);
});

/** Two epochs of logs with these validation accuracies. */
function curve(...accuracies: number[]): EpochLogs[] {
  return accuracies.map((a) => ({ loss: 1, accuracy: a, val_loss: 1, val_accuracy: a, lr: 1e-3 }));
}

function loopResult(chosen: number | undefined, improved?: boolean, lr = 1e-3): FixLoopResult {
  const score = (accuracy: number): Score => ({
    accuracy,
    loss: 1 - accuracy,
    rawLoss: 1,
    epochs: 2,
  });
  const tried = (label: string, accuracy: number, changes: Record<string, unknown>) => ({
    label,
    origin: 'measured' as const,
    changes,
    status: 'completed' as const,
    score: score(accuracy),
    history: [],
    seconds: 0.1,
  });
  return {
    settings: ['lr'],
    epochs: 2,
    validationImages: 12,
    rules: { lr: 1e-4 },
    lrTests: [],
    tried: [tried('your config', 0.5, {}), tried(`lr ${lr} (LR range test: valley)`, 0.9, { lr })],
    chosen,
    ...(improved === undefined
      ? {}
      : {
          verification: {
            epochs: EPOCHS,
            before: { score: score(0.5), history: curve(0.5, 0.6), seconds: 1 },
            after: { score: score(improved ? 0.9 : 0.5), history: curve(0.7, 0.9), seconds: 1 },
            improved,
          },
        }),
    seconds: 1,
  };
}

test('fix family: no winner, or a winner that loses over the full budget, is not written and the report says what was tried; a verified winner is', async () => {
  const json = raw({ optimizer: 'adam', lr: 0.3 });
  const config = parse(json);
  for (const [chosen, improved] of [
    [undefined, undefined],
    [1, false],
  ] as const) {
    const report = await runDoctor({
      config,
      rawConfig: json,
      fixLoop: loopResult(chosen, improved),
    });
    assert.ok(!fixIsProven(report));
    const none = report.findings.find((f) => f.id === 'no-better-fix');
    assert.ok(none !== undefined, ids(report.findings).join(', '));
    assert.match(none.fix.summary, /Tried: lr 0\.001 \(LR range test: valley\)/);
    assert.equal(none.fix.config, undefined);
    assert.equal(report.advice, undefined);
  }
  const won = await runDoctor({ config, rawConfig: json, fixLoop: loopResult(1, true) });
  assert.ok(fixIsProven(won));
  assert.equal(applyFixes(json, won.findings).config.lr, 1e-3);
  const text = renderTerminal(won);
  assert.match(text, /Verified over your 10 epochs: validation accuracy 50% → 90%/);
  assert.match(text, /your config {2}50 60\n {4}the fix {6}70 90\n/);
});

test('a rule the measurement confirms (the same rate within SAME_RATE_FACTOR) is labelled measured, not a rule of thumb, and the measured value is written', async () => {
  // Adam at lr 0.3: lr-too-high's rule says 1e-4.
  const json = raw({ optimizer: 'adam', lr: 0.3 });
  const config = parse(json);
  const rule = (await runDoctor({ config, rawConfig: json })).findings.find(
    (f) => f.id === 'lr-too-high',
  );
  assert.equal(rule?.fix.config?.lr, 1e-4);
  assert.equal(fixLabel(rule), 'Fix (rule of thumb)');
  for (const lr of [1e-4, 1.2e-4, 1e-3]) {
    const report = await runDoctor({ config, rawConfig: json, fixLoop: loopResult(1, true, lr) });
    const f = report.findings.find((x) => x.id === 'lr-too-high');
    assert.ok(f !== undefined, ids(report.findings).join(', '));
    assert.equal(fixLabel(f), 'Fix (measured)', `measured ${lr}`);
    assert.match(f.fix.summary, /measured by training candidate fixes on your data/, `${lr}`);
    assert.equal(applyFixes(json, report.findings).config.lr, lr);
    const text = renderTerminal(report);
    assert.match(text, /fix \(measured\): .*measured by training candidate fixes/);
    // The only rule of thumb left is the fixture's frozen random base (weights none), which no
    // training measures.
    const rules = text.split('\n').filter((line) => line.includes('rule of thumb'));
    assert.ok(
      rules.every((line) => line.includes('pretrained weights')),
      `measured ${lr}: ${rules.join('\n')}`,
    );
  }
});

test('without data, fixes are advice: labelled a rule of thumb, each with the sweep that would measure it, and the report names the command that measures them all', async () => {
  const json = raw({ optimizer: 'sgd', momentum: 0, lr: 0.3 });
  const report = await runDoctor({ config: parse(json), rawConfig: json });
  assert.equal(report.fixLoop, undefined);
  for (const id of ['lr-too-high', 'sgd-without-momentum']) {
    const f = report.findings.find((x) => x.id === id);
    assert.ok(f !== undefined, id);
    assert.match(f.fix.measure ?? '', /^vggkit sweep <data-dir> /, id);
  }
  assert.ok(report.findings.some((f) => fixLabel(f) === 'Fix (rule of thumb)'));
  assert.match(
    report.advice ?? '',
    /^vggkit doctor <data-dir> --config .* --fix-config fixed\.json --verify$/,
  );
  assert.match(
    renderTerminal(report),
    /are advice, not measured on your data\. To measure them: vggkit doctor/,
  );
  // Given the --config file, the commands name it instead of a placeholder.
  const named = await runDoctor({
    config: parse(json),
    rawConfig: json,
    configFile: 'setups/broken.json',
  });
  assert.match(named.advice ?? '', / --config setups\/broken\.json --fix-config fixed\.json/);
  const sweep = named.findings.find((f) => f.id === 'lr-too-high')?.fix.measure ?? '';
  assert.match(sweep, / --config setups\/broken\.json$/);
  // With data but nothing to fix, the loop has nothing to measure.
  const healthy = raw({ optimizer: 'adam', lr: 1e-3 });
  const ctx: DoctorContext = { scan, config: parse(healthy), rawConfig: healthy };
  const clean = await measureFixes(ctx, await runDoctor(ctx), { cacheDir });
  assert.equal(clean.fixLoop, undefined);
});

const CLI = resolve('src/cli/main.ts');

test('vggkit doctor --fix-config --verify --json: trains the fix and your config for your budget, prints both, writes the fix; --verify needs the data and a config', async () => {
  const dir = await tempDir('fix-cli-');
  const json = raw({ optimizer: 'adam', lr: 1e-8 });
  const config = await writeJson(join(dir, 'broken.json'), json);
  const fixed = join(dir, 'fixed.json');
  const run = (args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', CLI, 'doctor', ...args], {
      encoding: 'utf8',
      env: { ...process.env, VGGKIT_HOME: join(root, 'home'), ONNXRUNTIME_NODE_INSTALL: 'skip' },
    });
  const html = join(dir, 'report.html');
  const out = run([
    data,
    '--config',
    config,
    '--fix-config',
    fixed,
    '--verify',
    '--json',
    '--html',
    html,
  ]);
  assert.equal(out.status, 0, out.stderr);
  const report = JSON.parse(out.stdout) as { fixLoop?: FixLoopResult; findings: Finding[] };
  const v = report.fixLoop?.verification;
  assert.ok(v !== undefined, 'verification in --json');
  assert.equal(v.epochs, EPOCHS);
  assert.equal(v.before.history.length, EPOCHS);
  assert.equal(v.after.history.length, EPOCHS);
  assert.ok(v.improved && v.after.score.accuracy > v.before.score.accuracy);
  const written = JSON.parse(await readFile(fixed, 'utf8')) as Record<string, unknown>;
  const chosen = report.fixLoop?.tried[report.fixLoop.chosen as number];
  assert.equal(written.lr, chosen?.changes.lr);
  assert.equal(written.seed, 1, "the user's other settings are kept");

  // The HTML report: the candidates' table and the before/after curves on one chart per metric.
  const page = await readFile(html, 'utf8');
  assert.match(page, /<h2>Fixes measured on your data<\/h2>/);
  assert.match(page, new RegExp(`<h3>Verified over your ${EPOCHS} epochs</h3>`));
  for (const t of report.fixLoop?.tried ?? [])
    assert.ok(page.includes(t.label.replace(/'/g, '&#39;')), t.label);
  const curve = chartSpecs(page).find((c) => c.id === 'fix-verify-val-accuracy');
  assert.ok(curve?.kind === 'line', 'validation accuracy before and after');
  assert.deepEqual(
    curve.series.map((s) => s.label),
    ['your config', 'the fix'],
  );
  assert.deepEqual(
    curve.series[1]?.values,
    v.after.history.map((h) => h.val_accuracy),
  );

  const noConfig = run([data, '--verify']);
  assert.equal(noConfig.status, 2);
  assert.match(noConfig.stderr, /--verify: expected the training data folder and --config/);
});

test('fix phrases show whole numbers as they are written (batch 128, not 130) and rates to two digits', () => {
  assert.equal(describePatch({ batchSize: 128, lr: 0.00061234 }), 'batchSize 128, lr 0.00061');
});
