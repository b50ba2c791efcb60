/**
 * Forward numerics against PyTorch: fixtures written by test/fixtures/forward/make_fixtures.py
 * (torchvision-layout weights, inputs, expected outputs), loaded through readTorchvisionWeights ->
 * buildVggInference -> ONNX Runtime. Covers conv HWIO->OIHW, padding, pooling, NHWC outputs, the
 * global average, and with the top fc1's flatten order and the softmax.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { readNpy } from '../../src/data/npy.js';
import { Session } from '../../src/engine/session.js';
import type { VggOptions } from '../../src/model/architectures.js';
import { modelLayers } from '../../src/model/head.js';
import { readTorchvisionWeights } from '../../src/model/torchvision-weights.js';
import { buildVggInference } from '../../src/model/vgg-graph.js';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'forward');

interface Case {
  readonly name: string;
  readonly options: VggOptions;
  readonly layers: readonly string[];
}

const CASES: readonly Case[] = [
  {
    name: 'small_avg',
    options: {
      arch: 'vgg16',
      includeTop: false,
      inputSize: [64, 96],
      pooling: 'avg',
      classes: 0,
      widths: [[4], [4, 4], [8], [8], [8]],
    },
    layers: ['block3_pool', 'block5_pool', 'global_average_pooling2d'],
  },
  {
    name: 'top224',
    options: {
      arch: 'vgg16',
      includeTop: true,
      inputSize: [224, 224],
      pooling: 'none',
      classes: 5,
      widths: [[4], [4], [8], [8], [8]],
      fcUnits: 8,
    },
    layers: ['block3_pool', 'block5_pool', 'fc1', 'predictions'],
  },
];

async function input(name: string): Promise<{ dims: number[]; data: Float32Array }> {
  const raw = await readNpy(join(DIR, `${name}.input.npy`));
  assert.equal(raw.dtype, 'uint8');
  // The fixture's documented input: (u8 - 128) / 64, exact in float32.
  return { dims: [...raw.dims], data: Float32Array.from(raw.data, (v) => (v - 128) / 64) };
}

function assertClose(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let worst = 0;
  for (let i = 0; i < actual.length; i++)
    worst = Math.max(
      worst,
      Math.abs((actual[i] as number) - (expected[i] as number)) /
        (1 + Math.abs(expected[i] as number)),
    );
  assert.ok(worst < 1e-4, `${what}: max relative difference ${worst}`);
}

for (const c of CASES) {
  test(`${c.name}: every checked layer matches PyTorch`, async () => {
    const weights = await readTorchvisionWeights(
      join(DIR, `${c.name}.safetensors`),
      modelLayers(c.options),
    );
    const x = await input(c.name);
    for (const layer of c.layers) {
      const session = await Session.create(
        buildVggInference({ options: c.options, weights, outputLayer: layer }),
        { threads: 1 },
      );
      try {
        const { output } = await session.run({ input: x });
        const expected = await readNpy(join(DIR, `${c.name}.${layer}.npy`));
        assert.deepEqual(output?.dims, expected.dims, `${layer}: shape`);
        assertClose(
          output?.data as Float32Array,
          expected.data as Float32Array,
          `${c.name} ${layer}`,
        );
      } finally {
        await session.release();
      }
    }
  });
}
