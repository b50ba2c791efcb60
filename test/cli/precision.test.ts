/**
 * `--precision int8` on extract, predict and evaluate, through the real CLI on image files and a
 * model folder written by the trainer's own writer: the decision and its figures land in
 * index.json / the JSON output, one line on stderr says what runs, and a bad value is a usage
 * error.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { parseNpy } from '../../src/data/npy.js';
import { makeContract } from '../../src/image/index.js';
import type { VggOptions } from '../../src/model/architectures.js';
import { type HeadSpec, modelLayers } from '../../src/model/head.js';
import { initWeights } from '../../src/model/init.js';
import { writeModel } from '../../src/train/model-output.js';
import { Random } from '../../src/util/random.js';
import { writeNoiseImage } from '../helpers/images.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CLASSES = ['ant', 'bee', 'cat'];
const HEAD: HeadSpec = { kind: 'flatten', dense: 8, classes: 3, activation: 'softmax' };
let dir = '';

async function vggkit(
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', ...args],
      { cwd: ROOT, env: { ...process.env, VGGKIT_HOME: join(dir, 'home') } },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vggkit-precision-'));
  for (const [c, name] of CLASSES.entries()) {
    await mkdir(join(dir, 'data', name), { recursive: true });
    for (let i = 0; i < 6; i++)
      await writeNoiseImage(join(dir, 'data', name, `${i}.png`), 36, 36, 10 * c + i + 1);
  }
  const options: VggOptions = {
    arch: 'vgg11',
    includeTop: false,
    inputSize: [32, 32],
    pooling: 'none',
    classes: 3,
  };
  const weights = initWeights(modelLayers(options, HEAD), new Random(5));
  for (const [key, t] of weights)
    if (key.endsWith('kernel')) t.data.forEach((v, i) => (t.data[i] = v * Math.SQRT2));
  await writeModel(
    join(dir, 'model'),
    {
      arch: 'vgg11',
      contract: makeContract({ mode: 'caffe', inputSize: 32 }),
      head: HEAD,
      classNames: CLASSES,
    },
    weights,
  );
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Int8Json {
  precision: string;
  reason?: string;
  method?: string;
  calibrationImages: number;
  heldOutImages: number;
  methods: Record<string, { cosine: number; top1?: number }>;
}

test('extract --precision int8 writes the decision and its figures to index.json', async () => {
  const out = join(dir, 'int8-features');
  const run = await vggkit(
    'extract',
    join(dir, 'data'),
    '--weights',
    join(dir, 'model'),
    '--layer',
    'block5_pool',
    '--precision',
    'int8',
    '--calibration-images',
    '10',
    '--out',
    out,
  );
  assert.equal(run.code, 0, run.stderr);
  const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8')) as {
    precision: string;
    int8: Int8Json;
  };
  assert.equal(index.int8.calibrationImages, 10);
  assert.equal(index.int8.heldOutImages, 6);
  assert.deepEqual(Object.keys(index.int8.methods).sort(), ['entropy', 'minmax', 'percentile']);
  assert.equal(index.precision, index.int8.precision);
  assert.match(
    run.stderr,
    index.precision === 'int8' ? /int8: \w+ calibration on 10 images/ : /rejected/,
  );

  // The same features in fp32: int8's agree with them as the report says.
  const fp32 = join(dir, 'fp32-features');
  assert.equal(
    (
      await vggkit(
        'extract',
        join(dir, 'data'),
        '--weights',
        join(dir, 'model'),
        '--layer',
        'block5_pool',
        '--out',
        fp32,
      )
    ).code,
    0,
  );
  const a = parseNpy(await readFile(join(out, 'features.npy'))).data as Float32Array;
  const b = parseNpy(await readFile(join(fp32, 'features.npy'))).data as Float32Array;
  assert.equal(a.length, b.length);
  if (index.precision === 'int8') assert.notDeepEqual(a, b, 'int8 features are not the fp32 ones');
  const kept = index.int8.methods[index.int8.method ?? ''];
  assert.ok((kept?.cosine ?? 0) > 0.9, JSON.stringify(kept));
});

test('predict and evaluate --precision int8 report the precision and top-1 agreement', async () => {
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
    int8: Int8Json;
    predictions: unknown[];
  };
  assert.equal(p.predictions.length, 18);
  assert.equal(p.precision, p.int8.precision);
  assert.notEqual(p.int8.methods[p.int8.method ?? '']?.top1, undefined);

  const evaluate = await vggkit(
    'evaluate',
    join(dir, 'model'),
    join(dir, 'data'),
    '--precision',
    'int8',
    '--json',
  );
  assert.equal(evaluate.code, 0, evaluate.stderr);
  const e = JSON.parse(evaluate.stdout) as { precision: string; int8: Int8Json; accuracy: number };
  assert.equal(e.precision, e.int8.precision);
  // Same images, same sample, same weights: the cached decision of predict's run.
  assert.match(evaluate.stderr, /cached calibration/);
  assert.ok(e.accuracy >= 0 && e.accuracy <= 1);
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
