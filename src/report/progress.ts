/**
 * Progress for long work (feature extraction, training batches, evaluation): a cli-progress bar
 * with count, rate and ETA on an interactive stderr; otherwise (stderr redirected, or `--json`
 * output) a plain line now and then. Progress never goes to stdout, which belongs to results.
 */
import { SingleBar } from 'cli-progress';

export interface ProgressOptions {
  readonly label: string;
  readonly total: number;
  /** What is counted, for the rate: `img`, `batch` … */
  readonly unit?: string;
  /** Defaults to process.stderr; stdout is refused. */
  readonly stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** `--json`: plain lines even on a terminal, so nothing but JSON reaches a pipe reading the output. */
  readonly json?: boolean;
  /** Minimum time between plain lines. */
  readonly lineIntervalMs?: number;
  /** Clock in milliseconds; injectable so tests do not depend on timing. */
  readonly now?: () => number;
  /**
   * false: the caller prints its own line when the work ends (an epoch's metrics), so stop()
   * prints no plain line and clears the bar on a terminal. Default true.
   */
  readonly endLine?: boolean;
}

export interface Progress {
  /** Sets the count done so far; `note` is shown after the numbers (e.g. `loss 0.412`). */
  update(done: number, note?: string): void;
  increment(by?: number, note?: string): void;
  /** Prints a finished line (a sweep's trial result) above the bar, which stays below it. */
  log(line: string): void;
  stop(): void;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function formatRate(rate: number): string {
  if (!Number.isFinite(rate)) return '?';
  return rate >= 100 ? rate.toFixed(0) : rate >= 10 ? rate.toFixed(1) : rate.toFixed(2);
}

/**
 * A rate over less time than this is noise: the first tick of a bar created when work reports
 * its first result would divide a whole batch by a fraction of a millisecond.
 */
export const MIN_RATE_WINDOW_MS = 1000;

/**
 * Count, rate and ETA, shared by both renderings. The rate is timed from a reference: the bar's
 * creation when the first update comes a real window later (the work ran meanwhile), else the first
 * update itself, whose count may include work done before the bar existed. Until the reference is
 * MIN_RATE_WINDOW_MS old the rate and ETA are unknown, shown as `?`.
 */
class Meter {
  private readonly start: number;
  private reference: { readonly time: number; readonly done: number } | undefined;
  done = 0;

  constructor(
    readonly total: number,
    private readonly now: () => number,
  ) {
    this.start = now();
  }

  observe(done: number): void {
    if (this.reference === undefined) {
      const time = this.now();
      this.reference =
        time - this.start >= MIN_RATE_WINDOW_MS ? { time: this.start, done: 0 } : { time, done };
    }
    this.done = done;
  }

  elapsedSeconds(): number {
    return (this.now() - this.start) / 1000;
  }

  /**
   * Units per second, or NaN while there is no real time window to measure it over. A finished
   * count takes any window (`minWindowMs` 0): work that ended within a second still ran at a rate.
   */
  rate(minWindowMs = MIN_RATE_WINDOW_MS): number {
    if (this.reference === undefined) return Number.NaN;
    const window = this.now() - this.reference.time;
    if (window <= 0 || window < minWindowMs) return Number.NaN;
    return ((this.done - this.reference.done) * 1000) / window;
  }

  etaSeconds(): number {
    const rate = this.rate();
    return rate > 0 ? (this.total - this.done) / rate : Number.NaN;
  }
}

class PlainProgress implements Progress {
  private readonly meter: Meter;
  private lastLine = -Infinity;
  private stopped = false;
  private note = '';

  constructor(
    private readonly options: Required<
      Pick<ProgressOptions, 'label' | 'total' | 'unit' | 'lineIntervalMs' | 'now' | 'endLine'>
    > & { stream: NodeJS.WritableStream },
  ) {
    this.meter = new Meter(options.total, options.now);
  }

  update(done: number, note?: string): void {
    this.meter.observe(done);
    if (note !== undefined) this.note = note;
    const time = this.options.now();
    // Reaching the total is left to stop(), whose line says how long it took: printing both
    // would show the same count twice.
    if (done >= this.options.total) return;
    // The first line waits for a rate (a line of `? img/s, ETA ?` says nothing): work that ends
    // within MIN_RATE_WINDOW_MS shows only its end.
    const first = this.lastLine === -Infinity;
    if (first && !Number.isFinite(this.meter.rate())) return;
    if (time - this.lastLine >= this.options.lineIntervalMs) this.print(time);
  }

