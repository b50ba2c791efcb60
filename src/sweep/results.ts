/**
 * The sweep folder, and the schema of every file in it (readers import these types):
 *
 *   sweep.json        SweepFile: the space, sampler, scheduler, monitor and every trial's record;
 *                     rewritten atomically after every change, so it is also what `--resume` reads.
 *   best-config.json  the best trial's complete train config: `vggkit train <dir> --config
 *                     best-config.json` trains that trial again and reaches its monitored value.
 *   trials/<id>/      a normal run folder of `vggkit train` (config.json, history.json,
 *                     history.csv, best.safetensors …); the best trial's also holds its model
 *                     (model.onnx, weights.h5, best/, report.html). Checkpoints of pruned trials,
 *                     and of the others once the sweep is done, are deleted: at 224 pixels a
 *                     flatten head's checkpoint is ~77 MB.
 *   report.html       the sweep report (report.ts).
 *
 * `readSweepFile` is the strict reader (`--resume`); `parseSweepView` the tolerant one for pages.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EpochLogs } from '../train/events.js';
import type { TrainConfig } from '../train/config.js';
import { writeJsonAtomic } from '../util/atomic.js';
import { VggkitError } from '../util/errors.js';
import type { Dimension, Direction, Params, TrialStatus } from './types.js';

export const SWEEP_FORMAT = 'vggkit-sweep-1';
export const SWEEP_FILE = 'sweep.json';
export const BEST_CONFIG_FILE = 'best-config.json';

export interface TrialRecord {
  readonly id: string;
  /** 0-based order in which the sampler proposed it. */
  readonly number: number;
  readonly params: Params;
  readonly status: TrialStatus;
  /** Epochs completed. */
  readonly epochs: number;
  /** Epochs in the trial's config (its full budget). */
  readonly budget: number;
  readonly history: readonly EpochLogs[];
  /** Best monitored value so far (null in JSON when none was finite) and its 0-based epoch. */
  readonly value: number;
  readonly bestEpoch: number;
  /** ASHA: the value recorded at each rung completed. */
  readonly rungs: readonly number[];
  /** The epoch the trial is running (or waiting) to pause at next. */
  readonly stopAt: number;
  /** The stop epochs whose results were recorded: a re-delivered job's result is ignored. */
  readonly reported: readonly number[];
  /** Seconds of training jobs, set-up included. */
  readonly seconds: number;
  /** Workers that ran its jobs (`host:pid`). */
  readonly workers: readonly string[];
  /** A callback that ended it early (TerminateOnNaN, EarlyStopping). */
  readonly stoppedBy?: string;
  readonly error?: { readonly code: string; readonly message: string };
  /** Images whose frozen-prefix features its jobs had to compute (0: the shared cache had them). */
  readonly featuresComputed: number;
  /**
   * Jobs that found more epochs done than the trial's last recorded stop: a worker died mid-job
   * and its replacement continued from the checkpoint instead of starting over.
   */
  readonly recoveries: number;
}

export interface SweepFile {
  readonly format: typeof SWEEP_FORMAT;
  readonly data: string;
  readonly space: readonly Dimension[];
  readonly sampler: { readonly name: string; readonly seed: number };
  readonly scheduler: {
    readonly name: string;
    readonly minEpochs?: number;
    readonly reductionFactor?: number;
  };
  readonly monitor: { readonly name: string; readonly direction: Direction };
  /** Trials the sweep will run in all. */
  readonly trialsPlanned: number;
  /** The config every trial starts from (the flags that are not searched). */
  readonly base: TrainConfig;
  readonly trials: readonly TrialRecord[];
  readonly best: {
    readonly trialId: string;
    readonly params: Params;
    readonly value: number;
  } | null;
  /** Frozen-prefix features the coordinator computed before the trials (images x prefixes). */
  readonly cacheFilled: number;
  readonly finished: boolean;
}

/** JSON has no NaN or Infinity: they are written as strings, as Python's json and the doctor read them. */
function encode(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isFinite(value) ? String(value) : value;
}

function decode(_key: string, value: unknown): unknown {
  return value === 'NaN' || value === 'Infinity' || value === '-Infinity' ? Number(value) : value;
}

export async function writeSweepFile(dir: string, sweep: SweepFile): Promise<void> {
  await writeJsonAtomic(
    join(dir, SWEEP_FILE),
    JSON.parse(JSON.stringify(sweep, encode)) as unknown,
  );
}

