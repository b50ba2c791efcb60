import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import h5wasm from 'h5wasm/node';
import { vggLayers, type LayerSpec } from '../../src/model/architectures.js';
import { readKerasWeights, writeKerasWeights } from '../../src/model/keras-h5.js';
import { biasKey, kernelKey } from '../../src/model/weight-map.js';
import { tensor } from '../../src/util/tensor.js';
import { filled, tinyLayers, valueAt, weighted } from './fixtures.js';
import { loadWeights } from '../../src/model/load-weights.js';
import { example2, writeKerasH5 } from './keras/writer.js';
import { rejectsWith } from '../helpers/errors.js';

let dir: string;
before(async () => {
  await h5wasm.ready;
  dir = await mkdtemp(join(tmpdir(), 'vggkit-h5-'));
});
after(() => rm(dir, { recursive: true, force: true }));

type Layout = '2016' | 'tf2';

/** Fixed-length byte strings, as h5py stores numpy `S` arrays in the published files. */
function stringsAttr(
  target: { create_attribute: InstanceType<typeof h5wasm.Group>['create_attribute'] },
  name: string,
  values: string[],
): void {
  const width = Math.max(1, ...values.map((value) => value.length));
  target.create_attribute(name, values, [values.length], `A${width}`);
}

/**
 * Writes `layers` in a published Keras layout, independently of vggkit's writer. Tensor number t
 * (kernel 2k, bias 2k+1 of the k-th weighted layer) holds valueAt(t, i) at flat index i.
 */
function writeKerasFile(path: string, layers: readonly LayerSpec[], layout: Layout): void {
  const file = new h5wasm.File(path, 'w');
  stringsAttr(
    file,
    'layer_names',
    layers.map((layer) => layer.name),
  );
  file.create_attribute('backend', 'tensorflow');
  file.create_attribute('keras_version', layout === '2016' ? '1.1.0' : '2.4.0');
  let t = 0;
  for (const layer of layers) {
    const group = file.create_group(layer.name);
    if (layer.kernelShape === undefined || layer.biasShape === undefined) {
      stringsAttr(group, 'weight_names', []);
      continue;
    }
    const names =
      layout === '2016'
        ? [`${layer.name}_W_1:0`, `${layer.name}_b_1:0`]
        : [`${layer.name}/kernel:0`, `${layer.name}/bias:0`];
    if (layout === 'tf2') group.create_group(layer.name);
    stringsAttr(group, 'weight_names', names);
    // Bias first on disk: only weight_names says which dataset is the kernel.
    group.create_dataset({
      name: names[1] as string,
      data: filled(t + 1, layer.biasShape[0] as number),
      shape: [...layer.biasShape],
    });
    const n = layer.kernelShape.reduce((a, b) => a * b, 1);
    group.create_dataset({
      name: names[0] as string,
      data: filled(t, n),
      shape: [...layer.kernelShape],
    });
    t += 2;
  }
  file.close();
}

function assertLoaded(
  weights: Map<string, { dims: readonly number[]; data: Float32Array }>,
  layers: readonly LayerSpec[],
): void {
  weighted(layers).forEach((layer, k) => {
    const kernel = weights.get(kernelKey(layer.name));
    const bias = weights.get(biasKey(layer.name));
    assert.ok(kernel && bias, `missing ${layer.name}`);
    assert.deepEqual(kernel.dims, layer.kernelShape);
    assert.deepEqual(bias.dims, layer.biasShape);
    // Keras layouts are the canonical layout: element i of the file is element i in memory.
    for (const i of [0, 1, kernel.data.length >> 1, kernel.data.length - 1])
      assert.equal(kernel.data[i], valueAt(2 * k, i), `${layer.name} kernel[${i}]`);
    for (let i = 0; i < bias.data.length; i++)
      assert.equal(bias.data[i], valueAt(2 * k + 1, i), `${layer.name} bias[${i}]`);
  });
  assert.equal(weights.size, 2 * weighted(layers).length);
}

