/**
 * Start-up (issue 11 §3), through the installed bin (`dist/src/cli/main.js`, built first): the
 * wall time of `vggkit --help`, and of a one-image `vggkit predict` on a small (64x64) and a
 * 224x224 VGG16 model folder — with ORT's optimised graph already cached (every run after the
 * first) and cold (a fresh $VGGKIT_HOME, as on the very first run). Each round runs every case
 * once, interleaved, beside a bare `node -e 0` (what Node itself costs here); figures are medians.
 * Each case also gets the CPU seconds its process used (user + system, from sh's `times`): on a
 * loaded machine the wall time is mostly waiting for a core, and the CPU time is what is left.
 *
 *   node --import tsx bench/startup.ts [--rounds 5] [--no-build] [--json]
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { makeContract } from '../src/image/index.js';
import { modelLayers } from '../src/model/head.js';
import { initWeights } from '../src/model/init.js';
import { writeModel } from '../src/train/model-output.js';
import { Random } from '../src/util/random.js';
import { median } from '../src/util/stats.js';
import { describeMachine, machineInfo } from './machine.js';

const HELP_TARGET_S = 0.3;
const PREDICT_TARGET_S = 1.5;
const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'dist', 'src', 'cli', 'main.js');

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    'no-build': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});

if (!args['no-build']) {
  const built = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
  if (built.status !== 0) throw new Error('npm run build failed');
}

interface Sample {
  readonly wall: number;
  readonly cpu: number;
}

/** Wall and CPU seconds of one run; a failing command is an error, not a fast figure. */
function timed(command: readonly string[], env: NodeJS.ProcessEnv): Sample {
  const errors = join(work, 'stderr.txt');
  const start = performance.now();
  // `times` prints the shell's own CPU times, then its children's: the second line is the command's.
  const run = spawnSync(
    'sh',
    [
      '-c',
      'err=$1; shift; "$@" >/dev/null 2>"$err"; s=$?; times; exit $s',
      'sh',
      errors,
      process.execPath,
      ...command,
    ],
    { env, encoding: 'utf8' },
  );
  const wall = (performance.now() - start) / 1000;
  if (run.status !== 0)
    throw new Error(`${command.join(' ')} failed: ${readFileSync(errors, 'utf8')}`);
  const children = run.stdout.trim().split('\n').at(-1) ?? '';
  const cpu = [...children.matchAll(/(\d+)m([\d.]+)s/g)].reduce(
    (sum, m) => sum + 60 * Number(m[1]) + Number(m[2]),
    0,
  );
  return { wall, cpu };
}

const work = await mkdtemp(join(tmpdir(), 'vggkit-startup-'));
try {
  const photo = join(work, 'photo.jpg');
  const pixels = Buffer.from(Array.from({ length: 640 * 480 * 3 }, (_, i) => (i * 7) % 256));
  await sharp(pixels, { raw: { width: 640, height: 480, channels: 3 } })
    .jpeg({ quality: 88 })
    .toFile(photo);
  const folders: Record<string, string> = {};
  for (const size of [64, 224]) {
    const head = { kind: 'flatten', dense: 256, classes: 5, activation: 'softmax' } as const;
    const options = {
      arch: 'vgg16',
      includeTop: false,
      inputSize: [size, size],
      pooling: 'none',
      classes: 5,
    } as const;
    const dir = join(work, `model${size}`);
    await writeModel(
      dir,
      {
        arch: 'vgg16',
        contract: makeContract({ mode: 'caffe', inputSize: size }),
        head,
        classNames: ['a', 'b', 'c', 'd', 'e'],
      },
      initWeights(modelLayers(options, head), new Random(size)),
    );
    folders[size] = dir;
  }
  const warmHome = join(work, 'home');
  const env = (home: string): NodeJS.ProcessEnv => ({ ...process.env, VGGKIT_HOME: home });
  const predict = (size: number): string[] => [
    BIN,
    'predict',
    photo,
    '--weights',
    folders[size] as string,
  ];
  // Fill the warm cache once.
  for (const size of [64, 224]) timed(predict(size), env(warmHome));

  const cases: [string, () => Sample][] = [
    ['node -e 0 (Node itself)', () => timed(['-e', '0'], env(warmHome))],
    ['vggkit --help', () => timed([BIN, '--help'], env(warmHome))],
    ['vggkit train --help', () => timed([BIN, 'train', '--help'], env(warmHome))],
    ['predict 1 image, 64x64 folder, cached', () => timed(predict(64), env(warmHome))],
    ['predict 1 image, 224x224 folder, cached', () => timed(predict(224), env(warmHome))],
    [
      'predict 1 image, 224x224 folder, cold',
      () => {
        const home = join(work, `cold-${Math.random().toString(36).slice(2)}`);
        return timed(predict(224), env(home));
      },
    ],
  ];
  const samples = new Map<string, Sample[]>(cases.map(([name]) => [name, []]));
  for (let r = 0; r < Number(args.rounds); r++)
    for (const [name, run] of cases) samples.get(name)?.push(run());
  const rows = cases.map(([name]) => ({
    case: name,
    seconds: median((samples.get(name) ?? []).map((x) => x.wall)),
    cpuSeconds: median((samples.get(name) ?? []).map((x) => x.cpu)),
  }));
  const row = (name: string): { seconds: number; cpuSeconds: number } =>
    rows.find((r) => r.case === name) ?? { seconds: Number.NaN, cpuSeconds: Number.NaN };
  const figure = (name: string): string =>
    `${row(name).seconds.toFixed(3)} s (CPU ${row(name).cpuSeconds.toFixed(3)} s)`;

  if (args.json) {
    process.stdout.write(
      `${JSON.stringify({ machine: machineInfo(), rounds: Number(args.rounds), rows }, null, 2)}\n`,
    );
  } else {
    process.stdout.write(`${describeMachine()}\n`);
    process.stdout.write(`start-up through ${BIN}, ${args.rounds} interleaved rounds, medians\n`);
    process.stdout.write(`${'case'.padEnd(44)}${'wall'.padStart(10)}${'CPU'.padStart(10)}\n`);
    for (const r of rows)
      process.stdout.write(
        `${r.case.padEnd(44)}${r.seconds.toFixed(3).padStart(8)} s${r.cpuSeconds.toFixed(3).padStart(8)} s\n`,
      );
    process.stdout.write(
      `vggkit --help: ${figure('vggkit --help')} (target < ${HELP_TARGET_S} s)\n`,
    );
    process.stdout.write(
      `first prediction: ${figure('predict 1 image, 64x64 folder, cached')} (64), ${figure('predict 1 image, 224x224 folder, cached')} (224; ${figure('predict 1 image, 224x224 folder, cold')} with no cached optimised graph) (target < ${PREDICT_TARGET_S} s)\n`,
    );
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
