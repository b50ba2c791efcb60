import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { vggLayers } from '../../src/model/architectures.js';
import { writeKerasWeights } from '../../src/model/keras-h5.js';
import { loadWeights } from '../../src/model/load-weights.js';
import { DEFAULT_CONFIG } from '../../src/train/config.js';
import { loadBase } from '../../src/train/recipe.js';
import { biasKey, kernelKey } from '../../src/model/weight-map.js';
import { tensor } from '../../src/util/tensor.js';
import { filled } from './fixtures.js';
import { rejectsWith } from '../helpers/errors.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vggkit-load-'));
});
after(() => rm(dir, { recursive: true, force: true }));

const vgg11Base = vggLayers({
  arch: 'vgg11',
  includeTop: false,
  inputSize: [32, 32],
  pooling: 'none',
  classes: 1000,
});
const count = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

describe('loadWeights', () => {
  test("'none': random init for every weighted layer, caffe contract at the requested size, seeded", async () => {
    const a = await loadWeights({
      arch: 'vgg11',
      weights: 'none',
      includeTop: false,
      inputSize: 64,
      seed: 3,
    });
    const b = await loadWeights({
      arch: 'vgg11',
      weights: 'none',
      includeTop: false,
      inputSize: 64,
      seed: 3,
    });
    assert.equal(a.weights.size, 16);
    assert.deepEqual(
      a.weights.get(kernelKey('block5_conv2'))?.data,
      b.weights.get(kernelKey('block5_conv2'))?.data,
    );
    assert.equal(a.contract.mode, 'caffe');
    assert.deepEqual(a.contract.inputSize, [64, 64]);
    assert.equal(a.includesTop, false);
    assert.match(a.source, /seed 3/);
  });

  test('a local Keras .h5: Keras reader, caffe contract', async () => {
    const path = join(dir, 'base.h5');
    let t = 0;
    await writeKerasWeights(
      path,
      vgg11Base.map((layer) => ({
        name: layer.name,
        weights:
          layer.kernelShape === undefined || layer.biasShape === undefined
            ? []
            : [
                {
                  name: 'kernel',
                  tensor: tensor(layer.kernelShape, filled(t++, count(layer.kernelShape))),
                },
                {
                  name: 'bias',
                  tensor: tensor(layer.biasShape, filled(t++, count(layer.biasShape))),
                },
              ],
      })),
    );
    const loaded = await loadWeights({
      arch: 'vgg11',
      weights: path,
      includeTop: false,
      inputSize: 32,
    });
    assert.equal(loaded.weights.size, 16);
    assert.deepEqual(loaded.weights.get(biasKey('block3_conv2'))?.data, filled(7, 256));
    assert.deepEqual(
      [loaded.contract.mode, loaded.contract.resize, ...loaded.contract.inputSize],
      ['caffe', 'stretch', 32, 32],
    );
    assert.equal(loaded.source, path);
    assert.match(loaded.assumption ?? '', /records no preprocessing; Keras' caffe contract/);
    // Training logs that assumption once, unless the config sets the preprocessing itself.
    const config = { ...DEFAULT_CONFIG, arch: 'vgg11' as const, weights: path, inputSize: 32 };
    const base = await loadBase(config, { cacheDir: dir });
    assert.deepEqual(base.contractWarnings, [loaded.assumption]);
    const explicit = await loadBase({ ...config, preprocess: 'caffe' }, { cacheDir: dir });
    assert.deepEqual(explicit.contractWarnings, []);
    // The same notop file cannot supply a top.
    await rejectsWith(
      loadWeights({ arch: 'vgg11', weights: path, includeTop: true }),
      'WEIGHTS_NO_TOP',
      /base\.h5: has no weights for fc1/,
    );
  });

  test('a local .safetensors: torchvision reader, torch contract with center crop', async () => {
    const header: Record<string, unknown> = {};
    const chunks: Buffer[] = [];
    let offset = 0;
    let feature = 0;
    for (const layer of vgg11Base) {
      if (layer.kind === 'pool') feature += 1;
      if (layer.kind !== 'conv') continue;
      const [, , cin, cout] = layer.kernelShape as number[];
      for (const [suffix, shape] of [
        ['weight', [cout, cin, 3, 3]],
        ['bias', [cout]],
      ] as const) {
        const bytes = Buffer.from(
          new Float32Array(count(shape)).fill(feature + (suffix === 'bias' ? 0.5 : 0)).buffer,
        );
        header[`features.${feature}.${suffix}`] = {
          dtype: 'F32',
          shape,
          data_offsets: [offset, offset + bytes.length],
        };
        chunks.push(bytes);
        offset += bytes.length;
      }
      feature += 2;
    }
    const json = Buffer.from(JSON.stringify(header));
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(BigInt(json.length));
    const path = join(dir, 'base.safetensors');
    await writeFile(path, Buffer.concat([prefix, json, ...chunks]));
    const loaded = await loadWeights({
      arch: 'vgg11',
      weights: path,
      includeTop: false,
      inputSize: 32,
    });
    assert.deepEqual([loaded.contract.mode, loaded.contract.resize], ['torch', 'center-crop']);
    // vgg11's last conv is features.18.
    assert.equal(loaded.weights.get(biasKey('block5_conv2'))?.data[0], 18.5);
  });

  test('registry tags: notop asked for the top, offline without the file, unknown tags', async () => {
    await rejectsWith(
      loadWeights({ arch: 'vgg16', weights: 'imagenet', includeTop: true, cacheDir: dir }),
      'WEIGHTS_NO_TOP',
      /imagenet-top/,
    );
    const offline = await rejectsWith(
      loadWeights({
        arch: 'vgg16',
        weights: 'imagenet',
        includeTop: false,
        offline: true,
        cacheDir: dir,
      }),
      'OFFLINE',
    );
    assert.ok(offline.message.includes('vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5'));
    assert.ok(offline.message.includes(join(dir, 'weights')));
    await rejectsWith(
      loadWeights({ arch: 'vgg16', weights: 'imagenett', includeTop: false }),
      'UNKNOWN_WEIGHTS',
      /known tags/,
    );
    await rejectsWith(
      loadWeights({ arch: 'vgg16', weights: 'model.onnx', includeTop: false }),
      'UNKNOWN_WEIGHTS',
      /\.safetensors/,
    );
    await rejectsWith(
      loadWeights({ arch: 'vgg16', weights: 'none', includeTop: true, inputSize: 64 }),
      'INVALID_OPTION',
      /224x224/,
    );
  });
});
