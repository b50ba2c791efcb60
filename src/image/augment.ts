/**
 * Training-time augmentation on decoded, already resized images (224x224 is small, so plain
 * TypeScript loops are fast enough and keep results bit-identical across machines). Ops run in the
 * order given; each draws a fixed number of values from `rng`, so a seed and an op list fully
 * determine the output. Photometric ops follow torchvision's ColorJitter definitions.
 */
import type { RgbImage } from './decode.js';
import type { Random } from '../util/random.js';

/** The augmentations, in no particular order: `--augment` and the config's `augment` draw from these. */
export const AUGMENT_NAMES = ['flip', 'rotate', 'zoom', 'brightness', 'contrast'] as const;
export type AugmentName = (typeof AUGMENT_NAMES)[number];

export interface AugmentParams {
  /** Probability of a horizontal flip. */
  readonly flipProbability: number;
  /** Rotation angle uniform in [-maxRotation, maxRotation] degrees. */
  readonly maxRotation: number;
  /** `edge` repeats the border pixels (Keras' fill_mode='nearest'); `black` fills with 0. */
  readonly rotateFill: 'edge' | 'black';
  /** Zoom crops a random window of this fraction of the area (uniform up to 1), same aspect. */
  readonly zoomMinArea: number;
  /** Brightness factor uniform in [1 - brightness, 1 + brightness]: pixel * factor. */
  readonly brightness: number;
  /** Contrast factor uniform in [1 - contrast, 1 + contrast]: blend with the mean grey level. */
  readonly contrast: number;
}

export const DEFAULT_AUGMENT_PARAMS: AugmentParams = {
  flipProbability: 0.5,
  maxRotation: 15,
  rotateFill: 'edge',
  zoomMinArea: 0.8,
  brightness: 0.2,
  contrast: 0.2,
};

type Op = (image: RgbImage, rng: Random, params: AugmentParams) => RgbImage;

const OPS: Readonly<Record<AugmentName, Op>> = {
  flip: (image, rng, params) =>
    rng.next() < params.flipProbability ? flipHorizontal(image) : image,
  rotate: (image, rng, params) =>
    rotate(
      image,
      (rng.uniform(-params.maxRotation, params.maxRotation) * Math.PI) / 180,
      params.rotateFill,
    ),
  zoom: (image, rng, params) => zoom(image, rng, params.zoomMinArea),
  brightness: (image, rng, params) =>
    brightness(image, rng.uniform(1 - params.brightness, 1 + params.brightness)),
  contrast: (image, rng, params) =>
    contrast(image, rng.uniform(1 - params.contrast, 1 + params.contrast)),
};

export function augmentImage(
  image: RgbImage,
  ops: readonly AugmentName[],
  rng: Random,
  params: Partial<AugmentParams> = {},
): RgbImage {
  const full: AugmentParams = { ...DEFAULT_AUGMENT_PARAMS, ...params };
  let out = image;
  for (const op of ops) out = OPS[op](out, rng, full);
  return out;
}

export function flipHorizontal(image: RgbImage): RgbImage {
  const { width, height, data } = image;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < height; y++) {
    const row = y * width * 3;
    for (let x = 0; x < width; x++) {
      const from = row + x * 3;
      const to = row + (width - 1 - x) * 3;
      out[to] = data[from];
      out[to + 1] = data[from + 1];
      out[to + 2] = data[from + 2];
    }
  }
  return { data: out, width, height };
}

