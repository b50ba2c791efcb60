/**
 * The sweep's findings in plain language, computed from the trial records ("adam beat sgd at every
 * lr tried; lr above 3e-3 diverged"): the best trial, each list setting's winner (at every range of
 * a numeric setting when it won in each), the range where training diverged, settings whose value
 * tracked the result, and what ASHA saved. Each sentence states only what the records show.
 */
import { logValue } from '../train/events.js';
import { better, type Monitor } from './monitor.js';
import type { SweepFile, TrialRecord } from './results.js';
import { formatNumber, formatParams } from './space.js';
import type { CategoricalDimension, Dimension, ParamValue } from './types.js';

/** A rank correlation at least this strong (|rho|) is called a trend; weaker ones are noise at sweep sizes. */
export const TREND_RHO = 0.5;
/** Trials needed before a correlation is reported at all. */
export const TREND_MIN_TRIALS = 5;

/** Training went wrong: a non-finite loss, or a training loss that ended higher than it started. */
export function diverged(t: TrialRecord): boolean {
  if (t.stoppedBy === 'terminate_on_nan') return true;
  const losses = t.history.map((h) => logValue(h, 'loss'));
  if (losses.some((l) => l === undefined || !Number.isFinite(l))) return true;
  const first = losses[0];
  const last = losses[losses.length - 1];
  return first !== undefined && last !== undefined && losses.length >= 2 && last > first;
}

function rank(values: readonly number[]): number[] {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const ranks = new Array<number>(values.length);
  for (let i = 0; i < order.length;) {
    let j = i;
    while (
      j + 1 < order.length &&
      (order[j + 1] as readonly [number, number])[0] === (order[i] as readonly [number, number])[0]
    )
      j++;
    for (let k = i; k <= j; k++) ranks[(order[k] as readonly [number, number])[1]] = (i + j) / 2;
    i = j + 1;
  }
  return ranks;
}

/** Spearman's rank correlation. */
export function spearman(x: readonly number[], y: readonly number[]): number {
  const rx = rank(x);
  const ry = rank(y);
  const mean = (r: number[]): number => r.reduce((s, v) => s + v, 0) / r.length;
  const mx = mean(rx);
  const my = mean(ry);
  let num = 0;
  let dx = 0;
  let dy = 0;
  for (let i = 0; i < rx.length; i++) {
    const a = (rx[i] as number) - mx;
    const b = (ry[i] as number) - my;
    num += a * b;
    dx += a * a;
    dy += b * b;
  }
  return dx === 0 || dy === 0 ? 0 : num / Math.sqrt(dx * dy);
}

function show(v: ParamValue): string {
  return typeof v === 'number' ? formatNumber(v) : String(v);
}

/** Buckets of a numeric dimension: decades for log ones, thirds of the range otherwise. */
function bucketOf(d: Dimension, v: number): number {
  if (d.kind === 'categorical') return 0;
  if (d.log) return Math.floor(Math.log10(v));
  return Math.min(2, Math.floor((3 * (v - d.low)) / (d.high - d.low)));
}

function bestBy(trials: readonly TrialRecord[], monitor: Monitor): TrialRecord | undefined {
  let best: TrialRecord | undefined;
  for (const t of trials)
    if (best === undefined || better(t.value, best.value, monitor.direction)) best = t;
  return best !== undefined && Number.isNaN(best.value) ? undefined : best;
}

function categoricalSentence(
  c: CategoricalDimension,
  numeric: readonly Dimension[],
  trials: readonly TrialRecord[],
  monitor: Monitor,
): string | undefined {
  const per = c.choices
    .map((choice) => ({
      choice,
      best: bestBy(
        trials.filter((t) => t.params[c.name] === choice),
        monitor,
      ),
    }))
    .filter((p): p is { choice: ParamValue; best: TrialRecord } => p.best !== undefined);
  if (per.length < 2) return undefined;
  per.sort((a, b) => (better(a.best.value, b.best.value, monitor.direction) ? -1 : 1));
  const [winner, ...rest] = per as [(typeof per)[number], ...(typeof per)[number][]];
  const others = rest
    .map((r) => `${c.name}=${show(r.choice)} (${formatNumber(r.best.value)})`)
    .join(', ');
  // Did the winner also win inside every range of a numeric setting where both were tried? Ranges
  // where training diverged are the divergence sentence's business, not a contest.
  for (const n of numeric) {
    const buckets = new Map<number, TrialRecord[]>();
    for (const t of trials.filter((x) => !diverged(x))) {
      const v = t.params[n.name];
      if (typeof v !== 'number') continue;
      const b = bucketOf(n, v);
      buckets.set(b, [...(buckets.get(b) ?? []), t]);
    }
    let contested = 0;
    let won = 0;
    for (const inBucket of buckets.values()) {
      const bests = c.choices
        .map((choice) => ({
          choice,
          best: bestBy(
            inBucket.filter((t) => t.params[c.name] === choice),
            monitor,
          ),
        }))
        .filter((p) => p.best !== undefined);
      if (bests.length < 2) continue;
      contested++;
      const top = bests.reduce((a, b) =>
        better((b.best as TrialRecord).value, (a.best as TrialRecord).value, monitor.direction)
          ? b
          : a,
      );
      if (top.choice === winner.choice) won++;
    }
    if (contested >= 2 && won === contested)
      return `${c.name}=${show(winner.choice)} beat ${rest.map((r) => show(r.choice)).join(' and ')} at every ${n.name} range where both were tried (${contested} ranges); its best ${monitor.name} ${formatNumber(winner.best.value)} against ${others}.`;
  }
  return `The best ${c.name}=${show(winner.choice)} trial reached ${monitor.name} ${formatNumber(winner.best.value)}, against ${others}.`;
}

