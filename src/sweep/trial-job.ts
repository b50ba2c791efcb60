/**
 * The job body: a pure function of its data. It trains trial `trialId` of the sweep in `sweepDir`
 * with its full epoch budget in the config and pauses after `stopAt` epochs (fineTune's pauseAt:
 * the checkpoint is written, no model). The trial's run folder is its state: the first job starts
 * it, every later one (the next rung, or a re-delivery after a worker died) resumes from its
 * checkpoint, so a killed worker loses at most the epoch it was in, and a job whose epochs are
 * already done trains nothing and returns the same history.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fineTune } from '../train/fit.js';
import { VggkitError } from '../util/errors.js';
import { trialDir } from './results.js';
import type { TrialJob, TrialOutcome } from './types.js';
import type { WorkerContext } from './worker-context.js';

export async function runTrialJob(job: TrialJob, context: WorkerContext): Promise<TrialOutcome> {
  const started = performance.now();
  const computedBefore = context.featuresComputed;
  const out = trialDir(job.sweepDir, job.trialId);
  const base = {
    trialId: job.trialId,
    stopAt: job.stopAt,
    worker: context.name,
    startedAt: await epochsDone(out),
  };
  try {
    const result = await fineTune({
      data: job.data,
      config: job.config,
      out,
      resume: true,
      pauseAt: job.stopAt,
      cacheDir: job.cacheDir,
      offline: job.offline,
      resources: context.resources,
    });
    const finished = result.stoppedBy !== undefined || result.history.length >= job.config.epochs;
    return {
      ...base,
      status: finished ? 'finished' : 'paused',
      history: result.history,
      ...(result.stoppedBy === undefined ? {} : { stoppedBy: result.stoppedBy }),
      seconds: (performance.now() - started) / 1000,
      featuresComputed: context.featuresComputed - computedBefore,
    };
  } catch (error) {
    // A trial whose config cannot train (a batch larger than the data …) fails alone; anything
    // that is not a VggkitError is a bug and fails the job, so the queue retries or reports it.
    if (!(error instanceof VggkitError)) throw error;
    return {
      ...base,
      status: 'failed',
      history: [],
      error: { code: error.code, message: error.message },
      seconds: (performance.now() - started) / 1000,
      featuresComputed: context.featuresComputed - computedBefore,
    };
  }
}

/** Epochs recorded in the run folder's history.json (written after each epoch's checkpoint). */
async function epochsDone(out: string): Promise<number> {
  const text = await readFile(join(out, 'history.json'), 'utf8').catch(() => undefined);
  if (text === undefined) return 0;
  try {
    return (JSON.parse(text) as { epochs: unknown[] }).epochs.length;
  } catch {
    return 0;
  }
}
