/**
 * The zero-setup executors: no Redis, nothing to install.
 * - InProcessExecutor: one slot, jobs run in the coordinator's own process.
 * - ProcessPoolExecutor: N long-lived child processes (worker-process.ts), the cores divided among
 *   them through VGGKIT_THREADS; each keeps its WorkerContext (bases, features in memory) across
 *   the jobs it runs. A child that dies mid-job is replaced and the job sent again: it resumes
 *   from the trial's checkpoint, as a re-delivered queue job would.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { runTrialJob } from '../trial-job.js';
import type { TrialJob, TrialOutcome } from '../types.js';
import { WorkerContext } from '../worker-context.js';
import type { TrialExecutor } from './types.js';
import type { ChildMessage, ParentMessage } from './worker-process.js';

/** How often a job is re-sent after its worker process died before the sweep gives up on it. */
const MAX_ATTEMPTS = 3;

export class InProcessExecutor implements TrialExecutor {
  readonly slots = 1;
  readonly description = 'in-process';
  readonly context = new WorkerContext();

  run(job: TrialJob): Promise<TrialOutcome> {
    return runTrialJob(job, this.context);
  }

  close(): Promise<void> {
    return this.context.close();
  }
}

interface Pending {
  readonly id: number;
  readonly job: TrialJob;
  attempts: number;
  readonly resolve: (outcome: TrialOutcome) => void;
  readonly reject: (error: Error) => void;
}

interface Slot {
  child: ChildProcess;
  pending: Pending | undefined;
}

/** The worker entry beside this file: .ts under tsx, .js once compiled. */
function workerEntry(): string {
  const self = fileURLToPath(import.meta.url);
  return self.replace(/local\.(ts|js)$/, 'worker-process.$1');
}

export class ProcessPoolExecutor implements TrialExecutor {
  readonly description: string;
  private readonly workers: Slot[] = [];
  private nextId = 0;
  private closing = false;
  readonly threadsPerWorker: number;

  constructor(readonly slots: number) {
    this.threadsPerWorker = Math.max(1, Math.floor(availableParallelism() / slots));
    this.description = `${slots} local worker processes, ${this.threadsPerWorker} thread${this.threadsPerWorker === 1 ? '' : 's'} each`;
  }

  private spawn(): ChildProcess {
    const child = fork(workerEntry(), [], {
      execArgv: process.execArgv,
      env: { ...process.env, VGGKIT_THREADS: String(this.threadsPerWorker) },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      // Structured clone keeps NaN and Infinity (a diverged loss) that JSON would turn into null.
      serialization: 'advanced',
    });
    return child;
  }

  private attach(slot: Slot): void {
    slot.child.on('message', (message: ChildMessage) => {
      const pending = slot.pending;
      if (pending === undefined || message.id !== pending.id) return;
      slot.pending = undefined;
      if (message.type === 'result') pending.resolve(message.outcome);
      else pending.reject(Object.assign(new Error(message.message), { stack: message.stack }));
    });
    slot.child.on('exit', (code, signal) => {
      const pending = slot.pending;
      if (this.closing) return;
      slot.child = this.spawn();
      this.attach(slot);
      if (pending === undefined) return;
      if (pending.attempts >= MAX_ATTEMPTS) {
        slot.pending = undefined;
        pending.reject(
          new Error(
            `trial ${pending.job.trialId}: its worker process died ${pending.attempts} times (last: ${signal ?? `exit code ${String(code)}`})`,
          ),
        );
        return;
      }
      pending.attempts++;
      this.send(slot, pending);
    });
  }

  private send(slot: Slot, pending: Pending): void {
    slot.pending = pending;
    const message: ParentMessage = { type: 'job', id: pending.id, job: pending.job };
    slot.child.send(message);
  }

  run(job: TrialJob): Promise<TrialOutcome> {
    let slot = this.workers.find((w) => w.pending === undefined);
    if (slot === undefined) {
      if (this.workers.length >= this.slots)
        return Promise.reject(
          new Error(`all ${this.slots} workers are busy: the coordinator dispatched too many jobs`),
        );
      slot = { child: this.spawn(), pending: undefined };
      this.attach(slot);
      this.workers.push(slot);
    }
    const target = slot;
    return new Promise((resolve, reject) => {
      this.send(target, { id: this.nextId++, job, attempts: 1, resolve, reject });
    });
  }

  /** The id of the worker process running `trialId`'s job, if one is (tests kill it). */
  pidOf(trialId: string): number | undefined {
    return this.workers.find((w) => w.pending?.job.trialId === trialId)?.child.pid;
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(
      this.workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.child.exitCode !== null || w.child.signalCode !== null) return resolve();
            w.child.once('exit', () => resolve());
            w.child.disconnect();
          }),
      ),
    );
  }
}

export function localExecutor(parallel: number): TrialExecutor {
  return parallel <= 1 ? new InProcessExecutor() : new ProcessPoolExecutor(parallel);
}
