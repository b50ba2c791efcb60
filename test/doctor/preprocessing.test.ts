import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeNpyFloat32 } from '../../src/data/npy.js';
import { buildContext, type DoctorInputs } from '../../src/doctor/inputs.js';
import { runDoctor } from '../../src/doctor/run.js';
import type { Finding } from '../../src/doctor/types.js';
import sharp from 'sharp';
import {
  cleanDataset,
  preprocess,
  rawPixels,
  smooth,
  tempDir,
  toNchw,
  writeImage,
  writeJson,
} from './fixtures.js';

// Keras imagenet_utils constants, written out independently of src/image/contract.ts.
const CAFFE_BGR_MEAN = [103.939, 116.779, 123.68];
const TORCH_MEAN = [0.485, 0.456, 0.406];
const TORCH_STD = [0.229, 0.224, 0.225];
const PREPROCESSING_IDS = [
  'channel-order-mismatch',
  'normalization-mismatch',
  'double-preprocessing',
  'unscaled-input',
  'wrong-input-size',
  'grayscale-input',
  'resize-mismatch',
];

const caffe = (rgb: Float32Array): Float32Array =>
  preprocess(rgb, (v, c) => v - CAFFE_BGR_MEAN[c], 'bgr');
const torch = (rgb: Float32Array): Float32Array =>
  preprocess(rgb, (v, c) => (v / 255 - TORCH_MEAN[c]) / TORCH_STD[c], 'rgb');

async function diagnose(
  data: Float32Array,
  dims: number[],
  inputs: Omit<DoctorInputs, 'batch'> = {},
): Promise<Finding[]> {
  const dir = await tempDir('batch-');
  const file = join(dir, 'batch.npy');
  await writeNpyFloat32(file, dims, data);
  return [...(await runDoctor(await buildContext({ ...inputs, batch: file }))).findings];
}

function preprocessingIds(findings: readonly Finding[]): string[] {
  return findings.map((f) => f.id).filter((id) => PREPROCESSING_IDS.includes(id));
}

const N = 2;
const S = 224;
const NHWC = [N, S, S, 3];

test('correct caffe input (about -124..152) raises nothing', async () => {
  const batch = caffe(rawPixels(N, S));
  const min = batch.reduce((a, b) => Math.min(a, b));
  const max = batch.reduce((a, b) => Math.max(a, b));
  assert.ok(min < -120 && max > 150, `the batch spans ${min}..${max}`);
  assert.deepEqual(preprocessingIds(await diagnose(batch, NHWC)), []);
  assert.deepEqual(preprocessingIds(await diagnose(batch, NHWC, { expect: 'caffe' })), []);
});

test('caffe input resized in float (non-integer pixels) is still recognised', async () => {
  const raw = rawPixels(N, S).map((v, i) => Math.min(255, Math.max(0, v + ((i * 0.37) % 1) - 0.5)));
  assert.deepEqual(preprocessingIds(await diagnose(caffe(raw), NHWC)), []);
});

test('--weights of a local Keras .hdf5 or .h5 file implies caffe, as training assumes, and says so once', async () => {
  // The doctor used to know .h5 only and fail on .hdf5 with UNKNOWN_WEIGHTS, which training accepts.
  const torchBatch = torch(rawPixels(N, S));
  for (const weights of ['model.hdf5', 'model.H5']) {
    const lines: string[] = [];
    const ids = preprocessingIds(
      await diagnose(torchBatch, NHWC, { weights, log: (line) => lines.push(line) }),
    );
    assert.deepEqual(ids, ['normalization-mismatch'], weights);
    assert.deepEqual(lines, [
      `${weights}: the file records no preprocessing; Keras' caffe contract (BGR, ImageNet mean, stretch) assumed (override with --preprocess, --resize)`,
    ]);
  }
  assert.deepEqual(
    preprocessingIds(await diagnose(torchBatch, NHWC, { weights: 'model.safetensors' })),
    [],
  );
});

test('unscaled-input: raw 0..255 pixels fed to caffe weights', async () => {
  const findings = await diagnose(rawPixels(N, S), NHWC);
  assert.deepEqual(preprocessingIds(findings), ['unscaled-input']);
  assert.equal(findings[0].severity, 'error');
  // Healthy twin: the same raw pixels are right for a model that expects mode none.
  assert.deepEqual(preprocessingIds(await diagnose(rawPixels(N, S), NHWC, { expect: 'none' })), []);
});

test('double-preprocessing: caffe then rescale 1/255 spans about -0.49..0.59', async () => {
  const batch = caffe(rawPixels(N, S)).map((v) => v / 255);
  const findings = await diagnose(batch, NHWC);
  assert.deepEqual(preprocessingIds(findings), ['double-preprocessing']);
  assert.match(String(findings[0].evidence.inferred), /caffe mode and then \/ 255/);
  const rescaledFirst = preprocess(rawPixels(N, S), (v, c) => v / 255 - CAFFE_BGR_MEAN[c], 'bgr');
  assert.deepEqual(preprocessingIds(await diagnose(rescaledFirst, NHWC)), ['double-preprocessing']);
});

test('normalization-mismatch: tf-mode or torch-mode input for caffe weights; torch input is right for tv_in1k', async () => {
  const tf = rawPixels(N, S).map((v) => v / 127.5 - 1);
  const tfFindings = await diagnose(tf, NHWC);
  assert.deepEqual(preprocessingIds(tfFindings), ['normalization-mismatch']);
  assert.match(tfFindings[0].title, /tf-preprocessed; the weights expect caffe/);
  const t = torch(rawPixels(N, S));
  assert.deepEqual(preprocessingIds(await diagnose(t, NHWC)), ['normalization-mismatch']);
  assert.deepEqual(preprocessingIds(await diagnose(t, NHWC, { weights: 'tv_in1k' })), []);
  assert.deepEqual(
    preprocessingIds(await diagnose(caffe(rawPixels(N, S)), NHWC, { weights: 'tv_in1k' })),
    ['normalization-mismatch'],
  );
});

