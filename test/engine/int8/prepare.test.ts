/**
 * decideInt8 end to end on real image files and real ORT sessions: calibration, the method
 * comparison, the guard (passing, and failing on a network 8-bit activations cannot represent),
 * the classifier's top-k figures, the cache, and the too-few-images fallback.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { decideInt8 } from '../../../src/engine/int8/prepare.js';
import { makeContract } from '../../../src/image/index.js';
import type { VggOptions } from '../../../src/model/architectures.js';
import { type HeadSpec, modelLayers } from '../../../src/model/head.js';
import { initWeights } from '../../../src/model/init.js';
import { kernelKey, type WeightMap } from '../../../src/model/weight-map.js';
import { Random } from '../../../src/util/random.js';
import { writeNoiseImage } from '../../helpers/images.js';

const OPTIONS: VggOptions = {
  arch: 'vgg16',
  includeTop: false,
  inputSize: [32, 32],
  pooling: 'none',
  classes: 0,
  widths: [[4], [4], [8], [8], [8]],
};
const HEAD: HeadSpec = { kind: 'flatten', dense: 8, classes: 3, activation: 'softmax' };
const CONTRACT = makeContract({ mode: 'caffe', inputSize: 32 });
let dir = '';
let files: string[] = [];

/** Glorot weights scaled by sqrt(2) (He's gain for ReLU), so activations stay O(1). */
function weights(head?: HeadSpec): WeightMap {
  const w = initWeights(modelLayers(OPTIONS, head), new Random(3));
  for (const [key, t] of w)
    if (key.endsWith('kernel')) t.data.forEach((v, i) => (t.data[i] = v * Math.SQRT2));
  return w;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vggkit-int8-'));
  await mkdir(join(dir, 'images'));
  files = [];
  for (let i = 0; i < 24; i++) {
    const file = join(dir, 'images', `${i}.png`);
    await writeNoiseImage(file, 40, 36, i + 1);
    files.push(file);
  }
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('a sound network passes the guard; the decision is cached by its inputs', async () => {
  const cacheDir = join(dir, 'cache-pass');
  const request = {
    options: OPTIONS,
    weights: weights(),
    outputLayer: 'block5_pool',
    contract: CONTRACT,
    files,
    cacheDir,
  };
  const first = await decideInt8(request);
  assert.equal(first.precision, 'int8', first.report.reason);
  assert.equal(first.report.calibrationImages + first.report.heldOutImages, 24);
  assert.equal(first.report.heldOutImages, 8);
  assert.deepEqual(Object.keys(first.report.methods).sort(), ['entropy', 'minmax', 'percentile']);
  const kept = first.report.methods[first.report.method ?? 'minmax'];
  assert.ok((kept?.cosine ?? 0) >= 0.99, JSON.stringify(kept));
  for (const figures of Object.values(first.report.methods))
    assert.ok((figures?.cosine ?? 0) <= (kept?.cosine ?? 0), 'the kept method is the best');
  assert.equal(first.report.cached, false);

  const second = await decideInt8(request);
  assert.equal(second.report.cached, true);
  assert.deepEqual(second.plan, first.plan);
  assert.equal((await readdir(join(cacheDir, 'int8'))).length, 1);

  // Other images make another sample: a new entry, not the old one.
  const third = await decideInt8({ ...request, files: files.slice(0, 20) });
  assert.equal(third.report.cached, false);
  assert.notEqual(third.report.key, first.report.key);
});

test('a classifier reports top-1 and top-5 agreement of its predictions', async () => {
  const decision = await decideInt8({
    options: OPTIONS,
    head: HEAD,
    weights: weights(HEAD),
    outputLayer: 'dense_1',
    contract: CONTRACT,
    files,
    cacheDir: join(dir, 'cache-classifier'),
  });
  const kept = decision.report.methods[decision.report.method ?? 'minmax'];
  assert.ok(kept?.top1 !== undefined && kept.top5 !== undefined, JSON.stringify(kept));
  assert.equal(kept.top5, 1, 'three classes: the best is always among the top five');
  assert.equal(decision.precision, kept.top1 >= 0.99 && kept.cosine >= 0.99 ? 'int8' : 'fp32');
});

test('int8 that disagrees with fp32 falls back to fp32 and says why, with the figures', async () => {
  // block1_conv1's channel 0 is 10^4 times the others, so one per-tensor 8-bit scale rounds
  // channels 1-3 to zero; block2 reads only channels 1-3.
  const w = weights();
  const k1 = w.get(kernelKey('block1_conv1'));
  const k2 = w.get(kernelKey('block2_conv1'));
  assert.ok(k1 !== undefined && k2 !== undefined);
  k1.data.forEach((v, i) => (k1.data[i] = i % 4 === 0 ? v * 1e4 : v));
  k2.data.forEach((_, i) => {
    if (Math.floor(i / 4) % 4 === 0) k2.data[i] = 0;
  });
  const decision = await decideInt8({
    options: OPTIONS,
    weights: w,
    outputLayer: 'block5_pool',
    contract: CONTRACT,
    files,
    cacheDir: join(dir, 'cache-fail'),
  });
  assert.equal(decision.precision, 'fp32');
  assert.equal(decision.plan, undefined);
  assert.match(
    decision.report.reason ?? '',
    /int8 rejected on 8 held-out images: feature cosine 0\.\d{4} < 0\.99/,
  );
});

test('too few images to calibrate and check: fp32, saying how many are needed', async () => {
  const decision = await decideInt8({
    options: OPTIONS,
    weights: weights(),
    outputLayer: 'block5_pool',
    contract: CONTRACT,
    files: files.slice(0, 5),
    cacheDir: join(dir, 'cache-few'),
  });
  assert.equal(decision.precision, 'fp32');
  assert.match(decision.report.reason ?? '', /at least 8 images .* received 5/);
});
