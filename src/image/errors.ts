/**
 * Why an image file could not be turned into pixels. Every decode path raises one of these, so
 * batch functions can skip exactly these failures (and report them) while real bugs still throw.
 * The codes are listed (with what each means) in src/util/error-codes.ts, with every other code.
 */
import { IMAGE_ERROR_CODES, type ImageErrorCode } from '../util/error-codes.js';
import { VggkitError } from '../util/errors.js';

export { IMAGE_ERROR_CODES, type ImageErrorCode };

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
