/**
 * Real images for benchmarks and the demo without the network: Debian's `dataset-fashion-mnist`
 * (70,000 grayscale 28x28 images, MIT licence) written out as PNG class folders. When the package
 * is not installed, callers fall back to generated images and say so.
 */
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import sharp from 'sharp';

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';
export const FASHION_MNIST_CLASSES = [
  'tshirt',
  'trouser',
  'pullover',
  'dress',
  'coat',
  'sandal',
  'shirt',
  'sneaker',
  'bag',
  'boot',
];

export async function fashionMnistAvailable(): Promise<boolean> {
  return (
    (await stat(join(FASHION_MNIST_DIR, 'train-images-idx3-ubyte.gz')).catch(() => undefined)) !==
    undefined
  );
}

/** Writes the first `perClass` images of each of `classes` (indices) from `set` as PNGs under `dir/<class>/`. */
export async function writeFashionMnist(
  dir: string,
  classes: readonly number[],
  perClass: number,
  set: 'train' | 't10k' = 'train',
): Promise<number> {
  const images = gunzipSync(await readFile(join(FASHION_MNIST_DIR, `${set}-images-idx3-ubyte.gz`)));
  const labels = gunzipSync(await readFile(join(FASHION_MNIST_DIR, `${set}-labels-idx1-ubyte.gz`)));
  const count = images.readUInt32BE(4);
  const rows = images.readUInt32BE(8);
  const cols = images.readUInt32BE(12);
  const written = new Map<number, number>(classes.map((c) => [c, 0]));
  for (const c of classes)
    await mkdir(join(dir, FASHION_MNIST_CLASSES[c] as string), { recursive: true });
  let total = 0;
  for (let i = 0; i < count && total < classes.length * perClass; i++) {
    const label = labels[8 + i] as number;
    const n = written.get(label);
    if (n === undefined || n >= perClass) continue;
    const pixels = images.subarray(16 + i * rows * cols, 16 + (i + 1) * rows * cols);
    await sharp(pixels, { raw: { width: cols, height: rows, channels: 1 } })
      .png()
      .toFile(join(dir, FASHION_MNIST_CLASSES[label] as string, `${i}.png`));
    written.set(label, n + 1);
    total++;
  }
  return total;
}
