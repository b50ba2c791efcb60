import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CSVLogger, pythonFloat } from '../../../src/train/callbacks/csv-logger.js';
import type { FitStartEvent } from '../../../src/train/events.js';
import { epochEnd } from './helpers.js';

const fitStart: FitStartEvent = {
  type: 'fit_start',
  epochs: 3,
  initialEpoch: 0,
  stages: [],
  trainSize: 10,
  valSize: 2,
  batchesPerEpoch: 1,
  classNames: ['a', 'b'],
};

test('pythonFloat prints floats as Python repr does (values from python3 repr())', () => {
  const cases: [number, string][] = [
    [0.5, '0.5'],
    [1, '1.0'],
    [12, '12.0'],
    [1e-6, '1e-06'],
    [1e-4, '0.0001'],
    [1.5e-7, '1.5e-07'],
    [0.0001234, '0.0001234'],
    [1e16, '1e+16'],
    [123456789012345.6, '123456789012345.6'],
    [-0, '-0.0'],
    [NaN, 'nan'],
    [2e-5, '2e-05'],
    [0.1 + 0.2, '0.30000000000000004'],
    [1e22, '1e+22'],
    [-Infinity, '-inf'],
    [-2.5, '-2.5'],
  ];
  for (const [x, expected] of cases) assert.equal(pythonFloat(x), expected, String(x));
});

test('CSVLogger writes Keras columns: epoch then sorted keys, CRLF rows, NA for a missing value', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vggkit-csv-'));
  const file = join(dir, 'history.csv');
  const logger = new CSVLogger({ file });
  await logger.fit_start(fitStart);
  await logger.epoch_end(
    epochEnd(0, { loss: 0.75, accuracy: 0.5, val_loss: 0.5, val_accuracy: 1, lr: 1e-4 }),
  );
  await logger.epoch_end(
    epochEnd(1, { loss: 0.25, accuracy: 0.75, val_loss: undefined, val_accuracy: 0.5, lr: 2e-5 }),
  );
  assert.equal(
    await readFile(file, 'utf8'),
    'epoch,accuracy,loss,lr,val_accuracy,val_loss\r\n' +
      '0,0.5,0.75,0.0001,1.0,0.5\r\n' +
      '1,0.75,0.25,2e-05,0.5,NA\r\n',
  );
  assert.deepEqual(await readdir(dir), ['history.csv'], 'no temporary file left behind');
});

test('CSVLogger resume from state rewrites the file to the checkpointed rows, then continues', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vggkit-csv-'));
  const file = join(dir, 'history.csv');
  const first = new CSVLogger({ file });
  await first.epoch_end(epochEnd(0, { loss: 1, accuracy: 0.5 }));
  const state = JSON.parse(JSON.stringify(first.getState())) as unknown;
  await first.epoch_end(epochEnd(1, { loss: 0.9, accuracy: 0.5 })); // written after the checkpoint, then the process died
  const second = new CSVLogger({ file, append: true });
  second.setState(state);
  await second.fit_start({ ...fitStart, initialEpoch: 1 });
  await second.epoch_end(epochEnd(1, { loss: 0.8, accuracy: 0.625 }));
  assert.equal(
    await readFile(file, 'utf8'),
    'epoch,accuracy,loss,lr\r\n0,0.5,1.0,0.1\r\n1,0.625,0.8,0.1\r\n',
  );
});

test('CSVLogger append without state keeps an existing file and its header, as Keras append=True', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vggkit-csv-'));
  const file = join(dir, 'log.csv');
  await writeFile(file, 'epoch,accuracy,loss\r\n0,0.5,1.0\r\n');
  const logger = new CSVLogger({ file, append: true });
  await logger.fit_start(fitStart);
  await logger.epoch_end(epochEnd(0, { loss: 0.5, accuracy: 0.75 }));
  assert.equal(await readFile(file, 'utf8'), 'epoch,accuracy,loss\r\n0,0.5,1.0\r\n0,0.75,0.5\r\n');
  const fresh = new CSVLogger({ file, separator: ';' });
  await fresh.fit_start(fitStart);
  await fresh.epoch_end(epochEnd(0, { loss: 0.5, accuracy: 0.75 }));
  assert.equal(await readFile(file, 'utf8'), 'epoch;accuracy;loss;lr\r\n0;0.75;0.5;0.1\r\n');
});
