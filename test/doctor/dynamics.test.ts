import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseHistory, readHistory, type TrainingHistory } from '../../src/doctor/history.js';
import { runDoctor } from '../../src/doctor/run.js';
import { scanDataset } from '../../src/doctor/scan.js';
import type { DoctorContext, Finding } from '../../src/doctor/types.js';
import { DEFAULT_CONFIG } from '../../src/train/config.js';
import {
  cleanDataset,
  healthyEpochs,
  kerasCsv,
  kerasHistory,
  tempDir,
  writeJson,
  type Epoch,
} from './fixtures.js';

const DYNAMICS_IDS = [
  'initial-loss-off',
  'diverging-loss',
  'nan-loss',
  'oscillating-loss',
  'stuck-at-chance',
  'slow-convergence',
  'overfitting',
  'underfitting',
  'forgetting-after-unfreeze',
  'plateau-without-lr-decay',
  'val-above-train',
];
const TWO_CLASSES = { classes: ['cats', 'dogs'] };

function csv(epochs: Epoch[]): TrainingHistory {
  return parseHistory(kerasCsv(epochs), 'history.csv');
}

async function dynamics(
  history: TrainingHistory,
  extra: Partial<DoctorContext> = {},
): Promise<Finding[]> {
  return (await runDoctor({ history, model: TWO_CLASSES, ...extra })).findings.filter((f) =>
    DYNAMICS_IDS.includes(f.id),
  );
}

async function only(
  id: string,
  history: TrainingHistory,
  extra: Partial<DoctorContext> = {},
): Promise<Finding> {
  const found = await dynamics(history, extra);
  const hit = found.find((f) => f.id === id);
  assert.ok(hit, `expected ${id}, got ${found.map((f) => f.id).join(', ') || 'nothing'}`);
  return hit;
}

const series = (values: number[], make: (v: number, i: number) => Epoch): Epoch[] =>
  values.map(make);

test('a healthy history raises nothing, in all three formats', async () => {
  const epochs = healthyEpochs();
  assert.deepEqual(await dynamics(csv(epochs)), []);
  assert.deepEqual(
    await dynamics(parseHistory(JSON.stringify(kerasHistory(epochs)), 'h.json')),
    [],
  );
  assert.deepEqual(
    await dynamics(
      parseHistory(
        JSON.stringify({ epochs: epochs.map((e, i) => ({ epoch: i, ...e })) }),
        'history.json',
      ),
    ),
    [],
  );
});

test('history parsing: CSVLogger columns, acc/val_acc aliases, Python NaN, epoch resets', async () => {
  const h = parseHistory(
    'epoch,acc,loss,lr,val_acc,val_loss\n0,0.5,0.7,0.001,0.4,nan\n1,0.6,0.6,0.001,0.5,0.65\n0,0.7,0.5,0.0001,0.6,0.55\n',
    'log.csv',
  );
  assert.equal(h.format, 'keras-csv');
  assert.deepEqual(
    h.epochs.map((e) => e.epoch),
    [0, 1, 0],
  );
  assert.equal(h.epochs[1].valAccuracy, 0.5);
  assert.ok(Number.isNaN(h.epochs[0].valLoss));
  const k = parseHistory(
    '{"loss": [1.0, NaN], "val_acc": [0.5, 0.6], "learning_rate": [0.1, 0.1]}',
    'k.json',
  );
  assert.equal(k.format, 'keras-history');
  assert.ok(Number.isNaN(k.epochs[1].loss));
  assert.equal(k.epochs[1].lr, 0.1);
  const dir = await tempDir('hist-');
  await assert.rejects(
    readHistory(await writeJson(join(dir, 'x.json'), { foo: [1] })),
    /x\.json: expected Keras History\.history keys/,
  );
});

