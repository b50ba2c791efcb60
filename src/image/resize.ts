/**
 * The contract's resize modes. `planResize` is pure arithmetic (the sizes torchvision and Keras
 * would pick). Downscaling, the common case, runs in libvips: `applyResize` appends the plan to the
 * decode pipeline so large JPEGs shrink while loading (decoded at 1/2, 1/4 or 1/8 scale).
 * Upscaling runs Pillow's algorithm in TypeScript (resample.ts), because libvips' upscaling is
 * aligned to the top-left corner rather than to pixel centres.
 *
 * Interpolation -> libvips kernel (downscaling):
 * - bilinear -> `linear`: a triangle filter widened by the reduction factor (antialiased), the same
 *   definition as PIL's `Image.resize(BILINEAR)`, which Keras' `load_img` and torchvision's PIL
 *   path use. libvips first box-shrinks by the integer part of the factor, then filters the rest,
 *   so against an independent implementation of PIL (test/image/resize.test.ts) it agrees within
 *   1 level on gradients and within a few levels on textured content. TensorFlow's
 *   `tf.image.resize` (Keras `image_dataset_from_directory`) does not antialias, so when
 *   downscaling it differs from both.
 * - nearest -> `nearest`, bicubic -> `cubic` (Catmull-Rom, as PIL's BICUBIC with a = -0.5),
 *   lanczos -> `lanczos3` (PIL's LANCZOS).
 */
import sharp, { type KernelEnum, type Sharp } from 'sharp';
import type { Interpolation, PreprocessContract, ResizeMode, Triple } from './contract.js';
import { DEFAULT_BACKGROUND, type RgbImage } from './decode.js';
import { cropRgb, padRgb, resampleRgb } from './resample.js';

/** The part of a contract that decides geometry. */
export type ResizeSpec = Pick<PreprocessContract, 'inputSize' | 'resize' | 'interpolation'>;

export interface Box {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

export interface Margins {
  readonly top: number;
  readonly bottom: number;
  readonly left: number;
  readonly right: number;
}

/** Resample to width x height, then crop (center-crop) or add margins (pad). */
export interface ResizePlan {
  readonly mode: ResizeMode;
  readonly width: number;
  readonly height: number;
  readonly crop: Box | undefined;
  readonly pad: Margins | undefined;
}

export const SHARP_KERNELS: Readonly<Record<Interpolation, keyof KernelEnum>> = {
  bilinear: 'linear',
  nearest: 'nearest',
  bicubic: 'cubic',
  lanczos: 'lanczos3',
};

/** torchvision's ImageNet recipe: Resize(256) then CenterCrop(224), i.e. the ratio 256/224. */
export function centerCropResizeSize(target: number): number {
  return Math.round((target * 256) / 224);
}

export function planResize(srcWidth: number, srcHeight: number, spec: ResizeSpec): ResizePlan {
  const [height, width] = spec.inputSize;
  if (spec.resize === 'stretch')
    return { mode: 'stretch', width, height, crop: undefined, pad: undefined };
  if (spec.resize === 'center-crop') return planCenterCrop(srcWidth, srcHeight, width, height);
  return planPad(srcWidth, srcHeight, width, height);
}

/**
 * torchvision `Resize(s)` scales the short side to s and the long side to int(s * long / short)
 * (truncated), then `CenterCrop` starts at Python round((size - crop) / 2). For a non-square
 * target each side is scaled by 256/224 and the image covers that box, which for a square target
 * is exactly torchvision's rule.
 */
function planCenterCrop(
  srcWidth: number,
  srcHeight: number,
  width: number,
  height: number,
): ResizePlan {
  const boxW = centerCropResizeSize(width);
  const boxH = centerCropResizeSize(height);
  let resizedW: number;
  let resizedH: number;
  if (boxH / srcHeight >= boxW / srcWidth) {
    resizedH = boxH;
    resizedW = Math.max(boxW, Math.floor((boxH * srcWidth) / srcHeight));
  } else {
    resizedW = boxW;
    resizedH = Math.max(boxH, Math.floor((boxW * srcHeight) / srcWidth));
  }
  const crop: Box = {
    left: roundHalfEven((resizedW - width) / 2),
    top: roundHalfEven((resizedH - height) / 2),
    width,
    height,
  };
  return { mode: 'center-crop', width: resizedW, height: resizedH, crop, pad: undefined };
}

/** Letterbox: the whole image fits, aspect kept, centred; the margins take the background colour. */
function planPad(srcWidth: number, srcHeight: number, width: number, height: number): ResizePlan {
  const scale = Math.min(width / srcWidth, height / srcHeight);
  const innerW = clamp(Math.round(srcWidth * scale), 1, width);
  const innerH = clamp(Math.round(srcHeight * scale), 1, height);
  const left = Math.floor((width - innerW) / 2);
  const top = Math.floor((height - innerH) / 2);
  const pad: Margins = { top, bottom: height - innerH - top, left, right: width - innerW - left };
  return { mode: 'pad', width: innerW, height: innerH, crop: undefined, pad };
}

/** Appends the plan to a pipeline whose pixels are already flattened sRGB (see decode.ts). */
export function applyResize(
  pipeline: Sharp,
  plan: ResizePlan,
  interpolation: Interpolation,
  background: Triple = DEFAULT_BACKGROUND,
): Sharp {
  let out = pipeline.resize(plan.width, plan.height, {
    fit: 'fill',
    kernel: SHARP_KERNELS[interpolation],
  });
  // Called after resize(), extract and extend operate on the resized image.
  if (plan.crop !== undefined) out = out.extract(plan.crop);
  if (plan.pad !== undefined) {
    const [r, g, b] = background;
    out = out.extend({ ...plan.pad, background: { r, g, b } });
  }
  return out;
}

/** True when either side grows: then the resample runs in TypeScript (see the top of this file). */
export function upscales(plan: ResizePlan, srcWidth: number, srcHeight: number): boolean {
  return plan.width > srcWidth || plan.height > srcHeight;
}

/** The plan on pixels already in memory, with Pillow's resampling. */
export function applyResizeInMemory(
  image: RgbImage,
  plan: ResizePlan,
  interpolation: Interpolation,
  background: Triple = DEFAULT_BACKGROUND,
): RgbImage {
  const same = plan.width === image.width && plan.height === image.height;
  let out = same ? image : resampleRgb(image, plan.width, plan.height, interpolation);
  if (plan.crop !== undefined) out = cropRgb(out, plan.crop);
  if (plan.pad !== undefined) out = padRgb(out, plan.pad, background);
  return out;
}

/** Resizes pixels already in memory (for callers that decoded once and need several sizes). */
export async function resizeImage(
  image: RgbImage,
  spec: ResizeSpec,
  background: Triple = DEFAULT_BACKGROUND,
): Promise<RgbImage> {
  const plan = planResize(image.width, image.height, spec);
  if (upscales(plan, image.width, image.height))
    return applyResizeInMemory(image, plan, spec.interpolation, background);
  const input = sharp(image.data, {
    raw: { width: image.width, height: image.height, channels: 3 },
  });
  const { data, info } = await applyResize(input, plan, spec.interpolation, background)
    .raw()
    .toBuffer({ resolveWithObject: true });
  return {
    data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    width: info.width,
    height: info.height,
  };
}

/** Python 3's round(): halves go to the even neighbour (torchvision's crop offsets use it). */
export function roundHalfEven(value: number): number {
  const floor = Math.floor(value);
  const diff = value - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}
