import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { createProgress, formatDuration, PassProgress } from '../../src/report/progress.js';

function capture(isTTY: boolean): {
  stream: PassThrough & { isTTY?: boolean; columns?: number };
  text: () => string;
} {
  const stream = new PassThrough() as PassThrough & { isTTY?: boolean; columns?: number };
  if (isTTY) {
    stream.isTTY = true;
    stream.columns = 120;
  }
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

test('formatDuration', () => {
  assert.deepEqual([0, 9.4, 59.6, 65, 3599, 3600 + 3 * 60 + 5, Number.NaN].map(formatDuration), [
    '0s',
    '9s',
    '1m00s',
    '1m05s',
    '59m59s',
    '1h03m',
    '?',
  ]);
});

test('not a TTY: occasional plain lines with count, rate and ETA, and a final line', () => {
  const out = capture(false);
  let clock = 0;
  const progress = createProgress({
    label: 'features',
    total: 100,
    unit: 'img',
    stream: out.stream,
    lineIntervalMs: 10_000,
    now: () => clock,
  });
  clock = 5_000;
  progress.update(10); // the first update with a rate prints: 10 img in 5 s = 2 img/s, 90 left -> 45 s
  clock = 8_000;
  progress.update(16); // within 10 s of the last line: quiet
  clock = 20_000;
  progress.update(40, 'loss 0.5'); // 40 in 20 s = 2/s, 60 left -> 30 s
  clock = 50_000;
  progress.update(100); // the total is left to stop(): one line for it, not two
  progress.stop();
  clock = 90_000;
  progress.stop(); // a second stop prints nothing: the work ended at the first
  const lines = out.text().trimEnd().split('\n');
  assert.deepEqual(lines, [
    'features: 10/100 (10%), 2.00 img/s, ETA 45s',
    'features: 40/100 (40%), 2.00 img/s, ETA 30s, loss 0.5',
    'features: 100/100 (100%), 2.00 img/s, done in 50s, loss 0.5',
  ]);
});

test('a rate needs a real time window: a bar created at its first result prints its first line once one has passed', () => {
  // The reported bug: `features: 16/96 (16%), 104249 img/s` on the first tick of a bar created
  // when the first batch of 16 had just finished.
  const out = capture(false);
  let clock = 7_000;
  const progress = createProgress({
    label: 'features',
    total: 96,
    unit: 'img',
    stream: out.stream,
    lineIntervalMs: 0,
    now: () => clock,
  });
  clock += 0.15;
  progress.update(16);
  clock += 500;
  progress.update(32); // half a second is not yet a window: no line without a rate
  clock = 9_000;
  progress.update(48); // 32 images since the first tick, in 2 s
  clock = 9_500;
  progress.update(56); // after the first line, the interval (0 here) alone decides
  progress.stop();
  assert.deepEqual(out.text().trimEnd().split('\n'), [
    'features: 48/96 (50%), 16.0 img/s, ETA 3s',
    'features: 56/96 (58%), 16.0 img/s, ETA 2s',
    'features: 56/96 (58%), 16.0 img/s, done in 3s',
  ]);
});

test('a count finished within the window shows only its end, with the rate it ran at', () => {
  // The demo's epochs of 5 batches printed `1/5 (20%), ? batch/s, ETA ?`, then `5/5 (100%), ? batch/s, done in 0s`.
  const out = capture(false);
  let clock = 0;
  const progress = createProgress({
    label: 'features',
    total: 5,
    unit: 'batch',
    stream: out.stream,
    now: () => clock,
  });
  clock = 40;
  progress.update(1);
  clock = 240;
  progress.update(5);
  progress.stop();
  assert.deepEqual(out.text().trimEnd().split('\n'), [
    'features: 5/5 (100%), 20.0 batch/s, done in 0s',
  ]);
});

test('endLine false: the caller ends the work with its own line (plain: nothing at stop; terminal: the bar is cleared)', () => {
  const plain = capture(false);
  let clock = 0;
  const epoch = createProgress({
    label: 'epoch 1/3',
    total: 4,
    unit: 'batch',
    stream: plain.stream,
    now: () => clock,
    endLine: false,
  });
  clock = 2000;
  epoch.update(2);
  clock = 4000;
  epoch.update(4);
  epoch.stop();
  assert.deepEqual(plain.text().trimEnd().split('\n'), [
    'epoch 1/3: 2/4 (50%), 1.00 batch/s, ETA 2s',
  ]);
  const tty = capture(true);
  const bar = createProgress({
    label: 'epoch 1/3',
    total: 4,
    unit: 'batch',
    stream: tty.stream,
    now: () => clock,
    endLine: false,
  });
  bar.update(4);
  bar.stop();
  assert.match(tty.text(), /epoch 1\/3 \[/);
  assert.ok(tty.text().endsWith('\x1b[2K'), 'the bar line is cleared at the end, no newline left');
});

test('--json forces plain lines even on a TTY; stdout is refused', () => {
  const out = capture(true);
  let clock = 0;
  const progress = createProgress({
    label: 'train',
    total: 4,
    unit: 'batch',
    stream: out.stream,
    json: true,
    now: () => clock,
  });
  clock = 1000;
  progress.increment();
  progress.stop();
  assert.match(out.text(), /^train: 1\/4 \(25%\), 1\.00 batch\/s, ETA 3s\n/);
  assert.doesNotMatch(out.text(), /\x1b\[/, 'no terminal control sequences');
  assert.throws(
    () => createProgress({ label: 'x', total: 1, stream: process.stdout }),
    /stdout is reserved/,
  );
});

test('on a TTY a cli-progress bar shows the count, rate and ETA', () => {
  const out = capture(true);
  let clock = 0;
  const progress = createProgress({
    label: 'epoch 1/20',
    total: 10,
    unit: 'img',
    stream: out.stream,
    now: () => clock,
  });
  clock = 2000;
  progress.update(4);
  progress.stop();
  assert.match(out.text(), /epoch 1\/20 \[.*\] 4\/10 \| 2\.00 img\/s \| ETA 3s/);
});

test('a logged line goes above the bar, which is drawn again below it', () => {
  const out = capture(true);
  let clock = 0;
  const progress = createProgress({
    label: 'trials',
    total: 4,
    unit: 'epoch',
    stream: out.stream,
    now: () => clock,
  });
  clock = 2000;
  progress.update(1);
  progress.log('[1/4] t000 lr=0.001: val_loss 0.5');
  const after = out.text().split('[1/4] t000 lr=0.001: val_loss 0.5\n');
  assert.equal(after.length, 2, out.text());
  assert.match(after[0] as string, /\r\x1b\[K$/, 'the bar line is cleared before the log line');
  assert.match(after[1] as string, /trials \[.*\] 1\/4/, 'the bar is drawn again under it');
  progress.stop();
  const plain = capture(false);
  const lines = createProgress({ label: 'trials', total: 4, stream: plain.stream, now: () => 0 });
  lines.log('a trial line');
  lines.stop();
  assert.match(plain.text(), /^a trial line\ntrials: 0\/4/);
});

test('passes reported only as (done, total): a bar per pass, even two passes of the same size', () => {
  const out = capture(false);
  let clock = 0;
  const passes = new PassProgress({
    unit: 'img',
    json: false,
    stream: out.stream,
    now: () => clock,
  });
  for (const [label, total] of [
    ['features', 4],
    ['features', 2],
    ['features', 2],
    ['int8 calibration', 2],
  ] as const) {
    for (let done = 1; done <= total; done++) {
      clock += 1000;
      passes.update(label, done, total);
    }
  }
  passes.stop();
  // Each bar opens at its pass's first report, so its time counts from there (and its first
  // line, 1 s later, has a rate).
  assert.deepEqual(out.text().trimEnd().split('\n'), [
    'features: 2/4 (50%), 1.00 img/s, ETA 2s',
    'features: 4/4 (100%), 1.00 img/s, done in 3s',
    'features: 2/2 (100%), 1.00 img/s, done in 1s',
    'features: 2/2 (100%), 1.00 img/s, done in 1s',
    'int8 calibration: 2/2 (100%), 1.00 img/s, done in 1s',
  ]);
});
