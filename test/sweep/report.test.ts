/**
 * The sweep report and its plain-language summary, from sweep records built here: the sentences
 * say what the records show (a categorical winner at every range of the rate, the rate above which
 * training diverged, a trend, what ASHA saved), and the page draws what the issue lists (a sortable
 * trial table, parallel coordinates, the metric against each numeric setting on a log axis where
 * sampled log, every learning curve with pruned trials dashed).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  chartSpecs,
  type LineChartSpec,
  type ParallelChartSpec,
} from '../../src/report/chart-spec.js';
import { SWEEP_FORMAT, type SweepFile, type TrialRecord } from '../../src/sweep/results.js';
import { renderSweepReport } from '../../src/sweep/report.js';
import { diverged, spearman, summarize } from '../../src/sweep/summary.js';
import type { Params } from '../../src/sweep/types.js';
import { DEFAULT_CONFIG } from '../../src/train/config.js';

function trial(
  n: number,
  params: Params,
  losses: number[],
  valLosses: number[],
  status: TrialRecord['status'] = 'completed',
): TrialRecord {
  const history = losses.map((loss, i) => ({
    loss,
    accuracy: 0.5,
    val_loss: valLosses[i] as number,
    val_accuracy: 0.5,
    lr: params.lr as number,
  }));
  const finite = valLosses.filter(Number.isFinite);
  const value = finite.length === 0 ? Number.NaN : Math.min(...finite);
  return {
    id: `t${String(n).padStart(3, '0')}`,
    number: n,
    params,
    status,
    epochs: history.length,
    budget: 4,
    history,
    value,
    bestEpoch: valLosses.indexOf(value),
    rungs: [],
    stopAt: 4,
    reported: [4],
    seconds: 1,
    workers: ['w'],
    featuresComputed: 0,
    recoveries: 0,
  };
}

// Adam beats SGD at each decade of lr; every rate at or above 3e-2 diverges.
const trials: TrialRecord[] = [
  trial(0, { lr: 1e-4, optimizer: 'adam' }, [1, 0.8, 0.6, 0.5], [1, 0.8, 0.6, 0.55]),
  trial(1, { lr: 1e-4, optimizer: 'sgd' }, [1, 0.95, 0.9, 0.85], [1, 0.95, 0.9, 0.88]),
  trial(2, { lr: 1e-3, optimizer: 'adam' }, [1, 0.5, 0.3, 0.2], [1, 0.5, 0.35, 0.3]),
  trial(3, { lr: 2e-3, optimizer: 'sgd' }, [1, 0.8, 0.7, 0.6], [1, 0.8, 0.7, 0.65]),
  trial(4, { lr: 3e-2, optimizer: 'adam' }, [1, 3, Number.NaN], [1.2, Number.NaN, Number.NaN]),
  trial(5, { lr: 5e-2, optimizer: 'sgd' }, [1, 2, 4, 6], [1.1, 2, 4, 6]),
  trial(6, { lr: 4e-4, optimizer: 'sgd' }, [1, 0.9], [1, 0.9], 'pruned'),
];

const sweep: SweepFile = {
  format: SWEEP_FORMAT,
  data: '/data/flowers',
  space: [
    { kind: 'float', name: 'lr', path: 'lr', low: 1e-5, high: 1e-1, log: true },
    { kind: 'categorical', name: 'optimizer', path: 'optimizer', choices: ['adam', 'sgd'] },
  ],
  sampler: { name: 'tpe', seed: 1 },
  scheduler: { name: 'asha', minEpochs: 1, reductionFactor: 3 },
  monitor: { name: 'val_loss', direction: 'min' },
  trialsPlanned: 7,
  base: DEFAULT_CONFIG,
  trials,
  best: { trialId: 't002', params: { lr: 1e-3, optimizer: 'adam' }, value: 0.3 },
  cacheFilled: 120,
  finished: true,
};

test('the summary says what the records show', () => {
  const lines = summarize(sweep);
  assert.match(
    lines[0] as string,
    /^Best: t002 \(lr=1\.00e-3 optimizer=adam\) reached val_loss 0\.3 at epoch 4 of 4\.$/,
  );
  assert.ok(
    lines.some((l) =>
      /^optimizer=adam beat sgd at every lr range where both were tried \(2 ranges\)/.test(l),
    ),
    lines.join('\n'),
  );
  assert.ok(
    lines.some((l) => /^Every trial with lr at or above 0\.03 diverged \(2 of 7/.test(l)),
    lines.join('\n'),
  );
  assert.ok(
    lines.some((l) =>
      /^ASHA pruned 1 of 7 trials; 25 of 28 epochs were trained \(89%\)\.$/.test(l),
    ),
    lines.join('\n'),
  );
  assert.equal(diverged(trials[4] as TrialRecord), true);
  assert.equal(diverged(trials[0] as TrialRecord), false);
  assert.equal(spearman([1, 2, 3, 4], [10, 20, 30, 40]), 1);
  assert.equal(spearman([1, 2, 3, 4], [4, 3, 2, 1]), -1);
});

test('report.html: sortable table, parallel coordinates, metric against lr on a log axis, curves with pruned dashed', () => {
  const html = renderSweepReport(sweep, {
    train: 'vggkit train /data/flowers --config best-config.json',
  });
  assert.match(html, /<table class="sortable" id="trials">/);
  assert.equal((html.match(/<tr><td data-sort="t00\d">/g) ?? []).length, 7);
  assert.match(html, /optimizer=adam beat sgd at every lr range/);
  const specs = chartSpecs(html);
  const parallel = specs.find((s): s is ParallelChartSpec => s.kind === 'parallel');
  assert.ok(parallel !== undefined);
  assert.deepEqual(
    parallel.axes.map((a) => a.label),
    ['lr', 'optimizer', 'val_loss'],
  );
  assert.equal(parallel.axes[0]?.log, true);
  assert.deepEqual(parallel.axes[1]?.categories, ['adam', 'sgd']);
  assert.equal(parallel.lines.length, 7);
  assert.equal(parallel.lines.find((l) => l.label === 't006')?.dashed, true);
  const vsLr = specs.find((s): s is LineChartSpec => s.id === 'sweep-vs-lr');
  assert.ok(vsLr !== undefined && vsLr.kind === 'line');
  assert.equal(vsLr.xLog, true);
  assert.deepEqual(
    vsLr.x,
    [...vsLr.x].sort((a, b) => a - b),
  );
  assert.ok(vsLr.series.every((s) => s.line === false));
  const curves = specs.filter(
    (s): s is LineChartSpec => s.kind === 'line' && s.id.startsWith('sweep-curves-'),
  );
  assert.ok(curves.length >= 1);
  for (const c of curves) {
    assert.equal(c.series.length, 7);
    assert.equal(c.series.find((s) => s.label === 't006 (pruned)')?.dashed, true);
  }
  assert.match(html, /vggkit train \/data\/flowers --config best-config\.json/);
});
