/**
 * Streaming batch inference on real image files: rows come back in file order, a broken file is
 * skipped and reported, and each row equals the network run on that image alone.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { inferBatches } from '../../src/engine/inference.js';
import { Session } from '../../src/engine/session.js';
import { loadImageTensor, makeContract } from '../../src/image/index.js';
import type { VggOptions } from '../../src/model/architectures.js';
import { modelLayers } from '../../src/model/head.js';
import { initWeights } from '../../src/model/init.js';
import { buildVggInference } from '../../src/model/vgg-graph.js';
import { Random } from '../../src/util/random.js';
import { writeFakeImage, writeNoiseImage } from '../helpers/images.js';

test('inferBatches: ordered rows, skipped files reported, rows independent of batching', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vggkit-infer-'));
  const options: VggOptions = {
    arch: 'vgg16',
    includeTop: false,
    inputSize: [32, 32],
    pooling: 'avg',
    classes: 0,
    widths: [[4], [4], [6], [6], [6]],
  };
  const session = await Session.create(
    buildVggInference({ options, weights: initWeights(modelLayers(options), new Random(5)) }),
    { threads: 1 },
  );
  try {
    const files = [
      join(dir, 'a.jpg'),
      join(dir, 'b.png'),
      join(dir, 'broken.jpg'),
      join(dir, 'c.jpg'),
      join(dir, 'd.png'),
    ];
    await writeNoiseImage(files[0] as string, 40, 30, 1);
    await writeNoiseImage(files[1] as string, 64, 64, 2);
    await writeFakeImage(files[2] as string);
    await writeNoiseImage(files[3] as string, 50, 70, 3);
    await writeNoiseImage(files[4] as string, 33, 33, 4);
    const contract = makeContract({ mode: 'caffe', inputSize: 32 });

    const rows: { file: string; row: Float32Array }[] = [];
    const skipped: string[] = [];
    let batches = 0;
    for await (const batch of inferBatches(session, files, contract, {
      batchSize: 2,
      concurrency: 2,
    })) {
      batches++;
      assert.equal(batch.output.dims[0], batch.files.length);
      batch.files.forEach((file, i) =>
        rows.push({ file, row: batch.output.data.slice(i * 6, (i + 1) * 6) }),
      );
      skipped.push(...batch.skipped.map((s) => `${s.file}:${s.code}`));
    }
    assert.equal(batches, 3);
    assert.deepEqual(
      rows.map((r) => r.file),
      [files[0], files[1], files[3], files[4]],
    );
    assert.equal(skipped.length, 1);
    assert.match(skipped[0] as string, /broken\.jpg:NOT_AN_IMAGE|broken\.jpg:CORRUPT/);

    for (const { file, row } of rows) {
      const alone = await session.run({
        input: { dims: [1, 3, 32, 32], data: await loadImageTensor(file, contract) },
      });
      const expected = alone['output']?.data ?? new Float32Array(0);
      assert.equal(row.length, expected.length);
      // Same kernels either way; allow for a different summation order in another batch layout.
      row.forEach((v, i) =>
        assert.ok(
          Math.abs(v - (expected[i] as number)) <= 1e-5 * (1 + Math.abs(v)),
          `${file} [${i}]`,
        ),
      );
    }
  } finally {
    await session.release();
    await rm(dir, { recursive: true, force: true });
  }
});
