import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { buildContext } from '../../src/doctor/inputs.js';
import { runDoctor } from '../../src/doctor/run.js';
import { headLayers, type HeadSpec } from '../../src/model/head.js';
import { vggLayers } from '../../src/model/architectures.js';
import { initWeights } from '../../src/model/init.js';
import { loadWeights } from '../../src/model/load-weights.js';
import { biasKey } from '../../src/model/weight-map.js';
import { fineTune } from '../../src/train/fit.js';
import { writeModel } from '../../src/train/model-output.js';
import { Random } from '../../src/util/random.js';
import { tempDir, writeJson } from './fixtures.js';
import { COLOURS, colourDataset, writeColourImage } from './probe-fixtures.js';

let root = '';
let clean = '';

before(async () => {
  root = await tempDir('features-');
  process.env.VGGKIT_HOME = join(root, 'home');
  clean = await colourDataset(join(root, 'clean'), 10);
});

const common = () => ({ cacheDir: join(root, 'cache'), weights: 'none' });

test('suspected-mislabel names a red image planted in the blue folder; the clean twin stays quiet', async () => {
  const config = await writeJson(join(root, 'config.json'), { weights: 'none', inputSize: 32 });
  const quiet = await runDoctor(
    await buildContext({ dataDir: clean, config, features: true, cacheDir: join(root, 'cache') }),
  );
  assert.ok(
    !quiet.findings.some((f) => f.id === 'suspected-mislabel'),
    JSON.stringify(quiet.findings.find((f) => f.id === 'suspected-mislabel')?.evidence),
  );

  const dirty = join(root, 'dirty');
  await cp(clean, dirty, { recursive: true });
  const planted = join(dirty, 'blue', 'blue_99.png');
  await writeColourImage(planted, COLOURS.red as readonly number[], 32, new Random(99));
  const report = await runDoctor(
    await buildContext({ dataDir: dirty, config, features: true, cacheDir: join(root, 'cache') }),
  );
  const hit = report.findings.find((f) => f.id === 'suspected-mislabel');
  assert.ok(hit, `got ${report.findings.map((f) => f.id).join(', ')}`);
  const suspects = hit.evidence.suspects as {
    file: string;
    label: string;
    neighbourClass: string;
    neighbours: string[];
  }[];
  assert.deepEqual(
    suspects.map((s) => [s.file, s.label, s.neighbourClass]),
    [[planted, 'blue', 'red']],
  );
  assert.equal(suspects[0]?.neighbours.length, 5);
  // Features from random weights (weights: none) make it a note, not a warning.
  assert.equal(hit.severity, 'info');
});

test('features are not computed without --features or --probe', async () => {
  const ctx = await buildContext({ dataDir: clean, ...common() });
  assert.equal(ctx.features, undefined);
  assert.equal(ctx.probes, undefined);
});

async function constantModel(dir: string): Promise<string> {
  const head: HeadSpec = { kind: 'flatten', dense: 16, classes: 3, activation: 'softmax' };
  const { weights, contract } = await loadWeights({
    arch: 'vgg16',
    weights: 'none',
    includeTop: false,
    inputSize: 32,
    seed: 1,
  });
  const base = vggLayers({
    arch: 'vgg16',
    includeTop: false,
    inputSize: [32, 32],
    pooling: 'none',
    classes: 3,
  });
  const params = new Map([...weights, ...initWeights(headLayers(base, head), new Random(1))]);
  // The last layer's bias dwarfs its inputs: every image is predicted as the first class.
  params.set(biasKey('dense_1'), { dims: [3], data: Float32Array.from([100, 0, 0]) });
  await writeModel(
    dir,
    { arch: 'vgg16', contract, head, classNames: Object.keys(COLOURS).sort() },
    params,
  );
  return dir;
}

test('--model: a model that predicts one class for everything is stuck-at-chance, with accuracy and per-class recall', async () => {
  const model = await constantModel(join(root, 'constant-model'));
  const ctx = await buildContext({ dataDir: clean, model });
  assert.deepEqual(ctx.model?.classes, ['blue', 'green', 'red']);
  assert.deepEqual(ctx.model?.evaluation?.perClassRecall, { blue: 1, green: 0, red: 0 });
  const report = await runDoctor(ctx);
  const hit = report.findings.find((f) => f.id === 'stuck-at-chance');
  assert.ok(hit, `got ${report.findings.map((f) => f.id).join(', ')}`);
  assert.equal(hit.evidence.accuracy, 1 / 3);
});

test('--model: a trained model is not at chance; class-count-mismatch against other data folders; resize-mismatch against a config', async () => {
  const run = await fineTune({
    data: clean,
    out: join(root, 'run'),
    cacheDir: join(root, 'cache'),
    config: {
      weights: 'none',
      inputSize: 32,
      epochs: 6,
      lr: 1e-3,
      valSplit: 0,
      batchSize: 8,
      reduceLr: { enabled: false },
    },
  });
  const report = await runDoctor(await buildContext({ dataDir: clean, model: run.modelDir }));
  assert.ok(
    !report.findings.some((f) => f.id === 'stuck-at-chance'),
    JSON.stringify(report.findings.map((f) => [f.id, f.evidence])),
  );

  const twoClasses = join(root, 'two');
  await cp(join(clean, 'blue'), join(twoClasses, 'blue'), { recursive: true });
  await cp(join(clean, 'red'), join(twoClasses, 'red'), { recursive: true });
  const mismatch = await runDoctor(
    await buildContext({ dataDir: twoClasses, model: run.modelDir }),
  );
  assert.ok(mismatch.findings.some((f) => f.id === 'class-count-mismatch'));

  const config = await writeJson(join(root, 'resize.json'), {
    weights: 'imagenet',
    inputSize: 32,
    resize: 'center-crop',
  });
  const resize = await runDoctor(await buildContext({ config, model: run.modelDir }));
  assert.ok(
    resize.findings.some((f) => f.id === 'resize-mismatch'),
    `got ${resize.findings.map((f) => f.id).join(', ')}`,
  );
  const sameConfig = await writeJson(join(root, 'same.json'), {
    weights: 'imagenet',
    inputSize: 32,
  });
  const same = await runDoctor(await buildContext({ config: sameConfig, model: run.modelDir }));
  assert.ok(!same.findings.some((f) => f.id === 'resize-mismatch'));
});
