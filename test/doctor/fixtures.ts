/** Builders for the doctor tests: real image folders, histories, configs and .npy batches. */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';

type Image = ReturnType<typeof sharp>;
import { Random } from '../../src/util/random.js';

export async function tempDir(prefix = 'doctor-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** A smooth, photo-like image: a random 5x5 colour grid upscaled, so its dHash is stable under re-encoding and distinct per seed. */
export function smooth(seed: number, width = 64, height = 64): Image {
  const random = new Random(seed);
  const grid = Buffer.alloc(5 * 5 * 3);
  for (let i = 0; i < grid.length; i++) grid[i] = random.int(256);
  return sharp(grid, { raw: { width: 5, height: 5, channels: 3 } }).resize(width, height, {
    fit: 'fill',
    kernel: 'cubic',
  });
}

export async function writeImage(
  file: string,
  image: Image,
  format: 'png' | 'jpeg' = 'png',
): Promise<string> {
  await mkdir(join(file, '..'), { recursive: true });
  await (format === 'png' ? image.png() : image.jpeg({ quality: 92 })).toFile(file);
  return file;
}

/** `classes` folders of `perClass` distinct smooth images each (PNG, size x size). */
export async function cleanDataset(
  root: string,
  options: { classes?: readonly string[]; perClass?: number; size?: number; seed?: number } = {},
): Promise<string> {
  const classes = options.classes ?? ['cats', 'dogs'];
  const perClass = options.perClass ?? 12;
  let seed = options.seed ?? 1;
  for (const name of classes) {
    for (let i = 0; i < perClass; i++)
      await writeImage(
        join(root, name, `${name}_${i}.png`),
        smooth(seed++ * 7919, options.size ?? 64, options.size ?? 64),
      );
  }
  return root;
}

export async function writeJson(file: string, value: unknown): Promise<string> {
  await writeFile(file, JSON.stringify(value));
  return file;
}

export interface Epoch {
  loss: number;
  accuracy?: number;
  val_loss?: number;
  val_accuracy?: number;
  lr?: number;
  stage?: string;
}

/** A healthy 2-class fine-tune: loss falls smoothly and flattens, validation tracks it, lr reduced once. */
export function healthyEpochs(n = 12): Epoch[] {
  return Array.from({ length: n }, (_, i) => ({
    loss: 0.08 + 0.55 * Math.exp(-i / 3),
    accuracy: 0.97 - 0.4 * Math.exp(-i / 3),
    val_loss: 0.12 + 0.5 * Math.exp(-i / 3) + 0.004 * Math.sin(i),
    val_accuracy: 0.94 - 0.38 * Math.exp(-i / 3),
    lr: i < 8 ? 1e-4 : 2e-5,
  }));
}

export function kerasCsv(epochs: readonly Epoch[]): string {
  const cols = ['epoch', 'accuracy', 'loss', 'lr', 'val_accuracy', 'val_loss'] as const;
  const cell = (v: number | undefined): string =>
    v === undefined ? '' : Number.isNaN(v) ? 'nan' : String(v);
  return (
    [
      cols.join(','),
      ...epochs.map((e, i) =>
        [
          String(i),
          cell(e.accuracy),
          cell(e.loss),
          cell(e.lr),
          cell(e.val_accuracy),
          cell(e.val_loss),
        ].join(','),
      ),
    ].join('\n') + '\n'
  );
}

export function kerasHistory(epochs: readonly Epoch[]): Record<string, number[]> {
  const out: Record<string, number[]> = { loss: [], acc: [], val_loss: [], val_acc: [] };
  for (const e of epochs) {
    out.loss.push(e.loss);
    out.acc.push(e.accuracy ?? Number.NaN);
    out.val_loss.push(e.val_loss ?? Number.NaN);
    out.val_acc.push(e.val_accuracy ?? Number.NaN);
  }
  return out;
}

/**
 * A batch of `n` natural-looking images as 0..255 integer RGB pixels, NHWC: warm colours
 * (red mean above blue, like ImageNet's 124 vs 104), full range present.
 */
export function rawPixels(n = 2, size = 224, seed = 3): Float32Array {
  const random = new Random(seed);
  const out = new Float32Array(n * size * size * 3);
  for (let p = 0; p < n * size * size; p++) {
    const base = random.int(200);
    out[p * 3] = Math.min(255, base + 40 + random.int(16));
    out[p * 3 + 1] = Math.min(255, base + 20 + random.int(16));
    out[p * 3 + 2] = base + random.int(16);
  }
  out[0] = 255;
  out[1] = 255;
  out[2] = 255;
  out[3] = 0;
  out[4] = 0;
  out[5] = 0;
  return out;
}

/** Applies a per-position affine map to NHWC RGB data, optionally reversing channel order first. */
export function preprocess(
  rgb: Float32Array,
  map: (value: number, channel: number) => number,
  order: 'rgb' | 'bgr',
): Float32Array {
  const out = new Float32Array(rgb.length);
  for (let p = 0; p < rgb.length; p += 3) {
    for (let c = 0; c < 3; c++) out[p + c] = map(rgb[p + (order === 'bgr' ? 2 - c : c)], c);
  }
  return out;
}

export function toNchw(nhwc: Float32Array, n: number, size: number): Float32Array {
  const out = new Float32Array(nhwc.length);
  for (let i = 0; i < n; i++)
    for (let p = 0; p < size * size; p++)
      for (let c = 0; c < 3; c++)
        out[(i * 3 + c) * size * size + p] = nhwc[(i * size * size + p) * 3 + c];
  return out;
}
