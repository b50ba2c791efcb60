/**
 * Runs vggkit from the sources in its own process, as a shell would: exit code, stdout and stderr,
 * with $VGGKIT_HOME pointed at the test's own folder (no cache shared with the machine's).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const ROOT = join(import.meta.dirname, '..', '..');
/** Node's arguments before the command's own: the CLI from the TypeScript sources. */
export const CLI = ['--import', 'tsx', 'src/cli/main.ts'];

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export async function runCli(
  home: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Promise<CliRun> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [...CLI, ...args], {
      cwd: ROOT,
      env: { ...process.env, VGGKIT_HOME: home, ...env },
      maxBuffer: 64 * 2 ** 20,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
