/**
 * Tests that drive a system program for real (redis-server, chromium) find it here. On a
 * newcomer's machine without it the test is skipped with the command that installs it; under
 * `.ci/run` (VGGKIT_REQUIRE_SYSTEM_DEPS=1) a missing program fails the test, so CI can never pass
 * by skipping.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { TestContext } from 'node:test';

/** The program's absolute path on PATH, or undefined. */
export function findBinary(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this PATH entry
    }
  }
  return undefined;
}

/**
 * The program's path; when it is missing, skips `t` (returning undefined) or, under .ci/run,
 * throws. `aptPackage` names the Debian package that provides it.
 */
export function requireBinary(t: TestContext, name: string, aptPackage = name): string | undefined {
  const path = findBinary(name);
  if (path !== undefined) return path;
  const how = `apt-get install ${aptPackage} (.ci/run installs it)`;
  if (process.env.VGGKIT_REQUIRE_SYSTEM_DEPS === '1')
    throw new Error(
      `${name} is not installed, and VGGKIT_REQUIRE_SYSTEM_DEPS=1 requires it: ${how}`,
    );
  t.skip(`${name} is not installed: ${how}`);
  return undefined;
}
