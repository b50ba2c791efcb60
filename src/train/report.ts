/**
 * `report.html` in a run folder: the curves a person looks at after training — loss, accuracy and
 * learning rate per epoch, stage changes marked — and the settings that produced them. Written
 * with the model so a run can be judged without opening a notebook.
 */
import { escapeHtml, lineChart, page, type Series } from '../report/html.js';
import type { StageSpec, TrainConfig } from './config.js';
import type { EpochLogs } from './events.js';

const CSS = `body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:960px;color:#222;padding:0 1rem}
h1{font-size:1.5rem}table{border-collapse:collapse}td,th{padding:.2rem .8rem;text-align:left;border-bottom:1px solid #ddd}code{background:#eee;padding:0 .25rem}`;

export interface TrainingReport {
  readonly history: readonly EpochLogs[];
  readonly stages: readonly StageSpec[];
  readonly config: TrainConfig;
  readonly classNames: readonly string[];
  readonly stoppedBy?: string | undefined;
}

function curve(
  history: readonly EpochLogs[],
  key: keyof EpochLogs,
  label: string,
  color: string,
  dashed = false,
): Series {
  return {
    label,
    color,
    dashed,
    points: history.flatMap((logs, epoch) =>
      typeof logs[key] === 'number' ? [[epoch + 1, logs[key] as number] as const] : [],
    ),
  };
}

export function renderTrainingReport(report: TrainingReport): string {
  const { history, stages, config } = report;
  let first = 1;
  const markers = stages.map((stage) => {
    const marker = { x: first - 0.5, label: stage.name, color: '#6a1b9a' };
    first += stage.epochs;
    return marker;
  });
  const withValues = (series: Series[]): Series[] => series.filter((s) => s.points.length > 0);
  const charts = [
    lineChart(
      withValues([
        curve(history, 'loss', 'loss', '#1565c0'),
        curve(history, 'val_loss', 'val_loss', '#c62828', true),
      ]),
      { title: 'Loss per epoch', markers },
    ),
    lineChart(
      withValues([
        curve(history, 'accuracy', 'accuracy', '#1565c0'),
        curve(history, 'val_accuracy', 'val_accuracy', '#c62828', true),
      ]),
      { title: 'Accuracy per epoch', markers },
    ),
    lineChart([curve(history, 'lr', 'learning rate', '#2e7d32')], {
      title: 'Learning rate per epoch',
      markers,
    }),
  ].join('');
  const last = history[history.length - 1];
  const metrics =
    last === undefined
      ? '<p>No epoch completed.</p>'
      : `<table>${Object.entries(last)
          .map(
            ([k, v]) =>
              `<tr><th>${escapeHtml(k)}</th><td>${typeof v === 'number' ? v.toPrecision(4) : ''}</td></tr>`,
          )
          .join('')}</table>`;
  const settings = `<table>${(
    [
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
    ] as const
  )
    .map(
      (k) => `<tr><th>${k}</th><td><code>${escapeHtml(JSON.stringify(config[k]))}</code></td></tr>`,
    )
    .join(
      '',
    )}<tr><th>stages</th><td><code>${escapeHtml(stages.map((s) => `${s.name}:${s.epochs}`).join(','))}</code></td></tr></table>`;
  const stopped =
    report.stoppedBy === undefined
      ? ''
      : `<p>Stopped early by <code>${escapeHtml(report.stoppedBy)}</code>.</p>`;
  const body = `<h1>vggkit training run</h1><p>${history.length} epoch(s), ${report.classNames.length} classes: ${escapeHtml(report.classNames.join(', '))}. Vertical lines mark stage changes.</p>${stopped}${charts}<h2>Last epoch</h2>${metrics}<h2>Settings</h2>${settings}<p>All settings are in <code>config.json</code>; diagnose the run with <code>vggkit doctor DATA --history history.json --config config.json</code>.</p>`;
  return page('vggkit training run', CSS, body);
}
