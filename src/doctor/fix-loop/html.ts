/**
 * The fix loop's section of `doctor --html`: every candidate it trained (best first, the chosen
 * one marked) and, with `--verify`, the user's config and the fix over the whole epoch budget,
 * before and after, their validation curves on one chart per metric (the shared overlay charts).
 */
import { chart } from '../../report/chart-spec.js';
import { epochPoints, overlayCharts } from '../../report/curves.js';
import { escapeHtml } from '../../report/html.js';
import { dataTable } from '../../report/tables.js';
import { compareScores } from './score.js';
import type { FixLoopResult, Score } from './types.js';

function pct(v: number): string {
  return Number.isFinite(v) ? `${(v * 100).toFixed(0)}%` : '–';
}

function loss(v: number): string {
  return Number.isFinite(v) ? v.toFixed(3) : '–';
}

function scoreCells(s: Score): string[] {
  return [pct(s.accuracy), loss(s.loss), loss(s.rawLoss)];
}

export function fixLoopSection(loop: FixLoopResult): string {
  const val = loop.validationImages > 0;
  const metric = val ? 'validation' : 'training';
  const ranked = loop.tried
    .map((t, i) => ({ t, i }))
    .sort((a, b) => compareScores(a.t.score, b.t.score) || a.i - b.i);
  const rows = ranked.map(({ t, i }) => [
    i === loop.chosen ? '▸ chosen' : t.origin === 'yours' ? 'yours' : '',
    t.label,
    ...scoreCells(t.score),
    t.status === 'failed' ? `failed: ${t.error ?? ''}` : `${t.seconds.toFixed(1)} s`,
  ]);
  const table = dataTable(
    ['', 'candidate', `${metric} accuracy`, 'loss left*', `${metric} loss`, 'time'],
    rows,
  );
  const intro = `<p>The doctor trained your config and ${loop.tried.length - 1} candidate fixes for ${loop.epochs} epoch(s) each on your images (${val ? `scored on ${loop.validationImages} validation images` : 'no validation set: scored on training metrics'}; ${loop.seconds.toFixed(0)} s in all). Rates come from each configuration's LR range test. ${loop.chosen === undefined ? '<strong>None beat your config, so nothing was written.</strong>' : 'The marked one was chosen.'}</p>`;
  const note = `<p class="muted">* ${metric} loss as the share left of the way from a uniform guess (1) to a perfect fit (0), so runs with different label smoothing compare fairly.</p>`;
  const v = loop.verification;
  const chosen = loop.chosen === undefined ? undefined : loop.tried[loop.chosen];
  let verified = '';
  if (v !== undefined && chosen !== undefined) {
    const summary = dataTable(
      ['', `best ${metric} accuracy`, 'loss left*', `best ${metric} loss`, 'time'],
      [
        ['your config', ...scoreCells(v.before.score), `${v.before.seconds.toFixed(1)} s`],
        [
          `the fix: ${chosen.label}`,
          ...scoreCells(v.after.score),
          `${v.after.seconds.toFixed(1)} s`,
        ],
      ],
    );
    const charts = overlayCharts(
      [
        { name: 'your config', points: epochPoints(v.before.history) },
        { name: 'the fix', points: epochPoints(v.after.history) },
      ],
      'fix-verify-',
    );
    verified = `<h3>Verified over your ${v.epochs} epochs</h3><p>${v.improved ? 'The fix trains better than your config over the whole budget: it was written.' : '<strong>Over the whole budget the fix did not train better than your config, so nothing was written.</strong>'}</p>${summary}<div class="vk-charts">${charts.map(chart).join('')}</div>`;
  } else if (chosen !== undefined)
    verified = `<p>Not verified over your whole budget: run with <code>--verify</code> to train ${escapeHtml(chosen.label)} for it first.</p>`;
  return `<h2>Fixes measured on your data</h2>${intro}${table}${note}${verified}`;
}