/** Rotation about the image centre (counter-clockwise for positive angles), bilinear sampling. */
export function rotate(image: RgbImage, radians: number, fill: 'edge' | 'black'): RgbImage {
  const { width, height } = image;
  const out = new Uint8ClampedArray(width * height * 3);
  const cx = (width - 1) / 2;
  const cy = (height - 1) / 2;
  const cos = Math.cos(radians);
  const sin = Math.sin(radians);
  const rgb = [0, 0, 0];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      // Inverse map: where in the source does this output pixel come from?
      const dx = x - cx;
      const dy = y - cy;
      const sx = cx + cos * dx - sin * dy;
      const sy = cy + sin * dx + cos * dy;
      const o = (y * width + x) * 3;
      if (fill === 'black' && (sx < -0.5 || sy < -0.5 || sx > width - 0.5 || sy > height - 0.5))
        continue;
      sampleBilinear(image, sx, sy, rgb);
      out[o] = rgb[0];
      out[o + 1] = rgb[1];
      out[o + 2] = rgb[2];
    }
  }
  return { data: new Uint8Array(out.buffer), width, height };
}

/** A random window of `minArea`..1 of the area, same aspect ratio, resized back to full size. */
export function zoom(image: RgbImage, rng: Random, minArea: number): RgbImage {
  const side = Math.sqrt(rng.uniform(minArea, 1));
  const cropW = image.width * side;
  const cropH = image.height * side;
  const left = rng.uniform(0, image.width - cropW);
  const top = rng.uniform(0, image.height - cropH);
  return resampleWindow(image, left, top, cropW, cropH);
}

export function brightness(image: RgbImage, factor: number): RgbImage {
  const out = new Uint8ClampedArray(image.data.length);
  for (let i = 0; i < out.length; i++) out[i] = image.data[i] * factor;
  return { data: new Uint8Array(out.buffer), width: image.width, height: image.height };
}

/** torchvision adjust_contrast: blend with the mean of the ITU-R 601 grey image. */
export function contrast(image: RgbImage, factor: number): RgbImage {
  const { data } = image;
  let sum = 0;
  for (let i = 0; i < data.length; i += 3)
    sum += 0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2];
  const mean = sum / (data.length / 3);
  const offset = (1 - factor) * mean;
  const out = new Uint8ClampedArray(data.length);
  for (let i = 0; i < out.length; i++) out[i] = data[i] * factor + offset;
  return { data: new Uint8Array(out.buffer), width: image.width, height: image.height };
}

/** Bilinear resample of the window [left, left+w) x [top, top+h) (pixel-area coordinates) to full size. */
function resampleWindow(
  image: RgbImage,
  left: number,
  top: number,
  w: number,
  h: number,
): RgbImage {
  const { width, height } = image;
  const out = new Uint8ClampedArray(width * height * 3);
  const sxScale = w / width;
  const syScale = h / height;
  const rgb = [0, 0, 0];
  for (let y = 0; y < height; y++) {
    const sy = top + (y + 0.5) * syScale - 0.5;
    for (let x = 0; x < width; x++) {
      sampleBilinear(image, left + (x + 0.5) * sxScale - 0.5, sy, rgb);
      const o = (y * width + x) * 3;
      out[o] = rgb[0];
      out[o + 1] = rgb[1];
      out[o + 2] = rgb[2];
    }
  }
  return { data: new Uint8Array(out.buffer), width, height };
}

/** Bilinear sample at pixel-centre coordinates, clamping to the edge; writes into `rgb`. */
function sampleBilinear(image: RgbImage, sx: number, sy: number, rgb: number[]): void {
  const { width, height, data } = image;
  const x = Math.min(Math.max(sx, 0), width - 1);
  const y = Math.min(Math.max(sy, 0), height - 1);
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  const x1 = Math.min(x0 + 1, width - 1);
  const y1 = Math.min(y0 + 1, height - 1);
  const fx = x - x0;
  const fy = y - y0;
  const a = (y0 * width + x0) * 3;
  const b = (y0 * width + x1) * 3;
  const c = (y1 * width + x0) * 3;
  const d = (y1 * width + x1) * 3;
  for (let k = 0; k < 3; k++) {
    const top = data[a + k] + (data[b + k] - data[a + k]) * fx;
    const bottom = data[c + k] + (data[d + k] - data[c + k]) * fx;
    rgb[k] = top + (bottom - top) * fy;
  }
}
