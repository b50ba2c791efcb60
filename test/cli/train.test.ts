/**
 * `vggkit train`, `evaluate` and `predict` end to end: the real CLI in child processes on shape
 * images generated here, random-init weights at 32x32. Resume is tested the hard way: a run is
 * killed with SIGKILL after its first completed epoch, resumed with --resume, and must end
 * bit-identical (weights.h5 values, history.json) to an uninterrupted run at the same seed.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { modelLayers } from '../../src/model/head.js';
import { readKerasWeights } from '../../src/model/keras-h5.js';
import { parseNpy } from '../../src/data/npy.js';
import { writeShapesDataset } from '../helpers/shapes.js';
import { CLI, ROOT, runCli, type CliRun } from '../helpers/cli.js';

let dir = '';
let data = '';
let configFile = '';

function env(): NodeJS.ProcessEnv {
  return { ...process.env, VGGKIT_HOME: join(dir, 'home') };
}

function vggkit(...args: string[]): Promise<CliRun> {
  return runCli(join(dir, 'home'), args);
}

function lastJsonLine(stdout: string): Record<string, unknown> {
  const lines = stdout.trimEnd().split('\n');
  return JSON.parse(lines[lines.length - 1] as string) as Record<string, unknown>;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vggkit-train-cli-'));
  data = join(dir, 'data');
  await writeShapesDataset(data, { perClass: 10, size: 32, seed: 11 });
  // VGG11 keeps the runs short; there is no --arch flag, so this also exercises --config.
  configFile = join(dir, 'config.json');
  await writeFile(
    configFile,
    JSON.stringify({ arch: 'vgg11', epochs: 7, lr: 0.003, dense: 32, head: 'avg' }),
  );
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const RESUME_ARGS = [
  '--weights',
  'none',
  '--input-size',
  '32',
  '--batch-size',
  '4',
  '--stages',
  'head:2,block5:3',
  '--seed',
  '7',
  '--val-split',
  '0.25',
];

async function epochsDone(out: string): Promise<number> {
  const text = await readFile(join(out, 'history.json'), 'utf8').catch(() => undefined);
  return text === undefined ? 0 : (JSON.parse(text) as { epochs: unknown[] }).epochs.length;
}

async function exists(file: string): Promise<boolean> {
  return readFile(file).then(
    () => true,
    () => false,
  );
}

test('resume after kill -9 ends bit-identical to an uninterrupted run (weights.h5 and history.json)', async () => {
  const whole = join(dir, 'whole');
  const full = await vggkit(
    'train',
    data,
    '--out',
    whole,
    '--config',
    configFile,
    ...RESUME_ARGS,
    '--json',
  );
  assert.equal(full.code, 0, full.stderr);
  assert.equal(lastJsonLine(full.stdout)['epochs'], 5);

  const killed = join(dir, 'killed');
  const child = spawn(
    process.execPath,
    [...CLI, 'train', data, '--out', killed, '--config', configFile, ...RESUME_ARGS],
    {
      cwd: ROOT,
      env: env(),
      stdio: 'ignore',
    },
  );
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    child.once('exit', (_code, signal) => resolve(signal)),
  );
  let done = 0;
  while (child.exitCode === null && child.signalCode === null) {
    done = await epochsDone(killed);
    if (done >= 1 && (await exists(join(killed, 'checkpoint.safetensors')))) break;
    await sleep(10);
  }
  child.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL', 'the run finished before it could be killed');
  assert.ok(done >= 1 && done < 5, `killed after ${done} epochs`);

  const resumed = await vggkit('train', data, '--out', killed, '--resume', '--json');
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr, /resuming .* after epoch \d of 5/);
  assert.match(resumed.stderr, /features: (\d+) of \1 images read from the cache, 0 computed now/);
  assert.equal(lastJsonLine(resumed.stdout)['epochs'], 5);

  assert.deepEqual(
    JSON.parse(await readFile(join(killed, 'history.json'), 'utf8')),
    JSON.parse(await readFile(join(whole, 'history.json'), 'utf8')),
  );
  const layers = modelLayers(
    { arch: 'vgg11', includeTop: false, inputSize: [32, 32], pooling: 'none', classes: 3 },
    { kind: 'avg', dense: 32, classes: 3, activation: 'softmax' },
  );
  const a = await readKerasWeights(join(whole, 'weights.h5'), layers);
  const b = await readKerasWeights(join(killed, 'weights.h5'), layers);
  assert.deepEqual([...b.keys()], [...a.keys()]);
  for (const [key, t] of a) assert.deepEqual(b.get(key)?.data, t.data, key);
});

test('train --json skips and reports a corrupt image; flags win over --config; evaluate and predict use the model folder', async () => {
  const corrupt = join(data, 'square', 'zz_corrupt.png');
  const out = join(dir, 'with-corrupt');
  await writeFile(corrupt, Buffer.from('\x89PNG\r\n\x1a\n garbage bytes, not a real PNG stream'));
  try {
    const run = await vggkit(
      'train',
      data,
      '--out',
      out,
      '--config',
      configFile,
      '--weights',
      'none',
      '--input-size',
      '32',
      '--epochs',
      '2',
      '--batch-size',
      '8',
      '--json',
    );
    assert.equal(run.code, 0, run.stderr);
    const summary = lastJsonLine(run.stdout);
    assert.equal(summary['modelDir'], out);
    assert.equal(summary['epochs'], 2);
    assert.deepEqual(
      (summary['skipped'] as { file: string }[]).map((s) => s.file),
      [corrupt],
    );
    assert.ok(typeof (summary['metrics'] as Record<string, unknown>)['val_accuracy'] === 'number');
    assert.match(run.stderr, /skipped .*zz_corrupt\.png/);
    assert.match(
      run.stderr,
      /epoch 2\/2: loss [\d.]+, accuracy [\d.]+, val_loss [\d.]+, val_accuracy [\d.]+, lr \S+ \(\d+s, \d+ img\/s\)\n/,
    );
    assert.doesNotMatch(run.stderr, /epoch 2\/2: \d+\/\d+ \(100%\)/, 'one line ends an epoch');
    // weights none with the recipe's frozen base: said before training, as the doctor says it.
    assert.match(
      run.stderr,
      /warning: --weights none starts the base from random weights, and the whole base stays frozen.*random-base-frozen/,
    );
    const written = JSON.parse(await readFile(join(out, 'config.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    assert.equal(written['epochs'], 2, '--epochs overrides the file');
    assert.equal(written['arch'], 'vgg11', 'the file overrides the defaults');
    assert.equal(written['lr'], 0.003);

    const evaluation = await vggkit('evaluate', out, data, '--json');
    assert.equal(evaluation.code, 0, evaluation.stderr);
    const report = JSON.parse(evaluation.stdout) as Record<string, unknown>;
    for (const key of ['accuracy', 'loss', 'perClass', 'confusionMatrix', 'classNames'])
      assert.ok(key in report, key);
    assert.deepEqual(report['classNames'], ['circle', 'square', 'triangle']);
    const matrix = report['confusionMatrix'] as number[][];
    assert.equal(
      matrix.flat().reduce((x, y) => x + y, 0),
      30,
      'every readable image counted once',
    );
    assert.deepEqual(
      matrix.map((row) => row.reduce((x, y) => x + y, 0)),
      [10, 10, 10],
    );
    // The same report is kept beside the model for the dashboard's run page.
    const kept = JSON.parse(await readFile(join(out, 'evaluation.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    assert.equal(kept['split'], 'evaluation');
    assert.equal(kept['data'], data);
    assert.deepEqual(kept['confusionMatrix'], matrix);
    assert.equal(kept['accuracy'], report['accuracy']);
    const text = await vggkit('evaluate', out, data);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /accuracy\s+[\d.]+/);
    assert.match(text.stdout, /true \\ predicted\s+circle\s+square\s+triangle/);

    const image = join(data, 'triangle', 'triangle_00.png');
    const predict = await vggkit('predict', '--weights', out, image, '--top', '3', '--json');
    assert.equal(predict.code, 0, predict.stderr);
    const predictions = (
      JSON.parse(predict.stdout) as {
        predictions: { file: string; top: { label: string; probability: number }[] }[];
      }
    ).predictions;
    assert.equal(predictions.length, 1);
    const top = predictions[0]?.top ?? [];
    assert.deepEqual(top.map((p) => p.label).sort(), ['circle', 'square', 'triangle']);
    assert.ok(Math.abs(top.reduce((s, p) => s + p.probability, 0) - 1) < 1e-5);

    // extract accepts the model folder: the default layer is its output (the same probabilities
    // predict printed), and --layer dense gives the fine-tuned embedding.
    const features = join(out, 'features');
    const probs = await vggkit('extract', '--weights', out, image, '--out', features, '--json');
    assert.equal(probs.code, 0, probs.stderr);
    const rows = parseNpy(await readFile(join(features, 'features.npy')));
    assert.deepEqual(rows.dims, [1, 3]);
    const byLabel = new Map(top.map((p) => [p.label, p.probability]));
    ['circle', 'square', 'triangle'].forEach((label, i) =>
      assert.ok(Math.abs((rows.data[i] as number) - (byLabel.get(label) as number)) < 1e-5, label),
    );
    const embedding = await vggkit(
      'extract',
      '--weights',
      out,
      image,
      '--layer',
      'dense',
      '--out',
      features,
      '--json',
    );
    assert.equal(embedding.code, 0, embedding.stderr);
    const config = JSON.parse(await readFile(join(out, 'config.json'), 'utf8')) as {
      dense: number;
    };
    assert.deepEqual(parseNpy(await readFile(join(features, 'features.npy'))).dims, [
      1,
      config.dense,
    ]);
    const index = JSON.parse(await readFile(join(features, 'index.json'), 'utf8')) as {
      layer: string;
    };
    assert.equal(index.layer, 'dense');
  } finally {
    await rm(corrupt, { force: true });
  }
});

test('boolean flags leave the config file alone unless given; nested flags merge into their section', async () => {
  const file = join(dir, 'booleans.json');
  await writeFile(
    file,
    JSON.stringify({
      arch: 'vgg11',
      terminateOnNan: false,
      reduceLr: { enabled: false, patience: 9 },
    }),
  );
  const common = [
    data,
    '--config',
    file,
    '--weights',
    'none',
    '--input-size',
    '32',
    '--epochs',
    '1',
    '--batch-size',
    '8',
  ];
  const written = async (out: string): Promise<Record<string, unknown>> =>
    JSON.parse(await readFile(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;

  const plain = await vggkit('train', ...common, '--out', join(dir, 'booleans-plain'));
  assert.equal(plain.code, 0, plain.stderr);
  const a = await written(join(dir, 'booleans-plain'));
  assert.equal(a['terminateOnNan'], false);
  assert.deepEqual(a['reduceLr'], {
    enabled: false,
    monitor: 'val_loss',
    mode: 'auto',
    factor: 0.2,
    patience: 9,
    minDelta: 1e-4,
    cooldown: 0,
    minLr: 1e-6,
  });

  const flagged = await vggkit(
    'train',
    ...common,
    '--out',
    join(dir, 'booleans-flagged'),
    '--reduce-lr',
    '--reduce-lr-factor',
    '0.5',
    '--terminate-on-nan',
  );
  assert.equal(flagged.code, 0, flagged.stderr);
  const b = await written(join(dir, 'booleans-flagged'));
  assert.equal(b['terminateOnNan'], true);
  assert.deepEqual(b['reduceLr'], {
    enabled: true,
    monitor: 'val_loss',
    mode: 'auto',
    factor: 0.5,
    patience: 9,
    minDelta: 1e-4,
    cooldown: 0,
    minLr: 1e-6,
  });
});

test('train with weights that cannot be downloaded offline: one clear line, exit code 1', async () => {
  const run = await vggkit(
    'train',
    data,
    '--out',
    join(dir, 'offline'),
    '--weights',
    'imagenet',
    '--input-size',
    '32',
    '--offline',
  );
  assert.equal(run.code, 1);
  const lines = run.stderr.trim().split('\n');
  assert.equal(lines.length, 1, run.stderr);
  assert.match(lines[0] as string, /^vggkit: offline: weights file .*download https?:\/\//);
  await assert.rejects(stat(join(dir, 'offline')), { code: 'ENOENT' }, 'no run folder is left');
});

test('train rejects --resume without --out and bad flag values with exit code 2', async () => {
  const resume = await vggkit('train', data, '--resume');
  assert.equal(resume.code, 2);
  assert.match(resume.stderr, /--resume: expected --out DIR/);
  const optimizer = await vggkit('train', data, '--optimizer', 'rmsprop', '--weights', 'none');
  assert.equal(optimizer.code, 2);
  assert.match(optimizer.stderr, /--optimizer.*adam.*rmsprop/);
  // Errors on nested settings name the flag as typed, and --json carries the specific code.
  const gamma = await vggkit('train', data, '--gamma', '-1', '--json');
  assert.equal(gamma.code, 2);
  assert.match(gamma.stderr, /^vggkit: --gamma: expected a number > 0, received -1$/m);
  assert.equal((lastJsonLine(gamma.stdout).error as { code: string }).code, 'INVALID_OPTION');
  const minLr = await vggkit('train', data, '--min-lr', '-1');
  assert.match(minLr.stderr, /^vggkit: --min-lr: expected a number >= 0, received -1$/m);
});

test('train refuses up front a batch that cannot fit in memory, naming --batch-size, the estimate and what is available', async () => {
  const out = join(dir, 'too-large');
  const run = await vggkit(
    'train',
    data,
    '--weights',
    'none',
    '--input-size',
    '32',
    '--stages',
    'block1:1',
    '--batch-size',
    '1000000',
    '--out',
    out,
  );
  assert.equal(run.code, 2, run.stderr);
  assert.match(
    run.stderr,
    /--batch-size 1000000: training blocks 1-5 \+ head at 32x32 needs an estimated [\d.]+ GB of memory \([\d.]+ GB \+ 1000000 x [\d.]+ MB per image\), but [\d.]+ GB is available; use --batch-size \d+ or lower/,
  );
  assert.doesNotMatch(run.stderr, /\n\s+at |Error:/);
});
