/**
 * How fast `vggkit serve` lists a folder of runs, and how much memory a huge events log costs.
 *
 *   node --import tsx bench/serve.ts [--runs 1000] [--epochs 20] [--batches 50]
 *
 * Writes `--runs` run folders the way fineTune writes them (config.json, history.json,
 * events.jsonl with one line per batch and epoch) into a temporary folder, starts the server on
 * a free loopback port and times GET /api/runs: the first listing (nothing cached, every folder
 * read) and the median of later ones (unchanged folders come from the cache). Then one run's log
 * grows to a million batch lines and its page view is built, measuring the heap it takes.
 * Target: the first listing of 1,000 runs under one second.
 */
import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startServer } from '../src/serve/server.js';
import { RunTail } from '../src/serve/live.js';
import { formatEventLine } from '../src/train/callbacks/events-log.js';
import { epochRecords, writeRun } from '../test/serve/fixtures.js';
import { describeMachine } from './machine.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '1000' },
    epochs: { type: 'string', default: '20' },
    batches: { type: 'string', default: '50' },
  },
});
const runs = Number(values.runs);
const epochs = Number(values.epochs);
const batches = Number(values.batches);

/** Wall time and this process's CPU time (server and client both run here) of one GET. */
async function timeGet(url: string): Promise<{ ms: number; cpuMs: number; count: number }> {
  const start = performance.now();
  const cpu = process.cpuUsage();
  const response = await fetch(url);
  const body = (await response.json()) as { runs: unknown[] };
  const used = process.cpuUsage(cpu);
  return {
    ms: performance.now() - start,
    cpuMs: (used.user + used.system) / 1000,
    count: body.runs.length,
  };
}

console.log(describeMachine());
const dir = await mkdtemp(join(tmpdir(), 'vggkit-bench-serve-'));
try {
  const started = performance.now();
  for (let i = 0; i < runs; i++) {
    const done = i % 10 === 0 ? Math.floor(epochs / 2) : epochs;
    await writeRun(join(dir, `run-${String(i).padStart(4, '0')}`), {
      epochs,
      done,
      batches,
      ...(done === epochs ? { end: 'finished' as const } : {}),
    });
  }
  console.log(
    `wrote ${runs} run folders (${epochs} epochs x ${batches} batches each) in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  const server = await startServer({ root: dir, port: 0 });
  try {
    const first = await timeGet(`${server.url}api/runs`);
    const warm: { ms: number; cpuMs: number }[] = [];
    for (let i = 0; i < 5; i++) warm.push(await timeGet(`${server.url}api/runs`));
    warm.sort((a, b) => a.ms - b.ms);
    const median = warm[2] as { ms: number; cpuMs: number };
    // Under load the wall time is mostly waiting for a core; the CPU time is what listing costs.
    console.log(
      `list ${first.count} runs: first ${first.ms.toFixed(0)} ms wall, ${first.cpuMs.toFixed(0)} ms CPU (target < 1000 ms wall on a quiet machine); cached: median ${median.ms.toFixed(0)} ms wall, ${median.cpuMs.toFixed(0)} ms CPU`,
    );
  } finally {
    await server.close();
  }

  // One run whose log holds a million batch lines: the view's memory stays bounded.
  const big = join(dir, 'run-0000');
  const lines: string[] = [];
  for (let e = 0; e < 1000; e++) lines.push(...epochRecords(e, 1000, 1000).map(formatEventLine));
  await appendFile(join(big, 'events.jsonl'), lines.join(''));
  lines.length = 0;
  globalThis.gc?.();
  const before = process.memoryUsage().heapUsed;
  const start = performance.now();
  const tail = new RunTail(big);
  await tail.refresh();
  const view = tail.view();
  const heap = process.memoryUsage().heapUsed - before;
  const points = view.charts.find((c) => c.id === 'batch-loss');
  console.log(
    `a 1,000,000-batch events log: folded in ${((performance.now() - start) / 1000).toFixed(1)} s, ${points?.kind === 'line' ? points.x.length : 0} batch points drawn, heap +${(heap / 2 ** 20).toFixed(0)} MiB (run with --expose-gc for a cleaner figure)`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
