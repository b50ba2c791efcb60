/**
 * `report.html` in a run folder: the curves a person looks at after training — loss, accuracy and
 * learning rate per epoch (log axis), stage changes and ReduceLROnPlateau's reductions marked —
 * and the settings that produced them. Written with the model so a run can be judged without
 * opening a notebook; drawn with the shared report components (src/report/chart-spec.ts), so it
 * reads the same as the dashboard's run page.
 */
import { chart } from '../report/chart-spec.js';
import { epochCharts, epochPoints, type StageStart } from '../report/curves.js';
import { escapeHtml, page } from '../report/html.js';
import { keyValueTable } from '../report/tables.js';
import type { StageSpec, TrainConfig } from './config.js';
import type { EpochLogs } from './events.js';

export interface TrainingReport {
  readonly history: readonly EpochLogs[];
  readonly stages: readonly StageSpec[];
  readonly config: TrainConfig;
  readonly classNames: readonly string[];
  readonly stoppedBy?: string | undefined;
}

/** Where each configured stage starts (1-based epochs). */
export function stageStarts(stages: readonly StageSpec[]): StageStart[] {
  let first = 1;
  return stages.map((stage) => {
    const start = { name: stage.name, firstEpoch: first };
    first += stage.epochs;
    return start;
  });
}

/** The settings a person compares between runs, in reading order. */
export const REPORTED_SETTINGS = [
  'arch',
  'weights',
  'inputSize',
  'head',
  'dense',
  'dropout',
  'optimizer',
  'lr',
  'batchSize',
  'epochs',
  'stageLrFactor',
  'augment',
] as const;

export function renderTrainingReport(report: TrainingReport): string {
  const { history, stages, config } = report;
  const charts = epochCharts(epochPoints(history), {
    stages: stageStarts(stages),
    markLrDrops: config.schedule.name === 'none' && config.reduceLr.enabled,
  });
  const last = history[history.length - 1];
  const metrics =
    last === undefined
      ? '<p>No epoch completed.</p>'
      : keyValueTable(Object.entries(last).filter(([, v]) => typeof v === 'number'));
  const settings = keyValueTable([
    ...REPORTED_SETTINGS.map((k) => [k, config[k]] as const),
    ['stages', stages.map((s) => `${s.name}:${s.epochs}`).join(',')],
  ]);
  const stopped =
    report.stoppedBy === undefined
      ? ''
      : `<p>Stopped early by <code>${escapeHtml(report.stoppedBy)}</code>.</p>`;
  const body = `<h1>vggkit training run</h1><p>${history.length} epoch(s), ${report.classNames.length} classes: ${escapeHtml(report.classNames.join(', '))}. Purple dashed lines mark stage changes; drag across a chart to zoom, double-click to reset.</p>${stopped}<div class="vk-charts">${charts.map(chart).join('')}</div><h2>Last epoch</h2>${metrics}<h2>Settings</h2>${settings}<p>All settings are in <code>config.json</code>; diagnose the run with <code>vggkit doctor DATA --history history.json --config config.json</code>.</p>`;
  return page('vggkit training run', body);
}
