/**
 * Generates the bundled sample dataset `samples/shapes/` (3 classes of coloured shapes on varied
 * backgrounds, 64x64 PNG). Committed output; rerun only to change the sample:
 *   node --import tsx scripts/make-sample.ts
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { Random } from '../src/util/random.js';

const SIZE = 64;
const PER_CLASS = 24;
const OUT = join(import.meta.dirname, '..', 'samples', 'shapes');

type Shape = 'circle' | 'square' | 'triangle';

function svgFor(shape: Shape, rng: Random): string {
  const hue = rng.int(360);
  const bgHue = (hue + 120 + rng.int(120)) % 360;
  const r = 12 + rng.int(10);
  const cx = r + 4 + rng.int(SIZE - 2 * r - 8);
  const cy = r + 4 + rng.int(SIZE - 2 * r - 8);
  const fill = `hsl(${hue},70%,50%)`;
  const body =
    shape === 'circle'
      ? `<circle cx="${cx}" cy="${cy}" r="${r}" fill="${fill}"/>`
      : shape === 'square'
        ? `<rect x="${cx - r}" y="${cy - r}" width="${2 * r}" height="${2 * r}" fill="${fill}"/>`
        : `<polygon points="${cx},${cy - r} ${cx - r},${cy + r} ${cx + r},${cy + r}" fill="${fill}"/>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${SIZE}" height="${SIZE}"><rect width="100%" height="100%" fill="hsl(${bgHue},30%,85%)"/>${body}</svg>`;
}

const rng = new Random(2026);
await rm(OUT, { recursive: true, force: true });
for (const shape of ['circle', 'square', 'triangle'] as const) {
  await mkdir(join(OUT, shape), { recursive: true });
  for (let i = 0; i < PER_CLASS; i++) {
    await sharp(Buffer.from(svgFor(shape, rng))).png({ palette: true }).toFile(join(OUT, shape, `${shape}_${String(i).padStart(2, '0')}.png`));
  }
}
console.log(`wrote ${3 * PER_CLASS} images to ${OUT}`);
