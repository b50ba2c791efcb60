import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { vggLayers, type LayerSpec } from '../../src/model/architectures.js';
import { SafetensorsFile } from '../../src/model/safetensors.js';
import { readTorchvisionWeights } from '../../src/model/torchvision-weights.js';
import { biasKey, kernelKey } from '../../src/model/weight-map.js';
import { filled, tinyLayers, valueAt } from './fixtures.js';
import { rejectsWith } from '../helpers/errors.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vggkit-st-'));
});
after(() => rm(dir, { recursive: true, force: true }));

interface RawTensor {
  readonly name: string;
  readonly dtype: 'F32' | 'F16' | 'BF16';
  readonly shape: readonly number[];
  readonly bytes: Uint8Array;
}

/** The safetensors container, byte by byte: u64 LE header length, JSON header, data. */
function safetensorsBytes(tensors: readonly RawTensor[]): Buffer {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const t of tensors) {
    header[t.name] = {
      dtype: t.dtype,
      shape: t.shape,
      data_offsets: [offset, offset + t.bytes.length],
    };
    offset += t.bytes.length;
  }
  const json = Buffer.from(JSON.stringify(header));
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([prefix, json, ...tensors.map((t) => Buffer.from(t.bytes))]);
}

function f32(name: string, shape: readonly number[], values: Float32Array): RawTensor {
  const bytes = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => bytes.writeFloatLE(v, 4 * i));
  return { name, dtype: 'F32', shape, bytes };
}

const count = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/**
 * A torchvision state dict for `layers`: conv k at features.{2k + pools so far}, dense layers at
 * classifier.{0,3,6} (or timm's names). Tensor t holds valueAt(t, i) at flat index i of its
 * torch layout (OIHW, [out, in]).
 */
function torchvisionTensors(
  layers: readonly LayerSpec[],
  naming: 'torchvision' | 'timm' = 'torchvision',
): RawTensor[] {
  const tensors: RawTensor[] = [];
  const dense =
    naming === 'torchvision'
      ? ['classifier.0', 'classifier.3', 'classifier.6']
      : ['pre_logits.fc1', 'pre_logits.fc2', 'head.fc'];
  let feature = 0;
  let t = 0;
  let d = 0;
  let previous: readonly number[] = [];
  for (const layer of layers) {
    if (layer.kind === 'pool') feature += 1;
    if (layer.kernelShape === undefined || layer.biasShape === undefined) {
      if (layer.kind !== 'flatten') previous = layer.outputShape;
      continue;
    }
    let module: string;
    let shape: number[];
    if (layer.kind === 'conv') {
      const [kh, kw, cin, cout] = layer.kernelShape as number[];
      module = `features.${feature}`;
      shape = [cout as number, cin as number, kh as number, kw as number];
      feature += 2;
    } else {
      const [nIn, nOut] = layer.kernelShape as number[];
      module = dense[d] as string;
      const [h, w, c] = previous;
      // timm stores fc1 as a conv over the C x H x W map and fc2 as a 1x1 conv.
      shape =
        naming === 'timm' && d === 0
          ? [nOut as number, c as number, h as number, w as number]
          : naming === 'timm' && d === 1
            ? [nOut as number, nIn as number, 1, 1]
            : [nOut as number, nIn as number];
      d += 1;
    }
    tensors.push(f32(`${module}.weight`, shape, filled(t, count(shape))));
    tensors.push(f32(`${module}.bias`, layer.biasShape, filled(t + 1, count(layer.biasShape))));
    t += 2;
  }
  return tensors;
}

async function write(name: string, tensors: readonly RawTensor[]): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, safetensorsBytes(tensors));
  return path;
}

/** Every conv element: Keras HWIO [h][w][i][o] must hold torch OIHW [o][i][h][w]. */
function assertConvs(
  weights: Map<string, { dims: readonly number[]; data: Float32Array }>,
  layers: readonly LayerSpec[],
  stride = 1,
): void {
  let t = 0;
  for (const layer of layers.filter((l) => l.kind === 'conv')) {
    const [kh, kw, cin, cout] = layer.kernelShape as [number, number, number, number];
    const kernel = weights.get(kernelKey(layer.name));
    assert.ok(kernel, layer.name);
    assert.deepEqual(kernel.dims, [kh, kw, cin, cout]);
    let checked = 0;
    for (let h = 0; h < kh; h++)
      for (let w = 0; w < kw; w++)
        for (let i = 0; i < cin; i += stride)
          for (let o = 0; o < cout; o += stride) {
            const keras: number | undefined =
              kernel.data[h * kw * cin * cout + w * cin * cout + i * cout + o];
            const torch = valueAt(t, o * cin * kh * kw + i * kh * kw + h * kw + w);
            if (keras !== torch)
              assert.fail(`${layer.name} [${h},${w},${i},${o}]: ${keras} != ${torch}`);
            checked++;
          }
    assert.ok(checked > 0);
    assert.deepEqual([...(weights.get(biasKey(layer.name))?.data ?? [])], [...filled(t + 1, cout)]);
    t += 2;
  }
}

