/**
 * Live runs: one tail per run folder, shared by every page watching it. A tail folds its events
 * log from the last offset it read (bounded memory: RunState thins batch points), is polled a few
 * times a second while someone watches, and hands each change to its subscribers as a `RunView`:
 * the run's status, where it is, and the chart specs to redraw.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ChartSpec } from '../report/chart-spec.js';
import { EVENTS_FILE } from '../train/callbacks/events-log.js';
import { EVALUATION_FILE, PREDICTIONS_FILE } from '../train/predictions.js';
import { readEvents } from './events-tail.js';
import type { EpochPoint } from '../report/curves.js';
import { RunState, type Position, type RunStatus } from './run-state.js';
import { historyPoints } from './runs.js';

/** How often a watched log is checked; well under the one second a page may lag. */
export const POLL_MS = 200;

export interface RunView {
  readonly status: RunStatus;
  readonly stoppedBy?: string;
  readonly epochsDone: number;
  readonly epochsTotal?: number;
  readonly position?: Position;
  readonly etaSeconds?: number;
  readonly imagesPerSecond?: number;
  readonly startedAt?: number;
  readonly updatedAt?: number;
  /** What could not be read, named (a half-written line, a corrupt one). */
  readonly problems: readonly string[];
  /** Changes when history.json or a results file (predictions.json, evaluation.json) does. */
  readonly outputs: string;
  readonly charts: readonly ChartSpec[];
}

export class RunTail {
  readonly state = new RunState();
  private offset = 0;
  private line = 1;
  private pending = 0;
  private readonly bad: number[] = [];
  /** The log size last read; -1: no log; undefined: not looked yet. */
  private size: number | undefined;
  private markLrDrops: boolean | undefined;
  readonly subscribers = new Set<(view: RunView) => void>();
  private lastStatus: RunStatus | undefined;
  private outputs = '';
  /** A run folder without events.jsonl (written before it existed): its history.json instead. */
  private legacy: { readonly points: EpochPoint[]; readonly finished: boolean } | undefined;

  constructor(readonly dir: string) {}

  /** Reads what was appended since the last call; true when anything changed. */
  async refresh(): Promise<boolean> {
    if (this.markLrDrops === undefined) this.markLrDrops = await this.readMarkLrDrops();
    const file = join(this.dir, EVENTS_FILE);
    const size = await stat(file).then(
      (s) => s.size,
      () => -1,
    );
    const status = this.state.status();
    // The doctor reads history.json; results are written after the last event (fit_end, then
    // the model, then predictions) or later by vggkit evaluate.
    const outputs = (
      await Promise.all(
        ['history.json', PREDICTIONS_FILE, EVALUATION_FILE].map((f) =>
          stat(join(this.dir, f)).then(
            (s) => `${s.size}:${s.mtimeMs}`,
            () => '-',
          ),
        ),
      )
    ).join('|');
    const changed = status !== this.lastStatus || outputs !== this.outputs;
    this.lastStatus = status;
    this.outputs = outputs;
    if (size === this.size) return changed;
    this.size = size;
    if (size < 0) {
      this.legacy = await this.readLegacy();
      return true;
    }
    this.legacy = undefined;
    const result = await readEvents(file, { offset: this.offset, line: this.line }, (r) =>
      this.state.apply(r),
    );
    this.offset = result.offset;
    this.line = result.line;
    this.pending = result.pending;
    for (const n of result.bad) if (!this.bad.includes(n) && this.bad.length < 5) this.bad.push(n);
    this.lastStatus = this.state.status();
    return true;
  }

  private async readLegacy(): Promise<{ points: EpochPoint[]; finished: boolean }> {
    const history = await readFile(join(this.dir, 'history.json'), 'utf8').then(
      (text) => JSON.parse(text) as unknown,
      () => undefined,
    );
    const finished = await stat(join(this.dir, 'model.onnx')).then(
      () => true,
      () => false,
    );
    return { points: historyPoints(history), finished };
  }

  private async readMarkLrDrops(): Promise<boolean> {
    try {
      const config = JSON.parse(await readFile(join(this.dir, 'config.json'), 'utf8')) as {
        schedule?: { name?: string };
        reduceLr?: { enabled?: boolean };
      };
      return (config.schedule?.name ?? 'none') === 'none' && config.reduceLr?.enabled !== false;
    } catch {
      return false;
    }
  }

  view(): RunView {
    const s = this.state;
    const legacy = this.legacy;
    const status = legacy === undefined ? s.status() : legacy.finished ? 'finished' : 'unknown';
    const problems = this.bad.map(
      (n) => `${EVENTS_FILE} line ${n} is not a complete event record; it was skipped`,
    );
    if (this.pending > 0 && status !== 'running')
      problems.push(
        `${EVENTS_FILE} ends in an incomplete line (${this.pending} bytes, cut off when the run stopped); shown: everything before it`,
      );
    const eta = status === 'running' ? s.etaSeconds() : undefined;
    return {
      status,
      ...(s.end?.stopped == null ? {} : { stoppedBy: s.end.stopped.by }),
      epochsDone: legacy?.points.length ?? s.epochs.size,
      ...(s.epochsTotal === undefined ? {} : { epochsTotal: s.epochsTotal }),
      ...(s.position === undefined || status !== 'running' ? {} : { position: s.position }),
      ...(eta === undefined ? {} : { etaSeconds: eta }),
      ...(s.imagesPerSecond === undefined ? {} : { imagesPerSecond: s.imagesPerSecond }),
      ...(s.firstStart === undefined ? {} : { startedAt: s.firstStart.time }),
      ...(s.lastTime === undefined ? {} : { updatedAt: s.lastTime }),
      problems,
      outputs: this.outputs,
      charts: s.charts({
        markLrDrops: this.markLrDrops ?? false,
        ...(legacy === undefined ? {} : { points: legacy.points }),
      }),
    };
  }
}

/** The tails of the runs being watched, polled while anyone watches them. */
export class LiveRuns {
  private readonly tails = new Map<string, RunTail>();
  private timer: NodeJS.Timeout | undefined;
  private polling = false;

  async tail(dir: string): Promise<RunTail> {
    let tail = this.tails.get(dir);
    if (tail === undefined) {
      tail = new RunTail(dir);
      this.tails.set(dir, tail);
    }
    await tail.refresh();
    return tail;
  }

  async subscribe(dir: string, onView: (view: RunView) => void): Promise<() => void> {
    const tail = await this.tail(dir);
    tail.subscribers.add(onView);
    onView(tail.view());
    this.timer ??= setInterval(() => void this.poll(), POLL_MS);
    return () => {
      tail.subscribers.delete(onView);
      // An unwatched tail is dropped: memory follows what is open, not what was ever opened.
      if (tail.subscribers.size === 0) this.tails.delete(dir);
      if (this.tails.size === 0) this.stop();
    };
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      for (const tail of this.tails.values()) {
        if (tail.subscribers.size === 0) continue;
        if (!(await tail.refresh())) continue;
        const view = tail.view();
        for (const send of tail.subscribers) send(view);
      }
    } finally {
      this.polling = false;
    }
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}
