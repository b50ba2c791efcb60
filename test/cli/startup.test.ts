/**
 * Start-up stays cheap: `vggkit --help` and every command's `--help` resolve none of the heavy
 * packages (ONNX Runtime, sharp, h5wasm, the protobuf code, the dashboard's HTTP server), which
 * cost ~0.5 s to load; a command's heavy modules load only when it runs (src/cli/run-command.ts).
 * Timing itself lives in bench/startup.ts; this checks the cause, which does not depend on the
 * machine's load.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

const ROOT = join(import.meta.dirname, '..', '..');
const HEAVY = ['onnxruntime-node', 'sharp', 'h5wasm', 'onnx-proto', 'protobufjs', 'fastify'];

/** Runs the CLI with the import recorder; returns the package names it resolved under node_modules. */
async function packagesLoaded(args: readonly string[]): Promise<Set<string>> {
  const dir = await mkdtemp(join(tmpdir(), 'vggkit-startup-'));
  const log = join(dir, 'imports.log');
  try {
    // The exit code does not matter here, only what was loaded before it.
    await promisify(execFile)(
      process.execPath,
      [
        '--import',
        'tsx',
        '--import',
        './test/helpers/import-recorder.mjs',
        'src/cli/main.ts',
        ...args,
      ],
      { cwd: ROOT, env: { ...process.env, VGGKIT_IMPORT_LOG: log, VGGKIT_HOME: dir } },
    ).catch(() => undefined);
    const urls = (await readFile(log, 'utf8')).split('\n');
    return new Set(
      urls.flatMap((url) => {
        const match = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
        return match?.[1] === undefined ? [] : [match[1]];
      }),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('a command that runs loads its heavy packages (so the check below can fail)', async () => {
  const loaded = await packagesLoaded(['predict', 'missing.jpg', '--offline']);
  assert.ok(loaded.has('onnxruntime-node'), [...loaded].join(', '));
});

for (const args of [
  ['--help'],
  ['predict', '--help'],
  ['extract', '--help'],
  ['train', '--help'],
  ['evaluate', '--help'],
  ['doctor', '--help'],
  ['serve', '--help'],
  ['summary', '--json'],
]) {
  test(`vggkit ${args.join(' ')} loads no heavy package`, async () => {
    const loaded = await packagesLoaded(args);
    assert.deepEqual(
      HEAVY.filter((name) => loaded.has(name)),
      [],
    );
  });
}
