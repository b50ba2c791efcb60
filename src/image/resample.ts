/**
 * Pillow's resampling (`Image.resize`, from Pillow's Resample.c) on in-memory RGB images, used
 * when the contract upscales. libvips aligns upscaled images to the top-left: its output is
 * shifted by (1 - 1/f)/2 source pixels against PIL, Keras' `load_img` and torchvision (a quarter
 * pixel at 2x, up to 10 levels on textured small images). Small images are cheap to upscale
 * here, so vggkit gives the reference result instead; downscaling stays in libvips (resize.ts).
 */
import type { Interpolation, Triple } from './contract.js';
import type { RgbImage } from './decode.js';
import type { Box, Margins } from './resize.js';

interface Filter {
  readonly support: number;
  readonly weight: (x: number) => number;
}

const sinc = (x: number) => (x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x));

/** Pillow's filters: triangle, Keys cubic with a = -0.5, Lanczos with 3 lobes. */
const FILTERS: Readonly<Record<Exclude<Interpolation, 'nearest'>, Filter>> = {
  bilinear: { support: 1, weight: (x) => Math.max(0, 1 - Math.abs(x)) },
  bicubic: {
    support: 2,
    weight: (x) => {
      const a = -0.5;
      const t = Math.abs(x);
      if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
      if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
      return 0;
    },
  },
  lanczos: { support: 3, weight: (x) => (Math.abs(x) < 3 ? sinc(x) * sinc(x / 3) : 0) },
};

/**
 * Pillow resamples in fixed point: weights are rounded to integers with 22 fractional bits, each
 * pass adds half a unit, shifts and clips to 0..255, and the horizontal pass is stored as 8-bit
 * before the vertical one reads it. Doing the same gives Pillow's bytes, not just values within a
 * level of them (halves round up, not to even, and overshoot is clipped between the passes).
 */
const PRECISION_BITS = 32 - 8 - 2;
const ONE = 2 ** PRECISION_BITS;
const HALF = 2 ** (PRECISION_BITS - 1);

/** Per output index: the first input index and the fixed-point weights that follow it. */
interface Taps {
  readonly first: Int32Array;
  readonly count: Int32Array;
  readonly weights: Int32Array;
  readonly stride: number;
}

function taps(inSize: number, outSize: number, interpolation: Interpolation): Taps {
  const scale = inSize / outSize;
  if (interpolation === 'nearest') {
    // Pillow's NEAREST takes the input pixel under the output pixel's centre.
    const first = Int32Array.from({ length: outSize }, (_, o) =>
      Math.min(inSize - 1, Math.floor((o + 0.5) * scale)),
    );
    return {
      first,
      count: new Int32Array(outSize).fill(1),
      weights: new Int32Array(outSize).fill(ONE),
      stride: 1,
    };
  }
  const filter = FILTERS[interpolation];
  const filterScale = Math.max(scale, 1);
  const ss = 1 / filterScale;
  const support = filter.support * filterScale;
  const stride = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * stride);
  const raw = new Float64Array(stride);
  for (let o = 0; o < outSize; o++) {
    const center = (o + 0.5) * scale;
    const min = Math.max(0, Math.trunc(center - support + 0.5));
    const max = Math.min(inSize, Math.trunc(center + support + 0.5));
    let total = 0;
    for (let i = min; i < max; i++) {
      raw[i - min] = filter.weight((i - center + 0.5) * ss);
      total += raw[i - min];
    }
    for (let i = 0; i < max - min; i++) {
      const w = total === 0 ? raw[i] : raw[i] / total;
      weights[o * stride + i] = Math.trunc(w < 0 ? w * ONE - 0.5 : w * ONE + 0.5);
    }
    first[o] = min;
    count[o] = max - min;
  }
  return { first, count, weights, stride };
}

function clip8(sum: number): number {
  return Math.min(255, Math.max(0, Math.floor(sum / ONE)));
}

/** Separable resample as Pillow runs it: rows into an 8-bit image, then columns. */
export function resampleRgb(
  image: RgbImage,
  width: number,
  height: number,
  interpolation: Interpolation,
): RgbImage {
  const { data, width: inW, height: inH } = image;
  const tx = taps(inW, width, interpolation);
  const ty = taps(inH, height, interpolation);
  const rows = new Uint8Array(inH * width * 3);
  for (let y = 0; y < inH; y++) {
    for (let x = 0; x < width; x++) {
      let r = HALF;
      let g = HALF;
      let b = HALF;
      for (let k = 0; k < tx.count[x]; k++) {
        const w = tx.weights[x * tx.stride + k];
        const s = (y * inW + tx.first[x] + k) * 3;
        r += w * data[s];
        g += w * data[s + 1];
        b += w * data[s + 2];
      }
      const o = (y * width + x) * 3;
      rows[o] = clip8(r);
      rows[o + 1] = clip8(g);
      rows[o + 2] = clip8(b);
    }
  }
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let r = HALF;
      let g = HALF;
      let b = HALF;
      for (let k = 0; k < ty.count[y]; k++) {
        const w = ty.weights[y * ty.stride + k];
        const s = ((ty.first[y] + k) * width + x) * 3;
        r += w * rows[s];
        g += w * rows[s + 1];
        b += w * rows[s + 2];
      }
      const o = (y * width + x) * 3;
      out[o] = clip8(r);
      out[o + 1] = clip8(g);
      out[o + 2] = clip8(b);
    }
  }
  return { data: out, width, height };
}

export function cropRgb(image: RgbImage, box: Box): RgbImage {
  const out = new Uint8Array(box.width * box.height * 3);
  for (let y = 0; y < box.height; y++) {
    const from = ((box.top + y) * image.width + box.left) * 3;
    out.set(image.data.subarray(from, from + box.width * 3), y * box.width * 3);
  }
  return { data: out, width: box.width, height: box.height };
}

export function padRgb(image: RgbImage, margins: Margins, background: Triple): RgbImage {
  const width = image.width + margins.left + margins.right;
  const height = image.height + margins.top + margins.bottom;
  const out = new Uint8Array(width * height * 3);
  for (let i = 0; i < out.length; i += 3) out.set(background, i);
  for (let y = 0; y < image.height; y++) {
    const from = y * image.width * 3;
    out.set(
      image.data.subarray(from, from + image.width * 3),
      ((margins.top + y) * width + margins.left) * 3,
    );
  }
  return { data: out, width, height };
}
