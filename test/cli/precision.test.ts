/**
 * `--precision int8` through the real CLI on image files made here and real ORT sessions: extract,
 * predict and evaluate on a model folder written by the trainer's own writer, and `vggkit train`
 * from its weights.h5. A network int8 represents well runs in int8 (its features differ from
 * fp32's yet agree with them); one it cannot is rejected by the accuracy guard, which says so with
 * the figures, runs fp32 and records the figures (index.json, evaluation.json, precision.json).
 */
import assert from 'node:assert/strict';
import { access, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parseNpy } from '../../src/data/npy.js';
import { cosine } from '../../src/engine/int8/guard.js';
import { makeContract } from '../../src/image/index.js';
import type { VggOptions } from '../../src/model/architectures.js';
import type { HeadSpec } from '../../src/model/head.js';
import type { Int8Report, PrecisionRecord } from '../../src/index.js';
import { EVALUATION_FILE, type EvaluationFile } from '../../src/train/predictions.js';
import { writeModel } from '../../src/train/model-output.js';
import type { WeightMap } from '../../src/model/weight-map.js';
import { writeNoiseImage } from '../helpers/images.js';
import { int8HostileWeights, soundWeights } from '../helpers/int8-weights.js';
import { runCli, type CliRun } from '../helpers/cli.js';

const CLASSES = ['ant', 'bee', 'cat'];
const HEAD: HeadSpec = { kind: 'flatten', dense: 8, classes: 3, activation: 'softmax' };
const OPTIONS: VggOptions = {
  arch: 'vgg11',
  includeTop: false,
  inputSize: [32, 32],
  pooling: 'none',
  classes: 3,
};
let dir = '';

function vggkit(...args: string[]): Promise<CliRun> {
  return runCli(join(dir, 'home'), args);
}

