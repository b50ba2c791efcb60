/**
 * ORT's optimised graph cached per model file (src/engine/optimized-model.ts): the second session
 * loads it and computes what the original computes; a new model.onnx invalidates it; a damaged
 * entry is rebuilt, never used.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { sessionForModelFile } from '../../src/engine/optimized-model.js';
import { Session } from '../../src/engine/session.js';
import type { VggOptions } from '../../src/model/architectures.js';
import { modelLayers } from '../../src/model/head.js';
import { initWeights } from '../../src/model/init.js';
import { buildVggInference } from '../../src/model/vgg-graph.js';
import { writeFileAtomic } from '../../src/util/atomic.js';
import { Random } from '../../src/util/random.js';

const OPTIONS: VggOptions = {
  arch: 'vgg16',
  includeTop: false,
  inputSize: [32, 32],
  pooling: 'avg',
  classes: 0,
  widths: [[4], [4], [8], [8], [8]],
};
const INPUT = {
  dims: [2, 3, 32, 32],
  data: Float32Array.from({ length: 2 * 3 * 32 * 32 }, (_, i) => Math.sin(i) * 40),
};
let dir = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vggkit-optimized-'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function graph(seed: number): Uint8Array {
  return buildVggInference({
    options: OPTIONS,
    weights: initWeights(modelLayers(OPTIONS), new Random(seed)),
  });
}

async function outputOf(session: Session): Promise<Float32Array> {
  try {
    return (await session.run({ input: INPUT })).output?.data as Float32Array;
  } finally {
    await session.release();
  }
}

function assertClose(a: Float32Array, b: Float32Array): void {
  assert.equal(a.length, b.length);
  a.forEach((v, i) =>
    assert.ok(Math.abs(v - (b[i] as number)) <= 1e-5 * (1 + Math.abs(v)), `at ${i}`),
  );
}

test('the saved optimised graph is reused, computes the same, and follows model.onnx', async () => {
  const file = join(dir, 'model.onnx');
  const cacheDir = join(dir, 'cache');
  await writeFile(file, graph(1));
  const expected = await outputOf(await Session.create(graph(1)));

  const first = await sessionForModelFile(file, { cacheDir });
  assert.equal(first.hit, false);
  assertClose(await outputOf(first.session), expected);
  const second = await sessionForModelFile(file, { cacheDir });
  assert.equal(second.hit, true);
  assertClose(await outputOf(second.session), expected);

  // Training writes a new model.onnx: the entry is stale and replaced, never used.
  await writeFileAtomic(file, graph(2));
  const renewed = await sessionForModelFile(file, { cacheDir });
  assert.equal(renewed.hit, false);
  assertClose(await outputOf(renewed.session), await outputOf(await Session.create(graph(2))));
  const entries = await readdir(join(cacheDir, 'optimized'));
  assert.equal(entries.length, 1, 'one entry per model file');
  assert.deepEqual((await readdir(join(cacheDir, 'optimized', entries[0] as string))).sort(), [
    'model.data',
    'model.onnx',
    'stamp.json',
  ]);
});

test('entries of deleted model files are pruned when a new entry is made', async () => {
  const cacheDir = join(dir, 'cache-prune');
  const gone = join(dir, 'gone.onnx');
  const kept = join(dir, 'kept.onnx');
  await writeFile(gone, graph(4));
  await writeFile(kept, graph(5));
  await (await sessionForModelFile(gone, { cacheDir })).session.release();
  await rm(gone);
  await (await sessionForModelFile(kept, { cacheDir })).session.release();
  const entries = await readdir(join(cacheDir, 'optimized'));
  assert.equal(entries.length, 1);
  const stamp = JSON.parse(
    await readFile(join(cacheDir, 'optimized', entries[0] as string, 'stamp.json'), 'utf8'),
  ) as { file: string };
  assert.equal(stamp.file, kept);
});

test('a damaged entry is rebuilt', async () => {
  const file = join(dir, 'damaged.onnx');
  const cacheDir = join(dir, 'cache-damaged');
  await writeFile(file, graph(3));
  await (await sessionForModelFile(file, { cacheDir })).session.release();
  const [entry] = await readdir(join(cacheDir, 'optimized'));
  await writeFile(join(cacheDir, 'optimized', entry as string, 'model.onnx'), 'not a model');
  const again = await sessionForModelFile(file, { cacheDir });
  assert.equal(again.hit, false);
  assertClose(await outputOf(again.session), await outputOf(await Session.create(graph(3))));
  const reused = await sessionForModelFile(file, { cacheDir });
  await reused.session.release();
  assert.equal(reused.hit, true);
});
