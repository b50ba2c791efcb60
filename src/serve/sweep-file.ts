/**
 * The parts of a sweep folder's sweep.json the dashboard reads (space, monitor, trials with id,
 * params, status, epochs, per-epoch history, best value and epoch, wall seconds, workers; best).
 * src/sweep/results.ts owns the schema and the file names; this is a tolerant reader of it for a
 * page that may open a sweep.json being rewritten or from an older sweep: a missing field shows
 * as missing, never as an error.
 */
import type { EpochLogs } from '../train/events.js';

export { BEST_CONFIG_FILE, SWEEP_FILE } from '../sweep/results.js';

export type ParamValue = number | string | boolean;

export interface SweepDimensionView {
  readonly kind: 'float' | 'int' | 'categorical';
  readonly name: string;
  readonly log?: boolean;
  readonly choices?: readonly ParamValue[];
}

export interface SweepTrialView {
  readonly id: string;
  readonly params: Readonly<Record<string, ParamValue>>;
  readonly status: string;
  readonly epochs: number;
  readonly history: readonly EpochLogs[];
  readonly value: number | null;
  readonly bestEpoch?: number;
  readonly seconds?: number;
  readonly workers?: readonly string[];
  readonly stoppedBy?: string;
}

export interface SweepView {
  readonly data?: string;
  readonly space: readonly SweepDimensionView[];
  readonly monitor: { readonly name: string; readonly direction: 'min' | 'max' };
  readonly trials: readonly SweepTrialView[];
  readonly best: { readonly trialId: string; readonly value: number } | null;
  readonly finished?: boolean;
  readonly trialsPlanned?: number;
}

const NON_FINITE: Readonly<Record<string, number>> = {
  NaN: Number.NaN,
  Infinity: Infinity,
  '-Infinity': -Infinity,
};

/** sweep.json as the page reads it; throws SyntaxError on text that is not JSON. */
export function parseSweep(text: string): SweepView {
  const raw = JSON.parse(text, (_k, v: unknown) =>
    typeof v === 'string' && v in NON_FINITE ? NON_FINITE[v] : v,
  ) as Record<string, unknown>;
  const list = <T>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : []);
  const monitor = (raw.monitor ?? {}) as { name?: unknown; direction?: unknown };
  const trials = list<Record<string, unknown>>(raw.trials).map((t, i) => ({
    id: typeof t.id === 'string' ? t.id : String(i),
    params: (typeof t.params === 'object' && t.params !== null ? t.params : {}) as Record<
      string,
      ParamValue
    >,
    status: typeof t.status === 'string' ? t.status : 'unknown',
    epochs: typeof t.epochs === 'number' ? t.epochs : list(t.history).length,
    history: list<EpochLogs>(t.history),
    value: typeof t.value === 'number' ? t.value : null,
    ...(typeof t.bestEpoch === 'number' ? { bestEpoch: t.bestEpoch } : {}),
    ...(typeof t.seconds === 'number' ? { seconds: t.seconds } : {}),
    ...(Array.isArray(t.workers) ? { workers: t.workers as string[] } : {}),
    ...(typeof t.stoppedBy === 'string' ? { stoppedBy: t.stoppedBy } : {}),
  }));
  const best = raw.best as { trialId?: unknown; value?: unknown } | null | undefined;
  return {
    ...(typeof raw.data === 'string' ? { data: raw.data } : {}),
    space: list<SweepDimensionView>(raw.space).filter((d) => typeof d?.name === 'string'),
    monitor: {
      name: typeof monitor.name === 'string' ? monitor.name : 'val_loss',
      direction: monitor.direction === 'max' ? 'max' : 'min',
    },
    trials,
    best:
      best !== null && best !== undefined && typeof best.trialId === 'string'
        ? { trialId: best.trialId, value: typeof best.value === 'number' ? best.value : NaN }
        : null,
    ...(typeof raw.finished === 'boolean' ? { finished: raw.finished } : {}),
    ...(typeof raw.trialsPlanned === 'number' ? { trialsPlanned: raw.trialsPlanned } : {}),
  };
}
