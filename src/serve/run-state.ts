/**
 * A run as its events log tells it, folded record by record (so a live tail only feeds new lines):
 * its epochs, stages, the per-batch loss (thinned to a bounded number of points, the EMA taken over
 * every batch first), where training is now, and its status:
 *   running   the last attempt's process (pid on host, from fit_start) is alive and has no fit_end
 *   finished  fit_end without a stop
 *   stopped   fit_end with a stop (a callback such as early_stopping ended it before its last epoch)
 *   crashed   no fit_end and the process is gone
 * A run on another host cannot be asked: it counts as running while its log moved in the last
 * ten minutes.
 */
import { hostname } from 'node:os';
import type { ChartSpec } from '../report/chart-spec.js';
import {
  batchLossChart,
  Ema,
  epochCharts,
  epochPoint,
  type BatchPoint,
  type EpochPoint,
  type StageStart,
} from '../report/curves.js';
import type { EpochLogs } from '../train/events.js';
import type { EventRecord, FitEndRecord, FitStartRecord } from '../train/callbacks/events-log.js';

export type RunStatus = 'running' | 'finished' | 'stopped' | 'crashed' | 'unknown';

/** Batch points kept before thinning by half: bounded memory for any log size. */
const MAX_BATCH_POINTS = 4000;
const OTHER_HOST_QUIET_MS = 10 * 60 * 1000;

