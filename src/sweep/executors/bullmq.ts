/**
 * The distributed executor on BullMQ + Redis (`--queue redis://host:port/db`). The coordinator
 * adds one job per (trial, stop epoch) under a deterministic job id, so a restarted coordinator
 * re-adding a job attaches to the one already queued, running or finished instead of running it
 * twice; `vggkit worker` runs jobs in a sandboxed processor (bullmq-processor.ts, a child process)
 * so ORT compute never blocks the lock renewal of the worker's main process. A worker killed
 * mid-job stops renewing its lock; BullMQ's stalled-job check moves the job back to the queue and
 * another worker resumes the trial from its checkpoint. Job bodies are idempotent, results keyed
 * by trial and stop epoch (study.ts), so at-least-once delivery never records a trial twice.
 * Redis must run with `maxmemory-policy noeviction` (an evicted key is a lost job); the worker
 * checks and says so.
 *
 * Job data and results travel as JSON; NaN and Infinity (a diverged loss) are sent as strings.
 */
import { createHash } from 'node:crypto';
import { availableParallelism, hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Queue, QueueEvents, Worker, type ConnectionOptions } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { invalidOption } from '../../util/errors.js';
import type { ExtractJob, ExtractOutcome } from '../extract-job.js';
import type { TrialJob, TrialOutcome } from '../types.js';
import type { TrialExecutor } from './types.js';

export const QUEUE_NAME = 'vggkit';

/** `redis://[user:password@]host:port[/db]` as BullMQ's connection options. */
export function connectionFromUrl(url: string): ConnectionOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalidOption('--queue', 'a Redis URL such as redis://127.0.0.1:6379/0', url);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:')
    throw invalidOption('--queue', 'a redis:// or rediss:// URL', url);
  const db = parsed.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d+$/.test(db))
    throw invalidOption('--queue', 'a database number after the port (redis://host:port/0)', url);
  return {
    host: parsed.hostname === '' ? '127.0.0.1' : parsed.hostname,
    port: parsed.port === '' ? 6379 : Number(parsed.port),
    ...(db === '' ? {} : { db: Number(db) }),
    ...(parsed.username === '' ? {} : { username: decodeURIComponent(parsed.username) }),
    ...(parsed.password === '' ? {} : { password: decodeURIComponent(parsed.password) }),
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

function replacer(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isFinite(value) ? String(value) : value;
}

function reviver(_key: string, value: unknown): unknown {
  return value === 'NaN' || value === 'Infinity' || value === '-Infinity' ? Number(value) : value;
}

export function encodePayload(value: unknown): string {
  return JSON.stringify(value, replacer);
}

export function decodePayload<T>(value: unknown): T {
  return (typeof value === 'string' ? JSON.parse(value, reviver) : value) as T;
}

/** A job id that is the same for the same work on any machine (BullMQ refuses ':' in ids). */
export function jobKey(...parts: readonly string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 32);
}

export interface QueueExecutorOptions {
  readonly url: string;
  /** Jobs in flight at once (the workers' total concurrency is what actually runs). */
  readonly slots: number;
}

export class QueueExecutor implements TrialExecutor {
  readonly slots: number;
  readonly description: string;
  private readonly queue: Queue;
  private readonly events: QueueEvents;

  constructor(options: QueueExecutorOptions) {
    const connection = connectionFromUrl(options.url);
    this.slots = options.slots;
    this.description = `the BullMQ queue at ${options.url} (${options.slots} jobs in flight; run \`vggkit worker --queue ${options.url}\` on each machine)`;
    this.queue = new Queue(QUEUE_NAME, { connection });
    this.events = new QueueEvents(QUEUE_NAME, { connection });
  }

  /** Adds a job (or attaches to the one with the same id) and waits for its return value. */
  async submit<T>(name: 'trial' | 'extract', data: unknown, id: string): Promise<T> {
    await this.events.waitUntilReady();
    const job = await this.queue.add(name, encodePayload(data), {
      jobId: id,
      // A processor that throws (a bug, not a trial's own failure) is retried a few times.
      attempts: 3,
      backoff: { type: 'fixed', delay: 1000 },
      removeOnComplete: { age: 7 * 24 * 3600 },
      removeOnFail: { age: 7 * 24 * 3600 },
    });
    return decodePayload<T>(await job.waitUntilFinished(this.events));
  }

