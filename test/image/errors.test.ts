import assert from 'node:assert/strict';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { decodeImage, inspectImage } from '../../src/image/decode.js';
import { ImageError, type ImageErrorCode } from '../../src/image/errors.js';
import { loadImage } from '../../src/image/pipeline.js';
import { makeContract } from '../../src/image/contract.js';
import {
  pixels,
  rawInput,
  tempDir,
  writeImage,
  writePngHeaderOnly,
  type TempDir,
} from './fixtures.js';

let dir: TempDir;
let jpeg: Buffer;
let png: Buffer;
before(async () => {
  dir = await tempDir();
  // Noisy content so the compressed data is long enough to cut in the middle.
  const noise = pixels(20, 20, 3, (x, y) => [
    (x * 37 + y * 11) % 256,
    (x * y * 7) % 256,
    (x * 5 + y * 59) % 256,
  ]);
  jpeg = await rawInput(noise, 20, 20, 3).jpeg().toBuffer();
  png = await rawInput(noise, 20, 20, 3).png().toBuffer();
});
after(async () => {
  await dir.cleanup();
});

async function rejectsWith(
  promise: Promise<unknown>,
  code: ImageErrorCode,
  file: string,
  reason: RegExp,
): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ImageError, `expected an ImageError, received ${String(error)}`);
    assert.equal(error.code, code);
    assert.equal(error.file, file);
    assert.ok(error.message.startsWith(`${file}: `), error.message);
    assert.match(error.message, reason);
    return true;
  });
}

