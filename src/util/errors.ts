/**
 * Every failure vggkit reports to a person is a VggkitError: a stable `code` scripts can match
 * (one of the closed list in error-codes.ts), the file it concerns (when there is one), and a
 * message that says what was expected and what was found. The CLI maps `exitCode` to the process
 * exit status and never prints a stack trace for these.
 */
import type { ErrorCode, UsageCode } from './error-codes.js';

export type { ErrorCode, ImageErrorCode, UsageCode } from './error-codes.js';

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

/** Wrong flags, wrong option values, unknown enum members: exit code 2, like commander. */
export class UsageError extends VggkitError {
  declare readonly code: UsageCode;

  constructor(code: UsageCode, message: string, options: Omit<ErrorOptions, 'exitCode'> = {}) {
    super(code, message, { ...options, exitCode: 2 });
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