  increment(by = 1, note?: string): void {
    this.update(this.meter.done + by, note);
  }

  log(line: string): void {
    this.options.stream.write(`${line}\n`);
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (!this.options.endLine) return;
    this.print(
      this.options.now(),
      `done in ${formatDuration(this.meter.elapsedSeconds())}`,
      this.meter.rate(0),
    );
  }

  private print(time: number, tail?: string, rate = this.meter.rate()): void {
    this.lastLine = time;
    const { label, total, unit } = this.options;
    const pct = total > 0 ? Math.floor((100 * this.meter.done) / total) : 100;
    const parts = [
      `${label}: ${this.meter.done}/${total} (${pct}%)`,
      `${formatRate(rate)} ${unit}/s`,
      tail ?? `ETA ${formatDuration(this.meter.etaSeconds())}`,
    ];
    if (this.note !== '') parts.push(this.note);
    this.options.stream.write(`${parts.join(', ')}\n`);
  }
}

class BarProgress implements Progress {
  private readonly bar: SingleBar;
  private stopped = false;
  private readonly meter: Meter;
  private note = '';

  private readonly stream: NodeJS.WritableStream;

  constructor(options: {
    label: string;
    total: number;
    unit: string;
    stream: NodeJS.WritableStream;
    now: () => number;
    endLine: boolean;
  }) {
    this.stream = options.stream;
    this.meter = new Meter(options.total, options.now);
    this.bar = new SingleBar({
      stream: options.stream,
      format: `${options.label} [{bar}] {value}/{total} | {rateText} ${options.unit}/s | ETA {etaText} {note}`,
      hideCursor: true,
      clearOnComplete: !options.endLine,
      etaBuffer: 50,
      // A line logged above the bar overwrites it: redraw it even when its text did not change.
      forceRedraw: true,
    });
    this.bar.start(options.total, 0, this.payload());
  }

  private payload(finished = false): Record<string, string> {
    return {
      rateText: formatRate(this.meter.rate(finished ? 0 : MIN_RATE_WINDOW_MS)),
      etaText: formatDuration(this.meter.etaSeconds()),
      note: this.note,
    };
  }

  update(done: number, note?: string): void {
    this.meter.observe(done);
    if (note !== undefined) this.note = note;
    this.bar.update(done, this.payload());
  }

  increment(by = 1, note?: string): void {
    this.update(this.meter.done + by, note);
  }

  log(line: string): void {
    if (this.stopped) {
      this.stream.write(`${line}\n`);
      return;
    }
    // The bar's own line becomes the logged one (cleared to its end); the bar redraws below it.
    this.stream.write(`\r\x1b[K${line}\n`);
    this.bar.render();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.bar.update(this.meter.done, this.payload(true));
    this.bar.stop();
  }
}

export function createProgress(options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr;
  if (stream === process.stdout)
    throw new Error('progress goes to stderr; stdout is reserved for results');
  const unit = options.unit ?? 'it';
  const now = options.now ?? ((): number => performance.now());
  const endLine = options.endLine ?? true;
  if (options.json === true || stream.isTTY !== true) {
    return new PlainProgress({
      label: options.label,
      total: options.total,
      unit,
      stream,
      lineIntervalMs: options.lineIntervalMs ?? 10_000,
      now,
      endLine,
    });
  }
  return new BarProgress({
    label: options.label,
    total: options.total,
    unit,
    stream,
    now,
    endLine,
  });
}

/**
 * Progress reported only as (done, total) events, with no start or end event, over passes one
 * after another (features of the training files, then of the validation files; int8
 * calibration, then its check): a bar per pass, opened when a new pass (its label or total)
 * first reports and closed when it reaches its total.
 */
export class PassProgress {
  private bar: Progress | undefined;
  private pass = '';

  constructor(
    private readonly options: Pick<ProgressOptions, 'stream' | 'now'> & {
      readonly unit: string;
      readonly json: boolean;
    },
  ) {}

  update(label: string, done: number, total: number): void {
    const pass = `${label}\u0000${total}`;
    if (pass !== this.pass || this.bar === undefined) {
      this.stop();
      this.pass = pass;
      this.bar = createProgress({ ...this.options, label, total });
    }
    this.bar.update(done);
    if (done >= total) this.stop();
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
    this.pass = '';
  }
}
