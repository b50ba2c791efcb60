/**
 * What a finished fine-tune costs after its last epoch (writeRunOutputs: model.onnx, weights.h5,
 * best/, history.json, predictions.json with top-loss thumbnails, report.html), on Fashion-MNIST
 * validation images upscaled to 224 (VGG16, base frozen, random weights: speed does not depend on
 * their values). predictions.json comes from the last validation pass's probabilities; before,
 * the model folder re-decoded every validation image and ran the whole network on it again.
 *
 * One run is trained once; each round then times (new) a resume with nothing left to train, which
 * is exactly the end of a run (what a sweep's winner pays), and (old) the same plus the
 * re-decode-and-forward pass the old code added (modelValidationOutputs, still the fallback for
 * checkpoints that hold no validation outputs). Rounds interleave; medians are printed.
 *
 *   node --import tsx bench/end-of-run.ts [--val-per-class 50] [--train-per-class 10] [--size 224] [--rounds 3]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { fineTune } from '../src/train/fit.js';
import { modelValidationOutputs, TOP_LOSSES } from '../src/train/predictions.js';
import { fashionMnistAvailable, writeFashionMnist } from './fashion-mnist.js';
import { describeMachine } from './machine.js';
import { median } from '../src/util/stats.js';

const { values: args } = parseArgs({
  options: {
    'val-per-class': { type: 'string', default: '50' },
    'train-per-class': { type: 'string', default: '10' },
    size: { type: 'string', default: '224' },
    rounds: { type: 'string', default: '3' },
  },
});
if (!(await fashionMnistAvailable())) {
  process.stderr.write(
    'bench/end-of-run.ts needs dataset-fashion-mnist (apt-get install dataset-fashion-mnist)\n',
  );
  process.exit(1);
}
process.stdout.write(`${describeMachine()}\n`);
const work = await mkdtemp(join(tmpdir(), 'vggkit-bench-end-of-run-'));
try {
  const classes = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const train = join(work, 'train');
  const val = join(work, 'val');
  await writeFashionMnist(train, classes, Number(args['train-per-class']), 'train');
  const nVal = await writeFashionMnist(val, classes, Number(args['val-per-class']), 't10k');
  const options = {
    data: train,
    out: join(work, 'run'),
    cacheDir: join(work, 'cache'),
    config: { weights: 'none', inputSize: Number(args.size), val, epochs: 1, batchSize: 16 },
  };
  const started = performance.now();
  const first = await fineTune(options);
  process.stdout.write(
    `trained ${first.dataset.train.length} + validated ${nVal} images at ${args.size} in ${((performance.now() - started) / 1000).toFixed(1)} s (features computed once)\n`,
  );

  const fresh: number[] = [];
  const old: number[] = [];
  for (let round = 0; round < Number(args.rounds); round++) {
    const t0 = performance.now();
    await fineTune({ ...options, resume: true });
    const t1 = performance.now();
    await modelValidationOutputs(options.out, first.dataset.val);
    const t2 = performance.now();
    fresh.push((t1 - t0) / 1000);
    old.push((t1 - t0 + (t2 - t1)) / 1000);
    process.stdout.write(
      `round ${round + 1}: end of run ${fresh.at(-1)?.toFixed(2)} s; with the old second forward pass ${old.at(-1)?.toFixed(2)} s\n`,
    );
  }
  const n = median(fresh);
  const o = median(old);
  process.stdout.write(
    `end of run on ${nVal} validation images at ${args.size}: ${n.toFixed(2)} s (median), old ${o.toFixed(2)} s: ${(o / n).toFixed(1)}x\n` +
      `target: no per-image network pass at the end of a run (its cost no longer grows with the validation set beyond ${TOP_LOSSES} thumbnails)\n`,
  );
} finally {
  await rm(work, { recursive: true, force: true });
}
