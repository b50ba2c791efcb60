/** Image folders for the probe and feature tests: classes told apart by colour, drawn from a seeded Random. */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { Random } from '../../src/util/random.js';

/** Class name -> dominant RGB colour. */
export const COLOURS: Readonly<Record<string, readonly [number, number, number]>> = {
  blue: [40, 60, 220],
  green: [40, 200, 60],
  red: [220, 50, 40],
};

/** A `size` x `size` PNG: the class colour with a random 4x4 grid of +-40 variations, smoothly upscaled. */
export async function writeColourImage(
  file: string,
  colour: readonly number[],
  size: number,
  random: Random,
): Promise<void> {
  const grid = Buffer.alloc(4 * 4 * 3);
  for (let i = 0; i < grid.length; i++)
    grid[i] = Math.max(0, Math.min(255, (colour[i % 3] as number) + random.int(81) - 40));
  await mkdir(join(file, '..'), { recursive: true });
  await sharp(grid, { raw: { width: 4, height: 4, channels: 3 } })
    .resize(size, size, { fit: 'fill', kernel: 'cubic' })
    .png()
    .toFile(file);
}

/** `root/<class>/<class>_NN.png`, `perClass` per colour class. */
export async function colourDataset(
  root: string,
  perClass: number,
  size = 32,
  seed = 5,
): Promise<string> {
  const random = new Random(seed);
  for (const [name, colour] of Object.entries(COLOURS)) {
    for (let i = 0; i < perClass; i++)
      await writeColourImage(
        join(root, name, `${name}_${String(i).padStart(2, '0')}.png`),
        colour,
        size,
        random,
      );
  }
  return root;
}
