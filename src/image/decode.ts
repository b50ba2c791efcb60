/**
 * Any image file -> 8-bit sRGB RGB pixels (HWC), through one libvips pipeline per file.
 *
 * `openImage` checks the file and its header (size, format, declared pixel count) before any
 * pixel is decoded, and returns a sharp pipeline already set to autorotate, flatten alpha onto the
 * background and convert to sRGB. `decodeImage` runs it as is; the resize stage (pipeline.ts)
 * appends its resize to the same pipeline so libvips can shrink large JPEGs while loading them.
 */
import { open, stat } from 'node:fs/promises';
import sharp, { type Metadata, type OutputInfo, type Sharp } from 'sharp';
import type { Triple } from './contract.js';
import { ImageError } from './errors.js';
import { invalidOption } from '../util/errors.js';

/** 8-bit sRGB RGB, row-major HWC: pixel (x, y) channel c is `data[(y * width + x) * 3 + c]`. */
export interface RgbImage {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
}

export interface DecodeOptions {
  /** Colour transparent pixels are flattened onto, 0..255 RGB; default black. */
  readonly background?: Triple;
  /** Largest accepted width*height as declared by the header; default 100 megapixels. */
  readonly pixelLimit?: number;
}

export const DEFAULT_PIXEL_LIMIT = 100_000_000;
export const DEFAULT_BACKGROUND: Triple = [0, 0, 0];

/** What the header says, for the doctor: nothing here needs the pixels decoded. */
export interface ImageInfo {
  readonly file: string;
  /** libvips loader name: jpeg, png, webp, gif, tiff, heif (AVIF), … */
  readonly format: string;
  /** Width and height as displayed, i.e. after EXIF orientation. */
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  /** libvips interpretation: srgb, b-w, cmyk, rgb16, grey16, … */
  readonly space: string;
  /** libvips band format: uchar (8-bit), ushort (16-bit), float, … */
  readonly depth: string;
  /** Bits per sample where the format records it (PNG, GIF, TIFF, AVIF). */
  readonly bitsPerSample: number | undefined;
  readonly hasAlpha: boolean;
  readonly isPalette: boolean;
  readonly hasProfile: boolean;
  /** EXIF orientation 1..8; 1 when the file has none. */
  readonly orientation: number;
  readonly bytes: number;
}

export interface OpenedImage {
  readonly info: ImageInfo;
  /** Autorotated, alpha flattened, sRGB; add a resize and call `runPipeline`. */
  readonly pipeline: Sharp;
}

let sharpConfigured = false;

/**
 * One libvips thread per image: vggkit decodes several files at once (see pipeline.ts), which
 * beats splitting a small image across threads, and leaves the cores to ONNX Runtime otherwise.
 * The libvips operation cache is off because each file is decoded once per pass and a cached
 * result could outlive a file rewritten under the same name.
 */
function configureSharp(): void {
  if (sharpConfigured) return;
  sharp.concurrency(1);
  sharp.cache(false);
  sharpConfigured = true;
}

export async function inspectImage(file: string): Promise<ImageInfo> {
  const { info } = await readHeader(file);
  return info;
}

/** Header checks, then a pipeline ready to run; no pixel data is decoded yet. */
export async function openImage(file: string, options: DecodeOptions = {}): Promise<OpenedImage> {
  const pixelLimit = checkPixelLimit(options.pixelLimit ?? DEFAULT_PIXEL_LIMIT);
  const [r, g, b] = checkBackground(options.background ?? DEFAULT_BACKGROUND);
  const { info, pipeline } = await readHeader(file);
  const declared = info.width * info.height;
  if (declared > pixelLimit) {
    throw new ImageError(
      'PIXEL_LIMIT',
      file,
      `declares ${info.width}x${info.height} = ${declared} pixels, above the limit of ${pixelLimit} (raise pixelLimit if the image is genuine)`,
    );
  }
  // Into sRGB first, at the start of the pipeline: flattening a grey image would otherwise use only
  // the background's first component and leave it grey.
  return {
    info,
    pipeline: pipeline
      .pipelineColourspace('srgb')
      .flatten({ background: { r, g, b } })
      .toColourspace('srgb'),
  };
}

export async function decodeImage(file: string, options: DecodeOptions = {}): Promise<RgbImage> {
  const { pipeline } = await openImage(file, options);
  return runPipeline(file, pipeline);
}

/** Raw 8-bit pixels of any channel count, row-major HWC. */
export interface RawPixels extends RgbImage {
  readonly channels: number;
}

/**
 * Runs a pipeline from `openImage` (with the caller's own resize or colour steps appended) to raw
 * 8-bit pixels, turning libvips failures into the same ImageErrors the trainer sees.
 */
export async function renderPipeline(file: string, pipeline: Sharp): Promise<RawPixels> {
  let result: { data: Buffer; info: OutputInfo };
  try {
    result = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  } catch (cause) {
    throw await classifyFailure(file, cause);
  }
  const { data, info } = result;
  return {
    data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    width: info.width,
    height: info.height,
    channels: info.channels,
  };
}

/** Runs a pipeline from `openImage` to raw 8-bit RGB, turning libvips failures into ImageErrors. */
export async function runPipeline(file: string, pipeline: Sharp): Promise<RgbImage> {
  const { data, width, height, channels } = await renderPipeline(file, pipeline);
  if (channels !== 3) {
    throw new ImageError(
      'CORRUPT',
      file,
      `expected 3 channels after conversion to sRGB, received ${channels}`,
    );
  }
  return { data, width, height };
}

