/**
 * A small image-classification dataset the training tests generate: one folder per shape (circle,
 * square, triangle), each image a filled shape of random size and position on a random dark grey
 * background, drawn pixel by pixel from a seeded Random and written as PNG by sharp. The fill is
 * tinted by class (circles reddish, squares greenish, triangles bluish, other channels random) so
 * that a randomly initialised VGG at 32x32 (block5_pool is 1x1) learns it within a few epochs from
 * ~10 images per class: these tests check the trainer, not how well random conv features see geometry.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { Random } from '../../src/util/random.js';

export const SHAPES = ['circle', 'square', 'triangle'] as const;
export type Shape = (typeof SHAPES)[number];

export interface ShapesOptions {
  readonly perClass: number;
  /** Side of the square images in pixels. */
  readonly size: number;
  readonly seed: number;
}

function inside(shape: Shape, x: number, y: number, cx: number, cy: number, r: number): boolean {
  const dx = x - cx;
  const dy = y - cy;
  if (shape === 'circle') return dx * dx + dy * dy <= r * r;
  if (shape === 'square') return Math.abs(dx) <= r * 0.8 && Math.abs(dy) <= r * 0.8;
  // Upward triangle: apex at (cx, cy - r), base at y = cy + r spanning cx ± r.
  const t = (dy + r) / (2 * r);
  return t >= 0 && t <= 1 && Math.abs(dx) <= t * r;
}

/** Channel `dominant` in [200, 256), the others in [0, 120). */
function tint(rng: Random, dominant: number): [number, number, number] {
  const c: [number, number, number] = [rng.int(120), rng.int(120), rng.int(120)];
  c[dominant] = 200 + rng.int(56);
  return c;
}

export async function writeShapeImage(
  file: string,
  shape: Shape,
  size: number,
  rng: Random,
): Promise<void> {
  const grey = rng.int(48);
  const background = [grey, grey, grey];
  const fill = tint(rng, SHAPES.indexOf(shape));
  const r = size * rng.uniform(0.3, 0.45);
  const cx = rng.uniform(r, size - r);
  const cy = rng.uniform(r, size - r);
  const pixels = Buffer.alloc(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const c = inside(shape, x + 0.5, y + 0.5, cx, cy, r) ? fill : background;
      pixels.set(c, (y * size + x) * 3);
    }
  }
  await sharp(pixels, { raw: { width: size, height: size, channels: 3 } })
    .png()
    .toFile(file);
}

/** Writes `dir/<shape>/<shape>_NN.png` for every shape; returns the class folder names. */
export async function writeShapesDataset(dir: string, options: ShapesOptions): Promise<string[]> {
  const rng = new Random(options.seed);
  for (const shape of SHAPES) {
    await mkdir(join(dir, shape), { recursive: true });
    for (let i = 0; i < options.perClass; i++) {
      await writeShapeImage(
        join(dir, shape, `${shape}_${String(i).padStart(2, '0')}.png`),
        shape,
        options.size,
        rng,
      );
    }
  }
  return [...SHAPES];
}
