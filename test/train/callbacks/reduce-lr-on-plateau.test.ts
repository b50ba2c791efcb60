import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReduceLROnPlateau } from '../../../src/train/callbacks/reduce-lr-on-plateau.js';
import { UsageError } from '../../../src/util/errors.js';
import { epochEnd, FakeControl } from './helpers.js';

function close(actual: number, expected: number, message: string): void {
  assert.ok(
    Math.abs(actual - expected) <= 1e-7 * Math.abs(expected),
    `${message}: expected ${expected}, received ${actual}`,
  );
}

function drive(
  callback: ReduceLROnPlateau,
  control: FakeControl,
  values: readonly number[],
  firstEpoch = 0,
): number[] {
  return values.map((v, i) => {
    callback.epoch_end(
      epochEnd(firstEpoch + i, { val_loss: v, val_accuracy: v, loss: v }),
      control,
    );
    return control.lr;
  });
}

/*
 * Keras' algorithm per epoch: (1) if cooldown_counter > 0: cooldown_counter -= 1, wait = 0;
 * (2) if current < best - min_delta (mode min): best = current, wait = 0;
 * (3) elif cooldown_counter == 0: wait += 1, and if wait >= patience and lr > min_lr:
 *     lr = max(lr * factor, min_lr), cooldown_counter = cooldown, wait = 0.
 */
test('ReduceLROnPlateau follows Keras step by step: min_delta, patience, cooldown, min_lr floor', () => {
  const callback = new ReduceLROnPlateau({
    monitor: 'val_loss',
    mode: 'auto',
    factor: 0.5,
    patience: 2,
    minDelta: 0.01,
    cooldown: 1,
    minLr: 0.02,
  });
  const control = new FakeControl(0.1);
  const losses = [1.0, 0.995, 0.98, 0.975, 0.99, 0.972, 0.975, 0.99, 0.99, 0.99, 0.99, 0.5];
  const expected = [
    0.1, // e0: best inf -> 1.0
    0.1, // e1: 0.995 is not < 1.0 - 0.01: wait 1
    0.1, // e2: 0.98 < 0.99: best 0.98, wait 0
    0.1, // e3: 0.975 not < 0.97: wait 1
    0.05, // e4: wait 2 >= patience: lr 0.1 -> 0.05, cooldown 1, wait 0
    0.05, // e5: cooldown 1 -> 0 (wait 0); 0.972 not < 0.97; no longer in cooldown: wait 1
    0.025, // e6: wait 2: lr -> 0.025, cooldown 1
    0.025, // e7: cooldown -> 0; no improvement: wait 1
    0.02, // e8: wait 2: 0.025 * 0.5 = 0.0125, raised to min_lr 0.02; cooldown 1
    0.02, // e9: cooldown -> 0; wait 1
    0.02, // e10: wait 2, but lr is not above min_lr: unchanged (and wait is not reset)
    0.02, // e11: 0.5 improves: best 0.5, wait 0
  ];
  drive(callback, control, losses).forEach((lr, e) =>
    close(lr, expected[e] as number, `epoch ${e}`),
  );
});

test('ReduceLROnPlateau: a cooldown of 2 suspends counting for one whole epoch', () => {
  const callback = new ReduceLROnPlateau({
    monitor: 'loss',
    mode: 'min',
    factor: 0.1,
    patience: 1,
    minDelta: 0,
    cooldown: 2,
    minLr: 0,
  });
  const control = new FakeControl(1);
  // e0 best 5; e1 wait 1 -> reduce, cooldown 2; e2 cooldown 2->1, still cooling: nothing;
  // e3 cooldown 1->0, wait 1 -> reduce, cooldown 2; e4 cooldown ->1, 4 < 5 improves;
  // e5 cooldown -> 0, 4.5 no improvement: wait 1 -> reduce.
  const lrs = drive(callback, control, [5, 6, 6, 6, 4, 4.5]);
  [1, 0.1, 0.1, 0.01, 0.01, 0.001].forEach((lr, e) => close(lrs[e] as number, lr, `epoch ${e}`));
});

