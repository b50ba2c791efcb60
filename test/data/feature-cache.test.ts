import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import {
  FeatureCache,
  hashFile,
  producerHash,
  type FeatureProducer,
} from '../../src/data/feature-cache.js';

const contract = {
  mode: 'caffe',
  channelOrder: 'bgr',
  scale: 1,
  mean: [103.939, 116.779, 123.68],
  std: [1, 1, 1],
  inputSize: [32, 32],
};
const producer: FeatureProducer = {
  weightsId: 'vgg16.imagenet:sha256:abc',
  contract,
  layer: 'block5_pool',
};
const dims = [2, 3, 4];

function features(offset: number): Float32Array {
  return Float32Array.from({ length: 24 }, (_, i) => i * 0.5 + offset);
}

test('hashFile is the sha256 of the file bytes', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vggkit-fc-'));
  const file = join(dir, 'a.png');
  await sharp({ create: { width: 3, height: 3, channels: 3, background: '#336699' } })
    .png()
    .toFile(file);
  const expected = createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
  assert.equal(await hashFile(file), expected);
  assert.equal(await hashFile(file), expected);
});

test('put then get round-trips exactly, in the documented layout', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vggkit-fc-'));
  const cache = new FeatureCache(dir, producer, dims);
  const key = 'ab'.repeat(32);
  assert.equal(await cache.get(key), undefined);
  await cache.put(key, features(1));
  assert.deepEqual(await cache.get(key), features(1));
  const entryDir = join(dir, 'features', producerHash(producer), 'ab');
  assert.deepEqual(await readdir(entryDir), [`${key}.f32`]);
  const bytes = await readFile(join(entryDir, `${key}.f32`));
  assert.equal(bytes.subarray(0, 4).toString('latin1'), 'VGGF');
  assert.equal(bytes.length, 12 + 4 * 3 + 32 + 24 * 4);
  const described = JSON.parse(
    await readFile(join(dir, 'features', producerHash(producer), 'producer.json'), 'utf8'),
  ) as { layer: string; dims: number[] };
  assert.equal(described.layer, 'block5_pool');
  assert.deepEqual(described.dims, dims);
});

test('changing weights id, contract or cut layer misses; key order of the contract does not matter', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vggkit-fc-'));
  const key = 'cd'.repeat(32);
  await new FeatureCache(dir, producer, dims).put(key, features(2));
  const variants: FeatureProducer[] = [
    { ...producer, weightsId: 'vgg16.imagenet:sha256:abd' },
    { ...producer, contract: { ...contract, mode: 'torch' } },
    { ...producer, contract: { ...contract, mean: [103.94, 116.779, 123.68] } },
    { ...producer, layer: 'block4_pool' },
  ];
  for (const variant of variants)
    assert.equal(
      await new FeatureCache(dir, variant, dims).get(key),
      undefined,
      JSON.stringify(variant),
    );
  const reordered: FeatureProducer = {
    layer: 'block5_pool',
    contract: Object.fromEntries(Object.entries(contract).reverse()),
    weightsId: producer.weightsId,
  };
  assert.deepEqual(await new FeatureCache(dir, reordered, dims).get(key), features(2));
});

test('an entry of the wrong shape, truncated or with flipped data bytes is a miss, and put repairs it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vggkit-fc-'));
  const key = 'ef'.repeat(32);
  const cache = new FeatureCache(dir, producer, dims);
  await cache.put(key, features(3));
  // Same element count, different dims: must not be reinterpreted.
  assert.equal(await new FeatureCache(dir, producer, [4, 3, 2]).get(key), undefined);
  const path = cache.pathFor(key);
  const good = await readFile(path);
  await writeFile(path, good.subarray(0, good.length - 4));
  assert.equal(await cache.get(key), undefined);
  const flipped = Buffer.from(good);
  flipped[flipped.length - 3] ^= 0x40;
  await writeFile(path, flipped);
  assert.equal(await cache.get(key), undefined);
  await writeFile(path, 'garbage');
  assert.equal(await cache.get(key), undefined);
  await cache.put(key, features(4));
  assert.deepEqual(await cache.get(key), features(4));
});

test('put rejects data of the wrong size and keys that are not sha256 digests', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vggkit-fc-'));
  const cache = new FeatureCache(dir, producer, dims);
  await assert.rejects(
    cache.put('01'.repeat(32), new Float32Array(23)),
    /expects 24 values for shape \[2, 3, 4\], received 23/,
  );
  assert.throws(() => cache.pathFor('../../etc/passwd'), /expected a sha256 hex digest/);
});
