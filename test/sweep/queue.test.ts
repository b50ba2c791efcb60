/**
 * The distributed sweep on a real redis-server (Debian's package, started here on a free loopback
 * port with no persistence and noeviction) with two `vggkit worker` processes: one is killed with
 * SIGKILL while it trains a trial; BullMQ's stalled-job check hands the job to the other worker,
 * which resumes the trial from its checkpoint; every trial completes exactly once, and the feature
 * cache was filled by shards on the workers. `vggkit extract --queue` then shards a layer's
 * features over the surviving worker and gives the rows a local extract gives.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Queue } from 'bullmq';
import {
  connectionFromUrl,
  decodePayload,
  QUEUE_NAME,
  QueueExecutor,
} from '../../src/sweep/executors/bullmq.js';
import { runSweep } from '../../src/sweep/run-sweep.js';
import type { TrialJob } from '../../src/sweep/types.js';
import { DEFAULT_CONFIG } from '../../src/train/config.js';
import { parseTrainConfig } from '../../src/train/config-schema.js';
import { readNpy, type NpyArray } from '../../src/data/npy.js';
import { assertClose } from '../helpers/finite-difference.js';
import { requireBinary } from '../helpers/system-binary.js';
import { writeShapesDataset } from '../helpers/shapes.js';

const ROOT = join(import.meta.dirname, '..', '..');
let dir = '';
let data = '';
const processes: ChildProcess[] = [];

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        resolve(typeof address === 'object' && address !== null ? address.port : 0),
      );
    });
  });
}

const logs = new Map<ChildProcess, string>();

function start(command: string, args: string[]): ChildProcess {
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, VGGKIT_HOME: join(dir, 'home') },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  logs.set(child, '');
  child.stderr?.on('data', (chunk: Buffer) =>
    logs.set(child, `${logs.get(child) ?? ''}${chunk.toString()}`),
  );
  processes.push(child);
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

async function waitFor(check: () => Promise<boolean>, what: string, ms = 120_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vggkit-queue-'));
  data = join(dir, 'data');
  await writeShapesDataset(data, { perClass: 10, size: 32, seed: 6 });
});

after(async () => {
  for (const p of processes) await stop(p);
  await rm(dir, { recursive: true, force: true });
});

test('two workers on a real Redis, one killed with SIGKILL mid-trial: every trial completes exactly once', async (t) => {
  const redisServer = requireBinary(t, 'redis-server');
  if (redisServer === undefined) return;
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}/0`;
  start(redisServer, [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--maxmemory-policy',
    'noeviction',
  ]);
  const queue = new Queue(QUEUE_NAME, { connection: connectionFromUrl(url) });
  await waitFor(
    async () =>
      await queue
        .getJobCounts()
        .then(() => true)
        .catch(() => false),
    'redis-server',
  );
  const workerArgs = (name: string): string[] => [
    '--import',
    'tsx',
    'src/cli/main.ts',
    'worker',
    '--queue',
    url,
    '--name',
    name,
    '--lock-duration',
    '2000',
    '--stalled-interval',
    '1000',
  ];
  const victim = start(process.execPath, workerArgs('victim'));
  start(process.execPath, workerArgs('survivor'));

  const out = join(dir, 'sweep');
  const epochs = 6;
  let killedTrial: string | undefined;
  let watching = true;
  const watcher = (async () => {
    while (watching && killedTrial === undefined) {
      for (const job of await queue.getActive()) {
        if (job.processedBy !== 'victim') continue;
        const trial = decodePayload<TrialJob>(job.data);
        if (trial.kind !== 'trial') continue;
        const text = await readFile(
          join(out, 'trials', trial.trialId, 'history.json'),
          'utf8',
        ).catch(() => undefined);
        const done =
          text === undefined ? 0 : (JSON.parse(text) as { epochs: unknown[] }).epochs.length;
        if (done >= 1 && done < epochs) {
          victim.kill('SIGKILL');
          killedTrial = trial.trialId;
          break;
        }
      }
      await sleep(20);
    }
  })();
  const lines: string[] = [];
  const result = await runSweep({
    settings: {
      data,
      base: parseTrainConfig(
        {
          arch: 'vgg11',
          weights: 'none',
          inputSize: 32,
          head: 'avg',
          dense: 16,
          dropout: 0,
          batchSize: 2,
          epochs,
          seed: 2,
        },
        'test',
        DEFAULT_CONFIG,
      ),
      space: {
        dimensions: [{ kind: 'float', name: 'lr', path: 'lr', low: 1e-4, high: 1e-2, log: true }],
      },
      sampler: 'random',
      trials: 4,
      scheduler: 'none',
      monitor: { name: 'val_loss', direction: 'min' },
    },
    out,
    cacheDir: join(dir, 'cache'),
    executor: new QueueExecutor({ url, slots: 2 }),
    log: (line) => lines.push(line),
  });
  watching = false;
  await watcher;
  await queue.close();
  assert.ok(
    killedTrial !== undefined,
    `the victim never held a trial mid-way: ${[...logs.values()].join('\n')}`,
  );
  const trials = result.sweep.trials;
  assert.equal(trials.length, 4);
  // The shards computed every feature on the workers; no trial computed one.
  assert.equal(result.sweep.cacheFilled, 30);
  assert.ok(
    lines.some((l) => /^feature shards ran on [12] workers?/.test(l)),
    lines.join('\n'),
  );
  for (const trial of trials) {
    assert.equal(trial.status, 'completed', `${trial.id}: ${trial.error?.message ?? ''}`);
    assert.equal(trial.history.length, epochs);
    assert.deepEqual(trial.reported, [epochs]);
    assert.equal(trial.featuresComputed, 0);
    const csv = (await readFile(join(out, 'trials', trial.id, 'history.csv'), 'utf8'))
      .trim()
      .split('\n');
    assert.equal(csv.length, epochs + 1, `${trial.id}: history.csv has each epoch once`);
  }
  const killed = trials.find((tr) => tr.id === killedTrial);
  assert.equal(killed?.recoveries, 1, 'the killed trial resumed from its checkpoint');

  // `vggkit extract --queue`: the surviving worker computes the shards into a fresh shared cache;
  // the rows equal a local extract's.
  const extract = async (...extra: string[]): Promise<NpyArray> => {
    const out = join(dir, `extract${extra.length}`);
    await promisify(execFile)(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/cli/main.ts',
        'extract',
        data,
        '--weights',
        'none',
        '--arch',
        'vgg11',
        '--input-size',
        '32',
        '--layer',
        'block4_pool',
        '--out',
        out,
        ...extra,
      ],
      { cwd: ROOT, env: { ...process.env, VGGKIT_HOME: join(dir, 'extract-home') } },
    );
    return readNpy(join(out, 'features.npy'));
  };
  const queued = await extract('--queue', url);
  const local = await extract();
  assert.deepEqual(queued.dims, local.dims);
  assert.equal(queued.dims[0], 30);
  assertClose(
    queued.data as Float32Array,
    local.data as Float32Array,
    { atol: 1e-6, rtol: 1e-5 },
    'extract --queue features',
  );
  for (const p of processes) await stop(p);
});
