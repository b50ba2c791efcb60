/**
 * Report components for a set of trials: a parallel-coordinates chart of settings and result, the
 * result against each numeric setting, every trial's learning curves, and a trial table that sorts
 * by any column when its header is clicked. The chart components take neutral rows; `sweepCharts`
 * is the one place a sweep.json becomes its charts, so the sweep's report.html and the dashboard's
 * sweep page draw the same charts from the same file.
 */
import type { SweepView } from '../sweep/results.js';
import {
  finiteOrNull,
  type ChartSpec,
  type LineChartSpec,
  type ParallelChartSpec,
} from './chart-spec.js';
import { epochPoints, overlayCharts } from './curves.js';
import { escapeHtml } from './html.js';
import { formatNumber } from './tables.js';

export interface TrialAxis {
  /** The setting's name as the user wrote it (`lr`, `batch-size`). */
  readonly name: string;
  readonly kind: 'numeric' | 'categorical';
  readonly log?: boolean;
  /** Categorical axes: the values in order. */
  readonly categories?: readonly string[];
}

export interface TrialRow {
  readonly id: string;
  readonly status: string;
  /** Values by axis name; categorical values as their text. */
  readonly params: Readonly<Record<string, number | string | boolean>>;
  /** The monitored result (NaN when none). */
  readonly value: number;
}

export interface ResultAxis {
  readonly name: string;
  readonly direction: 'min' | 'max';
}

/** Green for the best result, red for the worst, linearly between; grey when there is none. */
function resultColor(value: number, lo: number, hi: number, direction: 'min' | 'max'): string {
  if (!Number.isFinite(value)) return '#9e9e9e';
  const t = hi > lo ? (value - lo) / (hi - lo) : 0.5;
  const good = direction === 'min' ? 1 - t : t;
  const r = Math.round(200 * (1 - good) + 30 * good);
  const g = Math.round(40 * (1 - good) + 150 * good);
  return `rgb(${r},${g},60)`;
}

/**
 * One vertical axis per setting plus the result; one line per trial, coloured by result, pruned
 * dashed, the best trial (if given) wider and drawn last, on top.
 */
export function parallelCoordinatesChart(
  axes: readonly TrialAxis[],
  rows: readonly TrialRow[],
  result: ResultAxis,
  bestId?: string,
): ParallelChartSpec {
  const finite = rows.map((r) => r.value).filter(Number.isFinite);
  const lo = Math.min(...finite);
  const hi = Math.max(...finite);
  const lines = rows.map((r) => ({
    label: r.id,
    values: [
      ...axes.map((a) => {
        const v = r.params[a.name];
        if (v === undefined) return null;
        if (a.categories !== undefined) {
          const i = a.categories.indexOf(String(v));
          return i === -1 ? null : i;
        }
        return typeof v === 'number' ? v : null;
      }),
      finiteOrNull(r.value),
    ],
    color: resultColor(r.value, lo, hi, result.direction),
    ...(r.status === 'pruned' ? { dashed: true } : {}),
    ...(r.id === bestId ? { width: 3 } : {}),
  }));
  lines.sort((a, b) => Number(a.label === bestId) - Number(b.label === bestId));
  return {
    kind: 'parallel',
    id: 'sweep-parallel',
    title: `Settings and ${result.name} of every trial`,
    axes: [
      ...axes.map((a) => ({
        label: a.name,
        ...(a.log === true ? { log: true } : {}),
        ...(a.categories === undefined ? {} : { categories: a.categories }),
      })),
      { label: result.name },
    ],
    lines,
    caption: `One line per trial: green is the best ${result.name}, red the worst, grey none (failed); the widest line is the best trial; dashed lines are trials ASHA pruned (their ${result.name} is at the epoch they stopped).`,
  };
}

