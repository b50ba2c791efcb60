/**
 * Issue 7's three comparisons, measured in one run on the same images (Fashion-MNIST class
 * folders via bench/fashion-mnist.ts, upscaled to 224; VGG16, base frozen, the seed's head):
 *
 *  (a) a 24-trial head sweep (20 epochs each; lr, optimizer, dropout, batch size searched) against
 *      ONE training run of the same config: target, the whole sweep within 3x of one run, since
 *      the base runs once per image for the whole sweep;
 *  (b) the same sweep against a KerasTuner-style loop that recomputes the frozen base every epoch
 *      of every trial (PyTorch stand-in, bench/recipe_torch.py): target at least 50x faster. Running
 *      that loop in full would take hours here, so its per-epoch cost is measured in this run and
 *      projected to 24 x 20 epochs, and the output says so;
 *  (c) ASHA against the full sweep on the same 24 trials (random sampler: the same configs):
 *      target, at most 40% of the epochs for a best trial within one point of validation accuracy;
 *  plus the --parallel choice: 1 worker with every thread against 2 single-thread workers on the
 *  same warm-cache trials.
 * Weights are random (`none`): ImageNet weights are not reachable here and speed does not depend
 * on their values; accuracies are therefore low, the comparisons are what counts.
 *
 *   node --import tsx bench/sweep.ts [--train-per-class 30] [--val-per-class 20] [--trials 24] [--epochs 20] [--no-torch]
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runSweep, type SweepSettings } from '../src/sweep/run-sweep.js';
import { parseTrainConfig } from '../src/train/config-schema.js';
import { DEFAULT_CONFIG } from '../src/train/config.js';
import { fineTune } from '../src/train/fit.js';
import { fashionMnistAvailable, writeFashionMnist } from './fashion-mnist.js';
import { describeMachine, machineInfo } from './machine.js';

const { values: args } = parseArgs({
  options: {
    'train-per-class': { type: 'string', default: '30' },
    'val-per-class': { type: 'string', default: '20' },
    trials: { type: 'string', default: '24' },
    epochs: { type: 'string', default: '20' },
    'no-torch': { type: 'boolean', default: false },
  },
});
const trials = Number(args.trials);
const epochs = Number(args.epochs);

if (!(await fashionMnistAvailable())) {
  process.stderr.write(
    'bench/sweep.ts needs dataset-fashion-mnist (apt-get install dataset-fashion-mnist)\n',
  );
  process.exit(1);
}
const machine = machineInfo();
process.stdout.write(`${describeMachine(machine)}\n`);
const work = await mkdtemp(join(tmpdir(), 'vggkit-bench-sweep-'));
const train = join(work, 'train');
const val = join(work, 'val');
const classes = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
const nTrain = await writeFashionMnist(train, classes, Number(args['train-per-class']), 'train');
const nVal = await writeFashionMnist(val, classes, Number(args['val-per-class']), 't10k');
process.stdout.write(
  `images: ${nTrain} training + ${nVal} validation Fashion-MNIST images (10 classes), input 224, VGG16 base frozen, weights none\n`,
);

const base = parseTrainConfig(
  { weights: 'none', val, epochs, inputSize: 224 },
  'bench',
  DEFAULT_CONFIG,
);
const settings = (scheduler: 'none' | 'asha', n = trials): SweepSettings => ({
  data: train,
  base,
  space: {
    dimensions: [
      { kind: 'float', name: 'lr', path: 'lr', low: 1e-5, high: 1e-2, log: true },
      { kind: 'categorical', name: 'optimizer', path: 'optimizer', choices: ['adam', 'sgd'] },
      { kind: 'float', name: 'dropout', path: 'dropout', low: 0.2, high: 0.6, log: false },
      { kind: 'categorical', name: 'batch-size', path: 'batchSize', choices: [16, 32, 64] },
    ],
  },
  sampler: 'random',
  trials: n,
  scheduler,
  asha: { minEpochs: 1, reductionFactor: 3 },
  monitor: { name: 'val_accuracy', direction: 'max' },
});
const seconds = (since: number): number => (performance.now() - since) / 1000;

// (a) one run of the base config, then the sweep, each from a cold feature cache.
let t = performance.now();
await fineTune({
  data: train,
  config: base,
  out: join(work, 'single'),
  cacheDir: join(work, 'cache-single'),
});
const singleSeconds = seconds(t);
process.stdout.write(
  `one training run (${epochs} epochs, features computed once): ${singleSeconds.toFixed(1)} s\n`,
);

t = performance.now();
const full = await runSweep({
  settings: settings('none'),
  out: join(work, 'full'),
  cacheDir: join(work, 'cache-sweep'),
  parallel: 2,
});
const sweepSeconds = seconds(t);
const fullEpochs = full.sweep.trials.reduce((n, tr) => n + tr.epochs, 0);
process.stdout.write(
  `full sweep (${trials} trials x ${epochs} epochs, --parallel 2): ${sweepSeconds.toFixed(1)} s, ${fullEpochs} epochs\n`,
);

// (c) ASHA on the same 24 configs, warm cache (the fill is the same work in both sweeps).
t = performance.now();
const asha = await runSweep({
  settings: settings('asha'),
  out: join(work, 'asha'),
  cacheDir: join(work, 'cache-sweep'),
  parallel: 2,
});
const ashaSeconds = seconds(t);
const ashaEpochs = asha.sweep.trials.reduce((n, tr) => n + tr.epochs, 0);

// --parallel: the same warm-cache trials with one worker (every thread) and two (one thread each).
const probeTrials = 4;
const timed = async (parallel: number): Promise<number> => {
  const s = performance.now();
  await runSweep({
    settings: { ...settings('none', probeTrials), base: { ...base, epochs: 5 } },
    out: join(work, `parallel-${parallel}-${Date.now()}`),
    cacheDir: join(work, 'cache-sweep'),
    parallel,
  });
  return seconds(s);
};
const p1 = [await timed(1), await timed(2)];
const p2 = [await timed(2), await timed(1)];
const oneWorker = Math.min(p1[0] as number, p2[1] as number);
const twoWorkers = Math.min(p1[1] as number, p2[0] as number);

// (b) the KerasTuner-style loop: the frozen base on every batch of every epoch of every trial.
let torchEpochSeconds: number | undefined;
if (
  !args['no-torch'] &&
  spawnSync('/usr/bin/python3', ['-c', 'import torch, torchvision'], { stdio: 'ignore' }).status ===
    0
) {
  const script = fileURLToPath(new URL('./recipe_torch.py', import.meta.url));
  // One epoch over the training images (the base's forward dominates; validation would add 2/3 more).
  const result = spawnSync('/usr/bin/python3', [script, train, '1', '32'], { encoding: 'utf8' });
  if (result.status === 0)
    torchEpochSeconds = (JSON.parse(result.stdout.trim()) as { train_seconds: number })
      .train_seconds;
  else process.stderr.write(result.stderr);
}

const bestOf = (sweep: typeof full): number => sweep.sweep.best?.value ?? Number.NaN;
const lines = [
  '',
  `(a) sweep / one run: ${(sweepSeconds / singleSeconds).toFixed(2)}x (${sweepSeconds.toFixed(1)} s / ${singleSeconds.toFixed(1)} s)   target <= 3x`,
  torchEpochSeconds === undefined
    ? '(b) PyTorch not available: KerasTuner-style comparison not measured'
    : `(b) KerasTuner-style loop, PROJECTED from one measured epoch (${torchEpochSeconds.toFixed(1)} s/epoch x ${trials} trials x ${epochs} epochs = ${((torchEpochSeconds * trials * epochs) / 3600).toFixed(1)} h; not run in full): ${((torchEpochSeconds * trials * epochs) / sweepSeconds).toFixed(0)}x slower than the sweep   target >= 50x`,
  `(c) ASHA: ${ashaEpochs} of ${fullEpochs} epochs (${((100 * ashaEpochs) / fullEpochs).toFixed(0)}%), ${ashaSeconds.toFixed(1)} s; best val_accuracy ${(100 * bestOf(asha)).toFixed(1)}% vs full sweep ${(100 * bestOf(full)).toFixed(1)}% (${(100 * (bestOf(asha) - bestOf(full))).toFixed(1)} points)   target <= 40% of the epochs, within 1 point`,
  `--parallel: ${probeTrials} warm-cache trials x 5 epochs: 1 worker (${machine.cores} threads) ${oneWorker.toFixed(1)} s, 2 workers (1 thread each) ${twoWorkers.toFixed(1)} s: ${twoWorkers < oneWorker ? 'two workers' : 'one worker'} faster by ${(Math.max(oneWorker, twoWorkers) / Math.min(oneWorker, twoWorkers)).toFixed(2)}x`,
  `${describeMachine()} (at the end)`,
];
process.stdout.write(`${lines.join('\n')}\n`);
await rm(work, { recursive: true, force: true });
