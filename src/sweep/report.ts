/**
 * The sweep folder's report.html: the plain-language summary, the best trial and the command that
 * trains it, a sortable table of every trial, a parallel-coordinates chart of settings and result,
 * the result against each numeric setting (log axis where sampled log), and every trial's learning
 * curves with pruned trials dashed. Built from sweep.json alone, with the shared components of
 * src/report/, so it is one self-contained file that opens offline.
 */
import { chart } from '../report/chart-spec.js';
import { escapeHtml, page } from '../report/html.js';
import { sortableTable, sweepCharts } from '../report/sweep.js';
import type { Monitor } from './monitor.js';
import type { SweepFile } from './results.js';
import { formatParams } from './space.js';
import { summarize } from './summary.js';

export function renderSweepReport(sweep: SweepFile, commands: { readonly train: string }): string {
  const monitor = sweep.monitor as Monitor;
  const table = sortableTable(
    [
      'trial',
      'status',
      ...sweep.space.map((d) => d.name),
      monitor.name,
      'best epoch',
      'epochs',
      'seconds',
    ],
    sweep.trials.map((t) => [
      t.id,
      t.status,
      ...sweep.space.map((d) => {
        const v = t.params[d.name];
        return typeof v === 'number' ? v : v === undefined ? undefined : String(v);
      }),
      t.value,
      t.bestEpoch >= 0 ? t.bestEpoch + 1 : undefined,
      t.epochs,
      Number(t.seconds.toFixed(1)),
    ]),
  );
  const charts = sweepCharts(sweep);
  const best = sweep.trials.find((t) => t.id === sweep.best?.trialId);
  const body = [
    `<h1>Sweep of ${sweep.trials.length} trials</h1>`,
    `<p class="muted">${escapeHtml(sweep.data)} · ${escapeHtml(sweep.sampler.name)} sampler (seed ${sweep.sampler.seed}) · ${escapeHtml(sweep.scheduler.name === 'asha' ? `ASHA, rungs at ${sweep.scheduler.minEpochs ?? 1} x ${sweep.scheduler.reductionFactor ?? 3}^k epochs` : 'every trial ran its epochs')} · ranked by ${escapeHtml(monitor.name)} (${monitor.direction === 'min' ? 'lower' : 'higher'} is better) · frozen-base features computed for the sweep: ${sweep.cacheFilled}</p>`,
    `<h2>What the sweep found</h2><ul class="summary">${summarize(sweep)
      .map((l) => `<li>${escapeHtml(l)}</li>`)
      .join('')}</ul>`,
    best === undefined
      ? ''
      : `<p>Train the best configuration (${escapeHtml(formatParams(best.params))}) again, or on more data: <code>${escapeHtml(commands.train)}</code>; its model is in <code>trials/${escapeHtml(best.id)}/</code>.</p>`,
    `<h2>Trials</h2><p class="muted">Click a column to sort.</p>${table}`,
    `<h2>Settings against ${escapeHtml(monitor.name)}</h2><div class="vk-charts">${charts.settings.map(chart).join('')}</div>`,
    `<h2>Learning curves</h2><p class="muted">Every trial; pruned trials dashed.</p><div class="vk-charts">${charts.curves.map(chart).join('')}</div>`,
  ].join('\n');
  return page(`vggkit sweep: ${sweep.data}`, body);
}
