/**
 * `vggkit doctor DATA --keras MODEL --fix-config fixed.json --verify`: the fix loop measures fixes
 * for the user's own Keras model, not only for a vggkit config. The model is the article's
 * Example 2 (frozen VGG16 base, Flatten, Dense(256), Dropout, softmax) at 32x32 with He-initialised
 * weights (no ImageNet weights here), compiled with Adam at lr 0.3: far too high for the head. The
 * loop trains from the model's own weights with the setup it was compiled with, the measured fix
 * carries the Keras line that applies it, and the written config continues from the model file, so
 * `vggkit train DATA --config fixed.json` is the one command that retrains it.
 */
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Random } from '../../src/util/random.js';
import { runCli } from '../helpers/cli.js';
import { writeShapesDataset } from '../helpers/shapes.js';
import { example2, writeKerasZip, type CompileDef, type ModelDef } from '../model/keras/writer.js';
import { tempDir } from './fixtures.js';

const BROKEN_LR = 0.3;

/** He-uniform kernels (biases stay zero), seeded. */
function initialised(def: ModelDef, seed: number): ModelDef {
  const rng = new Random(seed);
  return {
    ...def,
    layers: def.layers.map((l) =>
      l.weights === undefined
        ? l
        : {
            ...l,
            weights: l.weights.map((w) => {
              if (w.name !== 'kernel') return w;
              const n = w.shape.reduce((a, b) => a * b, 1);
              const limit = Math.sqrt(6 / (n / (w.shape.at(-1) as number)));
              return {
                ...w,
                data: Float32Array.from({ length: n }, () => rng.uniform(-limit, limit)),
              };
            }),
          },
    ),
  };
}

let dir = '';
let model = '';
before(async () => {
  dir = await tempDir('doctor-keras-fix-');
  const example = example2({ classes: 3, size: 32 });
  const compile = example.compile as CompileDef;
  await writeKerasZip(
    (model = join(dir, 'model.keras')),
    initialised(
      {
        ...example,
        compile: {
          ...compile,
          optimizer: {
            ...compile.optimizer,
            config: { ...compile.optimizer.config, learning_rate: BROKEN_LR },
          },
        },
      },
      3,
    ),
  );
  await writeShapesDataset(join(dir, 'train'), { perClass: 20, size: 32, seed: 1 });
  await writeShapesDataset(join(dir, 'val'), { perClass: 10, size: 32, seed: 2 });
});
after(() => rm(dir, { recursive: true, force: true }));

interface JsonFinding {
  readonly id: string;
  readonly fix: { readonly keras?: string; readonly config?: Record<string, unknown> };
}

test('doctor --keras MODEL --fix-config --verify measures fixes from the Keras model and writes the one to retrain with', async () => {
  const fixed = join(dir, 'fixed.json');
  const run = await runCli(dir, [
    'doctor',
    join(dir, 'train'),
    '--val',
    join(dir, 'val'),
    '--keras',
    model,
    '--fix-config',
    fixed,
    '--verify',
    '--offline',
    '--json',
  ]);
  assert.doesNotMatch(run.stderr, /^\s+at /m, run.stderr);
  const report = JSON.parse(run.stdout) as {
    findings: JsonFinding[];
    fixLoop?: {
      tried: { label: string }[];
      verification?: {
        improved: boolean;
        before: { score: { accuracy: number } };
        after: { score: { accuracy: number } };
      };
    };
  };
  assert.ok(report.fixLoop, `the fix loop ran on the Keras model: ${run.stderr}`);
  const v = report.fixLoop.verification;
  assert.ok(v?.improved, 'the measured fix beat the model setup over its whole budget');
  const measured = report.findings.find((f) => f.id === 'measured-fix');
  assert.ok(measured, report.findings.map((f) => f.id).join(', '));
  const lr = measured.fix.config?.['lr'];
  assert.equal(typeof lr, 'number');
  assert.notEqual(lr, BROKEN_LR);
  assert.match(
    measured.fix.keras ?? '',
    new RegExp(`keras\\.optimizers\\.Adam\\(learning_rate=${String(lr).replace('.', '\\.')}\\)`),
    'the Keras line applies the measured rate',
  );
  const written = JSON.parse(await readFile(fixed, 'utf8')) as Record<string, unknown>;
  assert.equal(written['weights'], model, 'the fixed config continues from the Keras model');
  assert.equal(written['lr'], lr);
  assert.equal(written['optimizer'], 'adam');
  assert.equal(written['inputSize'], 32);
});

test('doctor --keras MODEL --verify without a data folder names what it needs', async () => {
  const run = await runCli(dir, ['doctor', '--keras', model, '--verify', '--offline']);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /--verify: expected the training data folder and --config or --keras/);
});

test('doctor --keras MODEL without data: its rule-of-thumb fixes name the command that measures them on a Keras model, and a note is not a rule of thumb', async () => {
  const run = await runCli(dir, ['doctor', '--keras', model, '--offline']);
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stdout, /fix \(rule of thumb\): Use 0\.0001\./);
  assert.ok(
    run.stdout.includes(
      `To measure them: vggkit doctor <data-dir> --keras ${model} --fix-config fixed.json --verify`,
    ),
    run.stdout,
  );
  assert.match(run.stdout, /\[preprocessing-assumed\]\n.*\n.*\n {6}fix: Feed preprocess_input/);
});
