/**
 * summary, predict and extract end to end: the real CLI in a child process, real image files, a
 * local Keras-layout .h5 and a model folder written here; outputs checked against the library run
 * in-process on the same files and weights.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parseNpy } from '../../src/data/npy.js';
import { Session } from '../../src/engine/session.js';
import { loadBatch, makeContract } from '../../src/image/index.js';
import type { VggOptions } from '../../src/model/architectures.js';
import { type HeadSpec, modelLayers } from '../../src/model/head.js';
import { initWeights } from '../../src/model/init.js';
import { writeKerasWeights } from '../../src/model/keras-h5.js';
import { modelMetadata, writeModelFolder } from '../../src/model/model-folder.js';
import { buildVggInference } from '../../src/model/vgg-graph.js';
import { biasKey, kernelKey, type WeightMap } from '../../src/model/weight-map.js';
import { Random } from '../../src/util/random.js';
import { writeFakeImage, writeNoiseImage } from '../helpers/images.js';
import { runCli, type CliRun } from '../helpers/cli.js';

let dir = '';

function vggkit(...args: string[]): Promise<CliRun> {
  return runCli(join(dir, 'home'), args);
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vggkit-cli-'));
  const images = join(dir, 'images');
  await mkdir(join(images, 'nested'), { recursive: true });
  await writeNoiseImage(join(images, 'a.jpg'), 48, 40, 1);
  await writeNoiseImage(join(images, 'b.png'), 32, 64, 2);
  await writeFakeImage(join(images, 'c_broken.jpg'));
  await writeNoiseImage(join(images, 'nested', 'd.jpg'), 80, 60, 3);
  await writeFile(join(images, 'notes.txt'), 'not an image, and not an image extension either');
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function keras(
  weights: WeightMap,
  layers: ReturnType<typeof modelLayers>,
): Parameters<typeof writeKerasWeights>[1] {
  return layers.map((layer) => ({
    name: layer.name,
    weights:
      layer.kernelShape === undefined
        ? []
        : [
            {
              name: 'kernel',
              tensor: weights.get(kernelKey(layer.name)) as { dims: number[]; data: Float32Array },
            },
            {
              name: 'bias',
              tensor: weights.get(biasKey(layer.name)) as { dims: number[]; data: Float32Array },
            },
          ],
  }));
}

test('extract: a local .h5, a folder with a broken file and a non-image; features match the library', async () => {
  const options: VggOptions = {
    arch: 'vgg11',
    includeTop: false,
    inputSize: [32, 32],
    pooling: 'none',
    classes: 1000,
  };
  const layers = modelLayers(options);
  const weights = initWeights(layers, new Random(11));
  const h5 = join(dir, 'vgg11-notop.h5');
  await writeKerasWeights(h5, keras(weights, layers));
  const out = join(dir, 'features');

  const run = await vggkit(
    'extract',
    join(dir, 'images'),
    '--arch',
    'vgg11',
    '--weights',
    h5,
    '--input-size',
    '32',
    '--layer',
    'block4_pool',
    '--out',
    out,
    '--batch-size',
    '2',
  );
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /skipped .*c_broken\.jpg/);

  const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8')) as {
    files: string[];
    skipped: { file: string; reason: string }[];
    contract: { mode: string };
    layer: string;
  };
  const expectedFiles = ['a.jpg', 'b.png', join('nested', 'd.jpg')].map((f) =>
    join(dir, 'images', f),
  );
  assert.deepEqual(index.files, expectedFiles);
  assert.deepEqual(
    index.skipped.map((s) => s.file),
    [join(dir, 'images', 'c_broken.jpg')],
  );
  assert.ok((index.skipped[0]?.reason ?? '').length > 0);
  assert.equal(index.contract.mode, 'caffe');
  assert.equal(index.layer, 'block4_pool');

  const features = parseNpy(await readFile(join(out, 'features.npy')));
  assert.deepEqual(features.dims, [3, 2 * 2 * 512]);

  const contract = makeContract({ mode: 'caffe', inputSize: 32 });
  const batch = await loadBatch(expectedFiles, contract);
  const session = await Session.create(
    buildVggInference({ options, weights, outputLayer: 'block4_pool' }),
    { threads: 1 },
  );
  try {
    const expected =
      (await session.run({ input: batch.tensor }))['output']?.data ?? new Float32Array(0);
    assert.equal(features.data.length, expected.length);
    features.data.forEach((v, i) =>
      assert.ok(Math.abs(v - (expected[i] as number)) <= 1e-4 * (1 + Math.abs(v)), `value ${i}`),
    );
  } finally {
    await session.release();
  }
});

test('predict: a model folder gives its own class names, best first, consistent with the library', async () => {
  const options: VggOptions = {
    arch: 'vgg16',
    includeTop: false,
    inputSize: [32, 32],
    pooling: 'none',
    classes: 0,
    widths: [[4], [4], [8], [8], [8]],
  };
  const head: HeadSpec = { kind: 'flatten', dense: 6, classes: 3, activation: 'softmax' };
  const weights = initWeights(modelLayers(options, head), new Random(21));
  const contract = makeContract({ mode: 'torch', inputSize: 32, resize: 'center-crop' });
  const metadata = modelMetadata({
    contract,
    classNames: ['cat', 'dog', 'fish'],
    inputSize: [32, 32],
    arch: 'vgg16',
  });
  const model = buildVggInference({ options, weights, head, metadata });
  const folder = join(dir, 'model');
  await mkdir(folder, { recursive: true });
  await writeModelFolder(folder, model);

  const a = join(dir, 'images', 'a.jpg');
  const run = await vggkit(
    'predict',
    a,
    join(dir, 'images', 'c_broken.jpg'),
    '--weights',
    folder,
    '--top',
    '2',
    '--json',
  );
  assert.equal(run.code, 0, run.stderr);
  const result = JSON.parse(run.stdout) as {
    predictions: { file: string; top: { index: number; label: string; probability: number }[] }[];
    skipped: { file: string }[];
  };
  assert.equal(result.predictions.length, 1);
  assert.equal(result.skipped.length, 1);

  const session = await Session.create(model, { threads: 1 });
  try {
    const probs = [
      ...((await session.run({ input: (await loadBatch([a], contract)).tensor }))['output']?.data ??
        []),
    ];
    const order = [0, 1, 2].sort((x, y) => (probs[y] as number) - (probs[x] as number));
    const top = result.predictions[0]?.top ?? [];
    assert.deepEqual(
      top.map((p) => p.label),
      order.slice(0, 2).map((i) => ['cat', 'dog', 'fish'][i]),
    );
    top.forEach((p) => assert.ok(Math.abs(p.probability - (probs[p.index] as number)) < 1e-5));
  } finally {
    await session.release();
  }
  assert.doesNotMatch(run.stderr, /NaN/);

  // Damaged weights (a NaN bias) give NaN probabilities: predict says so instead of printing them silently.
  const damaged = new Map(weights);
  damaged.set('dense_1/bias', { dims: [3], data: new Float32Array([Number.NaN, 0, 0]) });
  const nanFolder = join(dir, 'nan-model');
  await mkdir(nanFolder, { recursive: true });
  await writeModelFolder(
    nanFolder,
    buildVggInference({ options, weights: damaged, head, metadata }),
  );
  // A binary cross-entropy model has one sigmoid output: predict reports both classes.
  const binaryHead: HeadSpec = { kind: 'flatten', dense: 6, classes: 1, activation: 'sigmoid' };
  const binaryWeights = initWeights(modelLayers(options, binaryHead), new Random(22));
  const binaryMetadata = modelMetadata({
    contract,
    classNames: ['cat', 'dog'],
    inputSize: [32, 32],
    arch: 'vgg16',
  });
  const binaryFolder = join(dir, 'binary-model');
  await mkdir(binaryFolder, { recursive: true });
  const binaryModel = buildVggInference({
    options,
    weights: binaryWeights,
    head: binaryHead,
    metadata: binaryMetadata,
  });
  await writeModelFolder(binaryFolder, binaryModel);
  const binary = await vggkit('predict', a, '--weights', binaryFolder, '--json');
  assert.equal(binary.code, 0, binary.stderr);
  const binaryTop =
    (
      JSON.parse(binary.stdout) as {
        predictions: { top: { label: string; probability: number }[] }[];
      }
    ).predictions[0]?.top ?? [];
  const binarySession = await Session.create(binaryModel, { threads: 1 });
  try {
    const dog = (await binarySession.run({ input: (await loadBatch([a], contract)).tensor }))[
      'output'
    ]?.data[0] as number;
    const byLabel = new Map(binaryTop.map((p) => [p.label, p.probability]));
    assert.ok(Math.abs((byLabel.get('dog') as number) - dog) < 1e-6);
    assert.ok(Math.abs((byLabel.get('cat') as number) - (1 - dog)) < 1e-6);
  } finally {
    await binarySession.release();
  }

  const nan = await vggkit('predict', a, '--weights', nanFolder);
  assert.equal(nan.code, 0, nan.stderr);
  assert.match(
    nan.stderr,
    /warning: the model produced NaN or infinite probabilities for 1 of 1 images \(e\.g\. .*a\.jpg\)/,
  );
});

test('predict --offline without cached ImageNet weights fails in one clear line, exit 1', async () => {
  const run = await vggkit(
    'predict',
    join(dir, 'images', 'a.jpg'),
    '--weights',
    'imagenet-top',
    '--offline',
  );
  assert.equal(run.code, 1);
  const lines = run.stderr.trim().split('\n');
  assert.equal(lines.length, 1, run.stderr);
  assert.match(lines[0] as string, /^vggkit: .*offline/i);
});

test('usage errors and a missing path exit 2; summary --json counts parameters', async () => {
  const badLayer = await vggkit(
    'extract',
    join(dir, 'images'),
    '--weights',
    'none',
    '--input-size',
    '32',
    '--layer',
    'block9_conv1',
    '--out',
    join(dir, 'x'),
  );
  assert.equal(badLayer.code, 2);
  assert.match(badLayer.stderr, /expected one of block1_conv1/);
  const badTop = await vggkit('predict', join(dir, 'images'), '--top', 'many');
  assert.equal(badTop.code, 2);
  const missing = await vggkit('extract', join(dir, 'nowhere'), '--weights', 'none');
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /nowhere: no such file or directory/);
  const summary = await vggkit('summary', '--json', '--include-top');
  assert.equal(summary.code, 0);
  assert.equal((JSON.parse(summary.stdout) as { totalParams: number }).totalParams, 138_357_544);
});
