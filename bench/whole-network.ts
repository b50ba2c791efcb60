/**
 * Whole-network training (issue 11 section 2): VGG16 with all 13 convs trainable plus the seed
 * head, Adam, from random weights — one step at a time, vggkit's TrainStep against PyTorch 1.13
 * (2 threads, huge-page malloc) on the same input size and batch, in the same run. Each engine runs
 * in its own process so its peak RSS is its own; rounds are interleaved, figures are medians.
 *
 *   node --import tsx bench/whole-network.ts [--size 224] [--batch 8] [--steps 1] [--rounds 5]
 *                                            [--lowering auto|gemm|winograd|ort] [--no-torch]
 *
 * Targets: at least parity with PyTorch in speed and at most 1.5x its peak RSS. Check `free -g`
 * first: at 224 a batch of 32 needs several GB per engine.
 */
import { availableParallelism, freemem, totalmem } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { TrainStep, type ConvLoweringPolicy } from '../src/engine/train-step.js';
import { planTraining, type TrainPart } from '../src/engine/train-plan.js';
import { KERAS_ADAM } from '../src/graph/optimizers/index.js';
import { initWeights } from '../src/model/init.js';
import { vggLayers, type LayerSpec } from '../src/model/architectures.js';
import { headLayers } from '../src/model/head.js';
import { convChoice, convSites, type ConvLoweringName } from '../src/engine/conv-lowering.js';
import { estimateTrainingMemory } from '../src/engine/memory-estimate.js';
import { Random } from '../src/util/random.js';
import { childEngine, HUGE_PAGES, interleave, loadAverage, type Engine } from './engines.js';
import { describeMachine } from './machine.js';
import { gemmPeakEngines, peakGflops } from './peak.js';
import { median } from '../src/util/stats.js';

const { values: args } = parseArgs({
  options: {
    size: { type: 'string', default: '224' },
    batch: { type: 'string', default: '8' },
    steps: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '5' },
    classes: { type: 'string', default: '10' },
    worker: { type: 'boolean', default: false },
    lowering: { type: 'string', default: 'auto' },
    'no-torch': { type: 'boolean', default: false },
  },
});
const size = Number(args.size);
const batch = Number(args.batch);
const classes = Number(args.classes);

const part: TrainPart = {
  arch: 'vgg16',
  trainableBlocks: 5,
  inputShape: [size, size, 3],
  head: { kind: 'flatten', dense: 256, dropout: 0.5, classes, loss: 'categorical_crossentropy' },
};

/**
 * FLOPs of one training step per image, counted as direct convolution: every conv's forward and
 * weight gradient, its input gradient except for the first conv (the image needs none), and the
 * dense layers' three products.
 */
function flopPerImage(layers: readonly LayerSpec[]): number {
  let macs = 0;
  let first = true;
  for (const l of layers) {
    if (l.kernelShape === undefined) continue;
    const weights = l.kernelShape.reduce((a, b) => a * b, 1);
    const positions =
      l.kind === 'conv' ? (l.outputShape[0] as number) * (l.outputShape[1] as number) : 1;
    macs += positions * weights * (first ? 2 : 3);
    first = false;
  }
  return 2 * macs;
}

/** vggkit's own estimate of the step's peak memory, for the lowerings it chose. */
function estimate(ts: TrainStep): number {
  const plan = ts.plan;
  const convs = new Map(
    convSites(plan.layers, plan.part.inputShape).map((site) => [
      site.layer,
      convChoice(ts.convLowerings.get(site.layer) as ConvLoweringName, site, batch),
    ]),
  );
  const base = vggLayers({
    arch: 'vgg16',
    includeTop: false,
    inputSize: [size, size],
    pooling: 'none',
    classes,
  });
  const modelLayers = [
    ...base,
    ...headLayers(base, { kind: 'flatten', dense: 256, classes, activation: 'softmax' }),
  ];
  return estimateTrainingMemory({
    plan,
    modelLayers,
    optimizerSlots: 2,
    batch,
    threads: availableParallelism(),
    convs,
  }).bytes;
}

