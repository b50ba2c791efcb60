/**
 * A real sweep end to end in one process (generated shape images, random-init VGG11 at 32x32):
 * sweep.json and best-config.json, the feature cache filled once by the coordinator and never
 * again by a trial, best-config.json reproducing its trial's monitored value through fineTune at
 * the same seed, and ASHA's promoted trial continuing from its own checkpoint: its history is
 * bit-identical to one uninterrupted run of its config.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fineTune } from '../../src/train/fit.js';
import { parseTrainConfig } from '../../src/train/config-schema.js';
import { DEFAULT_CONFIG, type TrainConfig } from '../../src/train/config.js';
import { trainCandidates } from '../../src/sweep/candidates.js';
import { runSweep } from '../../src/sweep/run-sweep.js';
import { readSweepFile } from '../../src/sweep/results.js';
import type { SearchSpace } from '../../src/sweep/types.js';
import { writeShapesDataset } from '../helpers/shapes.js';

let dir = '';
let data = '';

const base: TrainConfig = parseTrainConfig(
  {
    arch: 'vgg11',
    weights: 'none',
    inputSize: 32,
    head: 'avg',
    dense: 16,
    dropout: 0,
    batchSize: 4,
    epochs: 3,
    seed: 3,
  },
  'test',
  DEFAULT_CONFIG,
);

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vggkit-sweep-'));
  data = join(dir, 'data');
  await writeShapesDataset(data, { perClass: 8, size: 32, seed: 5 });
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function countFiles(root: string, suffix: string): Promise<number> {
  const entries = await readdir(root, { recursive: true }).catch(() => [] as string[]);
  return entries.filter((e) => e.endsWith(suffix)).length;
}

test('a local sweep writes sweep.json and best-config.json; the cache is filled once; the best config reproduces its trial', async () => {
  const space: SearchSpace = {
    dimensions: [
      { kind: 'categorical', name: 'lr', path: 'lr', choices: [1e-3, 3e-3] },
      { kind: 'categorical', name: 'optimizer', path: 'optimizer', choices: ['adam', 'sgd'] },
    ],
  };
  const cacheDir = join(dir, 'cache');
  const out = join(dir, 'grid');
  const lines: string[] = [];
  const result = await runSweep({
    settings: {
      data,
      base,
      space,
      sampler: 'grid',
      trials: Number.POSITIVE_INFINITY,
      scheduler: 'none',
      monitor: { name: 'val_loss', direction: 'min' },
    },
    out,
    cacheDir,
    log: (l) => lines.push(l),
  });
  const sweep = await readSweepFile(out);
  assert.ok(sweep !== undefined);
  assert.equal(sweep.trials.length, 4);
  assert.equal(sweep.finished, true);
  assert.deepEqual(
    new Set(sweep.trials.map((t) => `${t.params.lr}/${t.params.optimizer}`)),
    new Set(['0.001/adam', '0.001/sgd', '0.003/adam', '0.003/sgd']),
  );
  for (const t of sweep.trials) {
    assert.equal(t.status, 'completed');
    assert.equal(t.epochs, 3);
    assert.equal(t.history.length, 3);
    assert.equal(t.featuresComputed, 0, `${t.id} computed features the coordinator had cached`);
    assert.ok(t.workers.length === 1 && t.seconds > 0);
    assert.equal(t.value, Math.min(...t.history.map((h) => h.val_loss as number)));
  }
  // 24 images, one frozen prefix: 24 base forwards for the whole sweep, 24 cache entries.
  assert.equal(sweep.cacheFilled, 24);
  assert.equal(await countFiles(join(cacheDir, 'features'), '.f32'), 24);
  assert.ok(
    lines.some((l) => /24 images x 1 frozen prefix, 24 computed now/.test(l)),
    lines.join('\n'),
  );
  const best = result.best;
  assert.ok(best !== undefined && sweep.best !== null);
  assert.equal(sweep.best.trialId, best.id);
  for (const t of sweep.trials) assert.ok(t.value >= best.value);
  // The winner is a full model folder; the others keep their run files but no checkpoint.
  const bestDir = join(out, 'trials', best.id);
  for (const f of ['model.onnx', 'weights.h5', 'report.html', 'history.json', 'config.json'])
    assert.ok(await stat(join(bestDir, f)));
  const other = sweep.trials.find((t) => t.id !== best.id)?.id as string;
  await assert.rejects(stat(join(out, 'trials', other, 'checkpoint.safetensors')));

  // `vggkit train --config best-config.json` is fineTune with that file: same seed, same value.
  const bestConfig = JSON.parse(await readFile(join(out, 'best-config.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  const again = await fineTune({ data, config: bestConfig, out: join(dir, 'again'), cacheDir });
  assert.deepEqual(
    again.history.map((h) => h.val_loss),
    best.history.map((h) => h.val_loss),
  );

  // A second sweep on the same images finds every feature cached.
  const second = await runSweep({
    settings: {
      data,
      base,
      space,
      sampler: 'random',
      trials: 1,
      scheduler: 'none',
      monitor: { name: 'val_accuracy', direction: 'max' },
    },
    out: join(dir, 'second'),
    cacheDir,
  });
  assert.equal(second.sweep.cacheFilled, 0);
  await assert.rejects(
    runSweep({
      settings: {
        data,
        base,
        space,
        sampler: 'grid',
        trials: 1,
        scheduler: 'none',
        monitor: { name: 'val_loss', direction: 'min' },
      },
      out,
      cacheDir,
    }),
    /already holds a sweep/,
  );
});

test('ASHA: pruned trials stop at a rung; a promoted trial continues from its own checkpoint, bit-identical to one uninterrupted run', async () => {
  const space: SearchSpace = {
    dimensions: [{ kind: 'float', name: 'lr', path: 'lr', low: 1e-4, high: 3e-2, log: true }],
  };
  const cacheDir = join(dir, 'cache');
  const out = join(dir, 'asha');
  const result = await runSweep({
    settings: {
      data,
      base: { ...base, epochs: 4 },
      space,
      sampler: 'random',
      trials: 5,
      scheduler: 'asha',
      asha: { minEpochs: 1, reductionFactor: 2 },
      monitor: { name: 'val_loss', direction: 'min' },
    },
    out,
    cacheDir,
  });
  const trials = result.sweep.trials;
  assert.equal(trials.length, 5);
  const pruned = trials.filter((t) => t.status === 'pruned');
  const completed = trials.filter((t) => t.status === 'completed');
  assert.ok(
    pruned.length >= 1 && completed.length >= 1,
    trials.map((t) => `${t.id} ${t.status} ${t.epochs}`).join(', '),
  );
  for (const t of pruned)
    assert.ok([1, 2].includes(t.epochs), `${t.id} pruned after ${t.epochs} epochs`);
  const promoted = completed[0];
  assert.ok(promoted !== undefined);
  // Paused at epochs 1 and 2, resumed twice: reported at every stop.
  assert.deepEqual(promoted.reported, [1, 2, 4]);
  assert.equal(promoted.rungs.length, 2);
  const uninterrupted = await fineTune({
    data,
    config: JSON.parse(
      await readFile(join(out, 'trials', promoted.id, 'config.json'), 'utf8'),
    ) as Record<string, unknown>,
    out: join(dir, 'straight'),
    cacheDir,
  });
  assert.deepEqual(uninterrupted.history, promoted.history);
});

test('trainCandidates: the trial runner as a library call trains each config on the shared cache and returns its history', async () => {
  const cacheDir = join(dir, 'cache-candidates');
  const candidates = [
    { ...base, epochs: 2, lr: 1e-2 },
    { ...base, epochs: 2, lr: 1e-4, optimizer: 'sgd' as const },
  ];
  const results = await trainCandidates({
    data,
    candidates,
    out: join(dir, 'candidates'),
    cacheDir,
  });
  assert.equal(results.length, 2);
  for (const [i, r] of results.entries()) {
    assert.equal(r.status, 'completed');
    assert.equal(r.history.length, 2);
    assert.equal(r.config, candidates[i]);
    assert.equal(r.value, Math.min(...r.history.map((h) => h.val_loss as number)));
  }
  // One prefix, 24 images: filled once before the candidates ran.
  assert.equal(await countFiles(join(cacheDir, 'features'), '.f32'), 24);
});
