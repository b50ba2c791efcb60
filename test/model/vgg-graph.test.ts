/**
 * Graph structure: cutting at a layer, the error for an unknown one, the trainer's head, metadata.
 * Numbers come from the PyTorch fixtures (the global-average output) and from plain loops here.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { readNpy } from '../../src/data/npy.js';
import { Session } from '../../src/engine/session.js';
import { hwioToOihw } from '../../src/graph/ops/inference.js';
import type { VggOptions } from '../../src/model/architectures.js';
import { type HeadSpec, modelLayers } from '../../src/model/head.js';
import { initWeights } from '../../src/model/init.js';
import { readOnnxMetadata } from '../../src/graph/onnx-metadata.js';
import { METADATA_KEYS } from '../../src/model/model-folder.js';
import { readTorchvisionWeights } from '../../src/model/torchvision-weights.js';
import { buildVggInference } from '../../src/model/vgg-graph.js';
import { biasKey, kernelKey } from '../../src/model/weight-map.js';
import { Random } from '../../src/util/random.js';
import { VggkitError } from '../../src/util/errors.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'forward');
const small: VggOptions = {
  arch: 'vgg16',
  includeTop: false,
  inputSize: [64, 96],
  pooling: 'none',
  classes: 0,
  widths: [[4], [4, 4], [8], [8], [8]],
};

test('hwioToOihw moves element [y, x, i, o] to [o, i, y, x]', () => {
  const dims = [3, 2, 4, 5];
  const data = Float32Array.from({ length: 120 }, (_, k) => k);
  const out = hwioToOihw({ dims, data });
  assert.deepEqual(out.dims, [5, 4, 3, 2]);
  for (let y = 0; y < 3; y++)
    for (let x = 0; x < 2; x++)
      for (let i = 0; i < 4; i++)
        for (let o = 0; o < 5; o++) {
          assert.equal(
            out.data[((o * 4 + i) * 3 + y) * 2 + x],
            data[((y * 2 + x) * 4 + i) * 5 + o],
          );
        }
});

test('cutting at a layer returns that layer in NHWC and records its name', async () => {
  const weights = initWeights(modelLayers(small), new Random(3));
  const model = buildVggInference({
    options: small,
    weights,
    outputLayer: 'block2_conv1',
    metadata: { note: 'kept' },
  });
  const meta = readOnnxMetadata(model);
  assert.equal(meta[METADATA_KEYS.outputLayer], 'block2_conv1');
  assert.equal(meta['note'], 'kept');
  const session = await Session.create(model, { threads: 1 });
  try {
    assert.deepEqual(session.outputNames, ['output']);
    const { output } = await session.run({
      input: { dims: [2, 3, 64, 96], data: new Float32Array(2 * 3 * 64 * 96).fill(0.5) },
    });
    assert.deepEqual(output?.dims, [2, 32, 48, 4]);
  } finally {
    await session.release();
  }
});

test('extra outputs return earlier layers exactly as graphs cut there do', async () => {
  const weights = initWeights(modelLayers(small), new Random(4));
  const random = new Random(9);
  const input = {
    dims: [2, 3, 64, 96],
    data: Float32Array.from({ length: 2 * 3 * 64 * 96 }, () => random.uniform(-50, 50)),
  };
  const layers = ['block1_conv1', 'block2_pool', 'block3_conv1'];
  const all = await Session.create(
    buildVggInference({
      options: small,
      weights,
      outputLayer: 'block3_conv1',
      extraOutputs: layers,
    }),
    { threads: 1 },
  );
  try {
    const together = await all.run({ input });
    for (const layer of layers) {
      const alone = await Session.create(
        buildVggInference({ options: small, weights, outputLayer: layer }),
        { threads: 1 },
      );
      try {
        const expected = (await alone.run({ input })).output;
        assert.deepEqual(together[layer]?.dims, expected?.dims, layer);
        assert.deepEqual(together[layer]?.data, expected?.data, layer);
      } finally {
        await alone.release();
      }
    }
    assert.deepEqual(together.output?.data, together.block3_conv1?.data);
  } finally {
    await all.release();
  }
  assert.throws(
    () =>
      buildVggInference({
        options: small,
        weights,
        outputLayer: 'block1_pool',
        extraOutputs: ['block2_conv1'],
      }),
    /extra outputs: expected layers up to block1_pool, received block2_conv1/,
  );
});

test('an unknown layer is a usage error listing the valid names', () => {
  const weights = initWeights(modelLayers(small), new Random(3));
  assert.throws(
    () => buildVggInference({ options: small, weights, outputLayer: 'block9_conv1' }),
    (error: unknown) =>
      error instanceof VggkitError &&
      error.exitCode === 2 &&
      /expected one of block1_conv1, block1_pool, .*block5_pool, received "block9_conv1"/.test(
        error.message,
      ),
  );
});

test('missing weights name the layer', () => {
  const weights = initWeights(modelLayers(small), new Random(3));
  weights.delete(kernelKey('block3_conv1'));
  assert.throws(() => buildVggInference({ options: small, weights }), /block3_conv1\/kernel/);
});

test('the avg head: global average (PyTorch fixture), dense relu, dropout as identity, dense_1 softmax (plain loops)', async () => {
  const head: HeadSpec = { kind: 'avg', dense: 3, classes: 2, activation: 'softmax' };
  const layers = modelLayers(small, head);
  assert.deepEqual(
    layers.slice(-4).map((l) => l.name),
    ['global_average_pooling2d', 'dense', 'dropout', 'dense_1'],
  );
  const weights = await readTorchvisionWeights(
    join(FIXTURES, 'small_avg.safetensors'),
    modelLayers(small),
  );
  const values = (n: number, seed: number): Float32Array =>
    Float32Array.from({ length: n }, (_, i) => Math.sin(i * 1.7 + seed));
  weights.set(kernelKey('dense'), { dims: [8, 3], data: values(24, 1) });
  weights.set(biasKey('dense'), { dims: [3], data: values(3, 2) });
  weights.set(kernelKey('dense_1'), { dims: [3, 2], data: values(6, 3) });
  weights.set(biasKey('dense_1'), { dims: [2], data: values(2, 4) });

  const raw = await readNpy(join(FIXTURES, 'small_avg.input.npy'));
  const input = { dims: [...raw.dims], data: Float32Array.from(raw.data, (v) => (v - 128) / 64) };
  const pooled = (await readNpy(join(FIXTURES, 'small_avg.global_average_pooling2d.npy'))).data;
  const session = await Session.create(buildVggInference({ options: small, weights, head }), {
    threads: 1,
  });
  try {
    const { output } = await session.run({ input });
    assert.deepEqual(output?.dims, [3, 2]);
    for (let n = 0; n < 3; n++) {
      const hidden = [0, 1, 2].map((j) => {
        let s = weights.get(biasKey('dense'))?.data[j] as number;
        for (let i = 0; i < 8; i++)
          s +=
            (pooled[n * 8 + i] as number) *
            (weights.get(kernelKey('dense'))?.data[i * 3 + j] as number);
        return Math.max(0, s);
      });
      const logits = [0, 1].map((k) =>
        hidden.reduce(
          (s, h, j) => s + h * (weights.get(kernelKey('dense_1'))?.data[j * 2 + k] as number),
          weights.get(biasKey('dense_1'))?.data[k] as number,
        ),
      );
      const z = logits.map((l) => Math.exp(l - Math.max(...logits)));
      z.forEach((e, k) =>
        assert.ok(
          Math.abs(
            (output?.data[n * 2 + k] as number) - e / ((z[0] as number) + (z[1] as number)),
          ) < 1e-5,
          `row ${n} class ${k}`,
        ),
      );
    }
  } finally {
    await session.release();
  }
});

test('a head needs the bare base', () => {
  assert.throws(
    () =>
      modelLayers(
        { ...small, pooling: 'avg' },
        { kind: 'flatten', dense: 4, classes: 2, activation: 'sigmoid' },
      ),
    /pooling none/,
  );
});
