/**
 * --parallel: trials run in long-lived local worker processes that read the coordinator's feature
 * cache (no base forward in any worker), and a worker killed with SIGKILL mid-trial is replaced;
 * the trial resumes from its own checkpoint, so it still ends with exactly its budget of epochs,
 * bit-identical to an uninterrupted run on one thread.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ProcessPoolExecutor } from '../../src/sweep/executors/local.js';
import { runSweep, type SweepSettings } from '../../src/sweep/run-sweep.js';
import { DEFAULT_CONFIG } from '../../src/train/config.js';
import { parseTrainConfig } from '../../src/train/config-schema.js';
import { writeShapesDataset } from '../helpers/shapes.js';

let dir = '';
let data = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vggkit-sweep-parallel-'));
  data = join(dir, 'data');
  await writeShapesDataset(data, { perClass: 10, size: 32, seed: 4 });
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function settings(epochs: number, trials: number): SweepSettings {
  return {
    data,
    base: parseTrainConfig(
      {
        arch: 'vgg11',
        weights: 'none',
        inputSize: 32,
        head: 'avg',
        dense: 16,
        dropout: 0,
        batchSize: 2,
        epochs,
        seed: 8,
      },
      'test',
      DEFAULT_CONFIG,
    ),
    space: {
      dimensions: [{ kind: 'float', name: 'lr', path: 'lr', low: 1e-4, high: 1e-2, log: true }],
    },
    sampler: 'random',
    trials,
    scheduler: 'none',
    monitor: { name: 'val_loss', direction: 'min' },
  };
}

async function epochsDone(out: string, trialId: string): Promise<number> {
  const text = await readFile(join(out, 'trials', trialId, 'history.json'), 'utf8').catch(
    () => undefined,
  );
  return text === undefined ? 0 : (JSON.parse(text) as { epochs: unknown[] }).epochs.length;
}

test('two local workers share the cache; a worker killed mid-trial costs only its epoch', async () => {
  const out = join(dir, 'killed');
  const cacheDir = join(dir, 'cache');
  const executor = new ProcessPoolExecutor(2);
  let killed: number | undefined;
  let watching = true;
  const watcher = (async () => {
    // Kill t000's worker once t000 has completed an epoch but not its last.
    while (watching && killed === undefined) {
      const done = await epochsDone(out, 't000');
      const pid = executor.pidOf('t000');
      if (done >= 1 && done < 6 && pid !== undefined) {
        process.kill(pid, 'SIGKILL');
        killed = done;
      }
      await sleep(10);
    }
  })();
  const result = await runSweep({ settings: settings(6, 4), out, cacheDir, executor });
  watching = false;
  await watcher;
  assert.ok(killed !== undefined, 't000 finished before its worker could be killed');
  const trials = result.sweep.trials;
  assert.equal(result.sweep.cacheFilled, 30);
  for (const t of trials) {
    assert.equal(t.status, 'completed', `${t.id}: ${t.error?.message ?? ''}`);
    assert.equal(t.history.length, 6);
    assert.equal(t.featuresComputed, 0);
  }
  assert.ok(new Set(trials.flatMap((t) => t.workers)).size >= 2);
  const t000 = trials.find((t) => t.id === 't000');
  assert.ok(t000 !== undefined);
  assert.equal(t000.recoveries, 1, 'the replacement resumed t000 from its checkpoint');
  // The replacement worker resumed from the checkpoint: the same six epochs an in-process run gives.
  const straight = await runSweep({
    settings: settings(6, 1),
    out: join(dir, 'straight'),
    cacheDir,
  });
  const reference = straight.sweep.trials[0];
  assert.deepEqual(reference?.params, t000.params);
  assert.deepEqual(
    t000.history.map((h) => h.val_loss),
    reference?.history.map((h) => h.val_loss),
  );
});
