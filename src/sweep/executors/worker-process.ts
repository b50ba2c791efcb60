/**
 * A local trial worker: a child process of the sweep's ProcessPoolExecutor. It runs one job at a
 * time and keeps its WorkerContext (loaded bases, features in memory) for as long as it lives; it
 * exits when the coordinator disconnects.
 */
import { runTrialJob } from '../trial-job.js';
import type { TrialJob, TrialOutcome } from '../types.js';
import { WorkerContext } from '../worker-context.js';

export interface ParentMessage {
  readonly type: 'job';
  readonly id: number;
  readonly job: TrialJob;
}

export type ChildMessage =
  | { readonly type: 'result'; readonly id: number; readonly outcome: TrialOutcome }
  | {
      readonly type: 'error';
      readonly id: number;
      readonly message: string;
      readonly stack?: string;
    };

const context = new WorkerContext();

process.on('message', (message: ParentMessage) => {
  void runTrialJob(message.job, context).then(
    (outcome) => process.send?.({ type: 'result', id: message.id, outcome } satisfies ChildMessage),
    (error: unknown) =>
      process.send?.({
        type: 'error',
        id: message.id,
        message: error instanceof Error ? error.message : String(error),
        ...(error instanceof Error && error.stack !== undefined ? { stack: error.stack } : {}),
      } satisfies ChildMessage),
  );
});

process.on('disconnect', () => {
  void context.close().finally(() => process.exit(0));
});
