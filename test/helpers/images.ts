/** Real image files for pipeline tests: seeded noise encoded by sharp, plus a file that only pretends to be one. */
import { writeFile } from 'node:fs/promises';
import sharp from 'sharp';
import { Random } from '../../src/util/random.js';

export async function writeNoiseImage(
  file: string,
  width: number,
  height: number,
  seed: number,
): Promise<void> {
  const rng = new Random(seed);
  const pixels = Buffer.from(
    Array.from({ length: width * height * 3 }, () => Math.floor(rng.next() * 256)),
  );
  const image = sharp(pixels, { raw: { width, height, channels: 3 } });
  await (file.endsWith('.png') ? image.png() : image.jpeg({ quality: 90 })).toFile(file);
}

/** Text behind an image extension: decoding fails, batch functions must skip it. */
export async function writeFakeImage(file: string): Promise<void> {
  await writeFile(file, 'this is not a JPEG\n');
}
