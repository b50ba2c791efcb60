/**
 * BullMQ's sandboxed processor for `vggkit worker`: runs in a child process of the worker, one job
 * at a time, keeping its WorkerContext (bases, features in memory) across the jobs it is reused
 * for. It exits when its parent worker dies, so a killed worker never leaves an orphan training
 * the same trial as the worker that takes the job over.
 */
import type { SandboxedJob } from 'bullmq';
import { runExtractJob, type ExtractJob } from '../extract-job.js';
import { runTrialJob } from '../trial-job.js';
import type { TrialJob } from '../types.js';
import { WorkerContext } from '../worker-context.js';
import { decodePayload, encodePayload } from './bullmq.js';

const context = new WorkerContext();

process.on('disconnect', () => process.exit(1));

export default async function processJob(job: SandboxedJob): Promise<string> {
  if (job.name === 'trial')
    return encodePayload(await runTrialJob(decodePayload<TrialJob>(job.data), context));
  if (job.name === 'extract')
    return encodePayload(await runExtractJob(decodePayload<ExtractJob>(job.data), context));
  throw new Error(`unknown job ${job.name}`);
}
