/**
 * The one wrapper every command's action goes through: VggkitErrors become one clear line on
 * stderr (or a JSON object on stdout with --json) and their exit code; anything else is a bug and
 * keeps its stack trace.
 *
 * Start-up: `vggkit --help` must not pay for ONNX Runtime, sharp, h5wasm and the protobuf code
 * (~0.5 s together). So a command is two modules: `src/cli/<name>.ts` declares it (arguments,
 * flags, help) importing only light modules, and `src/cli/actions/<name>.ts` does the work; the
 * declaration hands `lazyAction` a dynamic import of the action, which loads when the command
 * runs. test/cli/startup.test.ts checks that no declaration loads a heavy package.
 */
import { VggkitError } from '../util/errors.js';
import type { CommonFlags } from './common.js';

export function runCommand<A extends unknown[]>(
  action: (...args: A) => Promise<number | void>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const flags = args.find(
      (a): a is Pick<CommonFlags, 'json'> => typeof a === 'object' && a !== null && 'json' in a,
    );
    try {
      const code = await action(...args);
      process.exitCode = code ?? 0;
    } catch (error) {
      if (!(error instanceof VggkitError)) throw error;
      if (flags?.json === true) {
        process.stdout.write(
          `${JSON.stringify({ error: { code: error.code, message: error.message, file: error.file } })}\n`,
        );
      }
      process.stderr.write(`vggkit: ${error.message}\n`);
      process.exitCode = error.exitCode;
    }
  };
}

/** runCommand over an action that is imported only when the command runs. */
export function lazyAction<A extends unknown[]>(
  load: () => Promise<(...args: A) => Promise<number | void>>,
): (...args: A) => Promise<void> {
  return runCommand(async (...args: A) => (await load())(...args));
}
