/**
 * The report components: one way to draw a chart, shared by every HTML vggkit writes —
 * `report.html` in a run folder, `doctor --html`, the sweep report and the `vggkit serve`
 * dashboard — so a chart looks and reads the same everywhere.
 *
 * The component model
 * - A chart is data first: a `ChartSpec` (this module) is a plain JSON value — title, axes, aligned
 *   columns of numbers, shaded ranges, labelled vertical markers. Typed builders turn vggkit's own
 *   records into specs: `curves.ts` (epoch histories, per-batch loss, learning-rate range tests,
 *   runs overlaid), and the sweep and dashboard modules for their data. Nothing else decides what a
 *   loss curve shows.
 * - `chart(spec)` writes the spec into the page as a placeholder (`<figure class="vk-chart">` with
 *   the spec in a JSON script element) and `page()` (html.ts) inlines the renderer once: uPlot
 *   (the charting library, shipped in the package; no CDN) plus `client/charts.js`, which draws
 *   every placeholder when the page loads. A static report is therefore one self-contained file
 *   that works offline.
 * - The dashboard serves the same renderer and sends new specs over Server-Sent Events;
 *   `window.vggkit.update(spec)` redraws the chart with that id in place (no reload).
 * - Tables, finding cards, confusion matrices and thumbnails are HTML-string components
 *   (tables.ts), rendered on the server for static and live pages alike.
 *
 * JSON has no NaN: a missing or non-finite value is `null` and breaks the line there.
 */

/** One line of a line chart; `values[i]` belongs to the chart's `x[i]`. */
export interface LineSeries {
  readonly label: string;
  readonly color: string;
  readonly values: readonly (number | null)[];
  readonly dashed?: boolean;
  /** Line width in CSS pixels; default 2. A thin faint line is the raw signal behind a smoothed one. */
  readonly width?: number;
  /** Draws a dot at every value (for short series, where a line hides how many points there are). */
  readonly points?: boolean;
  /** `false`: dots only, no line between them (a scatter, e.g. a sweep's metric against a setting). */
  readonly line?: boolean;
}

export interface ShadedRange {
  readonly from: number;
  readonly to: number;
  readonly label: string;
}

export interface Marker {
  readonly x: number;
  readonly label: string;
  readonly color: string;
}

export interface LineChartSpec {
  readonly kind: 'line';
  /** Stable within a page: live updates replace the chart with the same id. */
  readonly id: string;
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel?: string;
  /** Ascending. */
  readonly x: readonly number[];
  readonly series: readonly LineSeries[];
  readonly xLog?: boolean;
  /** Ticks only at whole x values (epochs), also when the data fall between them. */
  readonly xInteger?: boolean;
  readonly yLog?: boolean;
  /** Fixed y range, e.g. [0, 1] for accuracy; otherwise the data decide. */
  readonly yRange?: readonly [number, number];
  readonly highlights?: readonly ShadedRange[];
  readonly markers?: readonly Marker[];
  /** One sentence under the chart saying how to read it. */
  readonly caption?: string;
}

/** One axis of a parallel-coordinates chart; categorical axes list their values in order. */
export interface ParallelAxis {
  readonly label: string;
  readonly log?: boolean;
  readonly categories?: readonly string[];
}

export interface ParallelLine {
  readonly label: string;
  /** One value per axis (a category's index for a categorical axis); null when not set. */
  readonly values: readonly (number | null)[];
  readonly color: string;
  readonly dashed?: boolean;
  /** Line width in CSS pixels; default 1.5. */
  readonly width?: number;
}

/** Hyperparameters and the result of each trial, one vertical axis each (sweeps). */
export interface ParallelChartSpec {
  readonly kind: 'parallel';
  readonly id: string;
  readonly title: string;
  readonly axes: readonly ParallelAxis[];
  readonly lines: readonly ParallelLine[];
  readonly caption?: string;
}

export type ChartSpec = LineChartSpec | ParallelChartSpec;

/** JSON for an inline script element: `</script>` and `<!--` cannot end or open anything. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026');
}

/** The placeholder the renderer draws into. */
export function chart(spec: ChartSpec): string {
  return `<figure class="vk-chart" data-chart-id="${spec.id.replace(/[^\w-]/g, '_')}"><script type="application/json">${scriptJson(spec)}</script></figure>`;
}

/** Reads the specs back out of a page (tests and tools check what a report draws). */
export function chartSpecs(html: string): ChartSpec[] {
  const specs: ChartSpec[] = [];
  const re =
    /<figure class="vk-chart" data-chart-id="[^"]*"><script type="application\/json">(.*?)<\/script><\/figure>/gs;
  for (const match of html.matchAll(re)) specs.push(JSON.parse(match[1] as string) as ChartSpec);
  return specs;
}

/** A finite number, or null (JSON's stand-in for a gap). */
export function finiteOrNull(value: number | undefined): number | null {
  return value !== undefined && Number.isFinite(value) ? value : null;
}
