/**
 * `vggkit sweep` as a user runs it: a bad search value is a usage error naming the flag before
 * anything runs (no sweep folder appears); a small sweep prints one line per trial and, with
 * --json, one JSON object as the last stdout line; a coordinator killed with SIGKILL and restarted
 * with --resume reattaches and never re-runs a trial it had recorded.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeShapesDataset } from '../helpers/shapes.js';
import { ROOT, runCli, type CliRun } from '../helpers/cli.js';

let dir = '';
let data = '';

function vggkit(...args: string[]): Promise<CliRun> {
  return runCli(join(dir, 'home'), args);
}

const SMALL = [
  '--weights',
  'none',
  '--arch',
  'vgg11',
  '--input-size',
  '32',
  '--head',
  'avg',
  '--dense',
  '16',
  '--dropout',
  '0',
  '--batch-size',
  '4',
  '--epochs',
  '2',
];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vggkit-sweep-cli-'));
  data = join(dir, 'data');
  await writeShapesDataset(data, { perClass: 6, size: 32, seed: 9 });
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('a bad value in a search dimension is a usage error naming the flag, before anything runs', async () => {
  const out = join(dir, 'bad');
  const run = await vggkit('sweep', data, ...SMALL, '--dropout', '0.1..1.2', '--out', out);
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, /--dropout: expected a number in \[0, 1\), received 1\.2/);
  await assert.rejects(stat(out));
  const noSearch = await vggkit('sweep', data, ...SMALL, '--out', out);
  assert.equal(noSearch.code, 2);
  assert.match(noSearch.stderr, /no search dimension/);
  const json = await vggkit(
    'sweep',
    data,
    ...SMALL,
    '--optimizer',
    'adam,lion',
    '--out',
    out,
    '--json',
  );
  assert.equal(json.code, 2);
  assert.match(
    JSON.parse(json.stdout.trim()).error.message as string,
    /--optimizer: expected one of adam, adamw, sgd, received "lion"/,
  );
});

test('a small sweep: one line per trial, the best config named, --json last line', async () => {
  const out = join(dir, 'ok');
  const run = await vggkit(
    'sweep',
    data,
    ...SMALL,
    '--lr',
    '1e-3,1e-2',
    '--stages',
    'head:2|head:1,block5:1',
    '--out',
    out,
    '--json',
  );
  assert.equal(run.code, 0, run.stderr);
  const lines = run.stderr.split('\n');
  assert.equal(lines.filter((l) => /^\[\d\/4\] t00\d lr=/.test(l)).length, 4, run.stderr);
  assert.match(run.stderr, /^Best: t00\d \(lr=/m, 'the summary names the best trial');
  assert.match(run.stderr, /frozen prefixes|frozen prefix/);
  // Some trials unfreeze block5: the frozen-random-base warning is for sweeps where none does.
  assert.doesNotMatch(run.stderr, /random-base-frozen/);
  const last = JSON.parse(run.stdout.trim().split('\n').pop() as string) as {
    best: { trialId: string };
    trials: number;
    out: string;
  };
  assert.equal(last.trials, 4);
  assert.equal(last.out, out);
  const sweep = JSON.parse(await readFile(join(out, 'sweep.json'), 'utf8')) as {
    best: { trialId: string };
    sampler: { name: string };
  };
  assert.equal(sweep.best.trialId, last.best.trialId);
  assert.equal(sweep.sampler.name, 'grid');
});

test('--lr find centres the lr range on the LR range test; the summary says what ASHA pruned', async () => {
  const out = join(dir, 'find');
  const run = await vggkit(
    'sweep',
    data,
    ...SMALL,
    '--epochs',
    '3',
    '--lr',
    'find',
    '--sampler',
    'random',
    '--trials',
    '4',
    '--scheduler',
    'asha',
    '--out',
    out,
  );
  assert.equal(run.code, 0, run.stderr);
  const found =
    /--lr find: LR range test on \d+ images .*: valley (\S+); searching lr (\S+)\.\.(\S+) \(log\)/.exec(
      run.stderr,
    );
  assert.ok(found !== null, run.stderr);
  assert.equal(
    run.stderr
      .split('\n')
      .filter((l) => /^warning: --weights none .*in every trial \(random-base-frozen\)$/.test(l))
      .length,
    1,
    run.stderr,
  );
  const sweep = JSON.parse(await readFile(join(out, 'sweep.json'), 'utf8')) as {
    space: { name: string; kind: string; low: number; high: number; log: boolean }[];
    trials: { status: string }[];
  };
  const lr = sweep.space.find((d) => d.name === 'lr');
  assert.ok(lr !== undefined && lr.kind === 'float' && lr.log);
  const valley = Number(found[1]);
  // A decade either side of the valley (printed to 3 significant digits).
  assert.ok(Math.abs(lr.low * 10 - valley) / valley < 0.01, `${lr.low} vs ${valley}`);
  assert.ok(Math.abs(lr.high / 10 - valley) / valley < 0.01, `${lr.high} vs ${valley}`);
  const pruned = sweep.trials.filter((t) => t.status === 'pruned').length;
  assert.match(run.stderr, new RegExp(`^ASHA pruned ${pruned} of 4 trials; `, 'm'));
  assert.match(run.stderr, /^trials: 4\/4 \(100%\)/m, 'the overall bar ends at every trial');
});

interface TrialJson {
  readonly id: string;
  readonly status: string;
  readonly seconds: number;
  readonly workers: string[];
  readonly history: unknown[];
}

async function readTrials(out: string): Promise<TrialJson[]> {
  const text = await readFile(join(out, 'sweep.json'), 'utf8').catch(() => undefined);
  return text === undefined ? [] : (JSON.parse(text) as { trials: TrialJson[] }).trials;
}

test('a coordinator killed with SIGKILL resumes with --resume; recorded trials never run again', async () => {
  const out = join(dir, 'killed');
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'src/cli/main.ts',
      'sweep',
      data,
      ...SMALL,
      '--epochs',
      '3',
      '--lr',
      '1e-4..1e-2',
      '--sampler',
      'random',
      '--trials',
      '5',
      '--out',
      out,
    ],
    { cwd: ROOT, env: { ...process.env, VGGKIT_HOME: join(dir, 'home') }, stdio: 'ignore' },
  );
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let before: TrialJson[] = [];
  for (let i = 0; i < 6000; i++) {
    before = await readTrials(out);
    if (before.filter((t) => t.status === 'completed').length >= 2) break;
    await sleep(20);
  }
  child.kill('SIGKILL');
  await exited;
  const recorded = before.filter((t) => t.status === 'completed');
  assert.ok(recorded.length >= 2 && recorded.length < 5, `killed after ${recorded.length} trials`);
  const resumed = await vggkit('sweep', data, '--out', out, '--resume', '--json');
  assert.equal(resumed.code, 0, resumed.stderr);
  const after = await readTrials(out);
  assert.equal(after.length, 5);
  assert.ok(after.every((t) => t.status === 'completed' && t.history.length === 3));
  for (const t of recorded)
    assert.deepEqual(
      after.find((a) => a.id === t.id),
      t,
      `${t.id} changed after --resume`,
    );
  // Only the trials that had not finished were run again, by the new coordinator.
  const runAgain = resumed.stderr.split('\n').filter((l) => /^\[\d\/5\] t00\d/.test(l));
  assert.equal(runAgain.length, 5 - recorded.length, resumed.stderr);
  assert.equal(
    (JSON.parse(resumed.stdout.trim().split('\n').pop() as string) as { trials: number }).trials,
    5,
  );
});
