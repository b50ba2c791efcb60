/**
 * ASHA against a schedule computed by hand from Optuna's rule (promote while in the top
 * 1/reduction-factor of the values recorded at the rung so far, the trial's own included; among
 * the first reduction-factor-1 arrivals only the best), and the study's bookkeeping around it:
 * a re-delivered result is recorded once.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AshaScheduler } from '../../src/sweep/schedulers/asha.js';
import { createScheduler } from '../../src/sweep/schedulers/index.js';
import { Study } from '../../src/sweep/study.js';
import { RandomSampler } from '../../src/sweep/samplers/random.js';
import type { SchedulerTrial, TrialOutcome } from '../../src/sweep/types.js';
import { DEFAULT_CONFIG } from '../../src/train/config.js';

test('rungs end at min-epochs x reduction-factor^k below the budget', () => {
  const asha = new AshaScheduler({ minEpochs: 1, reductionFactor: 3 });
  assert.deepEqual(
    [0, 1, 2, 3, 8].map((e) => asha.nextStop(e, 9)),
    [1, 3, 3, 9, 9],
  );
  assert.deepEqual(
    [0, 1].map((e) => asha.nextStop(e, 2)),
    [1, 2],
  );
  assert.equal(asha.nextStop(0, 1), 1);
  const two = new AshaScheduler({ minEpochs: 2, reductionFactor: 2 });
  assert.deepEqual(
    [0, 2, 4, 8].map((e) => two.nextStop(e, 20)),
    [2, 4, 8, 16],
  );
  assert.throws(() => new AshaScheduler({ minEpochs: 0, reductionFactor: 3 }), /--min-epochs/);
  assert.throws(
    () => new AshaScheduler({ minEpochs: 1, reductionFactor: 1 }),
    /--reduction-factor/,
  );
});

test('promotions follow the hand-computed schedule (min-epochs 1, reduction factor 3, budget 9)', () => {
  const asha = new AshaScheduler({ minEpochs: 1, reductionFactor: 3 });
  const trials: SchedulerTrial[] = [];
  /** The trial reports `value` after `epochs`; returns whether it continues. */
  function report(id: string, epochs: number, value: number): boolean {
    const index = trials.findIndex((t) => t.id === id);
    const current =
      index < 0
        ? { id, epochs, budget: 9, value, rungs: [] }
        : { ...(trials[index] as SchedulerTrial), epochs, value };
    const decision = asha.decide(current, trials, 'min');
    const updated = { ...current, rungs: decision.rungs };
    if (index < 0) trials.push(updated);
    else trials[index] = updated;
    return !decision.prune;
  }
  // Rung 0 (epoch 1); comments give the competing values, sorted, and the cut-off index.
  assert.equal(report('t0', 1, 0.9), true); // [0.9], index 0
  assert.equal(report('t0', 3, 0.7), true); // rung 1: [0.7], index 0
  assert.equal(report('t1', 1, 1.0), false); // [0.9 1.0], index 0: 1.0 > 0.9
  assert.equal(report('t2', 1, 0.8), true); // [0.8 0.9 1.0], index 0
  assert.equal(report('t2', 3, 0.75), false); // rung 1: [0.7 0.75], index 0
  assert.equal(report('t3', 1, 0.85), false); // [0.8 0.85 0.9 1.0], index 0
  assert.equal(report('t4', 1, 0.6), true); // 5 values, index 0
  assert.equal(report('t4', 3, 0.65), true); // rung 1: [0.65 0.7 0.75], index 0
  assert.equal(report('t5', 1, 0.95), false); // 6 values, index 1: 0.8
  assert.equal(report('t6', 1, 0.82), false); // 7 values, index 1: 0.8
  assert.equal(report('t7', 1, 0.7), true); // 8 values [0.6 0.7 …], index 1: 0.7
  assert.equal(report('t8', 1, Number.NaN), false); // diverged: pruned at once
  assert.deepEqual(trials.find((t) => t.id === 't4')?.rungs, [0.6, 0.65]);
  assert.deepEqual(trials.find((t) => t.id === 't8')?.rungs, []);
  // Maximising: the same rule mirrored.
  const max = new AshaScheduler({ minEpochs: 1, reductionFactor: 2 });
  const seen: SchedulerTrial[] = [{ id: 'a', epochs: 1, budget: 4, value: 0.5, rungs: [0.5] }];
  assert.equal(
    max.decide({ id: 'b', epochs: 1, budget: 4, value: 0.6, rungs: [] }, seen, 'max').prune,
    false,
  );
  assert.equal(
    max.decide({ id: 'c', epochs: 1, budget: 4, value: 0.4, rungs: [] }, seen, 'max').prune,
    true,
  );
});

test('the study pauses at rungs, promotes or prunes, and records each (trial, stop) once', () => {
  const space = {
    dimensions: [{ kind: 'float', name: 'lr', path: 'lr', low: 1e-4, high: 1e-2, log: true }],
  } as const;
  const study = new Study({
    sampler: new RandomSampler(space, 1),
    scheduler: createScheduler('asha', { minEpochs: 1, reductionFactor: 3 }),
    monitor: { name: 'val_loss', direction: 'min' },
    base: { ...DEFAULT_CONFIG, epochs: 9 },
    space,
    trials: 2,
  });
  const logs = (
    vals: number[],
  ): { loss: number; accuracy: number; val_loss: number; lr: number }[] =>
    vals.map((v) => ({ loss: v, accuracy: 0.5, val_loss: v, lr: 1e-3 }));
  const outcome = (
    trialId: string,
    stopAt: number,
    vals: number[],
    status: TrialOutcome['status'] = 'paused',
  ): TrialOutcome => ({
    trialId,
    stopAt,
    status,
    history: logs(vals),
    startedAt: 0,
    seconds: 1,
    worker: 'w',
    featuresComputed: 0,
  });
  const a = study.next();
  assert.equal(a?.record.stopAt, 1);
  assert.equal(a?.config.epochs, 9);
  const b = study.next();
  assert.equal(b?.record.id, 't001');
  assert.equal(study.next(), undefined);
  assert.equal(study.tell(outcome('t000', 1, [0.9]))?.status, 'waiting');
  assert.equal(
    study.tell(outcome('t000', 1, [0.9])),
    undefined,
    'a re-delivered result is ignored',
  );
  assert.equal(study.tell(outcome('t001', 1, [1.2]))?.status, 'pruned');
  const again = study.next();
  assert.equal(again?.record.id, 't000');
  assert.equal(again?.record.stopAt, 3);
  assert.equal(study.tell(outcome('t000', 3, [0.9, 0.8, 0.7]))?.stopAt, 9);
  study.next();
  const done = study.tell(
    outcome('t000', 9, [0.9, 0.8, 0.7, 0.6, 0.65, 0.5, 0.55, 0.52, 0.51], 'finished'),
  );
  assert.equal(done?.status, 'completed');
  assert.equal(done?.value, 0.5);
  assert.equal(done?.bestEpoch, 5);
  assert.deepEqual(done?.rungs, [0.9, 0.7]);
  assert.equal(study.done, true);
  assert.equal(study.best()?.id, 't000');
});
