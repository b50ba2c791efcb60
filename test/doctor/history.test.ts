/**
 * The history reader on the layouts Keras, pandas and vggkit write (built here in those exact
 * layouts; the real files are exercised by real-logs.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import {
  combineHistories,
  parseHistory,
  readHistories,
  type TrainingHistory,
} from '../../src/doctor/history.js';
import { trainingsOf } from '../../src/doctor/trainings.js';
import { tempDir } from './fixtures.js';

const losses = (h: TrainingHistory): (number | undefined)[] => h.epochs.map((e) => e.loss);

test('CSVLogger: sorted columns, \\r\\n and \\r\\r\\n line ends, nan and NA, acc/val_acc and learning_rate', () => {
  const k3 = parseHistory(
    'epoch,accuracy,learning_rate,loss,val_accuracy,val_loss\r\n0,0.5,0.001,0.9,0.4,nan\r\n1,0.6,0.001,0.8,NA,0.7\r\n',
    'log.csv',
  );
  assert.equal(k3.format, 'keras-csv');
  assert.deepEqual(losses(k3), [0.9, 0.8]);
  assert.equal(k3.epochs[0]?.lr, 0.001);
  assert.ok(Number.isNaN(k3.epochs[0]?.valLoss));
  assert.equal(k3.epochs[1]?.valAccuracy, undefined, 'CSVLogger writes NA for a missing key');
  const k2 = parseHistory(
    'epoch,acc,loss,val_acc,val_loss\r\r\n0,0.5,1.3,0.9,0.2\r\r\n',
    'old.csv',
  );
  assert.equal(k2.epochs[0]?.accuracy, 0.5);
  assert.equal(k2.epochs[0]?.valAccuracy, 0.9);
  assert.equal(k2.accuracyName, 'acc');
});

test('CSVLogger(append=True): each restart of the epoch column is a fit() run, named as a stage', () => {
  const h = parseHistory(
    'epoch,accuracy,loss\n0,0.4,1.2\n1,0.5,1.0\n0,0.6,0.9\n1,0.7,0.8\n2,0.75,0.7\n',
    'log.csv',
  );
  assert.deepEqual(
    h.epochs.map((e) => e.stage),
    ['fit 1', 'fit 1', 'fit 2', 'fit 2', 'fit 2'],
  );
  // A concatenated file repeats its header: the rows after it are another run, not data.
  const twice = parseHistory('epoch,loss\n0,1.0\n1,0.9\nepoch,loss\n0,0.8\n', 'cat.csv');
  assert.deepEqual(losses(twice), [1.0, 0.9, 0.8]);
  assert.deepEqual(
    twice.epochs.map((e) => e.stage),
    ['fit 1', 'fit 1', 'fit 2'],
  );
});

test('a header overwritten with NUL bytes is rebuilt from CSVLogger’s sorted layout, and said so', () => {
  const nul = '\0'.repeat(40);
  const five = parseHistory(`${nul}0,0.13,2.99,0.14,1.95\r\n1,0.16,2.75,0.14,1.95\r\n`, 'n.log');
  assert.deepEqual(losses(five), [2.99, 2.75]);
  assert.equal(five.epochs[0]?.valLoss, 1.95);
  assert.match(five.notes?.[0] ?? '', /NUL bytes.*epoch,accuracy,loss,val_accuracy,val_loss/);
  // Six columns: Keras 3 sorts learning_rate before loss, Keras 2's lr after it.
  const k3 = parseHistory(
    `${nul}0,0.5,0.001,0.9,0.4,1.0\n1,0.6,0.001,0.8,0.5,0.9\n2,0.7,0.001,0.7,0.6,0.8\n`,
    'k3.log',
  );
  assert.deepEqual(losses(k3), [0.9, 0.8, 0.7]);
  assert.equal(k3.epochs[0]?.lr, 0.001);
  const k2 = parseHistory(
    `${nul}0,0.5,0.9,0.001,0.4,1.0\n1,0.6,0.8,0.001,0.5,0.9\n2,0.7,0.7,0.001,0.6,0.8\n`,
    'k2.log',
  );
  assert.deepEqual(losses(k2), [0.9, 0.8, 0.7]);
  // Four columns could be several key sets: a clear error, not a guess.
  assert.throws(
    () => parseHistory(`${nul}0,0.5,0.9,0.8\n`, 'four.log'),
    (e: Error & { code?: string }) =>
      e.code === 'BAD_HISTORY' &&
      /four\.log: the first line is not a header .*NUL bytes.*4 columns/.test(e.message),
  );
});

test('pandas to_csv: an unnamed index column, or no epoch column at all; rows of the wrong width are skipped and reported', () => {
  const indexed = parseHistory(
    ',loss,acc,val_loss,val_acc\n0,0.77,0.60,0.67,0.61\n1,0.64,0.63,0.56,0.68\n',
    'p.csv',
  );
  assert.equal(indexed.format, 'pandas-csv');
  assert.deepEqual(
    indexed.epochs.map((e) => e.epoch),
    [0, 1],
  );
  assert.equal(indexed.epochs[1]?.valAccuracy, 0.68);
  const bare = parseHistory(
    'loss,accuracy,val_loss,val_accuracy,lr\n0.76,0.70,2.63,0.14,1e-04\n',
    'b.csv',
  );
  assert.equal(bare.epochs[0]?.lr, 1e-4);
  const torn = parseHistory('epoch,loss\n0,1.0\n1,0.9,0.1\n2,0.8\n', 't.csv');
  assert.deepEqual(losses(torn), [1.0, 0.8]);
  assert.match(torn.notes?.[0] ?? '', /1 row\(s\) with a different number of cells/);
});

test('pandas to_json in its orients (string indices), Keras History JSON with bare NaN, vggkit history.json', () => {
  const columns = parseHistory(
    '{"loss":{"0":1.9,"1":1.8,"10":1.7,"2":1.75},"accuracy":{"0":0.8,"1":0.8,"10":0.8,"2":0.8}}',
    'c.json',
  );
  assert.equal(columns.format, 'pandas-json');
  assert.deepEqual(losses(columns), [1.9, 1.8, 1.75, 1.7], 'indices sort as numbers');
  const index = parseHistory(
    '{"0":{"loss":1.0,"val_loss":null},"1":{"loss":0.9,"val_loss":0.8}}',
    'i.json',
  );
  assert.deepEqual(losses(index), [1.0, 0.9]);
  assert.ok(Number.isNaN(index.epochs[0]?.valLoss), 'pandas writes NaN as null');
  const split = parseHistory(
    '{"columns":["loss","accuracy"],"index":[0,1],"data":[[1.0,0.5],[0.9,0.6]]}',
    's.json',
  );
  assert.deepEqual(losses(split), [1.0, 0.9]);
  const records = parseHistory(
    '[{"loss":1.0,"accuracy":0.5},{"loss":0.9,"accuracy":0.6}]',
    'r.json',
  );
  assert.deepEqual(losses(records), [1.0, 0.9]);
  const keras = parseHistory('{"loss": [1.0, NaN], "binary_accuracy": [0.8, 0.85]}', 'k.json');
  assert.equal(keras.format, 'keras-history');
  assert.equal(keras.accuracyName, 'binary_accuracy');
  const vggkit = parseHistory(
    JSON.stringify({ classNames: ['a', 'b'], epochs: [{ epoch: 0, loss: 0.7, stage: 'head' }] }),
    'history.json',
  );
  assert.deepEqual(vggkit.classNames, ['a', 'b']);
  assert.equal(vggkit.epochs[0]?.stage, 'head');
});

test('an epoch whose training metrics are all exactly 0 ran no batch: kept as an empty position', () => {
  const h = parseHistory(
    JSON.stringify({
      loss: [1.9, 1.5, 0, 1.2],
      accuracy: [0.25, 0.5, 0, 0.7],
      val_loss: [1.6, 1.4, 1.9, 1.1],
      val_accuracy: [0.6, 0.7, 0.06, 0.86],
    }),
    'e.json',
  );
  assert.deepEqual(
    h.epochs.map((e) => e.empty ?? false),
    [false, false, true, false],
  );
  assert.equal(h.epochs[2]?.loss, undefined);
  assert.equal(h.epochs[2]?.valAccuracy, undefined, 'its validation ran on leftovers');
  assert.equal(h.epochs[3]?.index, 3);
});

test('two logs join as phases; a fit() run that starts over from scratch begins a new training', async () => {
  const dir = await tempDir('hist-');
  const a = join(dir, 'phase1.json');
  const b = join(dir, 'phase2.csv');
  await writeFile(a, JSON.stringify({ loss: [1.5, 1.0, 0.8], accuracy: [0.4, 0.6, 0.7] }));
  await writeFile(b, 'epoch,accuracy,loss\n0,0.72,0.75\n1,0.8,0.6\n');
  const joined = await readHistories([a, b]);
  assert.equal(joined.format, 'combined');
  assert.deepEqual(
    joined.epochs.map((e) => e.index),
    [0, 1, 2, 3, 4],
  );
  assert.deepEqual(
    joined.epochs.map((e) => e.stage),
    ['phase 1', 'phase 1', 'phase 1', 'phase 2', 'phase 2'],
  );
  assert.deepEqual(
    joined.sources?.map((s) => [s.first, s.last]),
    [
      [0, 2],
      [3, 4],
    ],
  );
  assert.equal(trainingsOf(joined).length, 1, 'phase 2 continues phase 1');
  const restarted = parseHistory(
    'epoch,accuracy,loss\n0,0.36,1.18\n1,0.45,1.05\n2,0.53,0.99\n0,0.34,1.28\n1,0.42,1.07\n0,0.58,1.06\n1,0.7,0.72\n',
    'a.csv',
  );
  const trainings = trainingsOf(restarted);
  assert.deepEqual(
    trainings.map((t) => t.stages.map((s) => s.name)),
    [['fit 1'], ['fit 2', 'fit 3']],
  );
  assert.deepEqual(
    trainings[1]?.history.epochs.map((e) => e.index),
    [3, 4, 5, 6],
  );
  assert.equal(combineHistories([restarted]), restarted);
});

test('logs that cannot be read are clear errors naming the file, what was expected and what was received', async () => {
  const fails = (text: string, pattern: RegExp): void =>
    assert.throws(
      () => parseHistory(text, 'log.csv'),
      (e: Error & { code?: string }) => e.code === 'BAD_HISTORY' && pattern.test(e.message),
      `${JSON.stringify(text)} should fail with ${pattern}`,
    );
  fails('', /^log\.csv: expected a CSV header and at least one epoch row$/);
  fails('epoch,loss\n', /^log\.csv: expected at least one epoch row under the header$/);
  fails('foo,bar\n1,2\n', /expected a loss column .*received foo, bar$/);
  fails('epoch,loss\n0,1.0,2\n', /no row has the header's 2 cells \(epoch,loss\)$/);
  fails('{"loss": [1.0,', /^log\.csv: invalid JSON/);
  fails('{"dice": [0.2, 0.3]}', /expected Keras History\.history keys .*received dice$/);
  fails('[{"accuracy": 0.5}]', /expected a loss column .*received accuracy$/);
  fails('{"loss": []}', /no epochs recorded$/);
  await assert.rejects(
    readHistories([join(await tempDir('hist-'), 'absent.csv')]),
    (e: Error & { code?: string }) =>
      e.code === 'NOT_FOUND' && /absent\.csv: cannot read \(ENOENT/.test(e.message),
  );
});

test('a multi-metric log keeps the metrics it knows (segmentation dice, IoU and the like are ignored) and prefers accuracy over binary_accuracy', () => {
  const h = parseHistory(
    'epoch,accuracy,binary_accuracy,dice_coef,iou,loss,val_accuracy,val_binary_accuracy,val_dice_coef,val_loss\n0,0.6,0.9,0.2,0.1,0.8,0.55,0.88,0.18,0.9\n',
    'seg.csv',
  );
  assert.equal(h.accuracyName, 'accuracy');
  assert.deepEqual(h.epochs[0], {
    index: 0,
    epoch: 0,
    accuracy: 0.6,
    loss: 0.8,
    valAccuracy: 0.55,
    valLoss: 0.9,
  });
  // A BOM, quoted cells and a semicolon separator (a spreadsheet's re-save).
  const resaved = parseHistory('\uFEFF"epoch";"loss";"val_loss"\r\n0;"1.5";1.6\r\n', 're.csv');
  assert.deepEqual(resaved.epochs[0], { index: 0, epoch: 0, loss: 1.5, valLoss: 1.6 });
});
