/**
 * `vggkit worker --queue redis://host:port/db`: runs the trials and feature shards a distributed
 * `vggkit sweep --queue` (or `vggkit extract --queue`) puts on the queue, on this machine, until
 * stopped (Ctrl-C, SIGTERM). The machine must see the data and the sweep folder at the same paths
 * as the coordinator (shared storage). One line per finished job on stderr; with --json, one JSON
 * object per finished job on stdout.
 */
import type { Command } from 'commander';
import { lazyAction } from './run-command.js';

export interface WorkerFlags {
  readonly queue?: string;
  readonly concurrency?: string;
  readonly lockDuration?: string;
  readonly stalledInterval?: string;
  readonly name?: string;
  readonly json?: boolean;
}

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description(
      'run the jobs of distributed sweeps (and extract shards) from a BullMQ queue on Redis, until stopped',
    )
    .requiredOption('--queue <url>', 'the Redis the coordinator uses, e.g. redis://10.0.0.5:6379/0')
    .option(
      '--concurrency <n>',
      'jobs at once, each in its own process with the cores divided among them',
      '1',
    )
    .option(
      '--lock-duration <ms>',
      "how long a job stays locked without renewal: a dead worker's job is taken over after this",
      '30000',
    )
    .option('--stalled-interval <ms>', 'how often to look for jobs whose worker died', '30000')
    .option('--name <name>', "this worker's name in the queue's records (default host:pid)")
    .option('--json', 'one JSON object per finished job on stdout')
    .action(lazyAction(async () => (await import('./actions/worker.js')).runWorker));
}
