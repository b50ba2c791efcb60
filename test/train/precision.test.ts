/**
 * `precision: int8` in training: the frozen prefix is calibrated on the training images, its
 * decision and figures go to the run folder (precision.json) and to the feature-cache entry
 * (producer.json), and int8 features are cached apart from fp32 ones (the calibration keys them).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fineTune } from '../../src/index.js';
import type { PrecisionRecord } from '../../src/train/precision-record.js';
import { parseTrainConfig } from '../../src/train/config-schema.js';
import { writeShapesDataset } from '../helpers/shapes.js';

let dir = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vggkit-train-int8-'));
  await writeShapesDataset(join(dir, 'data'), { perClass: 10, size: 32, seed: 4 });
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function producers(cacheDir: string): Promise<Record<string, unknown>[]> {
  const root = join(cacheDir, 'features');
  return Promise.all(
    (await readdir(root)).map(
      async (d) =>
        JSON.parse(await readFile(join(root, d, 'producer.json'), 'utf8')) as Record<
          string,
          unknown
        >,
    ),
  );
}

test('an int8 prefix writes its decision to precision.json and the feature cache', async () => {
  const cacheDir = join(dir, 'cache');
  const config = {
    arch: 'vgg11',
    weights: 'none',
    inputSize: 32,
    epochs: 1,
    batchSize: 8,
  } as const;
  const out = join(dir, 'int8-run');
  const logs: string[] = [];
  const result = await fineTune({
    data: join(dir, 'data'),
    out,
    cacheDir,
    config: { ...config, precision: 'int8' },
    log: (line) => logs.push(line),
  });
  assert.equal(result.config.precision, 'int8');
  const record = JSON.parse(await readFile(join(out, 'precision.json'), 'utf8')) as PrecisionRecord;
  assert.equal(record.precision, 'int8');
  assert.equal(record.stages.length, 1);
  const stage = record.stages[0];
  assert.equal(stage?.cutLayer, 'block5_pool');
  // Calibration and check come from the 24 training images (the validation split is not used).
  assert.equal((stage?.int8.calibrationImages ?? 0) + (stage?.int8.heldOutImages ?? 0), 24);
  assert.ok(
    logs.some((l) => /^stage head: int8: \w+ calibration on \d+ images/.test(l)),
    logs.join('\n'),
  );
  assert.equal(stage?.int8.precision, 'int8', stage?.int8.reason);

  const int8Producers = await producers(cacheDir);
  assert.equal(int8Producers.length, 1);
  assert.equal(int8Producers[0]?.int8, stage?.int8.key);
  const figures = int8Producers[0]?.int8Report as { methods: Record<string, unknown> } | undefined;
  assert.deepEqual(Object.keys(figures?.methods ?? {}).sort(), ['entropy', 'minmax', 'percentile']);

  // The same run in fp32 caches under another producer, with no int8 key.
  await fineTune({ data: join(dir, 'data'), out: join(dir, 'fp32-run'), cacheDir, config });
  const all = await producers(cacheDir);
  assert.equal(all.length, 2);
  assert.equal(all.filter((p) => p.int8 === undefined).length, 1);
});

test('precision is a training setting: fp32 by default, fp32 or int8 only', () => {
  assert.equal(parseTrainConfig({}, 'c.json').precision, 'fp32');
  assert.equal(parseTrainConfig({ precision: 'int8' }, 'c.json').precision, 'int8');
  assert.throws(
    () => parseTrainConfig({ precision: 'fp16' }, 'c.json'),
    /precision: expected one of fp32, int8, received "fp16"/,
  );
});
