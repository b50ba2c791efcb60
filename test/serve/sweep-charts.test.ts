/**
 * One chart builder for sweeps: the sweep's report.html (written by `vggkit sweep`) and the
 * dashboard's sweep page, both built from the same sweep folder, carry the same chart specs.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { chartSpecs, type ParallelChartSpec } from '../../src/report/chart-spec.js';
import { sweepPage } from '../../src/serve/pages.js';
import { renderSweepReport } from '../../src/sweep/report.js';
import { readSweepFile } from '../../src/sweep/results.js';
import { writeSweep } from './fixtures.js';

test('the sweep report and the dashboard sweep page draw the same charts from one sweep folder', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vggkit-sweep-charts-'));
  try {
    await writeSweep(dir, 5);
    const sweep = await readSweepFile(dir);
    assert.ok(sweep !== undefined);
    const report = chartSpecs(renderSweepReport(sweep, { train: 'vggkit train /data/pets' }));
    const dashboard = chartSpecs(await sweepPage(dir, 'sweep-lr'));
    assert.deepEqual(dashboard, report);
    // Parallel coordinates, the result against lr (log), and learning curves, each once.
    const ids = report.map((s) => s.id);
    assert.deepEqual(ids.slice(0, 2), ['sweep-parallel', 'sweep-vs-lr']);
    assert.ok(
      ids.slice(2).every((id) => id.startsWith('sweep-curves-')) && ids.length > 2,
      ids.join(),
    );
    const parallel = report[0] as ParallelChartSpec;
    assert.deepEqual(
      parallel.lines.map((l) => l.label),
      ['001', '002', '003', '004', '000'],
      'the best trial drawn last, on top',
    );
    assert.equal(parallel.lines.at(-1)?.width, 3);
    assert.equal(parallel.lines.find((l) => l.label === '004')?.dashed, true);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
