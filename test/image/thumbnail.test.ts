/** Report thumbnails read images as training does: EXIF rotation, alpha, bad files. */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { isImageError, THUMB_SIZE, thumbnailJpeg } from '../../src/image/index.js';

test('a thumbnail is upright (EXIF), fits THUMB_SIZE, and shows transparency as white', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vggkit-thumb-'));
  try {
    // 200x100 landscape stored with orientation 6 (rotate 90° clockwise): shown as portrait.
    const rotated = join(dir, 'rotated.jpg');
    const red = Buffer.alloc(200 * 100 * 3, 0);
    for (let i = 0; i < red.length; i += 3) red[i] = 220;
    await sharp(red, { raw: { width: 200, height: 100, channels: 3 } })
      .jpeg()
      .withMetadata({ orientation: 6 })
      .toFile(rotated);
    const upright = await sharp(await thumbnailJpeg(rotated)).metadata();
    assert.deepEqual([upright.width, upright.height], [THUMB_SIZE / 2, THUMB_SIZE]);

    const clear = join(dir, 'clear.png');
    await sharp(Buffer.alloc(40 * 40 * 4, 0), { raw: { width: 40, height: 40, channels: 4 } })
      .png()
      .toFile(clear);
    const { data } = await sharp(await thumbnailJpeg(clear))
      .raw()
      .toBuffer({ resolveWithObject: true });
    assert.ok(
      data.every((v) => v > 245),
      'a fully transparent image is white',
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a corrupt file is the decoder’s ImageError naming the file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vggkit-thumb-'));
  try {
    const bad = join(dir, 'bad.jpg');
    await writeFile(bad, Buffer.from('not a jpeg at all'));
    await assert.rejects(thumbnailJpeg(bad), (error: unknown) => {
      assert.ok(isImageError(error), String(error));
      assert.match((error as Error).message, /bad\.jpg/);
      return true;
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