async function writeFolder(name: string, weights: WeightMap): Promise<void> {
  await writeModel(
    join(dir, name),
    {
      arch: 'vgg11',
      contract: makeContract({ mode: 'caffe', inputSize: 32 }),
      head: HEAD,
      classNames: CLASSES,
    },
    weights,
  );
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vggkit-precision-'));
  for (const [c, name] of CLASSES.entries()) {
    await mkdir(join(dir, 'data', name), { recursive: true });
    for (let i = 0; i < 6; i++)
      await writeNoiseImage(join(dir, 'data', name, `${i}.png`), 36, 36, 10 * c + i + 1);
  }
  await writeFolder('model', soundWeights(OPTIONS, HEAD, 5));
  await writeFolder('hostile', int8HostileWeights(OPTIONS, HEAD, 5));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function extract(
  model: string,
  out: string,
  ...extra: string[]
): Promise<{
  stderr: string;
  rows: Float32Array[];
  index: { precision: string; int8?: Int8Report };
}> {
  const run = await vggkit(
    'extract',
    join(dir, 'data'),
    '--weights',
    join(dir, model),
    '--layer',
    'block5_pool',
    '--out',
    join(dir, out),
    ...extra,
  );
  assert.equal(run.code, 0, run.stderr);
  const npy = parseNpy(await readFile(join(dir, out, 'features.npy')));
  const width = npy.dims[1] as number;
  const data = npy.data as Float32Array;
  const rows = Array.from({ length: npy.dims[0] as number }, (_, r) =>
    data.subarray(r * width, (r + 1) * width),
  );
  const index = JSON.parse(await readFile(join(dir, out, 'index.json'), 'utf8')) as {
    precision: string;
    int8?: Int8Report;
  };
  return { stderr: run.stderr, rows, index };
}

test('extract --precision int8 computes int8 features, close to fp32, and records why', async () => {
  const int8 = await extract(
    'model',
    'int8-features',
    '--precision',
    'int8',
    '--calibration-images',
    '10',
  );
  const report = int8.index.int8;
  assert.ok(report !== undefined);
  assert.equal(int8.index.precision, 'int8', report.reason);
  assert.equal(report.calibrationImages, 10);
  assert.equal(report.heldOutImages, 6, 'a third of 18 images when there are fewer than asked for');
  assert.deepEqual(Object.keys(report.methods).sort(), ['entropy', 'minmax', 'percentile']);
  assert.match(
    int8.stderr,
    /int8: \w+ calibration on 10 images; against fp32 on 6 held-out images cosine 0\.99\d\d/,
  );

  const fp32 = await extract('model', 'fp32-features');
  assert.equal(fp32.index.precision, 'fp32');
  assert.equal(fp32.index.int8, undefined);
  assert.equal(int8.rows.length, 18);
  // Other numbers (8-bit arithmetic), the same features (each image's cosine with fp32's).
  assert.notDeepEqual(int8.rows[0], fp32.rows[0]);
  for (const [r, row] of int8.rows.entries())
    assert.ok(cosine(row, fp32.rows[r] as Float32Array) > 0.98, `image ${r}`);
});

test('predict and evaluate --precision int8 run int8, with top-1 agreement in the report', async () => {
  const predict = await vggkit(
    'predict',
    join(dir, 'data'),
    '--weights',
    join(dir, 'model'),
    '--precision',
    'int8',
    '--json',
  );
  assert.equal(predict.code, 0, predict.stderr);
  const p = JSON.parse(predict.stdout) as {
    precision: string;
    int8: Int8Report;
    predictions: { top: { probability: number }[] }[];
  };
  assert.equal(p.precision, 'int8', p.int8.reason);
  assert.equal(p.predictions.length, 18);
  const kept = p.int8.methods[p.int8.method ?? 'minmax'];
  assert.ok((kept?.top1 ?? 0) >= 0.99, JSON.stringify(kept));
  const sum = p.predictions[0]?.top.reduce((s, t) => s + t.probability, 0) ?? 0;
  assert.ok(Math.abs(sum - 1) < 1e-3, `softmax over 3 classes sums to ${sum}`);

  const evaluate = await vggkit(
    'evaluate',
    join(dir, 'model'),
    join(dir, 'data'),
    '--precision',
    'int8',
    '--json',
  );
  assert.equal(evaluate.code, 0, evaluate.stderr);
  const e = JSON.parse(evaluate.stdout) as { precision: string; int8: Int8Report };
  assert.equal(e.precision, 'int8');
  // Same images, same sample, same weights: predict's decision, from the cache.
  assert.match(evaluate.stderr, /decided on an earlier run, from the cache/);
  const file = JSON.parse(
    await readFile(join(dir, 'model', EVALUATION_FILE), 'utf8'),
  ) as EvaluationFile;
  assert.equal(file.precision, 'int8');
  assert.equal(file.int8?.key, e.int8.key);
});

test('int8 the guard rejects: fp32 runs, stderr and index.json say why with the figures', async () => {
  const asked = await extract('hostile', 'hostile-int8', '--precision', 'int8');
  const report = asked.index.int8;
  assert.ok(report !== undefined);
  assert.equal(asked.index.precision, 'fp32');
  assert.equal(report.precision, 'fp32');
  assert.match(
    report.reason ?? '',
    /int8 rejected on \d+ held-out images: feature cosine 0\.\d{4} < 0\.99/,
  );
  assert.ok((report.methods[report.method ?? 'minmax']?.cosine ?? 1) < 0.99);
  assert.match(asked.stderr, /int8 rejected .*cosine 0\.\d{4} .*; running fp32/);
  // What ran is fp32 itself.
  const fp32 = await extract('hostile', 'hostile-fp32');
  assert.deepEqual(asked.rows, fp32.rows);
});

test('train --precision int8 trains the head on int8 features, recorded in precision.json', async () => {
  const out = join(dir, 'run');
  const run = await vggkit(
    'train',
    join(dir, 'data'),
    '--weights',
    join(dir, 'model', 'weights.h5'),
    '--preprocess',
    'caffe',
    '--arch',
    'vgg11',
    '--input-size',
    '32',
    '--epochs',
    '1',
    '--batch-size',
    '8',
    '--precision',
    'int8',
    '--out',
    out,
  );
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /stage head: int8: \w+ calibration on \d+ images/);
  const record = JSON.parse(await readFile(join(out, 'precision.json'), 'utf8')) as PrecisionRecord;
  assert.equal(record.precision, 'int8');
  assert.equal(record.stages[0]?.cutLayer, 'block5_pool');
  assert.equal(record.stages[0]?.int8.precision, 'int8', record.stages[0]?.int8.reason);
  const config = JSON.parse(await readFile(join(out, 'config.json'), 'utf8')) as {
    precision: string;
  };
  assert.equal(config.precision, 'int8');
  await access(join(out, 'model.onnx'));
});

test('--precision takes fp32 or int8 only', async () => {
  const run = await vggkit(
    'predict',
    join(dir, 'data'),
    '--weights',
    join(dir, 'model'),
    '--precision',
    'fp16',
  );
  assert.equal(run.code, 2);
  assert.match(run.stderr, /--precision: expected one of fp32, int8, received "fp16"/);
});
