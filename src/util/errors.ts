/**
 * Every failure vggkit reports to a person is a VggkitError: a stable `code` scripts can match
 * (one of the closed list in error-codes.ts), the file it concerns (when there is one), and a
 * message that says what was expected and what was found. The CLI maps `exitCode` to the process
 * exit status and never prints a stack trace for these.
 */
import {
  UNREADABLE_INPUT_CODES,
  type ErrorCode,
  type UnreadableInputCode,
  type UsageCode,
} from './error-codes.js';

export type { ErrorCode, ImageErrorCode, UnreadableInputCode, UsageCode } from './error-codes.js';

export interface ErrorOptions {
  readonly file?: string;
  readonly exitCode?: number;
  readonly cause?: unknown;
}

export class VggkitError extends Error {
  readonly code: ErrorCode;
  readonly file: string | undefined;
  readonly exitCode: number;

  constructor(code: ErrorCode, message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.file = options.file;
    this.exitCode = options.exitCode ?? 1;
  }
}

/**
 * Exit code 2: a usage error (UsageError), or an input named on the command line that cannot be
 * read as what it should be (`unreadableInput`). The command was asked to read something it
 * cannot, which is neither a finding about a fine-tune (the doctor's exit 1) nor a failure along
 * the way (exit 1), so a script can tell "fix your command" from "your fine-tune has a problem".
 * The inputs, in every command that takes them (doctor, train, evaluate, predict, extract, sweep):
 * - a `--config` file: missing or not a JSON object of settings (train/config-file.ts);
 * - the data folder (and `--val`), or the image paths: missing, a file where a folder belongs,
 *   unlistable, no class folder, or no image file (data/dataset.ts, data/files.ts); for train
 *   one class folder, and for train and evaluate no image that decodes (train/stage.ts,
 *   train/evaluate.ts). One corrupt image among readable ones is skipped with a warning, and the
 *   doctor reports a single class, empty classes and undecodable images as findings;
 * - the doctor's `--history` log (doctor/history.ts) and `--batch` .npy (data/npy.ts,
 *   doctor/batch-stats.ts): missing, not parseable, or not a batch of images;
 * - model files: `--keras`, `--weights FILE`, `--keras-weights` and a model folder (evaluate's
 *   model, `--model`, `--weights DIR`): missing, truncated, or not in the format they claim
 *   (readingInput in model/keras/read.ts and model/weights-source.ts; model/model-folder.ts).
 *   A readable model that vggkit cannot run (KERAS_UNSUPPORTED, KERAS_NO_WEIGHTS) or whose
 *   arrays do not fit the architecture (WEIGHTS_SHAPE) stays exit 1.
 */
export const USAGE_EXIT_CODE = 2;

/**
 * A file or folder named on the command line that cannot be read as what it should be: exit 2
 * (USAGE_EXIT_CODE). The one place that rule lives; `code` is one of UNREADABLE_INPUT_CODES and
 * the message names the file and the problem.
 */
export function unreadableInput(
  code: UnreadableInputCode,
  message: string,
  options: { readonly file?: string | undefined; readonly cause?: unknown },
): VggkitError {
  return new VggkitError(code, message, { ...options, exitCode: USAGE_EXIT_CODE });
}

function isUnreadableInputCode(code: ErrorCode): code is UnreadableInputCode {
  return (UNREADABLE_INPUT_CODES as readonly ErrorCode[]).includes(code);
}

/**
 * `read` over an input named on the command line, for readers shared with files nobody named (a
 * cached download, a file being written), which raise with exit 1: their errors that say the input
 * cannot be read (UNREADABLE_INPUT_CODES) leave as unreadableInput's exit 2, message and file kept.
 */
export async function readingInput<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (
      error instanceof VggkitError &&
      error.exitCode !== USAGE_EXIT_CODE &&
      isUnreadableInputCode(error.code)
    )
      throw unreadableInput(error.code, error.message, { file: error.file, cause: error });
    throw error;
  }
}

/** Wrong flags, wrong option values, unknown enum members: exit code 2, like commander. */
export class UsageError extends VggkitError {
  declare readonly code: UsageCode;

  constructor(code: UsageCode, message: string, options: Omit<ErrorOptions, 'exitCode'> = {}) {
    super(code, message, { ...options, exitCode: USAGE_EXIT_CODE });
  }
}

/** "expected X, received Y" in one place so every option check reads the same. */
export function invalidOption(name: string, expected: string, actual: unknown): UsageError {
  return new UsageError(
    'INVALID_OPTION',
    `${name}: expected ${expected}, received ${JSON.stringify(actual)}`,
  );
}

/** Accepts only members of a closed set; never falls back silently to a default. */
export function oneOf<T extends string>(name: string, allowed: readonly T[], value: unknown): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value))
    return value as T;
  throw invalidOption(name, `one of ${allowed.join(', ')}`, value);
}