async function readHeader(file: string): Promise<{ info: ImageInfo; pipeline: Sharp }> {
  const bytes = await fileSize(file);
  configureSharp();
  const pipeline = sharp(file, {
    // 'error' aborts on truncated or damaged data instead of returning a grey tail; unlike the
    // stricter 'warning' it still accepts the harmless oddities common in camera JPEGs.
    failOn: 'error',
    // libvips' own limit is off: it would fire inside metadata() with a vaguer message, and it
    // reads the same header fields as the check in openImage.
    limitInputPixels: false,
    autoOrient: true,
    pages: 1,
  });
  let meta: Metadata;
  try {
    meta = await pipeline.metadata();
  } catch (cause) {
    throw await classifyFailure(file, cause);
  }
  const orientation = meta.orientation ?? 1;
  const info: ImageInfo = {
    file,
    format: meta.format,
    width: meta.autoOrient.width,
    height: meta.autoOrient.height,
    channels: meta.channels,
    space: meta.space,
    depth: meta.depth,
    bitsPerSample: meta.bitsPerSample,
    hasAlpha: meta.hasAlpha,
    isPalette: meta.isPalette,
    hasProfile: meta.hasProfile,
    orientation,
    bytes,
  };
  return { info, pipeline };
}

async function fileSize(file: string): Promise<number> {
  let info;
  try {
    info = await stat(file);
  } catch (cause) {
    throw unreadable(file, cause);
  }
  if (info.isDirectory())
    throw new ImageError('UNREADABLE', file, 'expected an image file, received a directory');
  if (info.size === 0) throw new ImageError('EMPTY_FILE', file, 'the file is empty (0 bytes)');
  // Opening catches permission problems with the real reason instead of libvips' "missing".
  try {
    await (await open(file, 'r')).close();
  } catch (cause) {
    throw unreadable(file, cause);
  }
  return info.size;
}

function unreadable(file: string, cause: unknown): ImageError {
  return new ImageError('UNREADABLE', file, `cannot read the file (${systemReason(cause)})`, cause);
}

function systemReason(cause: unknown): string {
  const code = (cause as { code?: unknown }).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  return cause instanceof Error ? cause.message : String(cause);
}

const JPEG_MAGIC = [0xff, 0xd8];
const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47];
const PNG_IEND = Buffer.from('IEND', 'latin1');
const TRUNCATION_WORDS =
  /premature end|truncat|unexpected end|end of (file|stream|data)|short read|not enough data|out of data/i;

/**
 * libvips words its errors per loader; what the user needs is which of our codes applies. The
 * file's own structure settles truncation for JPEG and PNG (a missing end marker), since libpng
 * reports a cut file and a damaged one with the same "read error".
 */
async function classifyFailure(file: string, cause: unknown): Promise<ImageError> {
  if (cause instanceof ImageError) return cause;
  const message = (cause instanceof Error ? cause.message : String(cause)).split('\n')[0] ?? '';
  if (/unsupported image format/i.test(message)) {
    return new ImageError(
      'NOT_AN_IMAGE',
      file,
      'expected an image, received bytes in no format libvips can decode',
      cause,
    );
  }
  if (/is missing/i.test(message))
    return new ImageError('UNREADABLE', file, 'cannot read the file (no such file)', cause);
  const { head, tail } = await fileEnds(file);
  const truncated =
    (startsWith(head, JPEG_MAGIC) && !endsWithJpegEoi(tail)) ||
    (startsWith(head, PNG_MAGIC) && tail.indexOf(PNG_IEND) < 0) ||
    TRUNCATION_WORDS.test(message);
  if (truncated)
    return new ImageError(
      'TRUNCATED',
      file,
      `the file ends before the image data does (${message})`,
      cause,
    );
  return new ImageError('CORRUPT', file, `the image data is damaged (${message})`, cause);
}

async function fileEnds(file: string): Promise<{ head: Buffer; tail: Buffer }> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const head = Buffer.alloc(Math.min(8, size));
    const tail = Buffer.alloc(Math.min(32, size));
    await handle.read(head, 0, head.length, 0);
    await handle.read(tail, 0, tail.length, size - tail.length);
    return { head, tail };
  } finally {
    await handle.close();
  }
}

function startsWith(bytes: Buffer, magic: readonly number[]): boolean {
  return magic.every((value, i) => bytes[i] === value);
}

/** JPEG ends with FF D9; some writers pad a few zero bytes after it. */
function endsWithJpegEoi(tail: Buffer): boolean {
  let end = tail.length;
  while (end > 0 && tail[end - 1] === 0) end--;
  return end >= 2 && tail[end - 2] === 0xff && tail[end - 1] === 0xd9;
}

function checkPixelLimit(limit: number): number {
  if (!(limit > 0) || Number.isNaN(limit))
    throw invalidOption('pixelLimit', 'a positive number of pixels', limit);
  return limit;
}

function checkBackground(background: Triple): Triple {
  const ok =
    background.length === 3 && background.every((v) => Number.isInteger(v) && v >= 0 && v <= 255);
  if (!ok) throw invalidOption('background', 'three integers in 0..255 (RGB)', background);
  return background;
}