test('nan-loss', async () => {
  const epochs = healthyEpochs();
  epochs[5] = { ...epochs[5], loss: Number.NaN };
  const finding = await only('nan-loss', csv(epochs), { config: DEFAULT_CONFIG });
  assert.equal(finding.severity, 'error');
  assert.equal(
    finding.evidence.firstEpoch,
    6,
    'the sixth epoch: findings count epochs from 1, as the consoles do',
  );
  assert.equal(finding.fix.config?.clipNorm, 1);
});

test('initial-loss-off: first loss 3.0 for 2 classes (ln 2 = 0.69); 0.9 is fine', async () => {
  const high = healthyEpochs().map((e, i) => (i === 0 ? { ...e, loss: 3.0 } : e));
  await only('initial-loss-off', csv(high));
  const fine = healthyEpochs().map((e, i) => (i === 0 ? { ...e, loss: 0.9 } : e));
  assert.ok(!(await dynamics(csv(fine))).some((f) => f.id === 'initial-loss-off'));
});

test('diverging-loss, its epochs counted from 1', async () => {
  // Epochs named as the Keras console counts them (from 1): the CSV's epoch column says 0..6, the
  // lowest loss is its epoch 2 (the console's "Epoch 3/7"), the last its epoch 6 ("Epoch 7/7").
  const found = await only(
    'diverging-loss',
    csv(series([0.7, 0.5, 0.4, 0.45, 0.6, 0.9, 1.4], (loss) => ({ loss }))),
  );
  assert.equal(found.evidence.bestEpoch, 3);
  assert.equal(found.evidence.lastEpoch, 7);
  assert.match(found.title, /1\.40 at epoch 7 vs 0\.400 at its best, epoch 3$/);
  // One bad epoch that recovers is not divergence.
  const bump = csv(series([0.7, 0.5, 0.4, 0.9, 0.35, 0.3, 0.28], (loss) => ({ loss })));
  assert.ok(!(await dynamics(bump)).some((f) => f.id === 'diverging-loss'));
});

test('oscillating-loss: zig-zag of +-40% vs ordinary 1% noise', async () => {
  await only(
    'oscillating-loss',
    csv(series([0.7, 0.4, 0.8, 0.35, 0.75, 0.3, 0.7, 0.32], (loss) => ({ loss }))),
  );
  const noisy = csv(
    healthyEpochs().map((e, i) => ({ ...e, loss: e.loss * (1 + 0.01 * (i % 2 === 0 ? 1 : -1)) })),
  );
  assert.ok(!(await dynamics(noisy)).some((f) => f.id === 'oscillating-loss'));
});

test("vggkit's history.json names its classes: the chance level needs no data folder or model", async () => {
  const classNames = ['bag', 'boot', 'pullover', 'sneaker', 'trouser', 'tshirt'];
  const epochs = Array.from({ length: 8 }, (_, epoch) => ({
    epoch,
    loss: 1.79,
    accuracy: 1 / 6 + 0.01 * (epoch % 2),
    val_loss: 1.79,
    val_accuracy: 1 / 6,
    lr: 0.05,
    stage: 'head',
  }));
  const history = parseHistory(JSON.stringify({ classNames, epochs }), 'history.json');
  assert.deepEqual(history.classNames, classNames);
  const found = (await runDoctor({ history })).findings.map((f) => f.id);
  assert.ok(found.includes('stuck-at-chance'), found.join(', '));
  // Without the names the chance level is unknown and the check stays silent rather than guess.
  const anonymous = parseHistory(JSON.stringify({ epochs }), 'history.json');
  assert.ok(
    !(await runDoctor({ history: anonymous })).findings.some((f) => f.id === 'stuck-at-chance'),
  );
});

test('stuck-at-chance: 2 classes at 50% accuracy for 8 epochs', async () => {
  const finding = await only(
    'stuck-at-chance',
    csv(
      series([0.5, 0.49, 0.51, 0.5, 0.52, 0.5, 0.49, 0.5], (accuracy) => ({
        loss: 0.693,
        accuracy,
      })),
    ),
  );
  assert.equal(finding.severity, 'error');
});

