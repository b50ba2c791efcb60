/**
 * `events.jsonl` in a run folder: every training event as it happens, one JSON object per line —
 * what `vggkit serve` tails to draw a run live, and what tells a running run from a finished,
 * stopped or crashed one. This module owns the file's schema; readers import the types and
 * `parseEventLine` from here.
 *
 * Schema (version 1). Every record has `type` and `time` (ms since the Unix epoch):
 *   fit_start    v, pid, host (who is training: a run whose process is gone without a fit_end
 *                crashed), weights (what the run started from), contract (the preprocessing
 *                contract in force), epochs, initialEpoch (> 0 when resuming), stages, trainSize,
 *                valSize, batchesPerEpoch, classNames
 *   stage_start  stage, name, firstEpoch, epochs, lr, resumed
 *   epoch_start  epoch (0-based), epochs, batches
 *   batch_end    epoch, batch (1-based), batches, loss and accuracy (running means over the epoch,
 *                as Keras' progress bar), batchLoss (this batch's own loss), lr, imagesPerSecond
 *   epoch_end    epoch, logs (Keras' names: loss, accuracy, val_loss, val_accuracy, lr)
 *   fit_end      epochsCompleted, stopped ({ by, message } when a callback stopped training, else
 *                null)
 * A resumed run appends to the same file: a new fit_start starts a new attempt.
 * JSON has no NaN or Infinity: such numbers are written as the strings "NaN", "Infinity",
 * "-Infinity" (as history.json does) and `parseEventLine` turns them back into numbers.
 *
 * Each line is appended with one synchronous write as its event happens (no buffering, so a
 * reader is never more than one event behind and a crash loses nothing already written); per batch
 * that is one small append, microseconds against a training step's milliseconds.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import type { PreprocessContract } from '../../image/contract.js';
import type {
  BatchEndEvent,
  Callback,
  EpochEndEvent,
  EpochStartEvent,
  FitEndEvent,
  FitStartEvent,
  StageStartEvent,
} from '../events.js';

export const EVENTS_FILE = 'events.jsonl';
export const EVENTS_SCHEMA_VERSION = 1;

/** An event as written: the event itself (events.ts owns its fields) and when it happened. */
type Timed<E> = E & {
  /** Milliseconds since the Unix epoch. */
  readonly time: number;
};

export type FitStartRecord = Timed<FitStartEvent> & {
  readonly v: number;
  readonly pid: number;
  readonly host: string;
  readonly weights: string;
  readonly contract: PreprocessContract;
};
export type StageStartRecord = Timed<StageStartEvent>;
export type EpochStartRecord = Timed<EpochStartEvent>;
export type BatchEndRecord = Timed<BatchEndEvent>;
export type EpochEndRecord = Timed<EpochEndEvent>;
/** `stopped` as JSON: the callback's name and message, null when every epoch ran. */
export type FitEndRecord = Timed<Omit<FitEndEvent, 'stopped'>> & {
  readonly stopped: { readonly by: string; readonly message: string } | null;
};

export type EventRecord =
  | FitStartRecord
  | StageStartRecord
  | EpochStartRecord
  | BatchEndRecord
  | EpochEndRecord
  | FitEndRecord;

const TYPES: readonly EventRecord['type'][] = [
  'fit_start',
  'stage_start',
  'epoch_start',
  'batch_end',
  'epoch_end',
  'fit_end',
];

function encode(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isFinite(value) ? String(value) : value;
}

const NON_FINITE: Readonly<Record<string, number>> = {
  NaN: Number.NaN,
  Infinity: Infinity,
  '-Infinity': -Infinity,
};

function decode(_key: string, value: unknown): unknown {
  return typeof value === 'string' && value in NON_FINITE ? NON_FINITE[value] : value;
}

/** One line of events.jsonl as a record, or undefined when it is not one (e.g. half-written). */
export function parseEventLine(line: string): EventRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line, decode);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as { type?: unknown; time?: unknown };
  if (!TYPES.includes(record.type as EventRecord['type']) || typeof record.time !== 'number')
    return undefined;
  return value as EventRecord;
}

export function formatEventLine(record: EventRecord): string {
  return `${JSON.stringify(record, encode)}\n`;
}

/** Appends every training event to `file` as it happens. */
export interface EventsLogOptions {
  readonly file: string;
  /** The weights the run starts from and the contract in force, recorded in fit_start. */
  readonly weights: string;
  readonly contract: PreprocessContract;
}

export class EventsLog implements Callback {
  readonly name = 'events_log';
  private readonly options: EventsLogOptions;

  constructor(options: EventsLogOptions) {
    this.options = options;
  }

  private write(record: EventRecord): void {
    appendFileSync(this.options.file, formatEventLine(record));
  }

  fit_start(event: FitStartEvent): void {
    mkdirSync(dirname(this.options.file), { recursive: true });
    const { type, ...rest } = event;
    this.write({
      type,
      time: Date.now(),
      v: EVENTS_SCHEMA_VERSION,
      pid: process.pid,
      host: hostname(),
      weights: this.options.weights,
      contract: this.options.contract,
      ...rest,
    });
  }

  stage_start(event: StageStartEvent): void {
    this.write({ ...event, time: Date.now() });
  }

  epoch_start(event: EpochStartEvent): void {
    this.write({ ...event, time: Date.now() });
  }

  batch_end(event: BatchEndEvent): void {
    this.write({ ...event, time: Date.now() });
  }

  epoch_end(event: EpochEndEvent): void {
    this.write({ ...event, time: Date.now() });
  }

  fit_end(event: FitEndEvent): void {
    this.write({
      type: 'fit_end',
      time: Date.now(),
      epochsCompleted: event.epochsCompleted,
      stopped:
        event.stopped === undefined
          ? null
          : { by: event.stopped.by, message: event.stopped.message },
    });
  }
}
