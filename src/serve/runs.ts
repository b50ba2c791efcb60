/**
 * What is in the served folder: run folders (config.json, history.json, events.jsonl …) and sweep
 * folders (sweep.json), found at most two levels down, without following symlinks.
 *
 * A run's list entry must be cheap — a thousand of them list in well under a second — so it reads
 * only small files whole (config.json, history.json) and of the events log its first line, its
 * last few KiB and, for a run that has not ended, its last fit_start (found by a backwards byte
 * search, nothing parsed on the way). Entries are cached by the files' sizes and modification
 * times; only the status (is the process alive?) is decided afresh.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { PreprocessContract } from '../image/contract.js';
import { epochPoint, type EpochPoint } from '../report/curves.js';
import { EVENTS_FILE, parseEventLine, type EventRecord } from '../train/callbacks/events-log.js';
import { findLastLine, readHeadAndTail } from './events-tail.js';
import { bestOf, RunState, type RunStatus } from './run-state.js';
import { SWEEP_FILE } from '../sweep/results.js';

export interface RunSummary {
  /** Path under the served folder, with `/` separators ('' for the folder itself). */
  readonly path: string;
  readonly name: string;
  readonly status: RunStatus;
  readonly stoppedBy?: string;
  readonly startedAt?: number;
  readonly updatedAt?: number;
  readonly wallSeconds?: number;
  readonly epochsDone: number;
  readonly epochsTotal?: number;
  readonly bestValLoss?: number;
  readonly bestValAccuracy?: number;
  readonly weights?: string;
  readonly contract?: string;
  /** Files that could not be read as expected, named for the person looking. */
  readonly problems: readonly string[];
}

export interface SweepSummary {
  readonly path: string;
  readonly name: string;
  readonly trials: number;
  readonly problems: readonly string[];
}

export interface FolderListing {
  readonly runs: readonly RunSummary[];
  readonly sweeps: readonly SweepSummary[];
}

const RUN_MARKERS = ['config.json', 'history.json', EVENTS_FILE];
const TAIL_BYTES = 8 * 1024;

export function toUrlPath(root: string, dir: string): string {
  return relative(root, dir).split(sep).join('/');
}

/** history.json's epochs as chart points (1-based), tolerating the NaN strings it writes. */
export function historyPoints(json: unknown): EpochPoint[] {
  const epochs =
    typeof json === 'object' &&
    json !== null &&
    Array.isArray((json as { epochs?: unknown }).epochs)
      ? ((json as { epochs: unknown[] }).epochs as Record<string, unknown>[])
      : [];
  // history.json writes NaN and the infinities as strings (JSON has none).
  const num = (v: unknown): number | undefined =>
    typeof v === 'number'
      ? v
      : v === 'NaN' || v === 'Infinity' || v === '-Infinity'
        ? Number(v)
        : undefined;
  return epochs.map((e, i) => {
    const logs = Object.fromEntries(Object.entries(e).map(([k, v]) => [k, num(v)]));
    return epochPoint(logs, i + 1, typeof e.stage === 'string' ? e.stage : undefined);
  });
}

async function readJson(file: string): Promise<{ value?: unknown; problem?: string }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return {};
  }
  try {
    return { value: JSON.parse(text) as unknown };
  } catch {
    return { problem: `${file.split(sep).slice(-1)[0]} is not valid JSON (being written?)` };
  }
}

function contractName(contract: PreprocessContract): string {
  return `${contract.mode} ${contract.inputSize.join('x')}`;
}

/**
 * The events log's story in a few reads: the first line (the first attempt's fit_start dates the
 * run), the last line (a fit_end means it ended; its time is the last activity) and, only for a
 * run that has not ended, the last fit_start (whose pid and host say whether it is alive).
 */
async function eventsSummary(file: string): Promise<{ state: RunState; problems: string[] }> {
  const state = new RunState();
  const problems: string[] = [];
  const head = await readHeadAndTail(file, TAIL_BYTES);
  const first = parseEventLine(head.first);
  const lines = head.tail;
  const trailing = lines[lines.length - 1];
  if (trailing !== undefined && trailing !== '' && parseEventLine(trailing) === undefined)
    problems.push(`${EVENTS_FILE}: the last line is incomplete (being written, or cut off)`);
  let last: EventRecord | undefined;
  for (let i = lines.length - 1; i >= 0 && last === undefined; i--)
    if ((lines[i] as string).trim() !== '') last = parseEventLine(lines[i] as string);
  if (first?.type === 'fit_start') state.apply(first);
  if (last !== undefined && last.type !== 'fit_end') {
    // Still going, or crashed: whose process is it? A resumed run's is in a later fit_start.
    const line = await findLastLine(file, '"type":"fit_start"');
    const lastStart = line === undefined ? undefined : parseEventLine(line);
    if (lastStart?.type === 'fit_start' && lastStart.time !== first?.time) state.apply(lastStart);
  }
  if (last !== undefined && last !== first) state.apply(last);
  return { state, problems };
}

