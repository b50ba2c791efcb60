/**
 * VGG16 from scratch at 32x32 (issue 11 section 2): all 13 convs and the seed head trainable,
 * random weights, on real Fashion-MNIST images (`--images` training images, default 6,000, from
 * Debian's dataset-fashion-mnist; 1,000 test images as the validation folder) — the whole
 * `vggkit train` command (decode, training, validation every epoch, model folder) against a
 * PyTorch 1.13 loop doing the same epochs (2 threads, huge-page malloc; decode timed too), each
 * in its own process so its peak RSS is its own. The two run one after the other, vggkit first,
 * so under load compare them only with the load averages printed beside them.
 *
 * vggkit runs as a user runs it: the compiled CLI (`npm run build`, dist/src/cli/main.js, plain
 * Node), not the sources under tsx. Under tsx's loader the h5wasm bundle alone (4.2 MB of JS
 * with its WebAssembly inlined) keeps ~600 MB resident, which the installed command never pays.
 *
 *   node --import tsx bench/scratch.ts [--images 6000] [--epochs 5] [--batch 32] [--no-torch]
 *
 * Targets: at least parity with PyTorch in speed and at most 1.5x its peak RSS, at the same
 * validation accuracy (random init: both land in the same range, not on the same number).
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { CONV_TIMINGS_FILE } from '../src/engine/train-step.js';
import { defaultCacheDir } from '../src/model/download.js';
import { HUGE_PAGES, loadAverage } from './engines.js';
import {
  FASHION_MNIST_CLASSES,
  fashionMnistAvailable,
  writeFashionMnist,
} from './fashion-mnist.js';
import { describeMachine } from './machine.js';

const { values: args } = parseArgs({
  options: {
    images: { type: 'string', default: '6000' },
    epochs: { type: 'string', default: '5' },
    batch: { type: 'string', default: '32' },
    'no-torch': { type: 'boolean', default: false },
  },
});
const exec = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface Figure {
  readonly seconds: number;
  readonly valAccuracy: number | undefined;
  readonly maxRssMb: number | undefined;
  /** train's own estimate of the step's memory (the figure BATCH_TOO_LARGE is judged by), vggkit only. */
  readonly estimateGb?: number | undefined;
}

/** Compiles the CLI as `npm install` does (the package's prepare step) so the run uses dist/. */
async function buildCli(): Promise<string> {
  await exec('npm', ['run', 'build'], { cwd: ROOT, maxBuffer: 64 * 2 ** 20 });
  return join(ROOT, 'dist', 'src', 'cli', 'main.js');
}

async function vggkit(cli: string, train: string, test: string, out: string): Promise<Figure> {
  // A fresh cache (no features from an earlier run), but with this machine's conv timings: they
  // are measured once per machine, not per run.
  const home = join(out, '..', 'home');
  await mkdir(home, { recursive: true });
  await copyFile(join(defaultCacheDir(), CONV_TIMINGS_FILE), join(home, CONV_TIMINGS_FILE)).catch(
    () => undefined,
  );
  const started = performance.now();
  const { stderr } = await exec(
    process.execPath,
    [
      ...['--import', './bench/report-rss.mjs', cli, 'train', train],
      ...['--val', test, '--weights', 'none', '--input-size', '32', '--no-reduce-lr'],
      ...['--stages', `block1:${args.epochs}`, '--batch-size', String(args.batch), '--out', out],
    ],
    {
      cwd: ROOT,
      maxBuffer: 64 * 2 ** 20,
      env: { ...process.env, VGGKIT_HOME: home },
    },
  );
  const seconds = (performance.now() - started) / 1000;
  const rss = stderr
    .split('\n')
    .filter((l) => l.startsWith('{"maxRssMb"'))
    .map((l) => (JSON.parse(l) as { maxRssMb: number }).maxRssMb)
    .at(-1);
  // history.json's schema is written by src/train/fit.ts: { classNames, epochs: [{ epoch, ...logs }] }.
  const history = JSON.parse(await readFile(join(out, 'history.json'), 'utf8')) as {
    epochs: { val_accuracy?: number }[];
  };
  await printLowerings(join(home, CONV_TIMINGS_FILE));
  // src/train/run.ts logs "memory: about X GB for the training step at batch N".
  const estimate = /memory: about ([\d.]+) GB for the training step/.exec(stderr)?.[1];
  return {
    seconds,
    valAccuracy: history.epochs.at(-1)?.val_accuracy,
    maxRssMb: rss,
    estimateGb: estimate === undefined ? undefined : Number(estimate),
  };
}

