/**
 * The dashboard's pages, rendered on the server from the run and sweep folders with the shared
 * report components (src/report/), so a chart here reads the same as in report.html. The live
 * parts (status, epoch counter, ETA, charts) carry `data-live` attributes and chart ids that
 * client/live.js updates from the server's event stream; nothing else changes without a reload.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseHistory } from '../doctor/history.js';
import { runDoctor } from '../doctor/run.js';
import type { Finding } from '../doctor/types.js';
import { chart, scriptJson } from '../report/chart-spec.js';
import type { EpochPoint } from '../report/curves.js';
import { overlayCharts } from '../report/curves.js';
import { escapeHtml, page } from '../report/html.js';
import { sweepCharts } from '../report/sweep.js';
import {
  confusionMatrixTable,
  dataTable,
  findingCard,
  formatNumber,
  keyValueTable,
  perClassTable,
  tiles,
} from '../report/tables.js';
import { EVENTS_FILE } from '../train/callbacks/events-log.js';
import { readTrainConfigFile } from '../train/config-file.js';
import {
  EVALUATION_FILE,
  PREDICTIONS_FILE,
  type MetricsFile,
  type PredictionsFile,
} from '../train/predictions.js';
import { BEST_CONFIG_FILE, parseSweepView, SWEEP_FILE, type SweepView } from '../sweep/results.js';
import { REPORTED_SETTINGS } from '../train/report.js';
import type { RunView } from './live.js';
import { historyPoints } from './runs.js';

const DASHBOARD_CSS = `nav{margin-bottom:1rem;font-size:13px}nav a{margin-right:1rem}
.live{display:flex;flex-wrap:wrap;gap:.5rem 1.5rem;align-items:baseline;margin:.5rem 0 1rem}
.live b{font-variant-numeric:tabular-nums}table.runs{width:100%}table.runs th{cursor:pointer;user-select:none;vertical-align:bottom}
table.runs th[data-sort]::after{content:" ↕";color:#aaa}table.runs td{white-space:nowrap}
.toolbar{margin:.5rem 0}button{font:inherit;padding:.2rem .8rem}figure[data-chart-id="sweep-parallel"]{grid-column:1/-1}`;

/** Every dashboard page: the shared shell, the renderer and live script served as files. */
export function dashboardPage(title: string, body: string, data: unknown = {}): string {
  const scripts = [
    `<script id="vk-page" type="application/json">${scriptJson(data)}</script>`,
    '<script src="/assets/uPlot.iife.min.js"></script>',
    '<script src="/assets/charts.js"></script>',
    '<script src="/assets/live.js"></script>',
  ].join('');
  return page(title, `<nav><a href="/">All runs</a></nav>${body}${scripts}`, {
    inlineCharts: false,
    // An empty icon: otherwise the browser asks for /favicon.ico and logs the 404 as an error.
    head: '<link rel="icon" href="data:,"><link rel="stylesheet" href="/assets/uPlot.min.css">',
    css: DASHBOARD_CSS,
  });
}

export function runsListPage(root: string): string {
  const body = `<h1>vggkit runs</h1><p class="muted">Serving <code>${escapeHtml(root)}</code>. The list updates by itself; click a column to sort, tick runs and press Compare to overlay their curves.</p>
<div class="toolbar"><button id="compare" disabled>Compare selected</button></div>
<table class="runs" id="runs"><thead><tr><th></th><th data-sort="name">run</th><th data-sort="status">status</th><th data-sort="startedAt">started</th><th data-sort="epochsDone">epochs</th><th data-sort="bestValLoss">best val_loss</th><th data-sort="bestValAccuracy">best val_accuracy</th><th data-sort="weights">weights</th><th data-sort="contract">contract</th><th data-sort="wallSeconds">wall time</th></tr></thead><tbody><tr><td colspan="10" class="muted">Loading…</td></tr></tbody></table>
<h2>Sweeps</h2><div id="sweeps" class="muted">Loading…</div>`;
  return dashboardPage('vggkit runs', body, { page: 'runs' });
}

async function readJsonFile<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** The run's findings from its own history and config (the doctor's static checks). */
async function runFindings(dir: string): Promise<{ findings: readonly Finding[]; note?: string }> {
  const historyFile = join(dir, 'history.json');
  let text: string;
  try {
    text = await readFile(historyFile, 'utf8');
  } catch {
    return { findings: [], note: 'No history.json yet: the doctor looks once an epoch has ended.' };
  }
  try {
    const history = parseHistory(text, historyFile);
    const config = await readTrainConfigFile(join(dir, 'config.json')).then(
      (file) => file.config,
      () => undefined,
    );
    const report = await runDoctor({
      history,
      ...(config === undefined ? {} : { config }),
      ...(history.classNames === undefined ? {} : { model: { classes: history.classNames } }),
    });
    return { findings: report.findings };
  } catch (error) {
    return {
      findings: [],
      note: `The doctor could not read this run: ${(error as Error).message}`,
    };
  }
}

