/**
 * int8 QDQ graphs against PyTorch's fake-quantization (test/fixtures/int8/make_fixtures.py, which
 * writes the ONNX QuantizeLinear/DequantizeLinear arithmetic from the operator definitions), and
 * proof that ONNX Runtime really fuses them: its optimised graph holds one QLinearConv per conv,
 * 8-bit max pools and no float Conv.
 *
 * Exactness holds only for the weight width this CPU's kernels compute without saturating: 7-bit
 * weights everywhere, 8-bit only with VNNI (without it, VPMADDUBSW's 16-bit pair sums saturate and
 * outputs land many levels off, which is why int8Kernels() picks 7 bits there). So the 7-bit graph
 * is checked on every machine and the 8-bit one where int8Kernels() would emit it.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import onnxProto from 'onnx-proto';
import { readNpy } from '../../src/data/npy.js';
import { int8Kernels } from '../../src/engine/cpu.js';
import { Session } from '../../src/engine/session.js';
import type { VggOptions } from '../../src/model/architectures.js';
import { modelLayers } from '../../src/model/head.js';
import type { ActivationRange } from '../../src/model/quantize.js';
import { activationParams } from '../../src/model/quantize.js';
import { readTorchvisionWeights } from '../../src/model/torchvision-weights.js';
import { buildVggInference, type Int8Plan } from '../../src/model/vgg-graph.js';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'int8');
const OPTIONS: VggOptions = {
  arch: 'vgg16',
  includeTop: false,
  inputSize: [32, 48],
  pooling: 'none',
  classes: 0,
  widths: [[4], [8, 8], [8], [8], [8]],
};

const WEIGHT_BITS = [...new Set<7 | 8>([7, int8Kernels().weightBits])];

async function fixture(weightBits: 7 | 8 = 7): Promise<{
  plan: Int8Plan;
  input: { dims: number[]; data: Float32Array };
  weights: Awaited<ReturnType<typeof readTorchvisionWeights>>;
}> {
  const ranges = JSON.parse(await readFile(join(DIR, 'qdq.ranges.json'), 'utf8')) as Record<
    string,
    ActivationRange
  >;
  const raw = await readNpy(join(DIR, 'qdq.input.npy'));
  return {
    plan: { activations: 'uint8', weightBits, ranges },
    input: { dims: [...raw.dims], data: Float32Array.from(raw.data, (v) => (v - 128) / 64) },
    weights: await readTorchvisionWeights(join(DIR, 'qdq.safetensors'), modelLayers(OPTIONS)),
  };
}

for (const bits of WEIGHT_BITS)
  for (const layer of ['block2_conv2', 'block3_pool', 'block5_pool'])
    test(`int8 ${layer} with ${bits}-bit weights matches PyTorch's fake-quantized network`, async () => {
      const { plan, input, weights } = await fixture(bits);
      const session = await Session.create(
        buildVggInference({ options: OPTIONS, weights, outputLayer: layer, int8: plan }),
        { threads: 1 },
      );
      try {
        const { output } = await session.run({ input });
        const expected = await readNpy(join(DIR, `qdq.w${bits}.${layer}.npy`));
        assert.deepEqual(output?.dims, expected.dims);
        // The layer's own quantization step: outputs are whole multiples of it.
        const lastConv = modelLayers(OPTIONS)
          .filter((l) => l.kind === 'conv' && modelLayers(OPTIONS).indexOf(l) <= indexOf(layer))
          .at(-1)?.name as string;
        const step = activationParams(plan.ranges[lastConv] as ActivationRange, 'uint8').scale;
        const actual = output?.data as Float32Array;
        const want = expected.data as Float32Array;
        let exact = 0;
        let worst = 0;
        for (let i = 0; i < want.length; i++) {
          const levels = Math.abs((actual[i] as number) - (want[i] as number)) / step;
          worst = Math.max(worst, levels);
          if (levels < 1e-3) exact++;
        }
        // QLinearConv requantizes with a float32 multiplier where the oracle divides in float64, so
        // a value on a rounding tie may land one level apart (with ORT 1.30 none does); nothing
        // else may differ.
        assert.ok(worst <= 1 + 1e-3, `${layer}: worst difference ${worst.toFixed(3)} levels`);
        assert.ok(exact / want.length >= 0.99, `${layer}: ${exact} of ${want.length} exact`);
      } finally {
        await session.release();
      }
    });

function indexOf(layer: string): number {
  return modelLayers(OPTIONS).findIndex((l) => l.name === layer);
}

test('ONNX Runtime fuses the QDQ graph into int8 kernels (no float Conv remains)', async () => {
  const { plan, weights } = await fixture();
  const dir = await mkdtemp(join(tmpdir(), 'vggkit-qdq-'));
  try {
    const file = join(dir, 'optimized.onnx');
    const session = await Session.create(
      buildVggInference({ options: OPTIONS, weights, outputLayer: 'block5_pool', int8: plan }),
      { threads: 1, optimizedModelFilePath: file },
    );
    await session.release();
    const model = onnxProto.onnx.ModelProto.decode(await readFile(file));
    const ops = (model.graph?.node ?? []).map((n) => n.opType as string);
    const count = (op: string): number => ops.filter((o) => o === op).length;
    assert.equal(count('QLinearConv'), 6, ops.join(' '));
    assert.equal(count('Conv'), 0, ops.join(' '));
    assert.equal(count('QuantizeLinear'), 1, 'only the image is quantized from float');
    assert.equal(count('DequantizeLinear'), 1, 'only the output returns to float');
    assert.ok(
      ops.some((o) => o.endsWith('MaxPool')),
      ops.join(' '),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
