/**
 * `--html FILE`: one self-contained page (inline CSS, the chart renderer inlined, thumbnails as
 * data: URIs) so it can be attached to an issue or opened offline. Charts and finding cards are the
 * shared report components (src/report/), the same the dashboard shows.
 */
import { writeFile } from 'node:fs/promises';
import { thumbnailJpeg } from '../image/index.js';
import { chart, type LineChartSpec } from '../report/chart-spec.js';
import { epochCharts, lrRangeChart, LR_COLOR, VAL_COLOR } from '../report/curves.js';
import { escapeHtml, page } from '../report/html.js';
import { findingCard } from '../report/tables.js';
import { fixLabel } from './combine.js';
import { fixLoopSection } from './fix-loop/html.js';
import type { TrainingHistory } from './history.js';
import type { DoctorReport } from './run.js';
import type { Finding } from './types.js';
import type { LrRangeProbe } from './probe-results.js';
import { describeReading } from './trainings.js';

/** Thumbnail edge in pixels and how many per finding: enough to recognise, small enough to keep the file light. */
const THUMBS_PER_FINDING = 6;

function exampleFiles(f: Finding): string[] {
  const examples = f.evidence.examples;
  if (!Array.isArray(examples)) return [];
  return examples
    .flat()
    .filter((e): e is string => typeof e === 'string')
    .slice(0, THUMBS_PER_FINDING);
}

async function thumbnail(file: string): Promise<string | undefined> {
  try {
    const jpeg = await thumbnailJpeg(file);
    return `data:image/jpeg;base64,${jpeg.toString('base64')}`;
  } catch {
    return undefined;
  }
}

async function renderFinding(f: Finding): Promise<string> {
  const thumbs: { src: string; title: string }[] = [];
  for (const file of exampleFiles(f)) {
    const src = await thumbnail(file);
    if (src !== undefined) thumbs.push({ src, title: file });
  }
  return findingCard({ ...f, fix: { ...f.fix, label: fixLabel(f) } }, thumbs);
}

/**
 * The history's loss, accuracy and learning-rate curves (1-based epochs), with the epochs that warnings and
 * errors of the dynamics family are about shaded (a note is not a problem region).
 */
export function historyCharts(
  history: TrainingHistory,
  findings: readonly Finding[],
): LineChartSpec[] {
  const highlights = findings
    .filter(
      (f) =>
        f.family === 'dynamics' && f.severity !== 'info' && Array.isArray(f.evidence.epochRange),
    )
    .map((f) => {
      // epochRange holds 0-based positions in the log; the charts count epochs from 1.
      const [from, to] = f.evidence.epochRange as [number, number];
      return { from: from + 0.5, to: to + 1.5, label: `${f.id}: ${f.title}` };
    });
  const points = history.epochs.map((e) => {
    const { loss, accuracy, valLoss, valAccuracy, lr, stage } = e;
    return {
      epoch: e.index + 1,
      ...(loss === undefined ? {} : { loss }),
      ...(accuracy === undefined ? {} : { accuracy }),
      ...(valLoss === undefined ? {} : { valLoss }),
      ...(valAccuracy === undefined ? {} : { valAccuracy }),
      ...(lr === undefined ? {} : { lr }),
      ...(stage === undefined ? {} : { stage }),
    };
  });
  return epochCharts(points, { highlights }).map((c) =>
    c.id === 'loss' && spansDecades(c) ? { ...c, yLog: true, yLabel: 'loss (log)' } : c,
  );
}

/**
 * Losses spanning more than this factor are drawn on a log axis: on a linear one a validation
 * loss of 109816 (saitejagaje_mri4 resnet50) flattens a training loss near 1 onto the x axis.
 */
const LOG_LOSS_SPAN = 100;

function spansDecades(spec: LineChartSpec): boolean {
  const values = spec.series.flatMap((s) => s.values).filter((v): v is number => v !== null);
  return (
    values.length > 0 &&
    values.every((v) => v > 0) &&
    Math.max(...values) / Math.min(...values) > LOG_LOSS_SPAN
  );
}

function curves(history: TrainingHistory, findings: readonly Finding[]): string {
  const charts = historyCharts(history, findings);
  return charts.length === 0
    ? ''
    : `<h2>Training curves</h2><p>Shaded: epochs a warning or error is about (listed under each chart).</p><div class="vk-charts">${charts.map(chart).join('')}</div>`;
}

/** The LR range test: smoothed loss against the learning rate, configured and suggested rates marked. */
function lrRangeSection(range: LrRangeProbe, configuredLr: number | undefined): string {
  if (range.lrs.length === 0) return '';
  // An inconclusive test (lr-suggestions.ts) suggests no rate: nothing to mark.
  const suggested = Number.isFinite(range.suggestion)
    ? [
        {
          lr: range.suggestion,
          label: `suggested ${range.suggestion.toExponential(1)}`,
          color: LR_COLOR,
        },
      ]
    : [];
  const spec = lrRangeChart(range.lrs, range.losses, [
    ...suggested,
    ...(configuredLr === undefined
      ? []
      : [
          {
            lr: configuredLr,
            label: `configured ${configuredLr.toExponential(1)}`,
            color: VAL_COLOR,
          },
        ]),
  ]);
  return `<h2>Learning-rate range test</h2><p>Loss while the learning rate grows exponentially on a sample of the data (fastai's LR finder).</p>${chart(spec)}`;
}

export interface HtmlInputs {
  readonly history?: TrainingHistory | undefined;
  readonly lrRange?: LrRangeProbe | undefined;
  readonly configuredLr?: number | undefined;
}

export async function renderHtml(report: DoctorReport, inputs: HtmlInputs = {}): Promise<string> {
  const { errors, warnings, infos } = report.summary;
  const sections: string[] = [];
  for (const f of report.findings) sections.push(await renderFinding(f));
  const charts = `${inputs.history === undefined ? '' : curves(inputs.history, report.findings)}${inputs.lrRange === undefined ? '' : lrRangeSection(inputs.lrRange, inputs.configuredLr)}`;
  const reading =
    report.summary.history === undefined
      ? ''
      : `<p class="reading">${describeReading(report.summary.history, report.summary.classes)
          .map((line) => escapeHtml(line.trim()))
          .join('<br>')}</p>`;
  const body = `<h1>vggkit doctor</h1><p class="summary">${errors} error(s), ${warnings} warning(s), ${infos} note(s)</p>${reading}${charts}<h2>Findings</h2>${sections.length === 0 ? '<p>No problems found.</p>' : sections.join('')}${report.fixLoop === undefined ? '' : fixLoopSection(report.fixLoop)}`;
  return page('vggkit doctor report', body);
}

export async function writeHtmlReport(
  file: string,
  report: DoctorReport,
  inputs: HtmlInputs = {},
): Promise<void> {
  await writeFile(file, await renderHtml(report, inputs));
}