describe('readTorchvisionWeights', () => {
  test('vgg11 conv base: features indices skip ReLU/MaxPool, OIHW -> HWIO', async () => {
    const layers = vggLayers({
      arch: 'vgg11',
      includeTop: false,
      inputSize: [32, 32],
      pooling: 'none',
      classes: 1000,
    });
    const tensors = torchvisionTensors(layers);
    // vgg11 (config A): conv modules at 0, 3, 6, 8, 11, 13, 16, 18.
    assert.deepEqual(
      tensors.filter((t) => t.name.endsWith('.weight')).map((t) => t.name),
      [0, 3, 6, 8, 11, 13, 16, 18].map((i) => `features.${i}.weight`),
    );
    const weights = await readTorchvisionWeights(await write('vgg11.safetensors', tensors), layers);
    assert.equal(weights.size, 16);
    assertConvs(weights, layers, 7);
  });

  test('vgg16: conv layers come from features 0,2,5,7,10,12,14,17,19,21,24,26,28', async () => {
    // The reader only checks each tensor against its LayerSpec, so thin the channels to keep the file tiny.
    const layers = vggLayers({
      arch: 'vgg16',
      includeTop: false,
      inputSize: [32, 32],
      pooling: 'none',
      classes: 1000,
    }).map((layer) =>
      layer.kind === 'conv' ? { ...layer, kernelShape: [3, 3, 2, 2], biasShape: [2] } : layer,
    );
    const indices = [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28];
    const tensors = indices.flatMap((index, k) => [
      f32(`features.${index}.weight`, [2, 2, 3, 3], filled(2 * k, 36)),
      f32(`features.${index}.bias`, [2], filled(2 * k + 1, 2)),
    ]);
    const weights = await readTorchvisionWeights(
      await write('vgg16-thin.safetensors', tensors),
      layers,
    );
    assertConvs(weights, layers);
  });

  for (const naming of ['torchvision', 'timm'] as const) {
    test(`with the top (${naming} names): dense transposed, fc1 inputs reordered CHW -> HWC`, async () => {
      const layers = tinyLayers(true);
      const weights = await readTorchvisionWeights(
        await write(`tiny-${naming}.safetensors`, torchvisionTensors(layers, naming)),
        layers,
      );
      assertConvs(weights, layers);
      // fc1 is tensor 6 (after three convs); the feature map before Flatten is H=2, W=3, C=6.
      const [H, W, C, OUT] = [2, 3, 6, 7];
      const fc1 = weights.get(kernelKey('fc1'));
      assert.deepEqual(fc1?.dims, [H * W * C, OUT]);
      for (let h = 0; h < H; h++)
        for (let w = 0; w < W; w++)
          for (let c = 0; c < C; c++)
            for (let o = 0; o < OUT; o++) {
              const kerasRow = h * W * C + w * C + c;
              const torchColumn = c * H * W + h * W + w;
              assert.equal(
                fc1?.data[kerasRow * OUT + o],
                valueAt(6, o * H * W * C + torchColumn),
                `fc1 h${h} w${w} c${c} o${o}`,
              );
            }
      const fc2 = weights.get(kernelKey('fc2'));
      const predictions = weights.get(kernelKey('predictions'));
      for (let i = 0; i < 7; i++)
        for (let o = 0; o < 5; o++) assert.equal(fc2?.data[i * 5 + o], valueAt(8, o * 7 + i));
      for (let i = 0; i < 5; i++)
        for (let o = 0; o < 3; o++)
          assert.equal(predictions?.data[i * 3 + o], valueAt(10, o * 5 + i));
      assert.deepEqual([...(weights.get(biasKey('predictions'))?.data ?? [])], [...filled(11, 3)]);
    });
  }

  test('a with-top file read without the top yields the conv layers only', async () => {
    const path = await write('tiny-top.safetensors', torchvisionTensors(tinyLayers(true)));
    const weights = await readTorchvisionWeights(path, tinyLayers(false));
    assert.deepEqual(
      [...weights.keys()].sort(),
      ['block1_conv1', 'block2_conv1', 'block2_conv2'].flatMap((n) => [`${n}/bias`, `${n}/kernel`]),
    );
  });

  test('missing tensors: conv named, classifier means no top', async () => {
    const notop = await write('tiny-notop.safetensors', torchvisionTensors(tinyLayers(false)));
    await rejectsWith(
      readTorchvisionWeights(notop, tinyLayers(true)),
      'WEIGHTS_NO_TOP',
      /tiny-notop\.safetensors: has no classifier\.0/,
    );
    const partial = await write(
      'tiny-partial.safetensors',
      torchvisionTensors(tinyLayers(false)).filter((t) => !t.name.startsWith('features.5.')),
    );
    await rejectsWith(
      readTorchvisionWeights(partial, tinyLayers(false)),
      'WEIGHTS_MISSING_LAYER',
      /features\.5\.weight\/\.bias for layer block2_conv2/,
    );
  });

  test('a shape mismatch names the file, tensor, layer and both shapes', async () => {
    const tensors = torchvisionTensors(tinyLayers(false)).map((t) =>
      t.name === 'features.3.weight' ? f32(t.name, [5, 4, 1, 9], filled(0, 180)) : t,
    );
    await rejectsWith(
      readTorchvisionWeights(await write('tiny-shape.safetensors', tensors), tinyLayers(false)),
      'WEIGHTS_SHAPE',
      /tiny-shape\.safetensors: tensor features\.3\.weight \(layer block2_conv1\): expected shape \[5, 4, 3, 3\], received \[5, 4, 1, 9\]/,
    );
  });
});

