/**
 * HTML-string components besides charts: key/value and data tables, the doctor's finding card,
 * per-class metrics, the confusion matrix and image tiles. Rendered on the server for static
 * reports and dashboard pages alike; every text goes through escapeHtml.
 */
import { escapeHtml } from './html.js';

export type Cell = string | number | undefined;

/** Four significant digits without trailing zeros (0.0001, 0.8125, 12.35); NaN stays NaN. */
export function formatNumber(value: number): string {
  return Number.isFinite(value) ? String(Number(value.toPrecision(4))) : String(value);
}

function cell(value: Cell): string {
  if (value === undefined) return '<td class="muted">–</td>';
  if (typeof value === 'number') return `<td class="num">${formatNumber(value)}</td>`;
  return `<td>${escapeHtml(value)}</td>`;
}

/** Rows of `name | value`; values are shown as code (they are settings or measured numbers). */
export function keyValueTable(rows: readonly (readonly [string, unknown])[]): string {
  return `<table>${rows
    .map(
      ([k, v]) =>
        `<tr><th>${escapeHtml(k)}</th><td>${typeof v === 'number' ? formatNumber(v) : `<code>${escapeHtml(typeof v === 'string' ? v : JSON.stringify(v))}</code>`}</td></tr>`,
    )
    .join('')}</table>`;
}

/** A plain table; cells that are already HTML are passed as { html }. */
export function dataTable(
  headers: readonly string[],
  rows: readonly (readonly (Cell | { readonly html: string })[])[],
  attributes = '',
): string {
  const head = headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const body = rows
    .map(
      (r) =>
        `<tr>${r.map((c) => (typeof c === 'object' ? `<td>${c.html}</td>` : cell(c))).join('')}</tr>`,
    )
    .join('');
  return `<table${attributes === '' ? '' : ` ${attributes}`}><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

/** What a card needs of a doctor finding (structurally a doctor `Finding`). */
export interface FindingView {
  readonly id: string;
  readonly severity: 'error' | 'warning' | 'info';
  readonly title: string;
  readonly explanation: string;
  readonly evidence: Readonly<Record<string, unknown>>;
  readonly fix: {
    readonly summary: string;
    readonly flag?: string;
    readonly config?: unknown;
    /** How the fix is introduced (default `Fix`), e.g. `Fix (measured)` or `Fix (rule of thumb)`. */
    readonly label?: string;
    /** A command that measures the answer (`vggkit sweep …`). */
    readonly measure?: string;
    /** The line of Keras code to change (findings about a user's Keras model). */
    readonly keras?: string;
  };
}

/** One finding: severity and id, title, explanation, example thumbnails, evidence, the fix. */
export function findingCard(
  f: FindingView,
  thumbnails: readonly { readonly src: string; readonly title: string }[] = [],
): string {
  const thumbs = thumbnails
    .map(
      (t) =>
        `<img src="${escapeHtml(t.src)}" alt="${escapeHtml(t.title)}" title="${escapeHtml(t.title)}">`,
    )
    .join('');
  const fix = `${escapeHtml(f.fix.summary)}${f.fix.flag === undefined ? '' : ` <code>${escapeHtml(f.fix.flag)}</code>`}${f.fix.config === undefined ? '' : ` — config patch <code>${escapeHtml(JSON.stringify(f.fix.config))}</code>`}${f.fix.keras === undefined ? '' : `<br>In Keras: <code>${escapeHtml(f.fix.keras)}</code>`}`;
  return `<section class="finding ${f.severity}"><div class="sev">${f.severity} · ${escapeHtml(f.id)}</div><h3>${escapeHtml(f.title)}</h3><p>${escapeHtml(f.explanation)}</p>${thumbs === '' ? '' : `<div class="thumbs">${thumbs}</div>`}<details><summary>Evidence</summary><pre>${escapeHtml(JSON.stringify(f.evidence, null, 2))}</pre></details><div class="fix"><b>${escapeHtml(f.fix.label ?? 'Fix')}:</b> ${fix}</div>${f.fix.measure === undefined ? '' : `<div class="fix"><b>Measure it:</b> <code>${escapeHtml(f.fix.measure)}</code></div>`}</section>`;
}

export interface ClassMetricsView {
  readonly name: string;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  readonly support: number;
}

export function perClassTable(perClass: readonly ClassMetricsView[]): string {
  return dataTable(
    ['class', 'precision', 'recall', 'F1', 'images'],
    perClass.map((c) => [c.name, c.precision, c.recall, c.f1, c.support]),
    'class="per-class"',
  );
}

/** Rows: true class, columns: predicted; each cell shaded by its share of the row. */
export function confusionMatrixTable(
  classNames: readonly string[],
  matrix: readonly (readonly number[])[],
): string {
  const head = `<tr><th class="corner">true ↓ / predicted →</th>${classNames.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}</tr>`;
  const rows = matrix
    .map((row, i) => {
      const total = row.reduce((a, b) => a + b, 0);
      const cells = row
        .map((n, j) => {
          const share = total === 0 ? 0 : n / total;
          const hue = i === j ? '46,125,50' : '198,40,40';
          const style =
            n === 0 ? '' : ` style="background:rgba(${hue},${(0.1 + 0.6 * share).toFixed(2)})"`;
          return `<td${style} title="${escapeHtml(`${classNames[i] ?? ''} predicted as ${classNames[j] ?? ''}: ${n}`)}">${n}</td>`;
        })
        .join('');
      return `<tr><th>${escapeHtml(classNames[i] ?? '')}</th>${cells}</tr>`;
    })
    .join('');
  return `<table class="confusion">${head}${rows}</table>`;
}

export interface Tile {
  readonly src: string;
  /** Lines under the image (escaped). */
  readonly lines: readonly string[];
  readonly title?: string;
}

/** Image thumbnails with a few lines of text each (top losses, example files). */
export function tiles(items: readonly Tile[]): string {
  return `<div class="tiles">${items
    .map(
      (t) =>
        `<div class="tile"><img src="${escapeHtml(t.src)}" alt="${escapeHtml(t.title ?? t.lines.join(' '))}" title="${escapeHtml(t.title ?? '')}">${t.lines.map((l) => `<div>${escapeHtml(l)}</div>`).join('')}</div>`,
    )
    .join('')}</div>`;
}