test('NCHW batches are detected and judged the same way', async () => {
  const t = toNchw(torch(rawPixels(N, S)), N, S);
  assert.deepEqual(preprocessingIds(await diagnose(t, [N, 3, S, S], { expect: 'torch' })), []);
  assert.deepEqual(
    preprocessingIds(
      await diagnose(toNchw(rawPixels(N, S), N, S), [N, 3, S, S], { expect: 'torch' }),
    ),
    ['unscaled-input'],
  );
});

test('channel-order-mismatch: an image read as BGR (cv2) and then caffe-preprocessed', async () => {
  // preprocess_input flips what it believes is RGB; with BGR input the positions end up R, G, B.
  const swapped = preprocess(rawPixels(N, S), (v, c) => v - CAFFE_BGR_MEAN[c], 'rgb');
  const findings = await diagnose(swapped, NHWC);
  assert.deepEqual(preprocessingIds(findings), ['channel-order-mismatch']);
  assert.equal(findings[0].severity, 'warning');
});

test('wrong-input-size: a 160x160 batch for a 224 contract (and silent when the config says 160)', async () => {
  const batch = caffe(rawPixels(N, 160));
  assert.deepEqual(preprocessingIds(await diagnose(batch, [N, 160, 160, 3])), ['wrong-input-size']);
  const dir = await tempDir('cfg-');
  const config = await writeJson(join(dir, 'config.json'), { inputSize: 160 });
  assert.deepEqual(preprocessingIds(await diagnose(batch, [N, 160, 160, 3], { config })), []);
});

test('grayscale-input: replicated channels warn, a single channel is an error', async () => {
  const rgb = rawPixels(N, S);
  const gray = rgb.map((_, i) => rgb[i - (i % 3)]);
  const replicated = await diagnose(
    preprocess(gray, (v, c) => v - CAFFE_BGR_MEAN[c], 'bgr'),
    NHWC,
  );
  assert.ok(preprocessingIds(replicated).includes('grayscale-input'));
  assert.equal(replicated.find((f) => f.id === 'grayscale-input')?.severity, 'warning');
  const single = await diagnose(
    new Float32Array(N * S * S).map((_, i) => rgb[i * 3] - 120),
    [N, S, S, 1],
  );
  assert.equal(single.find((f) => f.id === 'grayscale-input')?.severity, 'error');
});

test('config overrides: resize-mismatch and a forced preprocess mode, with patches that remove them', async () => {
  const dir = await tempDir('cfg-');
  const bad = await writeJson(join(dir, 'bad.json'), {
    resize: 'center-crop',
    interpolation: 'nearest',
    preprocess: 'torch',
  });
  const findings = [...(await runDoctor(await buildContext({ config: bad }))).findings];
  const resize = findings.find((f) => f.id === 'resize-mismatch');
  const norm = findings.find((f) => f.id === 'normalization-mismatch');
  assert.ok(resize && norm);
  assert.ok(
    resize.fix.config !== undefined &&
      'resize' in resize.fix.config &&
      resize.fix.config.resize === undefined,
  );
  assert.ok(norm.fix.config !== undefined && 'preprocess' in norm.fix.config);
  const good = await writeJson(join(dir, 'good.json'), {
    resize: 'stretch',
    interpolation: 'bilinear',
    preprocess: 'caffe',
  });
  assert.deepEqual(
    preprocessingIds((await runDoctor(await buildContext({ config: good }))).findings),
    [],
  );
});

test('grayscale-input is only a note when the dataset is grey in content though stored as RGB', async () => {
  const rgb = rawPixels(N, S);
  const gray = rgb.map((_, i) => rgb[i - (i % 3)]);
  const batch = preprocess(gray, (v, c) => v - CAFFE_BGR_MEAN[c], 'bgr');
  const greyRoot = await tempDir();
  for (let i = 0; i < 6; i++) {
    const grey = smooth(i + 1)
      .greyscale()
      .toColourspace('srgb');
    await writeImage(join(greyRoot, i < 3 ? 'shirts' : 'shoes', `g${i}.png`), grey.clone());
    await writeImage(join(greyRoot, i < 3 ? 'shirts' : 'shoes', `j${i}.jpg`), grey, 'jpeg');
  }
  const stored = await sharp(join(greyRoot, 'shirts', 'g0.png')).metadata();
  assert.equal(stored.channels, 3, 'the fixture must store grey content as RGB');
  const onGrey = (await diagnose(batch, NHWC, { dataDir: greyRoot })).find(
    (f) => f.id === 'grayscale-input',
  );
  assert.equal(onGrey?.severity, 'info');
  assert.doesNotMatch(onGrey?.fix.summary ?? '', /colour/);
  const colourRoot = await cleanDataset(await tempDir());
  const onColour = (await diagnose(batch, NHWC, { dataDir: colourRoot })).find(
    (f) => f.id === 'grayscale-input',
  );
  assert.equal(onColour?.severity, 'warning');
});

test('double-preprocessing: Keras preprocess_input called twice (channels flipped back, mean subtracted twice)', async () => {
  const twice = caffe(caffe(rawPixels(N, S)));
  const findings = await diagnose(twice, NHWC);
  assert.deepEqual(preprocessingIds(findings), ['double-preprocessing']);
  assert.match(String(findings[0].evidence.inferred), /twice/);
});