describe('bad input raises ImageError naming the file and the reason', () => {
  it('EMPTY_FILE for a zero-byte file', async () => {
    const file = dir.path('empty.png');
    await writeFile(file, '');
    await rejectsWith(decodeImage(file), 'EMPTY_FILE', file, /empty \(0 bytes\)/);
    await rejectsWith(inspectImage(file), 'EMPTY_FILE', file, /empty/);
  });

  it('NOT_AN_IMAGE for text with an image extension', async () => {
    const file = dir.path('notes.jpg');
    await writeFile(file, 'this is a text file, not a JPEG\n');
    await rejectsWith(decodeImage(file), 'NOT_AN_IMAGE', file, /expected an image/);
    await rejectsWith(inspectImage(file), 'NOT_AN_IMAGE', file, /expected an image/);
  });

  it('TRUNCATED for a JPEG cut in half (not a grey tail)', async () => {
    const file = dir.path('half.jpg');
    await writeFile(file, jpeg.subarray(0, jpeg.length >> 1));
    await rejectsWith(decodeImage(file), 'TRUNCATED', file, /ends before the image data/);
  });

  it('TRUNCATED for a JPEG cut inside its header', async () => {
    const file = dir.path('stub.jpg');
    await writeFile(file, jpeg.subarray(0, 20));
    await rejectsWith(decodeImage(file), 'TRUNCATED', file, /ends before/);
  });

  it('TRUNCATED for a PNG cut in half', async () => {
    const file = dir.path('half.png');
    await writeFile(file, png.subarray(0, png.length >> 1));
    await rejectsWith(decodeImage(file), 'TRUNCATED', file, /ends before/);
  });

  it('TRUNCATED through the resize pipeline too', async () => {
    const file = dir.path('half-resized.jpg');
    await writeFile(file, jpeg.subarray(0, jpeg.length >> 1));
    await rejectsWith(
      loadImage(file, makeContract({ mode: 'caffe', inputSize: 8 })),
      'TRUNCATED',
      file,
      /ends before/,
    );
  });

  it('CORRUPT for a complete PNG with damaged image data', async () => {
    const file = dir.path('damaged.png');
    const bytes = Buffer.from(png);
    for (let i = 60; i < 120; i++) bytes[i] = (bytes[i] as number) ^ 0xff;
    await writeFile(file, bytes);
    await rejectsWith(decodeImage(file), 'CORRUPT', file, /damaged/);
  });

  it('PIXEL_LIMIT from the header, before decoding: a truncated 20x20 PNG with a 100-pixel limit', async () => {
    const file = dir.path('limited.png');
    await writeFile(file, png.subarray(0, png.length >> 1));
    // Decoding would fail with TRUNCATED; the limit must win because it is checked first.
    await rejectsWith(
      decodeImage(file, { pixelLimit: 100 }),
      'PIXEL_LIMIT',
      file,
      /20x20 = 400 pixels, above the limit of 100/,
    );
    await rejectsWith(
      decodeImage(file, { pixelLimit: 399 }),
      'PIXEL_LIMIT',
      file,
      /above the limit of 399/,
    );
    await rejectsWith(decodeImage(file, { pixelLimit: 400 }), 'TRUNCATED', file, /ends before/);
  });

  it('PIXEL_LIMIT when center-crop would blow a sliver up before cropping; stretch loads it', async () => {
    const sliver = await writeImage(
      dir.path('sliver.png'),
      rawInput(Buffer.alloc(1000 * 2 * 3, 90), 1000, 2, 3).png(),
    );
    const crop = makeContract({ mode: 'torch', inputSize: 224, resize: 'center-crop' });
    // Short side 2 -> 256 makes the long side 128000: 32.8 megapixels, above a 1-megapixel limit.
    await rejectsWith(
      loadImage(sliver, crop, { pixelLimit: 1_000_000 }),
      'PIXEL_LIMIT',
      sliver,
      /1000x2 image would be resized to 128000x256 before the center-crop, above the limit of 1000000 pixels/,
    );
    const stretched = await loadImage(sliver, makeContract({ mode: 'torch', inputSize: 224 }), {
      pixelLimit: 1_000_000,
    });
    assert.deepEqual([stretched.width, stretched.height], [224, 224]);
  });

  it('PIXEL_LIMIT default is 100 megapixels: a header declaring 10001x10000', async () => {
    const bomb = await writePngHeaderOnly(dir.path('bomb.png'), 10001, 10000);
    await rejectsWith(
      decodeImage(bomb),
      'PIXEL_LIMIT',
      bomb,
      /10001x10000 = 100010000 pixels, above the limit of 100000000/,
    );
    const fine = await writePngHeaderOnly(dir.path('not-a-bomb.png'), 10000, 10000);
    await rejectsWith(decodeImage(fine), 'TRUNCATED', fine, /ends before/);
  });

  it('UNREADABLE for a missing file and for a directory', async () => {
    const missing = dir.path('missing.png');
    await rejectsWith(decodeImage(missing), 'UNREADABLE', missing, /no such file/);
    await rejectsWith(inspectImage(missing), 'UNREADABLE', missing, /no such file/);
    const folder = dir.path('');
    await rejectsWith(decodeImage(folder), 'UNREADABLE', folder, /received a directory/);
  });

  it('UNREADABLE without read permission', async (t) => {
    if (process.getuid?.() === 0) {
      t.skip('root reads any file');
      return;
    }
    const file = await writeImage(
      dir.path('locked.png'),
      rawInput(Buffer.alloc(12), 2, 2, 3).png(),
    );
    await chmod(file, 0o000);
    await rejectsWith(decodeImage(file), 'UNREADABLE', file, /permission denied/);
    await chmod(file, 0o644);
    assert.ok((await readFile(file)).length > 0);
  });

  it('rejects invalid options as usage errors', async () => {
    const file = await writeImage(dir.path('ok.png'), rawInput(Buffer.alloc(12), 2, 2, 3).png());
    await assert.rejects(
      decodeImage(file, { pixelLimit: 0 }),
      /pixelLimit: expected a positive number of pixels, received 0/,
    );
    await assert.rejects(
      decodeImage(file, { background: [0, 300, 0] }),
      /background: expected three integers in 0\.\.255/,
    );
  });
});