describe('readKerasWeights', () => {
  test('reads the 2016 published layout (vgg11 conv base)', async () => {
    const layers = vggLayers({
      arch: 'vgg11',
      includeTop: false,
      inputSize: [32, 32],
      pooling: 'none',
      classes: 1000,
    });
    const path = join(dir, 'vgg11-2016.h5');
    writeKerasFile(path, layers, '2016');
    assertLoaded(await readKerasWeights(path, layers), layers);
  });

  test('reads the TF2 nested layout, with the top', async () => {
    const layers = tinyLayers(true);
    const path = join(dir, 'tiny-tf2.h5');
    writeKerasFile(path, layers, 'tf2');
    assertLoaded(await readKerasWeights(path, layers), layers);
  });

  test('a with-top file read for the conv base yields the conv layers only', async () => {
    const path = join(dir, 'tiny-top.h5');
    writeKerasFile(path, tinyLayers(true), '2016');
    assertLoaded(await readKerasWeights(path, tinyLayers(false)), tinyLayers(false));
  });

  test('a notop file asked for the top is WEIGHTS_NO_TOP', async () => {
    const path = join(dir, 'tiny-notop.h5');
    writeKerasFile(path, tinyLayers(false), '2016');
    await rejectsWith(
      readKerasWeights(path, tinyLayers(true)),
      'WEIGHTS_NO_TOP',
      /tiny-notop\.h5: has no weights for fc1/,
    );
  });

  test("where a classifier is needed, a base-only file and a fine-tune's save_weights say what to give instead", async () => {
    const base = join(dir, 'tiny-base.h5');
    writeKerasFile(base, tinyLayers(false), '2016');
    await rejectsWith(
      readKerasWeights(base, tinyLayers(true)),
      'WEIGHTS_NO_TOP',
      /only the convolutional base \(no top\), so it cannot classify; give .*model\.save .*--weights imagenet-top/,
    );
    // model.save_weights of the article's Example 2 (a fine-tune with its own head), as
    // `vggkit predict --weights saved.h5` opens it: it names the head and --keras-weights.
    const saved = join(dir, 'example2-saved-weights.h5');
    await writeKerasH5(saved, example2({ classes: 2, size: 32 }), { weightsOnly: true });
    await rejectsWith(
      loadWeights({ arch: 'vgg16', weights: saved, includeTop: true, cacheDir: dir }),
      'WEIGHTS_NO_TOP',
      /a head of its own \(flatten, dense, dropout, dense_1\).*--keras-weights .*example2-saved-weights\.h5/,
    );
  });

  test('a missing conv layer is named', async () => {
    const path = join(dir, 'tiny-missing.h5');
    writeKerasFile(
      path,
      tinyLayers(false).filter((layer) => layer.name !== 'block2_conv2'),
      'tf2',
    );
    await rejectsWith(
      readKerasWeights(path, tinyLayers(false)),
      'WEIGHTS_MISSING_LAYER',
      /tiny-missing\.h5: expected weights for layer block2_conv2/,
    );
  });

  test('a shape mismatch names the file, layer, expected and received shapes', async () => {
    const path = join(dir, 'tiny-shape.h5');
    const wrong = tinyLayers(false).map((layer) =>
      layer.name === 'block2_conv1'
        ? { ...layer, kernelShape: [3, 3, 4, 8], biasShape: [8] }
        : layer,
    );
    writeKerasFile(path, wrong, '2016');
    await rejectsWith(
      readKerasWeights(path, tinyLayers(false)),
      'WEIGHTS_SHAPE',
      /tiny-shape\.h5: layer block2_conv1 kernel \(block2_conv1_W_1:0\): expected shape \[3, 3, 4, 5\], received \[3, 3, 4, 8\]/,
    );
  });

  test('truncated and non-HDF5 files are WEIGHTS_CORRUPT; a plain HDF5 file is WEIGHTS_FORMAT', async () => {
    const good = join(dir, 'tiny-good.h5');
    writeKerasFile(good, tinyLayers(true), 'tf2');
    const bytes = await readFile(good);
    const truncated = join(dir, 'truncated.h5');
    await writeFile(truncated, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    await rejectsWith(
      readKerasWeights(truncated, tinyLayers(true)),
      'WEIGHTS_CORRUPT',
      /truncated\.h5: .*truncated/,
    );
    const garbage = join(dir, 'garbage.h5');
    await writeFile(garbage, 'this is not HDF5 at all');
    await rejectsWith(
      readKerasWeights(garbage, tinyLayers(true)),
      'WEIGHTS_CORRUPT',
      /garbage\.h5/,
    );
    const empty = join(dir, 'empty.h5');
    await writeFile(empty, '');
    await rejectsWith(readKerasWeights(empty, tinyLayers(true)), 'WEIGHTS_CORRUPT', /empty\.h5/);
    const plain = join(dir, 'plain.h5');
    new h5wasm.File(plain, 'w').close();
    await rejectsWith(
      readKerasWeights(plain, tinyLayers(true)),
      'WEIGHTS_FORMAT',
      /plain\.h5: not a Keras weights file/,
    );
    await rejectsWith(
      readKerasWeights(join(dir, 'absent.h5'), tinyLayers(true)),
      'WEIGHTS_NOT_FOUND',
      /absent\.h5/,
    );
  });
});

describe('writeKerasWeights', () => {
  test('writes the TF2 Keras layout that Keras load_weights reads', async () => {
    const path = join(dir, 'written.h5');
    const layers = tinyLayers(true);
    let t = 0;
    const entries = layers.map((layer) => ({
      name: layer.name,
      weights:
        layer.kernelShape === undefined || layer.biasShape === undefined
          ? []
          : [
              {
                name: 'kernel',
                tensor: tensor(
                  layer.kernelShape,
                  filled(
                    t++,
                    layer.kernelShape.reduce((a, b) => a * b, 1),
                  ),
                ),
              },
              {
                name: 'bias',
                tensor: tensor(layer.biasShape, filled(t++, layer.biasShape[0] as number)),
              },
            ],
    }));
    await writeKerasWeights(path, entries);
    assert.deepEqual(
      (await readdir(dir)).filter((name) => name.startsWith('written')),
      ['written.h5'],
    );

    const file = new h5wasm.File(path, 'r');
    try {
      assert.deepEqual(
        file.get_attribute('layer_names', false),
        layers.map((layer) => layer.name),
      );
      assert.equal(file.get_attribute('backend', false), 'tensorflow');
      assert.match(String(file.get_attribute('keras_version', false)), /^2\./);
      const fc1 = file.get('fc1') as InstanceType<typeof h5wasm.Group>;
      assert.deepEqual(fc1.get_attribute('weight_names', false), ['fc1/kernel:0', 'fc1/bias:0']);
      const kernel = file.get('/fc1/fc1/kernel:0') as InstanceType<typeof h5wasm.Dataset>;
      assert.equal(kernel.dtype, '<f');
      assert.deepEqual(kernel.shape, [36, 7]);
      const pool = file.get('block1_pool') as InstanceType<typeof h5wasm.Group>;
      assert.deepEqual(pool.get_attribute('weight_names', false), []);
    } finally {
      file.close();
    }
    assertLoaded(await readKerasWeights(path, layers), layers);
  });
});