  run(job: TrialJob): Promise<TrialOutcome> {
    return this.submit<TrialOutcome>(
      'trial',
      job,
      jobKey(job.sweepDir, job.trialId, String(job.stopAt)),
    );
  }

  extract(job: ExtractJob): Promise<ExtractOutcome> {
    return this.submit<ExtractOutcome>(
      'extract',
      job,
      jobKey(
        'extract',
        JSON.stringify([
          job.config.arch,
          job.config.weights,
          job.config.inputSize,
          job.config.preprocess ?? null,
          job.config.resize ?? null,
          job.config.interpolation ?? null,
          job.trainableBlocks,
          job.cacheDir,
        ]),
        ...job.files,
      ),
    );
  }

  async close(): Promise<void> {
    await this.events.close();
    await this.queue.close();
  }
}

/** Redis' eviction policy, or undefined when the server does not say (CONFIG disabled). */
async function maxmemoryPolicy(connection: ConnectionOptions): Promise<string | undefined> {
  const client = new Redis({
    ...(connection as RedisOptions),
    lazyConnect: true,
    maxRetriesPerRequest: 1,
  });
  try {
    await client.connect();
    const reply = (await client.config('GET', 'maxmemory-policy')) as string[];
    return reply[1];
  } catch {
    return undefined;
  } finally {
    client.disconnect();
  }
}

/** The sandboxed processor beside this file: .ts under tsx, .js once compiled. */
function processorFile(): string {
  return fileURLToPath(import.meta.url).replace(/bullmq\.(ts|js)$/, 'bullmq-processor.$1');
}

export interface QueueWorkerOptions {
  readonly url: string;
  /** Jobs this worker runs at once, each in its own sandboxed process. */
  readonly concurrency: number;
  /** BullMQ's lockDuration: how long a job stays locked without renewal (a dead worker's jobs wait this long). */
  readonly lockDuration?: number;
  /** BullMQ's stalledInterval: how often this worker looks for jobs whose lock expired. */
  readonly stalledInterval?: number;
  /** Shown as the job's `processedBy` in BullMQ (default host:pid). */
  readonly name?: string;
  readonly log?: (line: string) => void;
}

/** A running `vggkit worker`: closes when `close()` is called or the process is told to stop. */
export async function startQueueWorker(options: QueueWorkerOptions): Promise<Worker> {
  const log = options.log ?? (() => undefined);
  const connection = connectionFromUrl(options.url);
  const threads = Math.max(1, Math.floor(availableParallelism() / options.concurrency));
  const worker = new Worker(QUEUE_NAME, processorFile(), {
    connection,
    name: options.name ?? `${hostname()}:${process.pid}`,
    concurrency: options.concurrency,
    useWorkerThreads: false,
    lockDuration: options.lockDuration ?? 30_000,
    stalledInterval: options.stalledInterval ?? 30_000,
    // A trial survives several dead workers: each re-delivery resumes from its checkpoint.
    maxStalledCount: 5,
    workerForkOptions: {
      execArgv: process.execArgv,
      env: { ...process.env, VGGKIT_THREADS: String(threads) },
    },
  });
  worker.on('error', (error) => log(`worker: ${error.message}`));
  worker.on('failed', (job, error) =>
    log(`job ${job?.name ?? '?'} ${job?.id ?? '?'} failed: ${error.message}`),
  );
  await worker.waitUntilReady();
  const policy = await maxmemoryPolicy(connection);
  if (policy !== undefined && policy !== 'noeviction')
    log(
      `warning: Redis maxmemory-policy is ${policy}; BullMQ needs noeviction (an evicted key is a lost job): redis-cli config set maxmemory-policy noeviction`,
    );
  log(
    `worker ${process.pid}: ${options.concurrency} sandboxed processor${options.concurrency === 1 ? '' : 's'}, ${threads} thread${threads === 1 ? '' : 's'} each, on ${options.url}`,
  );
  return worker;
}
