/**
 * The queue seam (STYLE.md item 12): the coordinator hands a job to `run` and gets its outcome,
 * without knowing where it ran. Delivery is at least once: a job may run again after a worker
 * died, which is safe because the job body is idempotent and the study records each
 * (trial, stop epoch) once. The coordinator never has more than `slots` jobs in flight.
 */
import type { ExtractJob, ExtractOutcome } from '../extract-job.js';
import type { TrialJob, TrialOutcome } from '../types.js';

export interface TrialExecutor {
  /** Jobs that can run at once. */
  readonly slots: number;
  /** Where jobs run, for the terminal: `in-process`, `2 local workers`, `redis://…`. */
  readonly description: string;
  run(job: TrialJob): Promise<TrialOutcome>;
  /** Runs a feature-extraction shard on a worker; absent when the coordinator fills the cache itself. */
  extract?(job: ExtractJob): Promise<ExtractOutcome>;
  close(): Promise<void>;
}