/**
 * The conv lowerings `auto` chose, with the timings it chose by (src/engine/conv-lowering.ts's
 * cache: shape key -> { ms per candidate, load }): two runs of this bench compare only if these match.
 */
async function printLowerings(file: string): Promise<void> {
  const cache = JSON.parse(await readFile(file, 'utf8').catch(() => '{}')) as {
    timings?: Record<string, { ms: Record<string, number>; load: { loadAverage: number } }>;
  };
  // The copied cache may hold this machine's other shapes (a 224 fine-tune's, 28x28 in block 4)
  // and other thread counts' timings: only the 32x32 network's blocks at train's threads are this run's.
  const sizes = new Set([32, 16, 8, 4, 2]);
  for (const [key, { ms, load }] of Object.entries(cache.timings ?? {})) {
    const shape = key.split('|').slice(-3).join(' ');
    if (!key.includes(`|${availableParallelism()}t|`)) continue;
    if (!sizes.has(Number(/^(\d+)x/.exec(shape)?.[1]))) continue;
    const ranked = Object.entries(ms).sort((a, b) => a[1] - b[1]);
    const times = ranked.map(([name, t]) => `${name} ${t.toFixed(1)} ms`).join(', ');
    console.log(
      `  conv ${shape.padEnd(28)} -> ${ranked[0]?.[0] ?? '?'}  (${times}; timed at load ${load.loadAverage.toFixed(1)})`,
    );
  }
}

async function pytorch(train: string, test: string): Promise<Figure | undefined> {
  try {
    const { stdout } = await exec(
      '/usr/bin/python3',
      [
        fileURLToPath(new URL('scratch_torch.py', import.meta.url)),
        train,
        test,
        String(args.epochs),
        String(args.batch),
      ],
      { env: { ...process.env, ...HUGE_PAGES, BENCH_TORCH_THREADS: '2' }, maxBuffer: 64 * 2 ** 20 },
    );
    return JSON.parse(stdout.trim().split('\n').at(-1) as string) as Figure;
  } catch (error) {
    console.log(`PyTorch: unavailable (${(error as Error).message.split('\n')[0] ?? ''})`);
    return undefined;
  }
}

if (!(await fashionMnistAvailable())) {
  console.log(
    'bench/scratch needs Debian dataset-fashion-mnist (/usr/share/datasets/fashion-mnist)',
  );
  process.exit(1);
}
const cli = await buildCli();
const work = await mkdtemp(join(tmpdir(), 'vggkit-scratch-'));
try {
  const classes = FASHION_MNIST_CLASSES.map((_, i) => i);
  const perClass = Math.ceil(Number(args.images) / classes.length);
  const train = join(work, 'train');
  const test = join(work, 'test');
  await writeFashionMnist(train, classes, perClass);
  await writeFashionMnist(test, classes, 100, 't10k');
  console.log(describeMachine());
  console.log(
    `VGG16 from scratch at 32x32, ${perClass * classes.length} Fashion-MNIST images (validation: 1,000 test images), ${args.epochs} epochs, batch ${args.batch}, Adam 1e-4`,
  );
  const gb = (mb: number | undefined): string => (mb === undefined ? '?' : (mb / 1024).toFixed(2));
  const row = (name: string, f: Figure, load: string): void =>
    console.log(
      `${name.padEnd(44)} ${f.seconds.toFixed(1).padStart(8)} s  val_accuracy ${f.valAccuracy?.toFixed(3) ?? '?'}  peak RSS ${gb(f.maxRssMb)} GB  (load ${load})`,
    );
  const before = loadAverage();
  const ours = await vggkit(cli, train, test, join(work, 'run'));
  row('vggkit train (whole command, compiled)', ours, `${before} -> ${loadAverage()}`);
  console.log(
    `vggkit's memory estimate for the step: ${ours.estimateGb?.toFixed(2) ?? '?'} GB (measured peak RSS of the whole command: ${gb(ours.maxRssMb)} GB)`,
  );
  if (!args['no-torch']) {
    const before2 = loadAverage();
    const theirs = await pytorch(train, test);
    if (theirs !== undefined) {
      row('PyTorch 1.13, 2 threads, huge-page malloc', theirs, `${before2} -> ${loadAverage()}`);
      console.log(
        `vggkit / PyTorch: speed ${(theirs.seconds / ours.seconds).toFixed(2)}x (target >= 1.0x), peak RSS ${((ours.maxRssMb ?? NaN) / (theirs.maxRssMb ?? NaN)).toFixed(2)}x (target <= 1.5x)`,
      );
    }
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
