/**
 * One function maps a `--weights` value to what it is and the contract it implies: every entry of
 * WEIGHTS_SOURCES, the order they are tried in, and the assumption logged for files that record
 * no preprocessing.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { makeContract } from '../../src/image/contract.js';
import type { VggOptions } from '../../src/model/architectures.js';
import type { HeadSpec } from '../../src/model/head.js';
import { modelLayers } from '../../src/model/head.js';
import { initWeights } from '../../src/model/init.js';
import { modelMetadata, writeModelFolder } from '../../src/model/model-folder.js';
import { buildVggInference } from '../../src/model/vgg-graph.js';
import {
  contractAt,
  resolveWeightsSource,
  WEIGHTS_SOURCES,
} from '../../src/model/weights-source.js';
import { loadWeights } from '../../src/model/load-weights.js';
import { Random } from '../../src/util/random.js';
import { rejectsWith } from '../helpers/errors.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vggkit-sources-'));
});
after(() => rm(dir, { recursive: true, force: true }));

test('each kind of value is claimed by its entry, in order, with its contract', async () => {
  assert.deepEqual(
    WEIGHTS_SOURCES.map((e) => e.kind),
    ['none', 'model-folder', 'keras-model', 'keras-h5', 'torchvision-safetensors', 'registry'],
  );
  const none = await resolveWeightsSource('vgg16', 'none');
  assert.equal(none.kind, 'none');
  assert.equal(none.contract.mode, 'caffe');
  assert.equal(none.assumption, undefined);

  for (const file of ['w.h5', 'W.HDF5', 'dir/w.hdf5']) {
    const keras = await resolveWeightsSource('vgg16', file);
    assert.equal(keras.kind, 'keras-h5', file);
    assert.deepEqual(
      [keras.contract.mode, keras.contract.resize, keras.includesTop],
      ['caffe', 'stretch', undefined],
    );
    assert.match(keras.assumption ?? '', /caffe contract .* assumed \(override with --preprocess/);
  }
  const torch = await resolveWeightsSource('vgg16', 'w.safetensors');
  assert.deepEqual([torch.contract.mode, torch.contract.resize], ['torch', 'center-crop']);

  const tag = await resolveWeightsSource('vgg16', 'tv_in1k');
  assert.equal(tag.kind, 'registry');
  assert.equal(tag.entry?.tag, 'tv_in1k');
  assert.deepEqual([tag.includesTop, tag.classes, tag.assumption], [true, 1000, undefined]);
  assert.deepEqual(contractAt(tag, 96).inputSize, [96, 96]);
  assert.equal(contractAt(tag, 96).interpolation, tag.contract.interpolation);

  await rejectsWith(resolveWeightsSource('vgg16', 'model.onnx'), 'UNKNOWN_WEIGHTS', /\.hdf5/);
});

test('a model folder is recognised by its model.onnx and keeps its own contract and size', async () => {
  const options: VggOptions = {
    arch: 'vgg16',
    includeTop: false,
    inputSize: [32, 32],
    pooling: 'none',
    classes: 0,
    widths: [[4], [4], [8], [8], [8]],
  };
  const head: HeadSpec = { kind: 'flatten', dense: 4, classes: 2, activation: 'softmax' };
  const contract = makeContract({ mode: 'tf', inputSize: 32, resize: 'pad' });
  const model = buildVggInference({
    options,
    weights: initWeights(modelLayers(options, head), new Random(1)),
    head,
    metadata: modelMetadata({
      contract,
      classNames: ['a', 'b'],
      inputSize: [32, 32],
      arch: 'vgg16',
    }),
  });
  const folder = join(dir, 'run');
  await mkdir(folder);
  await writeModelFolder(folder, model);
  const source = await resolveWeightsSource('vgg16', folder);
  assert.equal(source.kind, 'model-folder');
  assert.deepEqual(source.contract, contract);
  assert.deepEqual(contractAt(source, 224).inputSize, [32, 32]);
  await rejectsWith(
    loadWeights({ arch: 'vgg16', weights: folder, includeTop: false }),
    'UNKNOWN_WEIGHTS',
    /expected base weights .* received model-folder/,
  );
});