function metricsSection(title: string, m: MetricsFile): string {
  return `<h3>${escapeHtml(title)}</h3><p>${m.images} images${m.skipped > 0 ? ` (${m.skipped} unreadable, left out)` : ''}: accuracy <b>${formatNumber(m.accuracy)}</b>, loss <b>${formatNumber(m.loss)}</b>.</p>${perClassTable(m.perClass)}<p class="muted">Confusion matrix: rows are the true class, columns the predicted one.</p>${confusionMatrixTable(m.classNames, m.confusionMatrix)}`;
}

/** The run's doctor findings and results: refreshed whenever history.json or a results file changes. */
async function outputsSection(dir: string, urlPath: string): Promise<string> {
  const { findings, note } = await runFindings(dir);
  const doctor =
    findings.length === 0
      ? `<p class="muted">${escapeHtml(note ?? 'The doctor finds nothing wrong in this run’s history and config.')}</p>`
      : findings.map((f) => findingCard(f)).join('');
  const predictions = await readJsonFile<PredictionsFile>(join(dir, PREDICTIONS_FILE));
  const evaluation = await readJsonFile<MetricsFile>(join(dir, EVALUATION_FILE));
  const parts: string[] = [];
  if (evaluation !== undefined)
    parts.push(metricsSection(`Evaluated on ${evaluation.data} (vggkit evaluate)`, evaluation));
  if (predictions !== undefined) {
    parts.push(metricsSection('Validation set, final model', predictions));
    const names = predictions.classNames;
    const top = predictions.topLosses.filter((t) => t.thumbnail !== undefined);
    parts.push(
      `<h3>Top losses</h3><p class="muted">The validation images with the highest loss, worst first (fastai's plot_top_losses): the model's most confident mistakes, which are often mislabelled, ambiguous or unusual images. Hover an image for its file.</p>${tiles(
        top.map((t) => ({
          src: fileUrl(urlPath, t.thumbnail as string),
          title: t.file,
          lines: [
            `true: ${names[t.label] ?? t.label}`,
            `predicted: ${names[t.predicted] ?? t.predicted} (${(100 * t.probability).toFixed(0)}%)${t.predicted === t.label ? ' ✓' : ''}`,
            `loss ${formatNumber(t.loss)}`,
          ],
        })),
      )}`,
    );
  }
  const results =
    parts.length === 0
      ? '<p class="muted">Per-class metrics, the confusion matrix and the top losses appear when the run ends (with a validation set) or after <code>vggkit evaluate</code>.</p>'
      : parts.join('');
  return `<h2>Doctor</h2><p class="muted">Findings from this run’s history and config; each says how to fix it.</p>${doctor}<h2>Results</h2>${results}`;
}

export function fileUrl(urlPath: string, file: string): string {
  const joined = urlPath === '' ? file : `${urlPath}/${file}`;
  return `/files/${joined.split('/').map(encodeURIComponent).join('/')}`;
}

function runUrl(urlPath: string): string {
  return `/run/${urlPath.split('/').map(encodeURIComponent).join('/')}`;
}

function statusLine(view: RunView): string {
  const total = view.epochsTotal === undefined ? '' : ` of ${view.epochsTotal}`;
  return `<div class="live"><span>status <span class="badge ${view.status}" data-live="status">${escapeHtml(view.status === 'stopped' && view.stoppedBy !== undefined ? `stopped by ${view.stoppedBy}` : view.status)}</span></span><span>epochs done <b data-live="epochs">${view.epochsDone}</b>${total}</span><span data-live="position"></span><span data-live="eta"></span><span data-live="speed"></span><span class="muted" data-live="updated"></span></div>`;
}

export async function runPage(
  dir: string,
  urlPath: string,
  view: RunView,
  section?: 'outputs',
): Promise<string> {
  const outputs = await outputsSection(dir, urlPath);
  if (section === 'outputs') return outputs;
  const config = await readJsonFile<Record<string, unknown>>(join(dir, 'config.json'));
  const problems =
    view.problems.length === 0
      ? ''
      : `<p class="problem" data-live="problems">${view.problems.map(escapeHtml).join('<br>')}</p>`;
  const settings =
    config === undefined
      ? '<p class="muted">No config.json.</p>'
      : keyValueTable(REPORTED_SETTINGS.map((k) => [k, config[k]] as const));
  const files = ['report.html', 'config.json', 'history.csv', 'history.json', EVENTS_FILE]
    .map((f) => `<a href="${fileUrl(urlPath, f)}">${f}</a>`)
    .join(' · ');
  const body = `<h1>${escapeHtml(urlPath === '' ? 'run' : urlPath)}</h1>${statusLine(view)}${problems}
<div class="vk-charts">${view.charts.map(chart).join('')}</div>
<div id="outputs">${outputs}</div>
<h2>Settings</h2>${settings}<p class="muted">Files: ${files}</p>`;
  return dashboardPage(`vggkit run ${urlPath}`, body, {
    page: 'run',
    events: `/api/events/${urlPath.split('/').map(encodeURIComponent).join('/')}`,
    outputs: `${runUrl(urlPath)}?section=outputs`,
    view: { ...view, charts: [] },
  });
}

