/**
 * `--html FILE`: one self-contained page (inline CSS, inline SVG curves, thumbnails as data: URIs)
 * so it can be attached to an issue or opened offline.
 */
import { writeFile } from 'node:fs/promises';
import sharp from 'sharp';
import { escapeHtml, lineChart, page, type Series } from '../report/html.js';
import { series, type TrainingHistory } from './history.js';
import type { DoctorReport } from './run.js';
import type { Finding } from './types.js';
import type { LrRangeProbe } from './probe-results.js';
import { describeReading } from './trainings.js';

/** Thumbnail edge in pixels and how many per finding: enough to recognise, small enough to keep the file light. */
const THUMB_SIZE = 96;
const THUMBS_PER_FINDING = 6;

const CSS = `body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:960px;color:#222;padding:0 1rem}
h1{font-size:1.5rem}.summary{margin-bottom:1.5rem}.finding{border-left:4px solid #999;padding:.5rem 1rem;margin:1rem 0;background:#fafafa}
.error{border-color:#c62828}.warning{border-color:#ef8f00}.info{border-color:#1565c0}.sev{font-weight:600;text-transform:uppercase;font-size:.75rem}
.error .sev{color:#c62828}.warning .sev{color:#ef8f00}.info .sev{color:#1565c0}code{background:#eee;padding:0 .25rem}
.fix{margin-top:.5rem}.thumbs img{margin:.25rem;border:1px solid #ccc;vertical-align:top}pre{white-space:pre-wrap;font-size:12px;background:#f0f0f0;padding:.5rem}`;

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
    const jpeg = await sharp(file, { failOn: 'none' })
      .autoOrient()
      .flatten({ background: '#ffffff' })
      .resize(THUMB_SIZE, THUMB_SIZE, { fit: 'inside' })
      .jpeg({ quality: 70 })
      .toBuffer();
    return `data:image/jpeg;base64,${jpeg.toString('base64')}`;
  } catch {
    return undefined;
  }
}

async function renderFinding(f: Finding): Promise<string> {
  const thumbs: string[] = [];
  for (const file of exampleFiles(f)) {
    const uri = await thumbnail(file);
    if (uri !== undefined)
      thumbs.push(`<img src="${uri}" alt="${escapeHtml(file)}" title="${escapeHtml(file)}">`);
  }
  const fix = `${escapeHtml(f.fix.summary)}${f.fix.flag === undefined ? '' : ` <code>${escapeHtml(f.fix.flag)}</code>`}${f.fix.config === undefined ? '' : ` — config patch <code>${escapeHtml(JSON.stringify(f.fix.config))}</code>`}`;
  return `<section class="finding ${f.severity}"><div class="sev">${f.severity} · ${escapeHtml(f.id)}</div><h3>${escapeHtml(f.title)}</h3><p>${escapeHtml(f.explanation)}</p>${thumbs.length > 0 ? `<div class="thumbs">${thumbs.join('')}</div>` : ''}<details><summary>Evidence</summary><pre>${escapeHtml(JSON.stringify(f.evidence, null, 2))}</pre></details><div class="fix"><b>Fix:</b> ${fix}</div></section>`;
}

function curves(history: TrainingHistory, findings: readonly Finding[]): string {
  const highlights = findings
    .filter(
      (f) =>
        f.family === 'dynamics' && f.severity !== 'info' && Array.isArray(f.evidence.epochRange),
    )
    .map((f) => {
      const [from, to] = f.evidence.epochRange as [number, number];
      return { from, to, label: `${f.id}: ${f.title}` };
    });
  const line = (
    metric: Parameters<typeof series>[1],
    label: string,
    color: string,
    dashed = false,
  ): Series => ({
    label,
    color,
    dashed,
    points: series(history, metric).map((p) => [p.index, p.value] as const),
  });
  const charts: string[] = [];
  const loss = [
    line('loss', 'loss', '#1565c0'),
    line('valLoss', 'val_loss', '#c62828', true),
  ].filter((s) => s.points.length > 0);
  const accuracy = [
    line('accuracy', 'accuracy', '#1565c0'),
    line('valAccuracy', 'val_accuracy', '#c62828', true),
  ].filter((s) => s.points.length > 0);
  if (loss.length > 0) charts.push(lineChart(loss, { title: 'Loss per epoch', highlights }));
  if (accuracy.length > 0)
    charts.push(lineChart(accuracy, { title: 'Accuracy per epoch', highlights }));
  return charts.length === 0
    ? ''
    : `<h2>Training curves</h2><p>Shaded: epochs a warning or error is about (hover for which).</p>${charts.join('')}`;
}

/** The LR range test: smoothed loss against log10(lr), with the configured and suggested rates marked. */
function lrRangeChart(range: LrRangeProbe, configuredLr: number | undefined): string {
  const points = range.lrs.map((lr, i) => [Math.log10(lr), range.losses[i] as number] as const);
  const markers = [
    {
      x: Math.log10(range.suggestion),
      label: `suggested ${range.suggestion.toExponential(1)}`,
      color: '#2e7d32',
    },
    ...(configuredLr === undefined
      ? []
      : [
          {
            x: Math.log10(configuredLr),
            label: `configured ${configuredLr.toExponential(1)}`,
            color: '#c62828',
          },
        ]),
  ];
  const chart = lineChart([{ label: 'smoothed loss', color: '#1565c0', points }], {
    title: 'Learning-rate range test',
    markers,
    xLabel: 'log10(learning rate)',
  });
  return chart === ''
    ? ''
    : `<h2>Learning-rate range test</h2><p>Loss while the learning rate grows exponentially on a sample of the data (fastai's LR finder).</p>${chart}`;
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
  const charts = `${inputs.history === undefined ? '' : curves(inputs.history, report.findings)}${inputs.lrRange === undefined ? '' : lrRangeChart(inputs.lrRange, inputs.configuredLr)}`;
  const reading =
    report.summary.history === undefined
      ? ''
      : `<p class="reading">${describeReading(report.summary.history, report.summary.classes)
          .map((line) => escapeHtml(line.trim()))
          .join('<br>')}</p>`;
  const body = `<h1>vggkit doctor</h1><p class="summary">${errors} error(s), ${warnings} warning(s), ${infos} note(s)</p>${reading}${charts}<h2>Findings</h2>${sections.length === 0 ? '<p>No problems found.</p>' : sections.join('')}`;
  return page('vggkit doctor report', CSS, body);
}

export async function writeHtmlReport(
  file: string,
  report: DoctorReport,
  inputs: HtmlInputs = {},
): Promise<void> {
  await writeFile(file, await renderHtml(report, inputs));
}
