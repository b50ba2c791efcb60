/**
 * TF.js layers model.json shards as tfjs-converter writes them with its quantization options
 * (quantization.py): uint8/uint16 affine (`min + scale * q`) and float16 (IEEE half). The model
 * is written by the Keras writer, then its shard is rewritten in the quantized layout.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { readKerasModel } from '../../src/model/keras/read.js';
import { VggkitError } from '../../src/util/errors.js';
import { example2, writeTfjsJson } from './keras/writer.js';

interface Manifest {
  weightsManifest: {
    paths: string[];
    weights: { name: string; shape: number[]; dtype: string; quantization?: object }[];
  }[];
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vggkit-tfjs-'));
});
after(() => rm(dir, { recursive: true, force: true }));

/** The writer's model.json with every weight stored as `stored` (bytes from `encode`). */
async function quantized(
  name: string,
  quantization: (count: number) => object,
  encode: (count: number) => Buffer,
): Promise<string> {
  const file = join(dir, name, 'model.json');
  await writeTfjsJson(file, example2({ classes: 2, widths: [[2], [2], [2], [2], [2]], size: 32 }));
  const json = JSON.parse(await readFile(file, 'utf8')) as Manifest;
  const group = json.weightsManifest[0];
  assert.ok(group !== undefined);
  const parts: Buffer[] = [];
  for (const w of group.weights) {
    const count = w.shape.reduce((a, b) => a * b, 1);
    w.quantization = quantization(count);
    parts.push(encode(count));
  }
  await writeFile(join(dir, name, group.paths[0] as string), Buffer.concat(parts));
  await writeFile(file, JSON.stringify(json));
  return file;
}

test('uint8 and uint16 affine quantization decode as min + scale * q', async () => {
  for (const [dtype, width] of [
    ['uint8', 1],
    ['uint16', 2],
  ] as const) {
    const file = await quantized(
      dtype,
      () => ({ dtype, min: -0.5, scale: 0.25, original_dtype: 'float32' }),
      (count) => {
        const b = Buffer.alloc(count * width);
        for (let i = 0; i < count; i++)
          if (width === 1) b[i] = i % 7;
          else b.writeUInt16LE(i % 7, 2 * i);
        return b;
      },
    );
    const model = await readKerasModel(file, { withWeights: true });
    const bias = model.weights?.get('dense_1')?.find((v) => v.name === 'bias');
    assert.deepEqual([...(bias?.tensor.data ?? [])], [-0.5, -0.25], dtype);
  }
});

test('float16 quantization decodes IEEE half precision', async () => {
  // 1, -2, 0.333251953125 (0x3555), 65504 (largest half), 2^-24 (smallest subnormal), 0.
  const halves = [0x3c00, 0xc000, 0x3555, 0x7bff, 0x0001, 0x0000];
  const expected = [1, -2, 0.333251953125, 65504, 2 ** -24, 0];
  const file = await quantized(
    'float16',
    () => ({ dtype: 'float16', original_dtype: 'float32' }),
    (count) => {
      const b = Buffer.alloc(count * 2);
      for (let i = 0; i < count; i++) b.writeUInt16LE(halves[i % halves.length] as number, 2 * i);
      return b;
    },
  );
  const model = await readKerasModel(file, { withWeights: true });
  const kernel = model.weights?.get('block1_conv1')?.find((v) => v.name === 'kernel');
  assert.deepEqual(
    [...(kernel?.tensor.data ?? [])].slice(0, 6),
    expected.map((x) => Math.fround(x)),
  );
});

test('a quantization vggkit cannot decode names the weight and the dtype', async () => {
  const file = await quantized(
    'int4',
    () => ({ dtype: 'int4' }),
    (count) => Buffer.alloc(count * 4),
  );
  await assert.rejects(
    readKerasModel(file, { withWeights: true }),
    (e: unknown) =>
      e instanceof VggkitError &&
      /model\.json: weight block1_conv1\/kernel: expected float32, float16, or uint8\/uint16 .*received int4/.test(
        e.message,
      ),
  );
});