export async function comparePage(
  runs: readonly { readonly dir: string; readonly urlPath: string }[],
): Promise<string> {
  const curves: { name: string; points: EpochPoint[] }[] = [];
  const settings: Record<string, unknown>[] = [];
  for (const r of runs) {
    const history = await readJsonFile<unknown>(join(r.dir, 'history.json'));
    curves.push({ name: r.urlPath, points: historyPoints(history) });
    settings.push((await readJsonFile<Record<string, unknown>>(join(r.dir, 'config.json'))) ?? {});
  }
  const differing = REPORTED_SETTINGS.filter(
    (k) => new Set(settings.map((s) => JSON.stringify(s[k]))).size > 1,
  );
  const table = dataTable(
    ['run', ...differing],
    runs.map((r, i) => [
      { html: `<a href="${runUrl(r.urlPath)}">${escapeHtml(r.urlPath)}</a>` },
      ...differing.map((k) => JSON.stringify(settings[i]?.[k])),
    ]),
  );
  const body = `<h1>Compare ${runs.length} runs</h1><div class="vk-charts">${overlayCharts(curves)
    .map(chart)
    .join(
      '',
    )}</div><h2>Settings that differ</h2>${differing.length === 0 ? '<p class="muted">None of the reported settings differ.</p>' : table}`;
  return dashboardPage('vggkit compare', body, { page: 'compare' });
}

export async function sweepPage(dir: string, urlPath: string): Promise<string> {
  let sweep: SweepView;
  try {
    sweep = parseSweepView(await readFile(join(dir, SWEEP_FILE), 'utf8'));
  } catch (error) {
    return dashboardPage(
      'vggkit sweep',
      `<h1>${escapeHtml(urlPath)}</h1><p class="problem">${SWEEP_FILE} could not be read (${escapeHtml((error as Error).message)}); it may be being written — reload in a moment.</p>`,
    );
  }
  const bestId = sweep.best?.trialId;
  const paramNames = sweep.space.map((d) => d.name);
  const table = dataTable(
    ['trial', 'status', ...paramNames, sweep.monitor.name, 'epochs', 'seconds'],
    sweep.trials.map((t) => [
      {
        html: `<a href="${runUrl(urlPath === '' ? `trials/${t.id}` : `${urlPath}/trials/${t.id}`)}">${escapeHtml(t.id)}</a>${t.id === bestId ? ' <span class="badge finished">best</span>' : ''}`,
      },
      t.stoppedBy === undefined ? t.status : `${t.status} (${t.stoppedBy})`,
      ...paramNames.map((n) => {
        const v = t.params[n];
        return typeof v === 'number' ? v : v === undefined ? undefined : String(v);
      }),
      Number.isFinite(t.value) ? t.value : undefined,
      t.epochs,
      t.seconds === undefined ? undefined : Math.round(t.seconds),
    ]),
    'class="runs" id="trials"',
  );
  const bestConfig = await readJsonFile<unknown>(join(dir, BEST_CONFIG_FILE));
  const configPath = urlPath === '' ? BEST_CONFIG_FILE : `${urlPath}/${BEST_CONFIG_FILE}`;
  const best =
    sweep.best === null
      ? '<p class="muted">No trial has finished yet.</p>'
      : `<p>Trial <b>${escapeHtml(sweep.best.trialId)}</b>: ${escapeHtml(sweep.monitor.name)} = <b>${formatNumber(sweep.best.value)}</b>. Train it again with</p><pre>vggkit train ${escapeHtml(sweep.data ?? 'DATA')} --config ${escapeHtml(configPath)}</pre>${bestConfig === undefined ? '' : `<details><summary>best-config.json</summary><pre>${escapeHtml(JSON.stringify(bestConfig, null, 2))}</pre></details>`}`;
  const charts = sweepCharts(sweep);
  const planned = sweep.trialsPlanned === undefined ? '' : ` of ${sweep.trialsPlanned}`;
  const body = `<h1>Sweep ${escapeHtml(urlPath)}</h1><p>${sweep.trials.length}${planned} trials, ${escapeHtml(sweep.monitor.name)} (${sweep.monitor.direction === 'min' ? 'lower' : 'higher'} is better)${sweep.finished === false ? ', still running' : ''}.</p>
<h2>Best</h2>${best}
<h2>Trials</h2>${table}
<h2>How the parameters did</h2>
<div class="vk-charts">${[...charts.settings, ...charts.curves].map(chart).join('')}</div>`;
  return dashboardPage(`vggkit sweep ${urlPath}`, body, { page: 'sweep' });
}
