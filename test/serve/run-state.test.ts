import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RunState } from '../../src/serve/run-state.js';
import { deadPid, epochRecords, runRecords } from './fixtures.js';

function fold(records: ReturnType<typeof runRecords>): RunState {
  const state = new RunState();
  for (const r of records) state.apply(r);
  return state;
}

test('status: running while the writer lives, crashed when it is gone, finished or stopped at fit_end', () => {
  assert.equal(new RunState().status(), 'unknown');
  assert.equal(fold(runRecords({ epochs: 3, done: 1 })).status(), 'running');
  assert.equal(fold(runRecords({ epochs: 3, done: 1, pid: deadPid() })).status(), 'crashed');
  assert.equal(fold(runRecords({ epochs: 3, done: 3, end: 'finished' })).status(), 'finished');
  const stopped = fold(runRecords({ epochs: 5, done: 2, end: { by: 'early_stopping' } }));
  assert.equal(stopped.status(), 'stopped');
  assert.equal(stopped.end?.stopped?.by, 'early_stopping');
});

test('a resumed attempt replaces the dead one’s epochs from its initial epoch on', () => {
  const crashed = runRecords({ epochs: 4, done: 3, pid: deadPid() });
  const resumed = runRecords({ epochs: 4, done: 0, time: Date.UTC(2026, 0, 2) });
  const start = resumed[0];
  assert.ok(start?.type === 'fit_start');
  const state = fold([
    ...crashed,
    // The checkpoint held 2 epochs: epoch 2 runs again.
    { ...start, initialEpoch: 2 },
    ...epochRecords(2, 4, 3),
  ]);
  assert.equal(state.status(), 'running', 'the new attempt’s process is alive');
  assert.deepEqual(
    state.epochPoints().map((p) => p.epoch),
    [1, 2, 3],
  );
  assert.equal(state.firstStart?.time, crashed[0]?.time, 'the run is dated by its first attempt');
  // Batches of the re-run epoch are drawn once.
  assert.equal(state.batchPoints.filter((b) => b.x > 2 && b.x <= 3).length, 3);
});

test('batch points stay bounded however long the run, the EMA taken over every batch', () => {
  const state = new RunState();
  for (const r of runRecords({ epochs: 1, done: 0 })) state.apply(r);
  for (let b = 1; b <= 100_000; b++)
    state.apply({
      type: 'batch_end',
      time: b,
      epoch: 0,
      batch: b,
      batches: 100_000,
      loss: 1,
      accuracy: 0.5,
      batchLoss: b % 2 === 0 ? 2 : 0,
      lr: 1e-3,
      imagesPerSecond: 1,
    });
  assert.ok(state.batchPoints.length < 4000, String(state.batchPoints.length));
  const last = state.batchPoints[state.batchPoints.length - 1];
  assert.ok(last !== undefined && Math.abs((last.smoothed as number) - 1) < 0.5);
});

test('the ETA follows the log’s own pace', () => {
  const state = fold(runRecords({ epochs: 4, done: 2, time: 0 }));
  // Records 500 ms apart: the first epoch starts at 1.5 s, the second ends at 6 s, so 2.25 s an
  // epoch and 4.5 s for the two left.
  const eta = state.etaSeconds(state.lastTime as number);
  assert.ok(eta !== undefined);
  assert.ok(Math.abs(eta - 4.5) < 1e-9, String(eta));
  assert.equal(state.etaSeconds((state.lastTime as number) + 60_000), 0);
});
