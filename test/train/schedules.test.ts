import { test } from 'node:test';
import assert from 'node:assert/strict';
import { plateauReduction, scheduledLr } from '../../src/train/schedules.js';
import { DEFAULT_CONFIG } from '../../src/train/config.js';
import type { ScheduleConfig } from '../../src/train/config.js';

const schedule: ScheduleConfig = { name: 'none', stepEpochs: 3, gamma: 0.5, maxLr: 1e-2 };
const near = (a: number, b: number, what: string): void =>
  assert.ok(Math.abs(a - b) <= 1e-12 + 1e-9 * Math.abs(b), `${what}: ${a} vs ${b}`);

test('none: the configured rate everywhere', () => {
  for (const step of [0, 50, 99])
    assert.equal(
      scheduledLr({ lr: 1e-4, schedule }, { step, totalSteps: 100, epoch: step / 10 }),
      1e-4,
    );
});

test('step: multiplied by gamma every stepEpochs epochs', () => {
  const c = { lr: 0.1, schedule: { ...schedule, name: 'step' as const } };
  const at = (epoch: number): number =>
    scheduledLr(c, { step: epoch * 10, totalSteps: 100, epoch });
  assert.deepEqual([0, 1, 2, 3, 5, 6, 9].map(at), [0.1, 0.1, 0.1, 0.05, 0.05, 0.025, 0.0125]);
});

test('cosine: lr at the start, half at the midpoint, zero at the end, lr/2*(1+cos(pi/4)) at a quarter', () => {
  const c = { lr: 0.2, schedule: { ...schedule, name: 'cosine' as const } };
  const at = (step: number): number => scheduledLr(c, { step, totalSteps: 100, epoch: 0 });
  near(at(0), 0.2, 'start');
  near(at(50), 0.1, 'midpoint');
  near(at(100), 0, 'end');
  near(at(25), 0.1 * (1 + Math.SQRT1_2), 'quarter');
  assert.ok(at(60) < at(40), 'decreasing');
});

test('one-cycle: maxLr/25 at the start, maxLr at 25%, cosine midpoints, maxLr/1e5 at the end', () => {
  const c = { lr: 1e-4, schedule: { ...schedule, name: 'one-cycle' as const } };
  const at = (step: number): number => scheduledLr(c, { step, totalSteps: 1000, epoch: 0 });
  near(at(0), 1e-2 / 25, 'start');
  near(at(125), (1e-2 / 25 + 1e-2) / 2, 'warm-up midpoint');
  near(at(250), 1e-2, 'peak');
  near(at(625), (1e-2 + 1e-7) / 2, 'annealing midpoint');
  near(at(1000), 1e-7, 'end');
  assert.ok(at(100) < at(200) && at(300) > at(900));
});

test('ReduceLROnPlateau or a schedule, never both, decided in one place and said', () => {
  const withSchedule = { ...DEFAULT_CONFIG, schedule: { ...schedule, name: 'step' as const } };
  assert.deepEqual(plateauReduction(DEFAULT_CONFIG), { active: true, note: undefined });
  const decision = plateauReduction(withSchedule);
  assert.equal(decision.active, false);
  assert.match(decision.note ?? '', /^ReduceLROnPlateau is off: the step schedule sets/);
  const off = { ...withSchedule, reduceLr: { ...DEFAULT_CONFIG.reduceLr, enabled: false } };
  assert.deepEqual(plateauReduction(off), { active: false, note: undefined });
});