test('slow-convergence: loss down 1% an epoch for 10 epochs with lr 1e-6; the fix raises lr 10x', async () => {
  const slow = csv(
    Array.from({ length: 10 }, (_, i) => ({ loss: 0.7 * 0.99 ** i, accuracy: 0.55 + 0.013 * i })),
  );
  const finding = await only('slow-convergence', slow, { config: { ...DEFAULT_CONFIG, lr: 1e-6 } });
  assert.deepEqual(finding.fix.config, { lr: 1e-5 });
});

test('overfitting: validation loss turns up at epoch 4 while training loss keeps falling', async () => {
  const epochs = Array.from({ length: 12 }, (_, i) => ({
    loss: 0.6 * 0.8 ** i,
    accuracy: 0.7 + 0.025 * i,
    val_loss: i <= 4 ? 0.6 - 0.075 * i : 0.3 + 0.03 * (i - 4),
    val_accuracy: 0.8,
  }));
  const finding = await only('overfitting', csv(epochs));
  assert.deepEqual(finding.evidence.epochRange, [4, 11]);
  // Position 4 is the fifth epoch, "Epoch 5/12" on the Keras console and on the HTML chart.
  assert.match(finding.title, /^Validation loss bottomed out at epoch 5 and has risen/);
  assert.equal(finding.evidence.bestEpoch, 5);
  assert.ok(!(await dynamics(csv(healthyEpochs()))).some((f) => f.id === 'overfitting'));
});

test('underfitting: training accuracy flat at 62% for 2 classes', async () => {
  await only(
    'underfitting',
    csv(
      Array.from({ length: 10 }, (_, i) => ({ loss: 0.66 - 0.02 * Math.exp(-i), accuracy: 0.62 })),
    ),
  );
});

test('forgetting-after-unfreeze: a marked stage change followed by an 18-point drop (vggkit history)', async () => {
  const stage = (i: number): string => (i < 6 ? 'head' : 'block5');
  const dropped = Array.from({ length: 10 }, (_, i) => ({
    epoch: i,
    stage: stage(i),
    loss: 0.4 - 0.01 * i,
    accuracy: 0.85,
    val_loss: 0.45,
    val_accuracy: i < 6 ? 0.8 : i < 8 ? 0.62 : 0.7,
    lr: i < 6 ? 1e-3 : 1e-3,
  }));
  const finding = await only(
    'forgetting-after-unfreeze',
    parseHistory(JSON.stringify(dropped), 'history.json'),
  );
  assert.deepEqual(finding.evidence.epochRange, [5, 7]);
  const kept = dropped.map((e, i) => ({ ...e, val_accuracy: i < 6 ? 0.8 : 0.82 }));
  assert.ok(
    !(await dynamics(parseHistory(JSON.stringify(kept), 'history.json'))).some(
      (f) => f.id === 'forgetting-after-unfreeze',
    ),
  );
});

test('plateau-without-lr-decay: 6 flat epochs at a constant lr; silent when the lr was reduced', async () => {
  const make = (reduce: boolean): Epoch[] =>
    Array.from({ length: 12 }, (_, i) => ({
      loss: 0.3 - 0.01 * Math.min(i, 6),
      accuracy: 0.9,
      val_loss: i < 6 ? 0.6 - 0.04 * i : 0.4 + 0.0005 * (i % 2),
      val_accuracy: 0.85,
      lr: reduce && i >= 8 ? 2e-5 : 1e-4,
    }));
  const finding = await only('plateau-without-lr-decay', csv(make(false)));
  assert.deepEqual(finding.fix.config, { reduceLr: { enabled: true } });
  assert.ok(!(await dynamics(csv(make(true)))).some((f) => f.id === 'plateau-without-lr-decay'));
});

