import assert from 'node:assert/strict';
import { VggkitError, type ErrorCode } from '../../src/util/errors.js';

/** Awaits a rejection that must be a VggkitError with `code` (and a message matching `pattern`). */
export async function rejectsWith(
  promise: Promise<unknown>,
  code: ErrorCode,
  pattern?: RegExp,
): Promise<VggkitError> {
  const error = await promise.then(
    () => assert.fail(`expected a ${code} error`),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof VggkitError, String(error));
  assert.equal(error.code, code, error.message);
  if (pattern) assert.match(error.message, pattern);
  return error;
}
