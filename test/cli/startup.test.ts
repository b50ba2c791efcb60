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
import sharp from 'sharp';
import { makeContract } from '../../src/image/index.js';
import { modelLayers } from '../../src/model/head.js';
import { initWeights } from '../../src/model/init.js';
import { writeModel } from '../../src/train/model-output.js';
import { Random } from '../../src/util/random.js';

const ROOT = join(import.meta.dirname, '..', '..');
const HEAVY = ['onnxruntime-node', 'sharp', 'h5wasm', 'onnx-proto', 'protobufjs', 'fastify'];

/** Runs the CLI with the import recorder; returns the package names it resolved under node_modules. */
async function packagesLoaded(
  args: readonly string[],
  { mustSucceed = false } = {},
): Promise<Set<string>> {
  const dir = await mkdtemp(join(tmpdir(), 'vggkit-startup-'));
  const log = join(dir, 'imports.log');
  try {
    // Where only the help text is asked for, the exit code does not matter, only what was loaded before it.
    const run = promisify(execFile)(
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
    );
    await (mustSucceed ? run : run.catch(() => undefined));
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

test('predict on a model folder never loads h5wasm (HDF5 is only for Keras files)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vggkit-startup-model-'));
  try {
    const photo = join(dir, 'photo.png');
    const pixels = Buffer.from(Array.from({ length: 40 * 30 * 3 }, (_, i) => (i * 7) % 256));
    await sharp(pixels, { raw: { width: 40, height: 30, channels: 3 } })
      .png()
      .toFile(photo);
    const head = { kind: 'flatten', dense: 8, classes: 2, activation: 'softmax' } as const;
    const options = {
      arch: 'vgg16',
      includeTop: false,
      inputSize: [32, 32],
      pooling: 'none',
      classes: 2,
    } as const;
    const model = join(dir, 'model');
    await writeModel(
      model,
      {
        arch: 'vgg16',
        contract: makeContract({ mode: 'caffe', inputSize: 32 }),
        head,
        classNames: ['a', 'b'],
      },
      initWeights(modelLayers(options, head), new Random(1)),
    );
    const loaded = await packagesLoaded(['predict', photo, '--weights', model], {
      mustSucceed: true,
    });
    assert.ok(loaded.has('onnxruntime-node'), [...loaded].join(', '));
    assert.equal(loaded.has('h5wasm'), false, [...loaded].join(', '));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
