/**
 * A whole Keras model where vggkit takes weights: `--weights MODEL.keras` / a full-model `.h5`
 * (recognised by model_config) for training, and `evaluate MODEL data/`. Training needs the
 * published VGG16 shapes, so that model is full-width (at 32x32, zero weights) in a temp dir.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadWeights } from '../../../src/model/load-weights.js';
import { kernelKey } from '../../../src/model/weight-map.js';
import { evaluateModel } from '../../../src/train/evaluate.js';
import { initialParams, sameHead } from '../../../src/train/recipe.js';
import { DEFAULT_CONFIG } from '../../../src/train/config.js';
import { rejectsWith } from '../../helpers/errors.js';
import { cleanDataset } from '../../doctor/fixtures.js';
import {
  example2,
  rescaling,
  type LayerDef,
  type ModelDef,
  writeKerasH5,
  writeKerasZip,
} from './writer.js';

let dir: string;
let full: ModelDef;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vggkit-keras-weights-'));
  const def = example2({ classes: 3, size: 32 });
  // A marker value in block5_conv3's bias and the head's output bias, to see them arrive.
  full = {
    ...def,
    layers: def.layers.map((l) =>
      l.name === 'block5_conv3' || l.name === 'dense_1'
        ? {
            ...l,
            weights: l.weights?.map((w) =>
              w.name === 'bias'
                ? { ...w, data: new Float32Array(w.shape[0] as number).fill(0.25) }
                : w,
            ),
          }
        : l,
    ),
  };
  await writeKerasZip(join(dir, 'model.keras'), full);
  await writeKerasH5(join(dir, 'model.h5'), full);
});
after(() => rm(dir, { recursive: true, force: true }));

describe('--weights takes a whole saved Keras model', () => {
  for (const name of ['model.keras', 'model.h5']) {
    test(`${name}: the base, the head, and the assumed contract said`, async () => {
      const loaded = await loadWeights({
        arch: 'vgg16',
        weights: join(dir, name),
        includeTop: false,
        inputSize: 32,
        cacheDir: dir,
      });
      assert.equal(loaded.contract.mode, 'caffe');
      assert.deepEqual(
        loaded.weights.get('block5_conv3/bias')?.data.slice(0, 2),
        Float32Array.of(0.25, 0.25),
      );
      assert.equal(
        loaded.weights.get(kernelKey('dense')),
        undefined,
        'the head is apart from the base',
      );
      assert.deepEqual(loaded.head?.spec, {
        kind: 'flatten',
        dense: 256,
        classes: 3,
        activation: 'softmax',
      });
      assert.match(loaded.assumption ?? '', /assuming .*caffe/);
      // The run continues from the head when its shape matches, and starts a new one otherwise.
      const base = {
        weights: loaded.weights,
        contract: loaded.contract,
        contractWarnings: [],
        weightsId: 'x',
        source: name,
        ...(loaded.head ? { head: loaded.head } : {}),
      };
      const same = {
        kind: 'flatten' as const,
        dense: 256,
        classes: 3,
        activation: 'softmax' as const,
      };
      assert.ok(sameHead(loaded.head?.spec ?? same, same));
      const params = initialParams({ ...DEFAULT_CONFIG, inputSize: 32 }, base, same);
      assert.equal(params.get('dense_1/bias')?.data[0], 0.25);
      const fresh = initialParams({ ...DEFAULT_CONFIG, inputSize: 32 }, base, {
        ...same,
        classes: 5,
      });
      assert.equal(fresh.get('dense_1/bias')?.data[0], 0, 'a new head for other classes');
    });
  }

  test('a model whose own preprocessing is no vggkit contract cannot be trained on, and says so', async () => {
    const [inputLayer, ...rest] = full.layers;
    const file = join(dir, 'rescaled.keras');
    await writeKerasZip(file, {
      ...full,
      layers: [inputLayer as LayerDef, rescaling('rescaling', 1 / 255), ...rest],
    });
    await rejectsWith(
      loadWeights({
        arch: 'vgg16',
        weights: file,
        includeTop: false,
        inputSize: 32,
        cacheDir: dir,
      }),
      'KERAS_UNSUPPORTED',
      /preprocess_input/,
    );
  });

  test('evaluate MODEL.keras data/: class folders in sorted order are the outputs', async () => {
    const data = await cleanDataset(join(dir, 'data'), {
      classes: ['a', 'b', 'c'],
      perClass: 3,
      size: 32,
    });
    const lines: string[] = [];
    const result = await evaluateModel({
      model: join(dir, 'model.keras'),
      data,
      log: (l) => lines.push(l),
    });
    assert.deepEqual(result.classNames, ['a', 'b', 'c']);
    assert.equal(
      result.confusionMatrix.flat().reduce((s, n) => s + n, 0),
      9,
    );
    assert.ok(
      lines.some((l) =>
        /holds no class names: output k is taken to be the k-th class folder/.test(l),
      ),
    );
  });
});
