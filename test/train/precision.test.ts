/**
 * `precision: int8` in training: the frozen prefix is calibrated on the training images, its
 * decision and figures go to the run folder (precision.json) and to the feature-cache entry
 * (producer.json), and int8 features are cached apart from fp32 ones (the calibration keys them):
 * the head trains on features the int8 network computed. A prefix the guard rejects trains on the
 * fp32 features, and precision.json says why with the figures.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fineTune } from '../../src/index.js';
import type { PrecisionRecord } from '../../src/train/precision-record.js';
import { parseTrainConfig } from '../../src/train/config-schema.js';
import { cosine } from '../../src/engine/int8/guard.js';
import { makeContract } from '../../src/image/index.js';
import type { HeadSpec } from '../../src/model/head.js';
import { writeModel } from '../../src/train/model-output.js';
import { int8HostileWeights } from '../helpers/int8-weights.js';
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
    (await readdir(root)).map(async (d) => ({
      dir: join(root, d),
      ...(JSON.parse(await readFile(join(root, d, 'producer.json'), 'utf8')) as Record<
        string,
        unknown
      >),
    })),
  );
}

/** The cached feature rows of a producer folder, by image hash (feature-cache.ts layout). */
async function cachedRows(producerDir: string): Promise<Map<string, Float32Array>> {
  const rows = new Map<string, Float32Array>();
  for (const entry of await readdir(producerDir, { recursive: true })) {
    if (!entry.endsWith('.f32')) continue;
    const bytes = await readFile(join(producerDir, entry));
    const rank = bytes.readUInt32LE(8);
    const start = 12 + 4 * rank + 32;
    const data = new Float32Array(
      bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + bytes.length),
    );
    rows.set(entry.split('/').at(-1) as string, data);
  }
  return rows;
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
  const fp32Producer = all.find((p) => p.int8 === undefined);
  assert.ok(fp32Producer !== undefined);
  // The head trained on what the int8 network computed: other numbers, the same features.
  const int8Rows = await cachedRows(int8Producers[0]?.dir as string);
  const fp32Rows = await cachedRows(fp32Producer.dir as string);
  assert.equal(int8Rows.size, 30, 'every image, training and validation');
  assert.deepEqual([...int8Rows.keys()].sort(), [...fp32Rows.keys()].sort());
  for (const [image, row] of int8Rows) {
    const fp32 = fp32Rows.get(image) as Float32Array;
    assert.notDeepEqual(row, fp32);
    assert.ok(cosine(row, fp32) > 0.95, image);
  }
});

test('a prefix the guard rejects trains on fp32 features; precision.json says why', async () => {
  const head: HeadSpec = { kind: 'flatten', dense: 8, classes: 3, activation: 'softmax' };
  const options = {
    arch: 'vgg11',
    includeTop: false,
    inputSize: [32, 32],
    pooling: 'none',
    classes: 3,
  } as const;
  const folder = join(dir, 'hostile');
  await writeModel(
    folder,
    {
      arch: 'vgg11',
      contract: makeContract({ mode: 'caffe', inputSize: 32 }),
      head,
      classNames: ['a', 'b', 'c'],
    },
    int8HostileWeights(options, head, 5),
  );
  const cacheDir = join(dir, 'cache-hostile');
  const out = join(dir, 'hostile-run');
  const logs: string[] = [];
  await fineTune({
    data: join(dir, 'data'),
    out,
    cacheDir,
    config: {
      arch: 'vgg11',
      weights: join(folder, 'weights.h5'),
      inputSize: 32,
      epochs: 1,
      batchSize: 8,
      precision: 'int8',
    },
    log: (line) => logs.push(line),
  });
  const record = JSON.parse(await readFile(join(out, 'precision.json'), 'utf8')) as PrecisionRecord;
  const int8 = record.stages[0]?.int8;
  assert.equal(int8?.precision, 'fp32');
  assert.match(
    int8?.reason ?? '',
    /int8 rejected on \d+ held-out images: feature cosine 0\.\d{4} < 0\.99/,
  );
  assert.ok(
    logs.some((l) => /^stage head: int8 rejected .*; running fp32/.test(l)),
    logs.join('\n'),
  );
  // The features it trained on are the fp32 prefix's, cached under the fp32 producer.
  const all = await producers(cacheDir);
  assert.equal(all.length, 1);
  assert.equal(all[0]?.int8, undefined);
});

test('precision is a training setting: fp32 by default, fp32 or int8 only', () => {
  assert.equal(parseTrainConfig({}, 'c.json').precision, 'fp32');
  assert.equal(parseTrainConfig({ precision: 'int8' }, 'c.json').precision, 'int8');
  assert.throws(
    () => parseTrainConfig({ precision: 'fp16' }, 'c.json'),
    /precision: expected one of fp32, int8, received "fp16"/,
  );
});
