/**
 * `vggkit lr-find` as a user runs it: the doctor's LR range test on the data, its three
 * suggestions, the plot written (the LR range chart on a log axis), and fastai's valley rule
 * checked against a curve worked by hand.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { valley } from '../../src/doctor/lr-suggestions.js';
import { chartSpecs, type LineChartSpec } from '../../src/report/chart-spec.js';
import { writeShapesDataset } from '../helpers/shapes.js';

const ROOT = join(import.meta.dirname, '..', '..');
let dir = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vggkit-lr-find-'));
  await writeShapesDataset(join(dir, 'data'), { perClass: 6, size: 32, seed: 3 });
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test("fastai's valley: the rate a little past the middle of the longest falling stretch", () => {
  const lrs = [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 10];
  // Longest decreasing run: 4, 3, 2, 2.5?, no: 5 > 4 > 3 > 2 > 1 (indices 0,1,3,4,6), so lds[6] = 5,
  // fastai's max_start = 6 - 5 = 1, a third is 5/3, and the index is 1 + 1 + 0 = 2.
  assert.equal(valley(lrs, [5, 4, 6, 3, 2, 2.5, 1, 4]), 1e-4);
  assert.equal(valley(lrs.slice(0, 1), [3]), 1e-6);
  assert.ok(Number.isNaN(valley([], [])));
});

test('lr-find prints valley, steep and minimum, and writes the loss-against-rate plot', async () => {
  const html = join(dir, 'lr.html');
  const { stdout, stderr } = await promisify(execFile)(
    process.execPath,
    [
      '--import',
      'tsx',
      'src/cli/main.ts',
      'lr-find',
      join(dir, 'data'),
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
      '--html',
      html,
      '--json',
    ],
    { cwd: ROOT, env: { ...process.env, VGGKIT_HOME: join(dir, 'home') } },
  );
  const result = JSON.parse(stdout.trim().split('\n').pop() as string) as {
    valley: number;
    steep: number;
    minimum: number;
    lrs: number[];
    losses: number[];
    sweepRange: [number, number];
    images: number;
  };
  for (const key of ['valley', 'steep', 'minimum'] as const)
    assert.ok(Number.isFinite(result[key]) && result[key] > 0, `${key}: ${result[key]}`);
  assert.equal(result.images, 18);
  assert.ok(result.lrs.every((lr, i) => i === 0 || lr > (result.lrs[i - 1] as number)));
  assert.ok(result.lrs.includes(result.valley));
  assert.ok(result.sweepRange[0] < result.valley && result.sweepRange[1] > result.valley);
  assert.match(stderr, /valley +\S+ +\(fastai's default suggestion\)/);
  assert.match(stderr, /measure around it: vggkit sweep \S+ --lr \S+\.\.\S+/);
  const spec = chartSpecs(await readFile(html, 'utf8')).find(
    (s): s is LineChartSpec => s.id === 'lr-range',
  );
  assert.ok(spec !== undefined);
  assert.equal(spec.xLog, true);
  assert.deepEqual(spec.x, result.lrs);
  assert.ok(spec.markers?.some((m) => m.label.startsWith('valley')));
});