function divergenceSentence(
  numeric: readonly Dimension[],
  trials: readonly TrialRecord[],
): string | undefined {
  const bad = trials.filter(diverged);
  if (bad.length === 0) return undefined;
  for (const n of numeric) {
    const values = (ts: readonly TrialRecord[]): number[] =>
      ts.map((t) => t.params[n.name]).filter((v): v is number => typeof v === 'number');
    const badValues = values(bad);
    const goodValues = values(trials.filter((t) => !diverged(t)));
    if (badValues.length !== bad.length || goodValues.length === 0) continue;
    const low = Math.min(...badValues);
    const high = Math.max(...badValues);
    if (Math.max(...goodValues) < low)
      return `Every trial with ${n.name} at or above ${formatNumber(low)} diverged (${bad.length} of ${trials.length}: the training loss ended higher than it started, or became NaN); every trial below it trained.`;
    if (Math.min(...goodValues) > high)
      return `Every trial with ${n.name} at or below ${formatNumber(high)} failed to train (${bad.length} of ${trials.length}: the training loss did not fall); every trial above it trained.`;
  }
  return `${bad.length} of ${trials.length} trials diverged (the training loss ended higher than it started, or became NaN): ${bad.map((t) => t.id).join(', ')}.`;
}

function trendSentences(
  numeric: readonly Dimension[],
  trials: readonly TrialRecord[],
  monitor: Monitor,
): string[] {
  const out: string[] = [];
  const done = trials.filter(
    (t) => t.status === 'completed' && Number.isFinite(t.value) && !diverged(t),
  );
  if (done.length < TREND_MIN_TRIALS) return out;
  for (const n of numeric) {
    const pairs = done.filter((t) => typeof t.params[n.name] === 'number');
    if (pairs.length < TREND_MIN_TRIALS) continue;
    const rho = spearman(
      pairs.map((t) => t.params[n.name] as number),
      pairs.map((t) => t.value),
    );
    if (Math.abs(rho) < TREND_RHO) continue;
    const higherIsBetter = monitor.direction === 'min' ? rho < 0 : rho > 0;
    out.push(
      `${higherIsBetter ? 'Higher' : 'Lower'} ${n.name} did better among the trials that trained (rank correlation with ${monitor.name} ${rho.toFixed(2)} over ${pairs.length} trials).`,
    );
  }
  return out;
}

export function summarize(sweep: SweepFile): string[] {
  const monitor = sweep.monitor as Monitor;
  const trials = sweep.trials.filter((t) => t.status === 'completed' || t.status === 'pruned');
  const numeric = sweep.space.filter((d) => d.kind !== 'categorical');
  const lines: string[] = [];
  const best = sweep.trials.find((t) => t.id === sweep.best?.trialId);
  lines.push(
    best === undefined
      ? `No trial completed with a finite ${monitor.name}.`
      : `Best: ${best.id} (${formatParams(best.params)}) reached ${monitor.name} ${formatNumber(best.value)} at epoch ${best.bestEpoch + 1} of ${best.budget}.`,
  );
  for (const d of sweep.space)
    if (d.kind === 'categorical') {
      const s = categoricalSentence(d, numeric, trials, monitor);
      if (s !== undefined) lines.push(s);
    }
  const divergence = divergenceSentence(numeric, trials);
  if (divergence !== undefined) lines.push(divergence);
  lines.push(...trendSentences(numeric, trials, monitor));
  const pruned = sweep.trials.filter((t) => t.status === 'pruned');
  if (sweep.scheduler.name === 'asha') {
    const trained = sweep.trials.reduce((n, t) => n + t.epochs, 0);
    const full = sweep.trials.reduce((n, t) => n + t.budget, 0);
    lines.push(
      `ASHA pruned ${pruned.length} of ${sweep.trials.length} trials; ${trained} of ${full} epochs were trained (${Math.round((100 * trained) / Math.max(1, full))}%).`,
    );
  }
  const failed = sweep.trials.filter((t) => t.status === 'failed');
  if (failed.length > 0)
    lines.push(
      `${failed.length} trial${failed.length === 1 ? '' : 's'} failed: ${failed.map((t) => `${t.id} (${t.error?.message ?? 'unknown'})`).join('; ')}.`,
    );
  return lines;
}