interface CacheEntry {
  readonly key: string;
  readonly summary: Omit<RunSummary, 'status'>;
  readonly state: RunState | undefined;
  readonly legacyStatus: RunStatus;
}

/** Lists folders; keeps a cache so that polling the list reads only what changed. */
export class FolderIndex {
  private readonly cache = new Map<string, CacheEntry>();

  constructor(private readonly root: string) {}

  async list(): Promise<FolderListing> {
    const runs: string[] = [];
    const sweeps: string[] = [];
    await this.find(this.root, 0, runs, sweeps);
    const summaries = await Promise.all(runs.map((dir) => this.summarise(dir)));
    const sweepSummaries = await Promise.all(sweeps.map((dir) => this.sweepSummary(dir)));
    return { runs: summaries, sweeps: sweepSummaries };
  }

  private async find(dir: string, depth: number, runs: string[], sweeps: string[]): Promise<void> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    const names = new Set(entries.filter((e) => e.isFile()).map((e) => e.name));
    if (names.has(SWEEP_FILE)) {
      sweeps.push(dir);
      return;
    }
    if (RUN_MARKERS.some((m) => names.has(m))) {
      runs.push(dir);
      return;
    }
    if (depth >= 2) return;
    await Promise.all(
      entries
        .filter((e) => e.isDirectory() && !e.name.startsWith('.') && e.name !== 'node_modules')
        .map((e) => this.find(join(dir, e.name), depth + 1, runs, sweeps)),
    );
  }

  async summarise(dir: string): Promise<RunSummary> {
    const stamps = await Promise.all(
      RUN_MARKERS.map((m) =>
        stat(join(dir, m)).then(
          (s) => `${s.size}:${s.mtimeMs}`,
          () => '-',
        ),
      ),
    );
    const key = stamps.join('|');
    let entry = this.cache.get(dir);
    if (entry?.key !== key) {
      entry = await this.read(dir, key, stamps[2] !== '-');
      this.cache.set(dir, entry);
    }
    const status = entry.state === undefined ? entry.legacyStatus : entry.state.status();
    return { ...entry.summary, status };
  }

  private async read(dir: string, key: string, hasEvents: boolean): Promise<CacheEntry> {
    const problems: string[] = [];
    const config = await readJson(join(dir, 'config.json'));
    const history = await readJson(join(dir, 'history.json'));
    for (const p of [config.problem, history.problem]) if (p !== undefined) problems.push(p);
    const cfg = (config.value ?? {}) as Record<string, unknown>;
    let points = historyPoints(history.value);
    let state: RunState | undefined;
    if (hasEvents) {
      const events = await eventsSummary(join(dir, EVENTS_FILE));
      state = events.state;
      problems.push(...events.problems);
    }
    // A run killed between epochs may have a history.json behind its log; the log's epochs count.
    if (state !== undefined && state.epochs.size > points.length) points = state.epochPoints();
    const best = bestOf(points);
    const start = state?.firstStart;
    const end = state?.end;
    const legacyStatus: RunStatus = hasEvents
      ? 'unknown'
      : await stat(join(dir, 'model.onnx')).then(
          () => 'finished',
          () => 'unknown',
        );
    const summary: Omit<RunSummary, 'status'> = {
      path: toUrlPath(this.root, dir),
      name: dir === this.root ? '.' : toUrlPath(this.root, dir),
      ...(end?.stopped == null ? {} : { stoppedBy: end.stopped.by }),
      ...(start === undefined ? {} : { startedAt: start.time }),
      ...(state?.lastTime === undefined ? {} : { updatedAt: state.lastTime }),
      ...(start === undefined || state?.lastTime === undefined
        ? {}
        : { wallSeconds: (state.lastTime - start.time) / 1000 }),
      epochsDone: points.length,
      ...(state?.epochsTotal === undefined
        ? typeof cfg.epochs === 'number'
          ? { epochsTotal: cfg.epochs }
          : {}
        : { epochsTotal: state.epochsTotal }),
      ...(best.valLoss === undefined ? {} : { bestValLoss: best.valLoss }),
      ...(best.valAccuracy === undefined ? {} : { bestValAccuracy: best.valAccuracy }),
      ...(typeof cfg.weights === 'string' ? { weights: cfg.weights } : {}),
      ...(start === undefined ? {} : { contract: contractName(start.contract) }),
      problems,
    };
    return { key, summary, state, legacyStatus };
  }

  private async sweepSummary(dir: string): Promise<SweepSummary> {
    const sweep = await readJson(join(dir, SWEEP_FILE));
    const trials = (sweep.value as { trials?: unknown } | undefined)?.trials;
    return {
      path: toUrlPath(this.root, dir),
      name: dir === this.root ? '.' : toUrlPath(this.root, dir),
      trials: Array.isArray(trials) ? trials.length : 0,
      problems: sweep.problem === undefined ? [] : [sweep.problem],
    };
  }
}
