import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { makeContract } from '../../src/image/contract.js';
import { ImageError } from '../../src/image/errors.js';
import { loadBatch, loadImageTensor, streamBatches, type Batch } from '../../src/image/pipeline.js';
import { pixels, rawInput, tempDir, writeImage, type TempDir } from './fixtures.js';

let dir: TempDir;
/** Solid 6x4 PNGs whose red value is 10 * their index, so a batch row says which file it came from. */
const good: string[] = [];
before(async () => {
  dir = await tempDir();
  for (let i = 0; i < 7; i++) {
    good.push(
      await writeImage(
        dir.path(`img-${i}.png`),
        rawInput(
          pixels(6, 4, 3, () => [10 * i, 100, 200]),
          6,
          4,
          3,
        ).png(),
      ),
    );
  }
});
after(async () => {
  await dir.cleanup();
});

const contract = makeContract({ mode: 'none', inputSize: [2, 3] });
const plane = 2 * 3;

/** Red value of every row of a batch (first value of channel 0). */
const reds = (batch: Batch) =>
  Array.from({ length: batch.files.length }, (_, n) => batch.tensor.data[n * 3 * plane]);

describe('loadImageTensor', () => {
  it('decodes, resizes and preprocesses into CHW', async () => {
    const caffe = makeContract({ mode: 'caffe', inputSize: [2, 3] });
    const data = await loadImageTensor(good[3] as string, caffe);
    assert.equal(data.length, 3 * plane);
    // Pixel (30, 100, 200): BGR minus the BGR mean, each channel a constant plane.
    const expected = [200 - 103.939, 100 - 116.779, 30 - 123.68];
    for (let c = 0; c < 3; c++) {
      for (let i = 0; i < plane; i++)
        assert.ok(Math.abs((data[c * plane + i] as number) - (expected[c] as number)) < 1e-4);
    }
  });
});

describe('loadBatch', () => {
  it('returns an NCHW tensor of all files in order', async () => {
    const batch = await loadBatch(good, contract, { concurrency: 3 });
    assert.deepEqual(batch.tensor.dims, [7, 3, 2, 3]);
    assert.deepEqual(batch.files, good);
    assert.deepEqual(reds(batch), [0, 10, 20, 30, 40, 50, 60]);
    assert.deepEqual(batch.skipped, []);
  });

  it('skipErrors lists the bad files with code and reason and keeps the rest in order', async () => {
    const empty = dir.path('empty.jpg');
    const text = dir.path('text.png');
    await writeFile(empty, '');
    await writeFile(text, 'not an image');
    const files = [good[0], empty, good[1], good[2], text, good[3]] as string[];
    const batch = await loadBatch(files, contract, { skipErrors: true, concurrency: 2 });
    assert.deepEqual(batch.files, [good[0], good[1], good[2], good[3]]);
    assert.deepEqual(batch.tensor.dims, [4, 3, 2, 3]);
    assert.equal(batch.tensor.data.length, 4 * 3 * plane);
    assert.deepEqual(reds(batch), [0, 10, 20, 30]);
    assert.deepEqual(
      batch.skipped.map((s) => [s.file, s.code]),
      [
        [empty, 'EMPTY_FILE'],
        [text, 'NOT_AN_IMAGE'],
      ],
    );
    assert.match(batch.skipped[0]?.reason ?? '', /empty/);
  });

  it('without skipErrors throws the ImageError of the earliest bad file', async () => {
    const missing = dir.path('missing.png');
    const text = dir.path('text2.png');
    await writeFile(text, 'not an image');
    await assert.rejects(
      loadBatch([good[0], missing, good[1], text] as string[], contract, { concurrency: 2 }),
      (error: unknown) => {
        assert.ok(error instanceof ImageError);
        assert.equal(error.code, 'UNREADABLE');
        assert.equal(error.file, missing);
        return true;
      },
    );
  });

  it('rejects a bad concurrency', async () => {
    await assert.rejects(
      loadBatch(good, contract, { concurrency: 0 }),
      /concurrency: expected a positive integer, received 0/,
    );
  });
});

describe('streamBatches', () => {
  it('yields every file in order, batchSize at a time', async () => {
    const batches: Batch[] = [];
    for await (const batch of streamBatches(good, contract, { batchSize: 3, concurrency: 2 }))
      batches.push(batch);
    assert.deepEqual(
      batches.map((b) => b.tensor.dims[0]),
      [3, 3, 1],
    );
    assert.deepEqual(
      batches.flatMap((b) => b.files),
      good,
    );
    assert.deepEqual(batches.flatMap(reds), [0, 10, 20, 30, 40, 50, 60]);
  });

  it('skips bad files batch by batch, and stops cleanly when the consumer stops', async () => {
    const text = dir.path('text3.png');
    await writeFile(text, 'not an image');
    const files = [good[0], good[1], text, good[2], good[3]] as string[];
    const seen: Batch[] = [];
    for await (const batch of streamBatches(files, contract, { batchSize: 2, skipErrors: true }))
      seen.push(batch);
    assert.deepEqual(
      seen.map((b) => b.files.length),
      [2, 1, 1],
    );
    assert.deepEqual(
      seen.flatMap((b) => b.skipped.map((s) => s.file)),
      [text],
    );
    let taken = 0;
    for await (const batch of streamBatches(files, contract, { batchSize: 2 })) {
      taken += batch.files.length;
      break;
    }
    assert.equal(taken, 2);
  });

  it('without skipErrors the batch holding a bad file throws', async () => {
    const text = dir.path('text4.png');
    await writeFile(text, 'not an image');
    const files = [good[0], good[1], text] as string[];
    const got: string[] = [];
    await assert.rejects(async () => {
      for await (const batch of streamBatches(files, contract, { batchSize: 2 }))
        got.push(...batch.files);
    }, ImageError);
    assert.deepEqual(got, [good[0], good[1]]);
  });
});