test('plateau-without-lr-decay with ReduceLROnPlateau on: gains too small to matter but above min_delta kept it from firing', async () => {
  // val_loss creeps down by 1.5e-4 per epoch: more than min_delta 1e-4, less than 0.1% of 0.6.
  // (A run sitting at chance instead is stuck-at-chance, not a plateau: see the real-log reading.)
  const epochs: Epoch[] = Array.from({ length: 10 }, (_, i) => ({
    loss: 0.4,
    accuracy: 0.85,
    val_loss: i < 3 ? 0.8 - 0.05 * i : 0.6015 - 0.00015 * i,
    val_accuracy: 0.82,
    lr: 0.05,
  }));
  const config = { ...DEFAULT_CONFIG, lr: 0.05 };
  const finding = await only('plateau-without-lr-decay', csv(epochs), { config });
  assert.match(finding.title, /ReduceLROnPlateau never fired/);
  assert.match(finding.explanation, /exceed its min_delta \(0\.0001\)/);
  assert.deepEqual(finding.fix.config, { reduceLr: { minDelta: 0.0006 } });
  // With the callback off, the advice is to turn it on.
  const off = await only('plateau-without-lr-decay', csv(epochs), {
    config: { ...config, reduceLr: { ...config.reduceLr, enabled: false } },
  });
  assert.deepEqual(off.fix.config, { reduceLr: { enabled: true } });
});

test('val-above-train: a note alone, a warning when validation images leaked from training', async () => {
  const epochs = healthyEpochs().map((e) => ({ ...e, val_accuracy: (e.accuracy ?? 0) + 0.1 }));
  const note = await only('val-above-train', csv(epochs));
  assert.equal(note.severity, 'info');
  const root = await tempDir();
  await cleanDataset(join(root, 'train'));
  await cleanDataset(join(root, 'val'), { perClass: 3, seed: 700 });
  await copyFile(join(root, 'train', 'cats', 'cats_1.png'), join(root, 'val', 'cats', 'copy.png'));
  const scan = await scanDataset(join(root, 'train'), { val: join(root, 'val') });
  assert.equal((await only('val-above-train', csv(epochs), { scan })).severity, 'warning');
  assert.ok(!(await dynamics(csv(healthyEpochs()))).some((f) => f.id === 'val-above-train'));
});

test('training accuracy near chance under dropout is neither stuck nor underfitting when validation accuracy has clearly left chance', async () => {
  // A vggkit run on 4 Fashion-MNIST classes: dropout 0.5 keeps the measured training accuracy
  // near 1/4 while validation accuracy climbs to 88%; the model has learned.
  const train = [0.19, 0.33, 0.27, 0.34, 0.28];
  const val = [0.25, 0.29, 0.25, 0.5, 0.875];
  const classNames = ['bag', 'sneaker', 'trouser', 'tshirt'];
  const epochs = train.map((accuracy, epoch) => ({
    epoch,
    loss: [1.449, 1.338, 1.394, 1.341, 1.349][epoch],
    accuracy,
    val_loss: [1.356, 1.342, 1.321, 1.298, 1.279][epoch],
    val_accuracy: val[epoch],
    lr: 1e-4,
    stage: 'head',
  }));
  const learned = parseHistory(JSON.stringify({ classNames, epochs }), 'history.json');
  const found = (await runDoctor({ history: learned })).findings.map((f) => f.id);
  assert.ok(!found.includes('stuck-at-chance'), found.join(', '));
  assert.ok(!found.includes('underfitting'), found.join(', '));
  // Twin: the same training curve with validation accuracy also at chance is stuck.
  const flat = parseHistory(
    JSON.stringify({ classNames, epochs: epochs.map((e) => ({ ...e, val_accuracy: 0.25 })) }),
    'history.json',
  );
  const stuck = (await runDoctor({ history: flat })).findings.map((f) => f.id);
  assert.ok(stuck.includes('stuck-at-chance'), stuck.join(', '));
});