/** The vggkit side, in its own process: serves the childEngine protocol over stdin/stdout. */
async function worker(): Promise<void> {
  const random = new Random(1);
  const ts = await TrainStep.create({
    ...part,
    optimizer: KERAS_ADAM,
    weights: initWeights(planTraining(part).layers, random),
    seed: 2,
    batchSize: batch,
    convLowering: args.lowering as ConvLoweringPolicy,
  });
  const x = {
    dims: [batch, size, size, 3],
    data: Float32Array.from({ length: batch * size * size * 3 }, () => random.uniform(-100, 100)),
  };
  const targets = {
    dims: [batch, classes],
    data: Float32Array.from({ length: batch * classes }, (_, i) => (i % classes === 0 ? 1 : 0)),
  };
  const lrs = Object.fromEntries(ts.groups.map((g) => [g, 1e-4]));
  for (let i = 0; i < 2; i++) await ts.step(x, targets, lrs);
  console.log(
    JSON.stringify({
      ready: true,
      threads: availableParallelism(),
      lowerings: [...ts.convLowerings].map(([layer, name]) => `${layer} ${name}`).join(', '),
      estimateGb: estimate(ts) / 2 ** 30,
    }),
  );
  for await (const line of createInterface({ input: process.stdin })) {
    const stepMs: number[] = [];
    for (let i = 0; i < Number(line); i++) {
      const start = performance.now();
      await ts.step(x, targets, lrs);
      stepMs.push(performance.now() - start);
    }
    console.log(JSON.stringify({ stepMs }));
  }
  await ts.release();
  console.log(JSON.stringify({ maxRssMb: process.resourceUsage().maxRSS / 1024 }));
}

async function main(): Promise<void> {
  const gb = (bytes: number): string => (bytes / 2 ** 30).toFixed(1);
  console.log(describeMachine());
  console.log(
    `VGG16, all 13 convs + head trainable, ${size}x${size}, batch ${batch}, Adam; memory free ${gb(freemem())} of ${gb(totalmem())} GB; load ${loadAverage()}`,
  );
  const self = fileURLToPath(import.meta.url);
  const sizeArgs = [
    ...['--size', String(size), '--batch', String(batch), '--classes', String(classes)],
    ...['--lowering', args.lowering],
  ];
  const engines = [
    await childEngine(
      (ready) => {
        console.log(
          `vggkit conv lowerings (--lowering ${args.lowering}): ${String(ready.lowerings)}`,
        );
        console.log(
          `vggkit memory estimate (src/engine/memory-estimate.ts): ${Number(ready.estimateGb).toFixed(2)} GB`,
        );
        return 'vggkit (ORT)';
      },
      process.execPath,
      ['--import', 'tsx', self, '--worker', ...sizeArgs],
    ),
    args['no-torch']
      ? undefined
      : await childEngine(
          (ready) => `PyTorch 1.13, huge-page malloc, ${String(ready.threads)} threads`,
          '/usr/bin/python3',
          [
            fileURLToPath(new URL('whole_network_torch.py', import.meta.url)),
            '--serve',
            String(size),
            String(batch),
            String(classes),
          ],
          { ...HUGE_PAGES, BENCH_TORCH_THREADS: '2' },
        ),
  ].filter((e): e is Engine => e !== undefined);
  const peaks = await gemmPeakEngines();
  const all = [...engines, ...peaks.map((p) => ({ run: () => p.run(1) }))];
  const times = await interleave(all, Number(args.rounds), Number(args.steps));
  const peak = peakGflops(peaks, times.slice(engines.length));
  for (const p of peaks) await p.close();
  const rss: (number | undefined)[] = [];
  for (const e of engines) rss.push((await e.close()).maxRssMb);
  const flop = flopPerImage(planTraining(part).layers);
  console.log(`fp32 GEMM peak (same rounds): ${peak.toFixed(0)} GFLOP/s`);
  const ips = engines.map((_, i) => (batch * 1000) / median(times[i] ?? []));
  engines.forEach((e, i) => {
    const v = ips[i] as number;
    const gflops = (v * flop) / 1e9;
    console.log(
      `${e.name.padEnd(44)} ${v.toFixed(2).padStart(7)} img/s ${gflops.toFixed(0).padStart(5)} GFLOP/s ${((100 * gflops) / peak).toFixed(0).padStart(4)}% of peak  peak RSS ${((rss[i] ?? NaN) / 1024).toFixed(2)} GB`,
    );
    console.log(`  ms per step, in order: ${times[i]?.map((t) => t.toFixed(0)).join(' ')}`);
  });
  if (engines.length === 2) {
    console.log(
      `vggkit / PyTorch: speed ${((ips[0] as number) / (ips[1] as number)).toFixed(2)}x (target >= 1.0x), peak RSS ${((rss[0] ?? NaN) / (rss[1] ?? NaN)).toFixed(2)}x (target <= 1.5x)`,
    );
  }
  console.log(`load average after: ${loadAverage()}`);
}

if (args.worker) await worker();
else await main();
