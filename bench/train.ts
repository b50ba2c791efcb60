/**
 * Fine-tuning step benchmark (issue 3, bench (b)): block5 + Flatten-Dense256-Dropout-Dense head
 * trainable, batch 16, 14x14x512 cached block4_pool features, Adam update included. Prints
 * images/s and GFLOP/s for vggkit's training graph and, in the same run, PyTorch's figure for the
 * same step when /usr/bin/python3 has torch: its default (1 thread here), huge-page malloc, and
 * huge-page malloc with 2 threads.
 *
 *   node --import tsx bench/train.ts [steps per round] [rounds]
 *
 * The machine is shared, so the engines take turns: every round runs `steps` vggkit steps, then
 * the same number in each PyTorch process (kept alive between rounds, warmed up once), and the
 * figures are medians of per-step times, so a burst of load hits every engine alike instead of
 * whichever ran during it. The load average is printed before and after.
 *
 * The GEMM peak (bench/peak.ts: a large ORT MatMul) takes a turn in every round too, so each
 * figure is also printed as a fraction of the machine's attainable fp32 GEMM rate under the same load.
 *
 * FLOPs counted two ways, each printed as a fraction of the GEMM peak:
 * - nominal (a direct convolution): per image, each of block5's three convs does 196 x 4608 x 512
 *   multiply-adds forward and the same again for its weight gradient; conv2 and conv3 also for
 *   their input gradient (conv1's input is frozen features: no input gradient) — 8 conv passes of
 *   462.4 M multiply-adds — plus the dense layers' 3 x (25088 x 256 + 256 x 5);
 * - executed: the same passes as the lowering chosen for each conv runs them. `gemm` (im2col) and
 *   `ort` multiply as a direct convolution does; Winograd F(2x2, 3x3) multiplies 16 transformed
 *   values per 2x2 output tile where a direct conv multiplies 4 x 9 (2.25x fewer at 14x14), and
 *   its transforms are additions, not counted. Nominal above 100% of peak means Winograd.
 * The update itself is not counted, only timed.
 */
import { fileURLToPath } from 'node:url';
import { TrainStep } from '../src/engine/train-step.js';
import { convSites, type ConvLoweringName, type ConvSite } from '../src/engine/conv-lowering.js';
import { planTraining } from '../src/engine/train-plan.js';
import { KERAS_ADAM } from '../src/graph/optimizers/index.js';
import { initWeights } from '../src/model/init.js';
import { Random } from '../src/util/random.js';
import { childEngine, HUGE_PAGES, loadAverage, type Engine } from './engines.js';
import { describeMachine } from './machine.js';
import { gemmPeakEngines, peakGflops } from './peak.js';
import { median } from '../src/util/stats.js';

const STEPS = Number(process.argv[2] ?? 1);
const ROUNDS = Number(process.argv[3] ?? 10);
const BATCH = 16;
const CLASSES = 5;
const DENSE_MACS = 25088 * 256 + 256 * CLASSES;
const part = {
  arch: 'vgg16' as const,
  trainableBlocks: 1,
  inputShape: [14, 14, 512] as const,
  head: {
    kind: 'flatten' as const,
    dense: 256,
    dropout: 0.5,
    classes: CLASSES,
    loss: 'categorical_crossentropy' as const,
  },
};

/** Multiply-adds per image of one pass (forward, weight or input gradient) of `site` as `lowering` runs it. */
function passMacs(site: ConvSite, lowering: ConvLoweringName | 'direct'): number {
  const outputs = site.h * site.w;
  const multiplies =
    lowering === 'winograd' ? 16 * Math.ceil(site.h / 2) * Math.ceil(site.w / 2) : 9 * outputs;
  return multiplies * site.cin * site.cout;
}

/** FLOPs per image of the whole step: every conv pass (the input gradient where needed) and the dense layers. */
function stepFlops(lowerings: ReadonlyMap<string, ConvLoweringName> | undefined): number {
  const sites = convSites(planTraining(part).layers, part.inputShape);
  const conv = sites.reduce(
    (sum, site) =>
      sum + (site.inputGrad ? 3 : 2) * passMacs(site, lowerings?.get(site.layer) ?? 'direct'),
    0,
  );
  return 2 * (conv + 3 * DENSE_MACS);
}
const FLOP_PER_IMAGE = stepFlops(undefined);
let executedFlopPerImage = FLOP_PER_IMAGE;

