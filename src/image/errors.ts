/**
 * Why an image file could not be turned into pixels. Every decode path raises one of these, so
 * batch functions can skip exactly these failures (and report them) while real bugs still throw.
 */
import { VggkitError } from '../util/errors.js';

export const IMAGE_ERROR_CODES = [
  /** The file has zero bytes. */
  'EMPTY_FILE',
  /** The bytes are not an image format libvips can read (text, HTML, an unsupported codec). */
  'NOT_AN_IMAGE',
  /** The file stops before the image data ends (an interrupted download or copy). */
  'TRUNCATED',
  /** The header parses but the image data is damaged, and the file is not merely short. */
  'CORRUPT',
  /** The header declares more pixels than the configured limit (decompression-bomb guard). */
  'PIXEL_LIMIT',
  /** Missing, a directory, or not readable by this process. */
  'UNREADABLE',
] as const;
export type ImageErrorCode = (typeof IMAGE_ERROR_CODES)[number];

export class ImageError extends VggkitError {
  declare readonly code: ImageErrorCode;
  declare readonly file: string;
  /** The reason alone, without the file name: what batch reports list next to the file. */
  readonly reason: string;

  constructor(code: ImageErrorCode, file: string, reason: string, cause?: unknown) {
    super(code, `${file}: ${reason}`, { file, cause });
    this.reason = reason;
  }
}

export function isImageError(error: unknown): error is ImageError {
  return error instanceof ImageError;
}