describe('SafetensorsFile', () => {
  test('converts F16 and BF16 to float32', async () => {
    const halves = [0x3c00, 0xc000, 0x3555, 0x0001, 0x7c00, 0x8000];
    const bf16 = [0x3f80, 0xc040, 0x4049];
    const u16 = (values: number[]): Uint8Array => {
      const bytes = Buffer.alloc(values.length * 2);
      values.forEach((v, i) => bytes.writeUInt16LE(v, 2 * i));
      return bytes;
    };
    const path = await write('halves.safetensors', [
      { name: 'h', dtype: 'F16', shape: [2, 3], bytes: u16(halves) },
      { name: 'b', dtype: 'BF16', shape: [3], bytes: u16(bf16) },
    ]);
    const st = await SafetensorsFile.open(path);
    try {
      const h = await st.read('h');
      assert.deepEqual(h.dims, [2, 3]);
      assert.deepEqual(
        [...h.data],
        [1, -2, Math.fround(0.333251953125), Math.fround(2 ** -24), Infinity, -0],
      );
      assert.deepEqual([...(await st.read('b')).data], [1, -3, 3.140625]);
    } finally {
      await st.close();
    }
  });

  test('truncated data, an impossible header length and bad JSON are WEIGHTS_CORRUPT', async () => {
    const bytes = safetensorsBytes(torchvisionTensors(tinyLayers(false)));
    const truncated = join(dir, 'truncated.safetensors');
    await writeFile(truncated, bytes.subarray(0, bytes.length - 10));
    await rejectsWith(
      readTorchvisionWeights(truncated, tinyLayers(false)),
      'WEIGHTS_CORRUPT',
      /truncated\.safetensors: tensor features\.5\.bias: .*truncated/,
    );
    const huge = join(dir, 'huge.safetensors');
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(1n << 40n);
    await writeFile(huge, Buffer.concat([prefix, Buffer.from('{}')]));
    await rejectsWith(
      readTorchvisionWeights(huge, tinyLayers(false)),
      'WEIGHTS_CORRUPT',
      /huge\.safetensors: header length/,
    );
    const json = join(dir, 'json.safetensors');
    await writeFile(
      json,
      Buffer.concat([Buffer.from([5, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{"a":')]),
    );
    await rejectsWith(
      readTorchvisionWeights(json, tinyLayers(false)),
      'WEIGHTS_CORRUPT',
      /json\.safetensors: header is not valid JSON/,
    );
    const tiny = join(dir, 'short.safetensors');
    await writeFile(tiny, Buffer.from([1, 2, 3]));
    await rejectsWith(
      readTorchvisionWeights(tiny, tinyLayers(false)),
      'WEIGHTS_CORRUPT',
      /short\.safetensors/,
    );
  });
});