/**
 * What a reader of any sweep.json can count on (the dashboard may open one being rewritten, or one
 * an older vggkit wrote): the parts pages and charts use, each of a SweepFile's own type.
 */
export type TrialView = Pick<
  TrialRecord,
  'id' | 'params' | 'status' | 'epochs' | 'history' | 'value'
> &
  Partial<Pick<TrialRecord, 'bestEpoch' | 'seconds' | 'workers' | 'stoppedBy'>>;

export type SweepView = Pick<SweepFile, 'space' | 'monitor'> &
  Partial<
    Pick<SweepFile, 'data' | 'sampler' | 'scheduler' | 'trialsPlanned' | 'cacheFilled' | 'finished'>
  > & {
    readonly trials: readonly TrialView[];
    readonly best: Pick<NonNullable<SweepFile['best']>, 'trialId' | 'value'> | null;
  };

const STATUSES: readonly TrialStatus[] = ['waiting', 'running', 'completed', 'pruned', 'failed'];

/**
 * sweep.json read tolerantly: a missing or malformed field is left out (or empty, or NaN for a
 * value), never an error; throws SyntaxError only on text that is not JSON.
 */
export function parseSweepView(text: string): SweepView {
  const raw = JSON.parse(text, decode) as Record<string, unknown>;
  const list = <T>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : []);
  const object = (v: unknown): Record<string, unknown> | undefined =>
    typeof v === 'object' && v !== null && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  const monitor = object(raw.monitor) ?? {};
  const trials = list<unknown>(raw.trials).map((value, i): TrialView => {
    const t = object(value) ?? {};
    const history = list<EpochLogs>(t.history);
    return {
      id: typeof t.id === 'string' ? t.id : String(i),
      params: (object(t.params) ?? {}) as Params,
      status: STATUSES.find((s) => s === t.status) ?? 'waiting',
      epochs: typeof t.epochs === 'number' ? t.epochs : history.length,
      history,
      value: typeof t.value === 'number' ? t.value : NaN,
      ...(typeof t.bestEpoch === 'number' ? { bestEpoch: t.bestEpoch } : {}),
      ...(typeof t.seconds === 'number' ? { seconds: t.seconds } : {}),
      ...(Array.isArray(t.workers) ? { workers: t.workers.map(String) } : {}),
      ...(typeof t.stoppedBy === 'string' ? { stoppedBy: t.stoppedBy } : {}),
    };
  });
  const best = object(raw.best);
  const sampler = object(raw.sampler);
  const scheduler = object(raw.scheduler);
  return {
    space: list<Dimension | undefined>(raw.space).filter(
      (d): d is Dimension => typeof d?.name === 'string',
    ),
    monitor: {
      name: typeof monitor.name === 'string' ? monitor.name : 'val_loss',
      direction: monitor.direction === 'max' ? 'max' : 'min',
    },
    trials,
    best:
      best !== undefined && typeof best.trialId === 'string'
        ? { trialId: best.trialId, value: typeof best.value === 'number' ? best.value : NaN }
        : null,
    ...(typeof raw.data === 'string' ? { data: raw.data } : {}),
    ...(sampler !== undefined && typeof sampler.name === 'string'
      ? {
          sampler: {
            name: sampler.name,
            seed: typeof sampler.seed === 'number' ? sampler.seed : 0,
          },
        }
      : {}),
    ...(scheduler !== undefined && typeof scheduler.name === 'string'
      ? { scheduler: scheduler as SweepFile['scheduler'] }
      : {}),
    ...(typeof raw.trialsPlanned === 'number' ? { trialsPlanned: raw.trialsPlanned } : {}),
    ...(typeof raw.cacheFilled === 'number' ? { cacheFilled: raw.cacheFilled } : {}),
    ...(typeof raw.finished === 'boolean' ? { finished: raw.finished } : {}),
  };
}

export async function readSweepFile(dir: string): Promise<SweepFile | undefined> {
  const file = join(dir, SWEEP_FILE);
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const sweep = JSON.parse(text, decode) as SweepFile;
  if (sweep.format !== SWEEP_FORMAT)
    throw new VggkitError(
      'SWEEP_FORMAT',
      `${file}: expected a vggkit sweep (${SWEEP_FORMAT}), found ${String(sweep.format)}`,
      { file },
    );
  return sweep;
}

export function trialDir(sweepDir: string, trialId: string): string {
  return join(sweepDir, 'trials', trialId);
}
