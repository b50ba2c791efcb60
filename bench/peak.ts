/**
 * bench/peak: the attainable fp32 GEMM rate of this machine — a large ONNX Runtime MatMul on all
 * cores — the yardstick every training figure is printed against ("x% of the GEMM peak"). Two
 * layouts are timed, B fed per run (what a training graph's weights are) and B a constant that
 * ORT pre-packs (what an inference graph's weights are); the peak is the faster one.
 *
 *   node --import tsx bench/peak.ts [runs]
 *
 * Other benchmarks import `gemmPeakEngines()` and time them in their own interleaved rounds, so
 * the fraction of peak is measured under the same load as the figure it divides.
 */
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { GraphBuilder } from '../src/graph/ir.js';
import { Session, type Feeds } from '../src/engine/session.js';
import { Random } from '../src/util/random.js';
import { describeMachine } from './machine.js';
import { median } from '../src/util/stats.js';

/** M x K times K x N: large enough that packing and threading overheads vanish. */
export const PEAK_SHAPE = { m: 2048, k: 2048, n: 2048 } as const;
const FLOP = 2 * PEAK_SHAPE.m * PEAK_SHAPE.k * PEAK_SHAPE.n;

export interface PeakEngine {
  readonly name: string;
  /** Runs the MatMul n times, returning each run's milliseconds. */
  run(n: number): Promise<number[]>;
  /** GFLOP/s of one run of `ms` milliseconds. */
  gflops(ms: number): number;
  close(): Promise<void>;
}

function values(count: number, random: Random): Float32Array {
  return Float32Array.from({ length: count }, () => random.uniform(-1, 1));
}

async function matmulEngine(constantB: boolean, threads: number): Promise<PeakEngine> {
  const { m, k, n } = PEAK_SHAPE;
  const random = new Random(11);
  const a = { dims: [m, k], data: values(m * k, random) };
  const b = { dims: [k, n], data: values(k * n, random) };
  const g = new GraphBuilder();
  const aSym = g.input('a', [m, k]);
  const bSym = constantB
    ? g.constant('b', { dtype: 'float32', dims: [k, n], data: b.data })
    : g.input('b', [k, n]);
  g.output(g.node('MatMul', [aSym, bSym], [m, n]), 'c');
  const session = await Session.create(g.serialize(), { threads });
  const feeds: Feeds = constantB ? { a } : { a, b };
  const out = { c: { dims: [m, n], data: new Float32Array(m * n) } };
  const run = async (count: number): Promise<number[]> => {
    const times: number[] = [];
    for (let i = 0; i < count; i++) {
      const start = performance.now();
      await session.runInto(feeds, out);
      times.push(performance.now() - start);
    }
    return times;
  };
  await run(2);
  return {
    name: `ORT MatMul ${m}x${k}x${n}, ${constantB ? 'B constant (pre-packed)' : 'B fed per run'}`,
    run,
    gflops: (ms) => FLOP / ms / 1e6,
    close: () => session.release(),
  };
}

export async function gemmPeakEngines(threads = availableParallelism()): Promise<PeakEngine[]> {
  return [await matmulEngine(false, threads), await matmulEngine(true, threads)];
}

/** The peak from per-engine run times: the best engine's median rate. */
export function peakGflops(engines: readonly PeakEngine[], times: readonly number[][]): number {
  return Math.max(...engines.map((e, i) => e.gflops(median(times[i] ?? []))));
}

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 10);
  console.log(describeMachine());
  const engines = await gemmPeakEngines();
  const times = engines.map(() => [] as number[]);
  // Interleaved one run at a time, so a burst of load from others hits both layouts alike.
  for (let r = 0; r < runs; r++)
    for (const [i, e] of engines.entries()) times[i]?.push(...(await e.run(1)));
  for (const [i, e] of engines.entries()) {
    const t = times[i] ?? [];
    console.log(
      `${e.name.padEnd(52)} ${e.gflops(median(t)).toFixed(0).padStart(5)} GFLOP/s (median of ${t.length}, best ${e.gflops(Math.min(...t)).toFixed(0)})`,
    );
    await e.close();
  }
  console.log(`fp32 GEMM peak: ${peakGflops(engines, times).toFixed(0)} GFLOP/s`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