/** Whether a process is alive; undefined when it cannot be known (another host). */
export function processAlive(pid: number, host: string): boolean | undefined {
  if (host !== hostname()) return undefined;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface Position {
  /** 0-based epoch in progress. */
  readonly epoch: number;
  readonly batch: number;
  readonly batches: number;
}

export class RunState {
  /** The first attempt's start and the last attempt's (they differ after --resume). */
  firstStart: FitStartRecord | undefined;
  lastStart: FitStartRecord | undefined;
  /** The last attempt's end, if it ended. */
  end: FitEndRecord | undefined;
  readonly stages: StageStart[] = [];
  readonly epochs = new Map<number, EpochLogs>();
  position: Position | undefined;
  imagesPerSecond: number | undefined;
  firstTime: number | undefined;
  lastTime: number | undefined;
  /** When the last attempt's first epoch began (for the ETA). */
  private attemptEpochStart: number | undefined;
  private batches: BatchPoint[] = [];
  private stride = 1;
  private seen = 0;
  private ema = new Ema();

  apply(record: EventRecord): void {
    this.firstTime ??= record.time;
    this.lastTime = record.time;
    switch (record.type) {
      case 'fit_start':
        this.firstStart ??= record;
        this.lastStart = record;
        this.end = undefined;
        this.position = undefined;
        this.attemptEpochStart = undefined;
        // A resumed attempt re-runs epochs from initialEpoch on: what the dead one did there is void.
        this.batches = this.batches.filter((b) => b.x <= record.initialEpoch);
        for (const e of [...this.epochs.keys()])
          if (e >= record.initialEpoch) this.epochs.delete(e);
        break;
      case 'stage_start': {
        const start = { name: record.name, firstEpoch: record.firstEpoch + 1 };
        const at = this.stages.findIndex((s) => s.firstEpoch === start.firstEpoch);
        if (at === -1) this.stages.push(start);
        else this.stages[at] = start;
        this.stages.sort((a, b) => a.firstEpoch - b.firstEpoch);
        break;
      }
      case 'epoch_start':
        this.attemptEpochStart ??= record.time;
        this.position = { epoch: record.epoch, batch: 0, batches: record.batches };
        break;
      case 'batch_end':
        this.position = { epoch: record.epoch, batch: record.batch, batches: record.batches };
        this.imagesPerSecond = record.imagesPerSecond;
        this.addBatch(record.epoch + record.batch / record.batches, record.batchLoss);
        break;
      case 'epoch_end':
        this.epochs.set(record.epoch, record.logs);
        this.position = undefined;
        break;
      case 'fit_end':
        this.end = record;
        this.position = undefined;
        break;
    }
  }

  private addBatch(x: number, loss: number): void {
    const smoothed = this.ema.push(loss);
    if (this.seen++ % this.stride !== 0) return;
    this.batches.push({ x, loss, smoothed });
    if (this.batches.length >= MAX_BATCH_POINTS) {
      this.batches = this.batches.filter((_, i) => i % 2 === 0);
      this.stride *= 2;
    }
  }

  get batchPoints(): readonly BatchPoint[] {
    return this.batches;
  }

  status(now = Date.now()): RunStatus {
    const start = this.lastStart;
    if (start === undefined) return 'unknown';
    if (this.end !== undefined) return this.end.stopped === null ? 'finished' : 'stopped';
    const alive = processAlive(start.pid, start.host);
    if (alive === undefined)
      return now - (this.lastTime ?? 0) < OTHER_HOST_QUIET_MS ? 'running' : 'crashed';
    return alive ? 'running' : 'crashed';
  }

  get epochsTotal(): number | undefined {
    return this.lastStart?.epochs;
  }

  /** Epoch records in order, 1-based, with their stage. */
  epochPoints(): EpochPoint[] {
    const stageAt = (epoch: number): string | undefined =>
      [...this.stages].reverse().find((s) => s.firstEpoch <= epoch)?.name;
    return [...this.epochs.entries()]
      .sort(([a], [b]) => a - b)
      .map(([e, logs]) => epochPoint(logs, e + 1, stageAt(e + 1)));
  }

  /**
   * Seconds left at the pace of this attempt so far (from its log's own clock, so a page opened
   * late does not count the time it was closed), less the time since the last event.
   */
  etaSeconds(now = Date.now()): number | undefined {
    const start = this.lastStart;
    if (start === undefined || this.end !== undefined || this.attemptEpochStart === undefined)
      return undefined;
    const p = this.position;
    const done = [...this.epochs.keys()].filter((e) => e >= start.initialEpoch).length;
    const partial = p === undefined || p.batches === 0 ? 0 : p.batch / p.batches;
    const progress = done + (this.epochs.has(p?.epoch ?? -1) ? 0 : partial);
    const remaining = start.epochs - start.initialEpoch - progress;
    if (progress <= 0 || remaining < 0) return undefined;
    const last = this.lastTime ?? this.attemptEpochStart;
    const pace = (last - this.attemptEpochStart) / 1000 / progress;
    return Math.max(0, pace * remaining - Math.max(0, now - last) / 1000);
  }

  /** `points` replaces the log's epochs (a run from before events.jsonl: its history.json). */
  charts(options: {
    readonly markLrDrops: boolean;
    readonly points?: readonly EpochPoint[];
  }): ChartSpec[] {
    const points = options.points ?? this.epochPoints();
    return [
      ...epochCharts(points, {
        stages: this.stages,
        markLrDrops: options.markLrDrops,
        keepEmpty: true,
      }),
      batchLossChart(this.batches, { stages: this.stages }),
    ];
  }
}

/** A finished run's epochs (history.json) laid over what the log says, for runs without one. */
export function bestOf(points: readonly EpochPoint[]): {
  readonly valLoss?: number;
  readonly valAccuracy?: number;
  readonly accuracy?: number;
} {
  const finite = (values: (number | undefined)[]): number[] =>
    values.filter((v): v is number => v !== undefined && Number.isFinite(v));
  const valLoss = finite(points.map((p) => p.valLoss));
  const valAccuracy = finite(points.map((p) => p.valAccuracy));
  const accuracy = finite(points.map((p) => p.accuracy));
  return {
    ...(valLoss.length === 0 ? {} : { valLoss: Math.min(...valLoss) }),
    ...(valAccuracy.length === 0 ? {} : { valAccuracy: Math.max(...valAccuracy) }),
    ...(accuracy.length === 0 ? {} : { accuracy: Math.max(...accuracy) }),
  };
}
