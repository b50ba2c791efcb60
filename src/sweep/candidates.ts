/**
 * The trial runner as a library call, for callers that already know their candidates (the
 * doctor's fix loop, issue 12): train each config briefly on the shared feature cache and return
 * what it measured. It is a sweep without a sampler: the coordinator fills the cache once for every
 * distinct frozen prefix, the same executors run the same job body (long-lived workers keep the
 * features in memory), and each candidate's run folder is `<out>/trials/c<i>/`.
 *
 *   const results = await trainCandidates({ data, candidates: [broken, fixA, fixB], out, cacheDir });
 *   results[1].history   // per-epoch logs of fixA; results[1].value its best val_loss
 */
import { resolve } from 'node:path';
import type { TrainConfig } from '../train/config.js';
import type { EpochLogs } from '../train/events.js';
import { fillFeatureCache } from './cache-fill.js';
import { InProcessExecutor, localExecutor } from './executors/local.js';
import type { TrialExecutor } from './executors/types.js';
import { bestOf, type Monitor } from './monitor.js';
import type { TrialOutcome } from './types.js';
import { WorkerContext } from './worker-context.js';

export interface CandidateOptions {
  readonly data: string;
  /** Complete configs; each trains for its own `epochs` (set them short for a quick comparison). */
  readonly candidates: readonly TrainConfig[];
  /** Folder for the candidates' run folders: a fresh one per call (an existing run folder is resumed, not retrained). */
  readonly out: string;
  readonly cacheDir: string;
  /** Local worker processes (1: in this process). */
  readonly parallel?: number;
  readonly executor?: TrialExecutor;
  readonly offline?: boolean;
  /** What `value` measures; default val_loss, minimised. */
  readonly monitor?: Monitor;
  /** Called as each candidate finishes (for progress), with its index in `candidates`. */
  readonly onResult?: (index: number, result: CandidateResult) => void;
}

export interface CandidateResult {
  readonly config: TrainConfig;
  readonly status: 'completed' | 'failed';
  readonly history: readonly EpochLogs[];
  /** Best monitored value over the epochs (NaN when none was finite) and its 0-based epoch. */
  readonly value: number;
  readonly bestEpoch: number;
  readonly stoppedBy?: string;
  readonly error?: { readonly code: string; readonly message: string };
  readonly seconds: number;
}

export async function trainCandidates(options: CandidateOptions): Promise<CandidateResult[]> {
  const out = resolve(options.out);
  const data = resolve(options.data);
  const offline = options.offline ?? false;
  const monitor: Monitor = options.monitor ?? { name: 'val_loss', direction: 'min' };
  const executor = options.executor ?? localExecutor(options.parallel ?? 1);
  const local = executor instanceof InProcessExecutor ? executor.context : new WorkerContext();
  try {
    for (const base of options.candidates)
      await fillFeatureCache({
        data,
        base,
        space: { dimensions: [] },
        cacheDir: options.cacheDir,
        offline,
        resources: local.resources,
        log: () => undefined,
      });
    const results: CandidateResult[] = new Array<CandidateResult>(options.candidates.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let i = next++; i < options.candidates.length; i = next++) {
        const config = options.candidates[i] as TrainConfig;
        const outcome: TrialOutcome = await executor.run({
          kind: 'trial',
          sweepDir: out,
          trialId: `c${i}`,
          data,
          config,
          stopAt: config.epochs,
          cacheDir: options.cacheDir,
          offline,
        });
        const best = bestOf(outcome.history, monitor);
        results[i] = {
          config,
          status: outcome.status === 'failed' ? 'failed' : 'completed',
          history: outcome.history,
          value: best.value,
          bestEpoch: best.epoch,
          seconds: outcome.seconds,
          ...(outcome.stoppedBy === undefined ? {} : { stoppedBy: outcome.stoppedBy }),
          ...(outcome.error === undefined ? {} : { error: outcome.error }),
        };
        options.onResult?.(i, results[i] as CandidateResult);
      }
    };
    await Promise.all(Array.from({ length: executor.slots }, worker));
    return results;
  } finally {
    await executor.close();
    if (local !== (executor as { context?: WorkerContext }).context) await local.close();
  }
}
