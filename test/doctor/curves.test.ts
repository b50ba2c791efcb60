/**
 * The curve checks on the shapes real logs have (real-logs.md), each broken case with its
 * healthy twin: overfitting on a flat validation loss, oscillation against the curve's own trend,
 * stuck-at-chance from --classes, forgetting across two logs, plateaus on short runs, binary
 * accuracy, empty epochs, constant validation accuracy, an off-scale validation loss, weight
 * penalties and restarts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseHistory, type TrainingHistory } from '../../src/doctor/history.js';
import { buildContext } from '../../src/doctor/inputs.js';
import { historyCharts } from '../../src/doctor/render-html.js';
import { renderTerminal } from '../../src/doctor/render-terminal.js';
import { runDoctor } from '../../src/doctor/run.js';
import type { Finding } from '../../src/doctor/types.js';
import { tempDir } from './fixtures.js';

type Columns = Partial<Record<'loss' | 'accuracy' | 'val_loss' | 'val_accuracy' | 'lr', number[]>>;

const keras = (columns: Columns): TrainingHistory =>
  parseHistory(JSON.stringify(columns), 'history.json');

async function findings(history: TrainingHistory, classes?: number): Promise<readonly Finding[]> {
  return (await runDoctor({ history, ...(classes === undefined ? {} : { classes }) })).findings;
}

async function idsOf(history: TrainingHistory, classes?: number): Promise<string[]> {
  return (await findings(history, classes)).map((f) => f.id);
}

const range = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));

test('overfitting: a 15-point accuracy gap on a flat validation loss; silent at 5 points or while validation still improves', async () => {
  const n = 24;
  const flat = keras({
    loss: range(n, (i) => 1.2 * Math.exp(-i / 6) + 0.2),
    accuracy: range(n, (i) => 0.95 - 0.5 * Math.exp(-i / 5)),
    val_loss: range(n, (i) => (i < 8 ? 1.2 - 0.06 * i : 0.72 + 0.01 * Math.sin(i))),
    val_accuracy: range(n, (i) => (i < 8 ? 0.5 + 0.035 * i : 0.78 + 0.005 * Math.sin(i))),
  });
  const hit = (await findings(flat, 5)).find((f) => f.id === 'overfitting');
  assert.ok(hit);
  assert.match(hit.title, /points above validation accuracy .* stopped improving/);
  assert.match(hit.explanation, /A flat validation loss does not make this healthy/);
  // A weight penalty shrinking with the weights keeps the loss falling while accuracy stays put.
  const penalised = keras({
    loss: range(n, (i) => 1.2 * Math.exp(-i / 6) + 0.2),
    accuracy: range(n, (i) => 0.95 - 0.5 * Math.exp(-i / 5)),
    val_loss: range(n, (i) => 3 - 0.1 * i),
    val_accuracy: range(n, (i) => (i < 8 ? 0.5 + 0.035 * i : 0.78 + 0.005 * Math.sin(i))),
  });
  const judgedByAccuracy = (await findings(penalised, 5)).find((f) => f.id === 'overfitting');
  assert.match(judgedByAccuracy?.explanation ?? '', /loss still fell \d+%.*weight penalty/);
  const small = keras({
    loss: range(n, (i) => 1.2 * Math.exp(-i / 6) + 0.2),
    accuracy: range(n, (i) => 0.85 - 0.4 * Math.exp(-i / 5)),
    val_loss: range(n, (i) => (i < 8 ? 1.2 - 0.06 * i : 0.72 + 0.01 * Math.sin(i))),
    val_accuracy: range(n, (i) => (i < 8 ? 0.5 + 0.035 * i : 0.8 + 0.005 * Math.sin(i))),
  });
  assert.ok(!(await idsOf(small, 5)).includes('overfitting'));
  const improving = keras({
    loss: range(n, (i) => 1.2 * Math.exp(-i / 6) + 0.2),
    accuracy: range(n, (i) => 0.95 - 0.5 * Math.exp(-i / 5)),
    val_loss: range(n, (i) => 1.4 - 0.035 * i),
    val_accuracy: range(n, (i) => 0.4 + 0.017 * i),
  });
  assert.ok(!(await idsOf(improving, 5)).includes('overfitting'));
});

test('oscillation is measured against the curve’s own trend: a steep first drop is not a swing, ±20% around the trend is', async () => {
  // aman001_plant19 phase 1: halves in the first epoch, then moves 1-4%.
  const steep = keras({
    loss: [0.59, 0.28, 0.26, 0.245, 0.241, 0.246, 0.237, 0.216, 0.202, 0.204, 0.198],
  });
  assert.ok(!(await idsOf(steep, 19)).includes('oscillating-loss'));
  const zigzag = keras({ loss: range(12, (i) => (1 - 0.04 * i) * (i % 2 === 0 ? 1.2 : 0.8)) });
  assert.ok((await idsOf(zigzag, 3)).includes('oscillating-loss'));
  // Jitter on a loss converged near zero is noise at any relative size.
  const converged = keras({
    loss: [0.7, 0.3, 0.1, 0.03, 0.009, 0.006, 0.008, 0.0055, 0.0078, 0.006],
  });
  assert.ok(!(await idsOf(converged, 3)).includes('oscillating-loss'));
});

test('a loss that jumps up and stays up is diverging (oscillation defers to it)', async () => {
  const h = keras({
    loss: [85, 53, 20.6, 11.5, 10.7, 5.0, 0.9, 0.585, 0.78, 1.47, 3.31, 1.33, 2.12],
  });
  const ids = await idsOf(h, 3);
  assert.ok(ids.includes('diverging-loss'), ids.join(', '));
  assert.ok(!ids.includes('oscillating-loss'));
  // Twin: one bad epoch that comes back.
  const bump = keras({ loss: [1.2, 0.9, 0.7, 0.6, 1.3, 0.55, 0.5, 0.48] });
  assert.ok(!(await idsOf(bump, 3)).includes('diverging-loss'));
});

test('stuck-at-chance from --classes: a log alone names no classes, the flag gives the chance level', async () => {
  const dir = await tempDir('curves-');
  const file = join(dir, 'training.log');
  // The emanuellemoco_fer7 shape: 7 classes, accuracy around 1/7, validation exactly 1/7.
  await writeFile(
    file,
    'epoch,accuracy,loss,val_accuracy,val_loss\n0,0.134,2.99,0.1428,1.9468\n1,0.160,2.75,0.1428,1.9475\n2,0.193,2.91,0.1428,1.9484\n3,0.118,2.66,0.1428,1.9494\n4,0.193,2.65,0.1428,1.9509\n',
  );
  const without = await runDoctor(await buildContext({ history: file }));
  assert.ok(!without.findings.some((f) => f.id === 'stuck-at-chance'));
  assert.match(renderTerminal(without), /Class count unknown: .*give --classes N/);
  const given = await runDoctor(await buildContext({ history: file, classes: 7 }));
  assert.ok(given.findings.some((f) => f.id === 'stuck-at-chance' && f.severity === 'error'));
  assert.equal(given.summary.classes, 7);
  assert.match(renderTerminal(given), /Chance level: 1\/7/);
  // With a frozen random base in the config, its fix names that cause first.
  const config = join(dir, 'config.json');
  await writeFile(config, JSON.stringify({ weights: 'none', inputSize: 32 }));
  const random = await runDoctor(await buildContext({ history: file, classes: 7, config }));
  const stuck = random.findings.find((f) => f.id === 'stuck-at-chance');
  assert.match(
    stuck?.fix.summary ?? '',
    /^The base is random and frozen \(see random-base-frozen\)/,
  );
  assert.ok(random.findings.some((f) => f.id === 'random-base-frozen'));
  assert.doesNotMatch(
    given.findings.find((f) => f.id === 'stuck-at-chance')?.fix.summary ?? '',
    /random-base-frozen/,
  );
  // A learning twin under the same flag.
  await writeFile(
    file,
    'epoch,accuracy,loss,val_accuracy,val_loss\n0,0.30,1.80,0.35,1.70\n1,0.42,1.50,0.45,1.45\n2,0.50,1.30,0.52,1.30\n3,0.56,1.20,0.55,1.22\n4,0.60,1.10,0.58,1.15\n',
  );
  const learning = await runDoctor(await buildContext({ history: file, classes: 7 }));
  assert.ok(!learning.findings.some((f) => f.id === 'stuck-at-chance'));
  // --classes must agree with a log that names its classes.
  const named = join(dir, 'history.json');
  await writeFile(
    named,
    JSON.stringify({ classNames: ['a', 'b'], epochs: [{ epoch: 0, loss: 0.7 }] }),
  );
  await assert.rejects(
    buildContext({ history: named, classes: 3 }),
    /--classes 3 contradicts the training log .* 2 classes/,
  );
  await assert.rejects(
    buildContext({ history: named, classes: 1 }),
    /--classes: expected a whole number of classes >= 2/,
  );
});

test('forgetting across two logs of a two-phase fine-tune: a lasting drop warns, a dip that recovers is a note', async () => {
  const dir = await tempDir('curves-');
  const phase1 = join(dir, 'phase1.json');
  await writeFile(
    phase1,
    JSON.stringify({
      loss: [1.2, 0.8, 0.6, 0.5, 0.45, 0.42],
      accuracy: [0.5, 0.7, 0.78, 0.82, 0.84, 0.85],
      val_loss: [0.9, 0.7, 0.6, 0.55, 0.52, 0.5],
      val_accuracy: [0.65, 0.74, 0.79, 0.82, 0.84, 0.85],
    }),
  );
  const phase2 = async (val: number[]): Promise<readonly Finding[]> => {
    const file = join(dir, `phase2-${val.join('-')}.json`);
    await writeFile(
      file,
      JSON.stringify({
        loss: [0.6, 0.5, 0.45, 0.4, 0.38, 0.36],
        accuracy: [0.8, 0.83, 0.85, 0.87, 0.88, 0.89],
        val_loss: val.map((v) => 1.4 - v),
        val_accuracy: val,
      }),
    );
    return (await runDoctor(await buildContext({ history: [phase1, file], classes: 4 }))).findings;
  };
  const lasting = (await phase2([0.66, 0.68, 0.7, 0.71, 0.72, 0.72])).find(
    (f) => f.id === 'forgetting-after-unfreeze',
  );
  assert.equal(lasting?.severity, 'warning');
  assert.match(lasting?.title ?? '', /right after phase 2 began$/);
  assert.deepEqual(lasting?.evidence.epochRange, [5, 7]);
  const dip = (await phase2([0.62, 0.8, 0.86, 0.88, 0.89, 0.9])).find(
    (f) => f.id === 'forgetting-after-unfreeze',
  );
  assert.equal(dip?.severity, 'info');
  assert.match(dip?.title ?? '', /and was back by epoch 3 of phase 2$/);
  assert.equal(dip?.fix.config, undefined, 'a recovered dip changes nothing');
  assert.ok(
    !(await phase2([0.85, 0.87, 0.88, 0.89, 0.9, 0.9])).some(
      (f) => f.id === 'forgetting-after-unfreeze',
    ),
  );
});

test('a rate step inside one log names the step: "the learning rate went from 0.001 to 0.0001 at epoch 5"', async () => {
  const stepped = keras({
    loss: [1.2, 0.8, 0.6, 0.5, 0.45, 0.42, 0.4, 0.39],
    accuracy: [0.5, 0.7, 0.78, 0.82, 0.84, 0.85, 0.86, 0.87],
    val_loss: [0.9, 0.7, 0.6, 0.55, 0.8, 0.82, 0.81, 0.8],
    val_accuracy: [0.65, 0.74, 0.79, 0.84, 0.7, 0.71, 0.72, 0.72],
    lr: [1e-3, 1e-3, 1e-3, 1e-3, 1e-4, 1e-4, 1e-4, 1e-4],
  });
  const forgot = (await findings(stepped, 4)).find((f) => f.id === 'forgetting-after-unfreeze');
  assert.equal(forgot?.severity, 'warning');
  assert.match(
    forgot?.title ?? '',
    /from 84% to 71% right after the learning rate went from 0\.001 to 0\.0001 at epoch 5$/,
  );
});

test('a fit() run appended from scratch is a new training: no forgetting at the restart, findings name their training', async () => {
  const h = parseHistory(
    [
      'epoch,accuracy,loss,val_accuracy,val_loss',
      ...range(
        6,
        (i) => `${i},${0.4 + 0.08 * i},${1.2 - 0.12 * i},${0.45 + 0.07 * i},${1.1 - 0.1 * i}`,
      ),
      ...range(
        6,
        (i) => `${i},${0.38 + 0.08 * i},${1.25 - 0.12 * i},${0.4 + 0.07 * i},${1.15 - 0.1 * i}`,
      ),
    ].join('\n'),
    'append.csv',
  );
  const report = await runDoctor({ history: h, classes: 4 });
  assert.ok(!report.findings.some((f) => f.id === 'forgetting-after-unfreeze'));
  assert.deepEqual(report.summary.history?.trainings, ['fit 1', 'fit 2']);
  assert.match(
    renderTerminal(report),
    /2 fit\(\) runs appended .* judged as 2 separate trainings: fit 1 \| fit 2/,
  );
});

test('plateau on a short run: 3 flat epochs at a constant rate out of 9; silent while it still improves', async () => {
  const flat = keras({
    loss: [1.0, 0.8, 0.65, 0.55, 0.5, 0.47, 0.45, 0.44, 0.43],
    accuracy: [0.6, 0.7, 0.76, 0.8, 0.82, 0.83, 0.84, 0.845, 0.85],
    val_loss: [0.9, 0.75, 0.65, 0.6, 0.58, 0.5801, 0.5803, 0.5802, 0.58],
    val_accuracy: [0.62, 0.7, 0.75, 0.78, 0.8, 0.8, 0.8, 0.8, 0.8],
    lr: range(9, () => 1e-4),
  });
  const hit = (await findings(flat, 3)).find((f) => f.id === 'plateau-without-lr-decay');
  assert.match(hit?.title ?? '', /not improved for 3 epochs/);
  const improving = keras({
    loss: [1.0, 0.8, 0.65, 0.55, 0.5, 0.47, 0.45, 0.44, 0.43],
    val_loss: [0.9, 0.75, 0.65, 0.6, 0.58, 0.56, 0.54, 0.53, 0.52],
    lr: range(9, () => 1e-4),
  });
  assert.ok(!(await idsOf(improving, 3)).includes('plateau-without-lr-decay'));
});

test('binary accuracy on a 7-class softmax: 6/7 while the loss stays at chance; categorical twins are judged normally', async () => {
  const binary = keras({
    loss: range(20, (i) => 1.93 - 0.01 * Math.min(i, 10)),
    accuracy: range(20, (i) => 0.8571 + 0.0003 * (i % 3)),
    val_loss: range(20, (i) => 1.83 - 0.01 * Math.min(i, 10)),
    val_accuracy: range(20, () => 0.8572),
  });
  const found = await findings(binary, 7);
  const hit = found.find((f) => f.id === 'binary-accuracy-on-multiclass');
  assert.ok(hit, found.map((f) => f.id).join(', '));
  assert.match(hit.title, /6\/7 = 85\.7%/);
  assert.match(hit.fix.summary, /categorical_crossentropy.*CategoricalAccuracy/);
  // The accuracy is ignored: no val-above-train or gap reading from it; the loss says underfitting.
  assert.ok(found.some((f) => f.id === 'underfitting'));
  // Twin at chance with a categorical accuracy: stuck, not binary.
  const chance = keras({
    loss: range(20, () => 1.946),
    accuracy: range(20, (i) => 0.14 + 0.01 * (i % 2)),
  });
  const ids = await idsOf(chance, 7);
  assert.ok(
    ids.includes('stuck-at-chance') && !ids.includes('binary-accuracy-on-multiclass'),
    ids.join(', '),
  );
  // Twin that learned to a categorical 86%: its loss is far below chance.
  const learned = keras({
    loss: range(20, (i) => 1.2 * Math.exp(-i / 4) + 0.35),
    accuracy: range(20, (i) => 0.86 - 0.4 * Math.exp(-i / 4)),
  });
  assert.ok(!(await idsOf(learned, 7)).includes('binary-accuracy-on-multiclass'));
  // A column named binary_accuracy needs no inference.
  const named = parseHistory(
    JSON.stringify({ loss: [0.3, 0.2, 0.15], binary_accuracy: [0.9, 0.93, 0.95] }),
    'h.json',
  );
  assert.ok((await idsOf(named, 5)).includes('binary-accuracy-on-multiclass'));
  assert.ok(
    !(await idsOf(named, 2)).includes('binary-accuracy-on-multiclass'),
    'binary is right for 2 classes',
  );
});

test('empty epochs: a warning that explains the exhausted generator; the curves ignore them', async () => {
  const loss = [1.99, 1.55, 0, 1.26, 1.09, 0, 0.96, 0.88, 0, 0.79, 0.71, 0];
  const h = keras({
    loss,
    accuracy: loss.map((l) => (l === 0 ? 0 : 1 - l / 2.4)),
    val_loss: loss.map((l) => (l === 0 ? 1.9 : l * 0.9)),
    val_accuracy: loss.map((l) => (l === 0 ? 0.06 : 1 - l / 2.6)),
  });
  const ids = await idsOf(h, 8);
  assert.ok(ids.includes('empty-epochs'), ids.join(', '));
  assert.ok(!ids.includes('oscillating-loss') && !ids.includes('diverging-loss'), ids.join(', '));
  const full = keras({
    loss: loss.filter((l) => l > 0),
    accuracy: loss.filter((l) => l > 0).map((l) => 1 - l / 2.4),
  });
  assert.ok(!(await idsOf(full, 8)).includes('empty-epochs'));
});

test('constant validation accuracy while the validation loss moves; a converged run holding one count is fine', async () => {
  const stuckPredictions = keras({
    loss: range(12, (i) => 1.39 * Math.exp(-i / 2) + 0.05),
    accuracy: range(12, (i) => 0.985 + 0.002 * (i % 2)),
    val_loss: range(12, (i) => 0.78 * Math.exp(-i / 2) + 0.057),
    // Equal but for float32 averaging noise, as arjunpesaru_brats4 logs it.
    val_accuracy: range(12, (i) => 0.9866071343421936 + 1.2e-7 * (i % 2)),
  });
  assert.ok((await idsOf(stuckPredictions, 4)).includes('constant-val-accuracy'));
  const converged = keras({
    loss: range(12, (i) => 0.3 * Math.exp(-i / 2) + 0.05),
    accuracy: range(12, (i) => 0.95 + 0.002 * (i % 2)),
    val_loss: range(12, (i) => (i < 4 ? 0.4 - 0.05 * i : 0.2 + 0.001 * (i % 2))),
    val_accuracy: range(12, (i) => (i < 4 ? 0.8 + 0.04 * i : 0.9545)),
  });
  assert.ok(!(await idsOf(converged, 4)).includes('constant-val-accuracy'));
});

test('a validation loss on another scale from the first epochs is a pipeline mismatch, not overfitting', async () => {
  const mismatch = keras({
    loss: [4.57, 1.38, 1.2, 1.02, 0.67, 0.53, 0.44, 0.43, 0.36, 0.41, 0.4, 0.38],
    accuracy: [0.68, 0.81, 0.87, 0.87, 0.92, 0.94, 0.96, 0.97, 0.96, 0.96, 0.96, 0.96],
    val_loss: [109816, 2539, 229, 497, 27.8, 34.9, 9.2, 18.8, 12.9, 36.6, 40, 38],
    val_accuracy: [0.31, 0.32, 0.36, 0.45, 0.49, 0.51, 0.68, 0.59, 0.63, 0.53, 0.55, 0.54],
  });
  const ids = await idsOf(mismatch, 4);
  assert.ok(ids.includes('val-loss-off-scale') && !ids.includes('overfitting'), ids.join(', '));
  // A validation loss 3x training's early on (alokd604_soybean3's start) is not off-scale.
  const rough = keras({
    loss: [0.76, 0.53, 0.48, 0.43, 0.4, 0.37],
    val_loss: [2.63, 3.04, 1.24, 1.23, 0.9, 0.8],
  });
  assert.ok(!(await idsOf(rough, 3)).includes('val-loss-off-scale'));
});

test('a first-epoch loss above 2 ln(classes) is a confidently wrong start, unless the accuracy shows a weight penalty', async () => {
  // brandtkaufmann_cats5: 7.26 at 89% accuracy is no cross-entropy; the loss carries L2.
  const penalty = keras({
    loss: [7.26, 6.61, 5.92, 5.5, 5.07],
    accuracy: [0.89, 0.95, 0.98, 0.97, 0.98],
  });
  assert.ok(!(await idsOf(penalty, 5)).includes('initial-loss-off'));
  const wrong = keras({
    loss: [3.85, 1.05, 0.91, 0.79, 0.7],
    accuracy: [0.41, 0.54, 0.59, 0.63, 0.68],
  });
  assert.ok((await idsOf(wrong, 4)).includes('initial-loss-off'));
});

test('the HTML loss chart goes logarithmic when the losses span more than 100x, so an off-scale validation loss does not flatten the training loss', () => {
  const lossChart = (h: TrainingHistory) => historyCharts(h, []).find((c) => c.id === 'loss');
  const offScale = keras({ loss: [4.6, 1.4, 1.2, 1.0], val_loss: [109816, 2539, 229, 40] });
  assert.equal(lossChart(offScale)?.yLog, true);
  assert.equal(lossChart(offScale)?.yLabel, 'loss (log)');
  const healthy = keras({ loss: [1.2, 0.8, 0.6, 0.5], val_loss: [1.0, 0.8, 0.7, 0.65] });
  assert.equal(lossChart(healthy)?.yLog, undefined);
});
