/**
 * The fix loop's short comparison of staged candidates (fix-loop/candidates.ts `shortened`,
 * `apportion`): every stage keeps at least one epoch, the stages together train exactly the
 * short budget run.ts gives each candidate (the same share of every budget), each stage's epochs
 * stay within one of its proportional share (when every share is an epoch or more), and a longer
 * stage never trains fewer epochs than a shorter one. Per-stage rounding broke the total
 * (head:5,block5:5 cut to 3 epochs trained 2+2 = 4).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { apportion, shortenedToFraction } from '../../src/doctor/fix-loop/candidates.js';
import { shortEpochs } from '../../src/doctor/fix-loop/run.js';
import { parseTrainConfig } from '../../src/train/config-schema.js';

/** Stage plans as users write them (text form), with their budgets. */
const PLANS = [
  'head:5,block5:5',
  'head:1,block5:1,block4:8',
  'head:3,block5:3,block4:3',
  'head:2,block5:18',
  'head:7,block5:2,block4:1',
  'head:10,block5:10,block4:10,block3:10',
  'head:1,block5:1,block4:1,block3:1,block2:1,block1:1',
  'head:4,block5:1',
];

test('staged candidates in the short comparison: each stage >= 1 epoch, the total is the short budget, each stage near its share', () => {
  for (const plan of PLANS) {
    const config = parseTrainConfig({ stages: plan }, 'test config');
    const budget = config.epochs;
    // As run.ts does: the short epochs of the user's budget, as a share of it.
    const short = shortEpochs(budget);
    const cut = shortenedToFraction(config, short / budget);
    const total = Math.max(1, Math.round(budget * (short / budget)));
    const epochs = cut.stages.map((s) => s.epochs);
    assert.deepEqual(
      cut.stages.map((s) => s.name),
      config.stages.map((s) => s.name),
      plan,
    );
    assert.ok(
      epochs.every((e) => Number.isInteger(e) && e >= 1),
      `${plan}: ${epochs.join('+')}`,
    );
    assert.equal(
      cut.epochs,
      epochs.reduce((n, e) => n + e, 0),
      plan,
    );
    assert.equal(cut.epochs, Math.max(total, config.stages.length), `${plan}: ${epochs.join('+')}`);
    assert.ok(cut.epochs <= budget, plan);
    const shares = config.stages.map((st) => (st.epochs * total) / budget);
    if (shares.every((x) => x >= 1))
      shares.forEach((share, i) => {
        assert.ok(
          Math.abs((epochs[i] as number) - share) < 1,
          `${plan}: stage ${i} ${epochs[i]} for a share of ${share.toFixed(2)}`,
        );
      });
    // A stage raised to its one epoch takes from the others, never the order of their sizes.
    config.stages.forEach((st, i) =>
      config.stages.forEach((other, j) => {
        if (st.epochs > other.epochs)
          assert.ok((epochs[i] as number) >= (epochs[j] as number), `${plan}: ${epochs.join('+')}`);
      }),
    );
  }
});

test('apportion: the known splits', () => {
  assert.deepEqual(apportion([5, 5], 3), [2, 1]);
  assert.deepEqual(apportion([1, 1, 8], 3), [1, 1, 1]);
  assert.deepEqual(apportion([1, 1, 8], 5), [1, 1, 3]);
  assert.deepEqual(apportion([2, 18], 4), [1, 3]);
  assert.deepEqual(apportion([5, 5], 10), [5, 5]);
  // More stages than epochs: one each, so every unfreezing is still measured.
  assert.deepEqual(apportion([1, 1, 1, 1, 1, 1], 2), [1, 1, 1, 1, 1, 1]);
});

test('a budget no longer than the short one is kept as it is', () => {
  const config = parseTrainConfig({ stages: 'head:1,block5:1' }, 'test config');
  const cut = shortenedToFraction(config, shortEpochs(config.epochs) / config.epochs);
  assert.deepEqual(cut.stages, config.stages);
  assert.equal(cut.epochs, 2);
});
