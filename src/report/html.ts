/** Small HTML/SVG building blocks for self-contained reports (no external CSS, scripts or images). */

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

export function page(title: string, css: string, body: string): string {
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title><style>${css}</style></head><body>${body}</body></html>\n`;
}

export interface Series {
  readonly label: string;
  readonly color: string;
  /** [x, y]; non-finite y values break the line. */
  readonly points: readonly (readonly [number, number])[];
  readonly dashed?: boolean;
}

export interface ChartOptions {
  readonly title: string;
  readonly width?: number;
  readonly height?: number;
  /** Shaded x ranges [from, to] with a label, e.g. the epochs a finding is about. */
  readonly highlights?: readonly {
    readonly from: number;
    readonly to: number;
    readonly label: string;
  }[];
  /** Vertical lines at x values, labelled, e.g. a configured and a suggested learning rate. */
  readonly markers?: readonly {
    readonly x: number;
    readonly label: string;
    readonly color: string;
  }[];
  /** Axis captions. */
  readonly xLabel?: string;
}

function niceNumber(v: number): string {
  return Math.abs(v) >= 100 || v === 0 ? v.toFixed(0) : Number(v.toPrecision(3)).toString();
}

/** An inline SVG line chart with axes, a legend and shaded highlight ranges. */
export function lineChart(series: readonly Series[], options: ChartOptions): string {
  const width = options.width ?? 640;
  const height = options.height ?? 260;
  const pad = { left: 48, right: 12, top: 28, bottom: 28 };
  const finite = series.flatMap((s) => s.points.filter(([, y]) => Number.isFinite(y)));
  if (finite.length === 0) return '';
  const xs = finite.map(([x]) => x);
  const ys = finite.map(([, y]) => y);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs, Math.min(...xs) + 1)];
  const [y0, y1] = [
    Math.min(0, ...ys),
    Math.max(...ys) === Math.min(0, ...ys) ? 1 : Math.max(...ys),
  ];
  const sx = (x: number): number =>
    pad.left + ((x - x0) / (x1 - x0)) * (width - pad.left - pad.right);
  const sy = (y: number): number =>
    height - pad.bottom - ((y - y0) / (y1 - y0)) * (height - pad.top - pad.bottom);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(options.title)}">`,
  ];
  parts.push(
    `<text x="${pad.left}" y="16" font-size="13" font-weight="600">${escapeHtml(options.title)}</text>`,
  );
  for (const h of options.highlights ?? []) {
    const a = sx(Math.max(x0, h.from - 0.5));
    const b = sx(Math.min(x1, h.to + 0.5));
    parts.push(
      `<rect x="${a.toFixed(1)}" y="${pad.top}" width="${Math.max(2, b - a).toFixed(1)}" height="${height - pad.top - pad.bottom}" fill="#e4572e" fill-opacity="0.15"><title>${escapeHtml(h.label)}</title></rect>`,
    );
  }
  parts.push(
    `<line x1="${pad.left}" y1="${height - pad.bottom}" x2="${width - pad.right}" y2="${height - pad.bottom}" stroke="#888"/>`,
  );
  parts.push(
    `<line x1="${pad.left}" y1="${pad.top}" x2="${pad.left}" y2="${height - pad.bottom}" stroke="#888"/>`,
  );
  for (const y of [y0, (y0 + y1) / 2, y1])
    parts.push(
      `<text x="${pad.left - 4}" y="${sy(y) + 4}" font-size="10" text-anchor="end">${niceNumber(y)}</text>`,
    );
  for (const x of [x0, Math.round((x0 + x1) / 2), x1])
    parts.push(
      `<text x="${sx(x)}" y="${height - pad.bottom + 14}" font-size="10" text-anchor="middle">${niceNumber(x)}</text>`,
    );
  (options.markers ?? []).forEach((m, i) => {
    if (m.x < x0 || m.x > x1) return;
    // Labels step down one line per marker so neighbouring markers stay readable.
    parts.push(
      `<line x1="${sx(m.x).toFixed(1)}" y1="${pad.top}" x2="${sx(m.x).toFixed(1)}" y2="${height - pad.bottom}" stroke="${m.color}" stroke-dasharray="3 3"/><text x="${(sx(m.x) + 3).toFixed(1)}" y="${pad.top + 10 + 12 * i}" font-size="10" fill="${m.color}">${escapeHtml(m.label)}</text>`,
    );
  });
  if (options.xLabel !== undefined)
    parts.push(
      `<text x="${width - pad.right}" y="${height - 2}" font-size="10" text-anchor="end">${escapeHtml(options.xLabel)}</text>`,
    );
  series.forEach((s, i) => {
    let d = '';
    let pen = false;
    for (const [x, y] of s.points) {
      if (!Number.isFinite(y)) {
        pen = false;
        continue;
      }
      d += `${pen ? 'L' : 'M'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`;
      pen = true;
    }
    parts.push(
      `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed === true ? ' stroke-dasharray="5 3"' : ''}/>`,
    );
    parts.push(
      `<text x="${width - pad.right - 4}" y="${pad.top + 12 + i * 13}" font-size="11" text-anchor="end" fill="${s.color}">${escapeHtml(s.label)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('');
}