/** The result against one numeric setting, a dot per trial (log axis where the setting is sampled on one). */
export function resultVsSettingChart(
  axis: TrialAxis,
  rows: readonly TrialRow[],
  result: ResultAxis,
): LineChartSpec {
  const points = rows
    .filter((r) => typeof r.params[axis.name] === 'number')
    .sort((a, b) => (a.params[axis.name] as number) - (b.params[axis.name] as number));
  const x = points.map((r) => r.params[axis.name] as number);
  const series = (
    status: string,
    label: string,
    color: string,
  ): LineChartSpec['series'][number] => ({
    label,
    color,
    line: false,
    values: points.map((r) => (r.status === status ? finiteOrNull(r.value) : null)),
  });
  return {
    kind: 'line',
    id: `sweep-vs-${axis.name}`,
    title: `${result.name} against ${axis.name}`,
    xLabel: axis.name + (axis.log === true ? ' (log)' : ''),
    yLabel: result.name,
    x,
    ...(axis.log === true ? { xLog: true } : {}),
    series: [
      series('completed', 'completed', '#1565c0'),
      series('pruned', 'pruned (value where it stopped)', '#ef6c00'),
    ],
  };
}

/** A sweep's searched settings as chart axes. */
export function sweepAxes(sweep: Pick<SweepView, 'space'>): TrialAxis[] {
  return sweep.space.map((d) =>
    d.kind === 'categorical'
      ? { name: d.name, kind: 'categorical', categories: (d.choices ?? []).map(String) }
      : { name: d.name, kind: 'numeric', log: d.log === true },
  );
}

/**
 * Every chart of a sweep: `settings`, parallel coordinates (when something was searched) then the
 * result against each numeric setting; `curves`, each metric's learning curves of every trial.
 */
export function sweepCharts(sweep: SweepView): {
  settings: ChartSpec[];
  curves: LineChartSpec[];
} {
  const axes = sweepAxes(sweep);
  const rows: TrialRow[] = sweep.trials.map((t) => ({
    id: t.id,
    status: t.status,
    params: t.params,
    value: t.value,
  }));
  const result = { name: sweep.monitor.name, direction: sweep.monitor.direction };
  const curves = overlayCharts(
    sweep.trials
      .filter((t) => t.history.length > 0)
      .map((t) => ({
        name: `${t.id}${t.status === 'pruned' ? ' (pruned)' : ''}`,
        points: epochPoints(t.history),
        ...(t.status === 'pruned' ? { dashed: true } : {}),
      })),
    'sweep-curves-',
  ).map((c) => ({ ...c, caption: 'One line per trial; dashed: pruned by the scheduler.' }));
  const settings: ChartSpec[] = [
    ...(axes.length > 0 ? [parallelCoordinatesChart(axes, rows, result, sweep.best?.trialId)] : []),
    ...axes.filter((a) => a.kind === 'numeric').map((a) => resultVsSettingChart(a, rows, result)),
  ];
  return { settings, curves };
}

/** A table whose rows sort by a column when its header is clicked (numbers numerically). */
export function sortableTable(
  headers: readonly string[],
  rows: readonly (readonly (string | number | undefined)[])[],
  id = 'trials',
): string {
  const cell = (v: string | number | undefined): string =>
    v === undefined
      ? '<td class="muted" data-sort="">–</td>'
      : typeof v === 'number'
        ? `<td class="num" data-sort="${Number.isFinite(v) ? v : ''}">${escapeHtml(formatNumber(v))}</td>`
        : `<td data-sort="${escapeHtml(v)}">${escapeHtml(v)}</td>`;
  const head = headers
    .map(
      (h, i) => `<th data-col="${i}" title="sort" style="cursor:pointer">${escapeHtml(h)} ↕</th>`,
    )
    .join('');
  const body = rows.map((r) => `<tr>${r.map(cell).join('')}</tr>`).join('');
  return `<table class="sortable" id="${escapeHtml(id)}"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>${SORT_SCRIPT}`;
}

/** Click a header: sort by it (again: the other way); empty cells last. */
const SORT_SCRIPT = `<script>document.querySelectorAll('table.sortable').forEach(function(t){if(t.dataset.ready)return;t.dataset.ready='1';t.querySelectorAll('th').forEach(function(th){th.addEventListener('click',function(){var c=+th.dataset.col,asc=th.dataset.dir!=='asc';th.dataset.dir=asc?'asc':'desc';var body=t.tBodies[0];var rows=Array.prototype.slice.call(body.rows);rows.sort(function(a,b){var x=a.cells[c].dataset.sort,y=b.cells[c].dataset.sort;if(x===y)return 0;if(x==='')return 1;if(y==='')return -1;var nx=Number(x),ny=Number(y);var d=isNaN(nx)||isNaN(ny)?(x<y?-1:1):nx-ny;return asc?d:-d;});rows.forEach(function(r){body.appendChild(r);});});});});</script>`;