async function vggkit(): Promise<Engine> {
  const random = new Random(1);
  const ts = await TrainStep.create({
    ...part,
    optimizer: KERAS_ADAM,
    weights: initWeights(planTraining(part).layers, random),
    seed: 2,
    batchSize: BATCH,
  });
  const x = {
    dims: [BATCH, 14, 14, 512],
    data: Float32Array.from({ length: BATCH * 14 * 14 * 512 }, () => random.uniform(0, 2)),
  };
  const targets = {
    dims: [BATCH, CLASSES],
    data: Float32Array.from({ length: BATCH * CLASSES }, (_, i) =>
      i % CLASSES === Math.floor(i / CLASSES) % CLASSES ? 1 : 0,
    ),
  };
  const lrs = { block5: 1e-5, head: 1e-4 };
  const run = async (n: number): Promise<number[]> => {
    const times: number[] = [];
    for (let i = 0; i < n; i++) {
      const start = performance.now();
      await ts.step(x, targets, lrs);
      times.push(performance.now() - start);
    }
    return times;
  };
  await run(2);
  executedFlopPerImage = stepFlops(ts.convLowerings);
  return {
    name: `vggkit (ORT; convs ${[...new Set(ts.convLowerings.values())].join('/')})`,
    run,
    close: async () => {
      await ts.release();
      return {};
    },
  };
}

/** A PyTorch process in --serve mode; undefined when python3 or torch is missing. */
function pytorch(name: string, env: NodeJS.ProcessEnv): Promise<Engine | undefined> {
  const script = fileURLToPath(new URL('train_step_torch.py', import.meta.url));
  return childEngine(
    (ready) => `${name}, ${String(ready.threads)} thread(s)`,
    '/usr/bin/python3',
    [script, '--serve'],
    env,
  );
}

const load = loadAverage;
console.log(describeMachine());
console.log(
  `load average before: ${load()}  (${STEPS} steps x ${ROUNDS} rounds per engine, interleaved)`,
);
const engines = [
  await vggkit(),
  await pytorch('PyTorch 1.13 default', {}),
  await pytorch('PyTorch 1.13 huge-page malloc', HUGE_PAGES),
  await pytorch('PyTorch 1.13 huge-page malloc', { ...HUGE_PAGES, BENCH_TORCH_THREADS: '2' }),
].filter((e): e is Engine => e !== undefined);
const peaks = await gemmPeakEngines();
const times = engines.map(() => [] as number[]);
const peakTimes = peaks.map(() => [] as number[]);
for (let round = 0; round < ROUNDS; round++) {
  for (const [i, engine] of engines.entries()) times[i]?.push(...(await engine.run(STEPS)));
  for (const [i, peak] of peaks.entries()) peakTimes[i]?.push(...(await peak.run(1)));
}
for (const engine of engines) await engine.close();
for (const peak of peaks) await peak.close();
const peak = peakGflops(peaks, peakTimes);
const ips = times.map((t) => (BATCH * 1000) / median(t));
console.log(`fp32 GEMM peak (bench/peak.ts, same rounds): ${peak.toFixed(0)} GFLOP/s`);
engines.forEach((engine, i) => {
  const v = ips[i] as number;
  const gflops = (v * FLOP_PER_IMAGE) / 1e9;
  console.log(
    `${engine.name.padEnd(48)} ${v.toFixed(1).padStart(6)} img/s  ${gflops.toFixed(0).padStart(4)} GFLOP/s  ${((100 * gflops) / peak).toFixed(0).padStart(3)}% of peak  (median of ${times[i]?.length} steps)`,
  );
  console.log(`  ms per step, in order: ${times[i]?.map((t) => t.toFixed(0)).join(' ')}`);
});
console.log(`load average after: ${load()}`);
const ours = ips[0] as number;
engines
  .slice(1)
  .forEach((engine, i) =>
    console.log(`vggkit / ${engine.name}: ${(ours / (ips[i + 1] as number)).toFixed(2)}x`),
  );
console.log(
  `vggkit: ${((100 * ours * FLOP_PER_IMAGE) / 1e9 / peak).toFixed(0)}% of the GEMM peak nominal (FLOPs of a direct convolution, ${(FLOP_PER_IMAGE / 1e9).toFixed(2)} GFLOP/image), ${((100 * ours * executedFlopPerImage) / 1e9 / peak).toFixed(0)}% executed (the chosen lowerings' multiplies, ${(executedFlopPerImage / 1e9).toFixed(2)} GFLOP/image)`,
);
console.log(
  'targets: >= 1.3x PyTorch huge-page malloc, 2 threads; >= 65% of the GEMM peak (issue 11 section 2)',
);