test('ReduceLROnPlateau: auto mode maximises a monitor containing "acc"', () => {
  const callback = new ReduceLROnPlateau({
    monitor: 'val_accuracy',
    mode: 'auto',
    factor: 0.5,
    patience: 1,
    minDelta: 0,
    cooldown: 0,
    minLr: 0,
  });
  const control = new FakeControl(1);
  // Rising accuracy is improvement; a drop (0.6 after 0.7) is the first non-improvement.
  const lrs = drive(callback, control, [0.5, 0.6, 0.7, 0.6]);
  assert.deepEqual(lrs, [1, 1, 1, 0.5]);
});

test('ReduceLROnPlateau: resuming from saved state continues exactly as an uninterrupted run', () => {
  const options = {
    monitor: 'val_loss',
    mode: 'min' as const,
    factor: 0.2,
    patience: 3,
    minDelta: 1e-4,
    cooldown: 1,
    minLr: 1e-6,
  };
  const losses = [0.9, 0.8, 0.81, 0.82, 0.83, 0.84, 0.85, 0.7, 0.71, 0.72, 0.73, 0.74, 0.75, 0.76];
  const whole = drive(new ReduceLROnPlateau(options), new FakeControl(1e-4), losses);
  const first = new ReduceLROnPlateau(options);
  const control = new FakeControl(1e-4);
  const head = drive(first, control, losses.slice(0, 5));
  const state = JSON.parse(JSON.stringify(first.getState())) as unknown;
  const second = new ReduceLROnPlateau(options);
  second.setState(state);
  const tail = drive(second, control, losses.slice(5), 5);
  assert.deepEqual([...head, ...tail], whole);
  assert.ok(
    whole.some((lr) => lr < 1e-4),
    'the sequence must actually reduce',
  );
});

test('ReduceLROnPlateau rejects an unknown mode, a factor >= 1 and a metric that is not logged', () => {
  const base = {
    monitor: 'val_loss',
    factor: 0.2,
    patience: 3,
    minDelta: 0,
    cooldown: 0,
    minLr: 0,
  };
  assert.throws(
    () => new ReduceLROnPlateau({ ...base, mode: 'minimum' as 'min' }),
    (e: unknown) =>
      e instanceof UsageError &&
      /reduceLr\.mode: expected one of min, max, auto, received "minimum"/.test(e.message),
  );
  assert.throws(
    () => new ReduceLROnPlateau({ ...base, mode: 'min', factor: 1 }),
    /reduceLr\.factor: expected a number in \(0, 1\), received 1/,
  );
  const callback = new ReduceLROnPlateau({ ...base, mode: 'min' });
  assert.throws(
    () =>
      callback.epoch_end(
        { type: 'epoch_end', epoch: 0, logs: { loss: 1, accuracy: 0.5, lr: 0.1 } },
        new FakeControl(0.1),
      ),
    /reduceLr\.monitor: expected one of the logged metrics \(accuracy, loss, lr\), received "val_loss"/,
  );
});

test('a new stage resets the counters as a new Keras fit does; a resumed stage keeps them', () => {
  const options = {
    monitor: 'val_loss',
    mode: 'min' as const,
    factor: 0.5,
    patience: 2,
    minDelta: 0,
    cooldown: 0,
    minLr: 0,
  };
  const stage = (resumed: boolean) => ({
    type: 'stage_start' as const,
    stage: 1,
    name: 'block5',
    firstEpoch: 2,
    epochs: 3,
    lr: 0.1,
    resumed,
  });

  // One plateau epoch before the stage change: without a reset, the next plateau epoch would cut the rate.
  const fresh = new ReduceLROnPlateau(options);
  const freshControl = new FakeControl(0.1);
  drive(fresh, freshControl, [1.0, 1.0]);
  fresh.stage_start(stage(false));
  // The new stage's first epoch sets a new best (even if worse than before), the next is one plateau epoch.
  assert.deepEqual(drive(fresh, freshControl, [1.2, 1.2], 2), [0.1, 0.1]);

  const resumed = new ReduceLROnPlateau(options);
  const resumedControl = new FakeControl(0.1);
  drive(resumed, resumedControl, [1.0, 1.0]);
  resumed.stage_start(stage(true));
  // Continuing the stage: the plateau count goes on, so the second plateau epoch cuts the rate.
  // (Keras reads the rate back as float32 before multiplying: 0.1f * 0.5.)
  assert.deepEqual(drive(resumed, resumedControl, [1.2], 2), [Math.fround(0.1) * 0.5]);
});
