/** What `vggkit worker` does (declared in ../worker.ts). */
import { decodePayload, startQueueWorker } from '../../sweep/executors/bullmq.js';
import { parseInteger } from '../common.js';
import type { WorkerFlags } from '../worker.js';

export async function runWorker(flags: WorkerFlags): Promise<void> {
  const worker = await startQueueWorker({
    url: flags.queue as string,
    concurrency: parseInteger('--concurrency', flags.concurrency, 1),
    lockDuration: parseInteger('--lock-duration', flags.lockDuration, 30_000),
    stalledInterval: parseInteger('--stalled-interval', flags.stalledInterval, 30_000),
    ...(flags.name === undefined ? {} : { name: flags.name }),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  worker.on('completed', (job, value) => {
    const result = decodePayload<Record<string, unknown>>(value);
    process.stderr.write(
      `${job.name} ${String(job.id)} done: ${job.name === 'trial' ? `${String(result.trialId)} ${String(result.status)} after ${(result.history as unknown[]).length} epochs` : `${String(result.computed)} features computed`}\n`,
    );
    if (flags.json === true)
      process.stdout.write(
        `${JSON.stringify({ job: job.name, id: job.id, result: JSON.parse(value as string) as unknown })}\n`,
      );
  });
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.stderr.write('stopping: finishing the running jobs\n');
      void worker.close().then(resolve);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
