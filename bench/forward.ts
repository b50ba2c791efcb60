/**
 * VGG16 conv base forward at 224x224: ONNX Runtime images/s and GFLOP/s at batch 1 and 8, PyTorch
 * (Debian's python3-torch) in the same run when it imports — default and with glibc huge-page
 * malloc — and the whole extract path (decode + resize + preprocess + forward) on generated
 * photo-sized JPEGs against raw ORT. Then int8 (bench/int8.ts): fp32 / U8S8 / S8S8 QDQ graphs
 * interleaved in rounds, the int8 extract path against fp32, ORT's fusion count, and the seed
 * recipe's head trained on int8 vs fp32 features of real Fashion-MNIST folders.
 *
 *   node --import tsx bench/forward.ts [--iters 10] [--images 64] [--width 640] [--height 480]
 *     [--rounds 5] [--recipe-train 300] [--recipe-val 300] [--recipe-size 64] [--recipe-epochs 10]
 *     [--recipe-seeds 3]
 *     [--no-torch] [--no-int8] [--no-recipe] [--json]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { inferBatches } from '../src/engine/inference.js';
import { Session } from '../src/engine/session.js';
import { makeContract } from '../src/image/index.js';
import type { VggOptions } from '../src/model/architectures.js';
import { modelLayers } from '../src/model/head.js';
import { initWeights } from '../src/model/init.js';
import { buildVggInference } from '../src/model/vgg-graph.js';
import { Random } from '../src/util/random.js';
import { int8Kernels } from '../src/engine/cpu.js';
import { fashionMnistAvailable } from './fashion-mnist.js';
import {
  heScaled,
  INT8_TARGET_AVX2,
  INT8_TARGET_VNNI,
  type Int8Sessions,
  int8Sessions,
  interleaved,
  RECIPE_TARGET_POINTS,
  recipeAccuracy,
  type SpeedRow,
} from './int8.js';
import { describeMachine, machineInfo } from './machine.js';
import { mean, median } from '../src/util/stats.js';

/** 15.35 G multiply-adds per 224x224 image in the conv base. */
const GFLOP_PER_IMAGE = 30.7;
const PYTHON = '/usr/bin/python3';
const HUGE_PAGES =
  'glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967296';
const BATCHES = [1, 8] as const;

const { values: args } = parseArgs({
  options: {
    iters: { type: 'string', default: '10' },
    images: { type: 'string', default: '64' },
    width: { type: 'string', default: '640' },
    height: { type: 'string', default: '480' },
    rounds: { type: 'string', default: '5' },
    'recipe-train': { type: 'string', default: '300' },
    'recipe-val': { type: 'string', default: '300' },
    'recipe-size': { type: 'string', default: '64' },
    'recipe-epochs': { type: 'string', default: '10' },
    'recipe-seeds': { type: 'string', default: '3' },
    'no-torch': { type: 'boolean', default: false },
    'no-int8': { type: 'boolean', default: false },
    'no-recipe': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const iters = Number(args.iters);
const imageCount = Number(args.images);
const threads = availableParallelism();

interface Row {
  readonly engine: string;
  readonly batch: number;
  readonly imagesPerSecond: number;
}

async function ortForward(session: Session, batch: number): Promise<number> {
  const input = {
    dims: [batch, 3, 224, 224],
    data: Float32Array.from({ length: batch * 3 * 224 * 224 }, (_, i) => Math.sin(i) * 50),
  };
  await session.run({ input });
  const start = performance.now();
  for (let i = 0; i < iters; i++) await session.run({ input });
  return (batch * iters) / ((performance.now() - start) / 1000);
}

const TORCH_SCRIPT = `
import json, sys, time, torch
from torch import nn
# 'default' keeps PyTorch's own thread count (1 on this 2-vCPU machine); a number sets it.
if sys.argv[1] != 'default':
    torch.set_num_threads(int(sys.argv[1]))
cfg = [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M']
layers, c = [], 3
for v in cfg:
    if v == 'M':
        layers.append(nn.MaxPool2d(2, 2))
    else:
        layers += [nn.Conv2d(c, v, 3, padding=1), nn.ReLU(inplace=True)]
        c = v
model = nn.Sequential(*layers).eval()
out = {}
with torch.no_grad():
    for batch in (${BATCHES.join(', ')}):
        x = torch.randn(batch, 3, 224, 224)
        model(x)
        start = time.perf_counter()
        for _ in range(${iters}):
            model(x)
        out[batch] = batch * ${iters} / (time.perf_counter() - start)
print(json.dumps(out))
`;

function torchAvailable(): boolean {
  return spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
}

function torchForward(env: NodeJS.ProcessEnv, torchThreads: string): Record<string, number> {
  return JSON.parse(
    execFileSync(PYTHON, ['-c', TORCH_SCRIPT, torchThreads], { env, encoding: 'utf8' }),
  ) as Record<string, number>;
}

/** Smooth gradients plus mild noise: closer to a photo's JPEG decode cost than pure noise. */
async function writePhotos(
  dir: string,
  count: number,
  width: number,
  height: number,
): Promise<string[]> {
  const rng = new Random(1);
  const files: string[] = [];
  for (let n = 0; n < count; n++) {
    const pixels = Buffer.alloc(width * height * 3);
    const phase = rng.next() * 6;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const o = (y * width + x) * 3;
        pixels[o] = 128 + 100 * Math.sin(x / 40 + phase) + rng.next() * 20 - 10;
        pixels[o + 1] = 128 + 100 * Math.cos(y / 30 + phase) + rng.next() * 20 - 10;
        pixels[o + 2] = ((x + y + n * 7) % 256) * 0.8;
      }
    }
    const file = join(dir, `photo_${String(n).padStart(3, '0')}.jpg`);
    await sharp(pixels, { raw: { width, height, channels: 3 } })
      .jpeg({ quality: 88 })
      .toFile(file);
    files.push(file);
  }
  return files;
}

async function extractPath(session: Session, files: readonly string[]): Promise<number> {
  const start = performance.now();
  let rows = 0;
  for await (const batch of inferBatches(session, files, contract, { batchSize: 8 }))
    rows += batch.files.length;
  return rows / ((performance.now() - start) / 1000);
}

const options: VggOptions = {
  arch: 'vgg16',
  includeTop: false,
  inputSize: [224, 224],
  pooling: 'none',
  classes: 1000,
};
const weights = heScaled(initWeights(modelLayers(options), new Random(0)));
const session = await Session.create(buildVggInference({ options, weights }), { threads });
const rows: Row[] = [];
for (const batch of BATCHES)
  rows.push({ engine: 'onnxruntime', batch, imagesPerSecond: await ortForward(session, batch) });

if (!args['no-torch'] && torchAvailable()) {
  for (const [label, env, torchThreads] of [
    ['pytorch default threads', process.env, 'default'],
    [`pytorch ${threads} threads`, process.env, String(threads)],
    [
      `pytorch ${threads} threads, huge-page malloc`,
      { ...process.env, GLIBC_TUNABLES: HUGE_PAGES },
      String(threads),
    ],
  ] as const) {
    const measured = torchForward(env, torchThreads);
    for (const batch of BATCHES)
      rows.push({ engine: label, batch, imagesPerSecond: measured[String(batch)] ?? Number.NaN });
  }
}

const dir = await mkdtemp(join(tmpdir(), 'vggkit-bench-'));
const contract = makeContract({ mode: 'caffe', inputSize: 224 });
let extract: number;
let int8: Int8Figures | undefined;
try {
  const files = await writePhotos(dir, imageCount, Number(args.width), Number(args.height));
  extract = await extractPath(session, files);
  if (!args['no-int8']) int8 = await measureInt8(files);
} finally {
  await rm(dir, { recursive: true, force: true });
}
rows.push({
  engine: `extract path (${imageCount} JPEGs ${args.width}x${args.height})`,
  batch: 8,
  imagesPerSecond: extract,
});
await session.release();

interface Int8Figures {
  readonly rows: SpeedRow[];
  readonly extract: { readonly fp32: number; readonly int8: number };
  readonly fused: Int8Sessions['fused'];
  readonly kernels: ReturnType<typeof int8Kernels>;
}

/** fp32, U8S8 and S8S8 interleaved; then the extract path in int8 and fp32, alternating. */
async function measureInt8(files: readonly string[]): Promise<Int8Figures> {
  const q = await int8Sessions(options, weights, contract, files, threads);
  try {
    const engines = [
      ['fp32', session],
      ['int8 U8S8', q.u8s8],
      ['int8 S8S8', q.s8s8],
    ] as const;
    const speed = await interleaved(engines, BATCHES, Number(args.rounds));
    const fp32Extract: number[] = [];
    const int8Extract: number[] = [];
    for (let r = 0; r < 2; r++) {
      fp32Extract.push(await extractPath(session, files));
      int8Extract.push(await extractPath(q.u8s8, files));
    }
    return {
      rows: speed,
      extract: { fp32: median(fp32Extract), int8: median(int8Extract) },
      fused: q.fused,
      kernels: int8Kernels(),
    };
  } finally {
    await q.u8s8.release();
    await q.s8s8.release();
  }
}

const recipe =
  args['no-recipe'] || !(await fashionMnistAvailable())
    ? undefined
    : await recipeAccuracy({
        perClassTrain: Number(args['recipe-train']),
        perClassVal: Number(args['recipe-val']),
        inputSize: Number(args['recipe-size']),
        epochs: Number(args['recipe-epochs']),
        seeds: Array.from({ length: Number(args['recipe-seeds']) }, (_, i) => 1337 + i),
        weights: heScaled(
          initWeights(
            modelLayers({
              ...options,
              inputSize: [Number(args['recipe-size']), Number(args['recipe-size'])],
            }),
            new Random(0),
          ),
        ),
        log: () => undefined,
      });

const ortAt = (batch: number): number =>
  rows.find((r) => r.engine === 'onnxruntime' && r.batch === batch)?.imagesPerSecond ?? Number.NaN;
const report = rows.map((r) => ({
  ...r,
  gflops: r.imagesPerSecond * GFLOP_PER_IMAGE,
  ortOverThis: ortAt(r.batch) / r.imagesPerSecond,
}));

const vnni = machineInfo().flags.avx512_vnni || machineInfo().flags.avx_vnni;
const int8Target = vnni ? INT8_TARGET_VNNI : INT8_TARGET_AVX2;
const int8At = (engine: string, batch: number): number =>
  int8?.rows.find((r) => r.engine === engine && r.batch === batch)?.imagesPerSecond ?? Number.NaN;

if (args.json) {
  process.stdout.write(
    `${JSON.stringify({ machine: machineInfo(), threads, iters, rows: report, int8, int8Target, recipe }, null, 2)}\n`,
  );
} else {
  process.stdout.write(`${describeMachine()}\n`);
  process.stdout.write(
    `VGG16 conv base, 224x224, fp32, ${threads} threads, ${iters} timed runs per figure\n`,
  );
  process.stdout.write(
    `${'engine'.padEnd(44)}${'batch'.padStart(6)}${'img/s'.padStart(9)}${'GFLOP/s'.padStart(10)}${'ORT / this'.padStart(12)}\n`,
  );
  for (const r of report) {
    process.stdout.write(
      `${r.engine.padEnd(44)}${String(r.batch).padStart(6)}${r.imagesPerSecond.toFixed(2).padStart(9)}${r.gflops.toFixed(0).padStart(10)}${r.ortOverThis.toFixed(2).padStart(12)}\n`,
    );
  }
  // The targets for the whole extract path, at batch 8.
  const at = (engine: string): number =>
    rows.find((r) => r.engine === engine && r.batch === 8)?.imagesPerSecond ?? Number.NaN;
  const torchDefault = at('pytorch default threads');
  const torchTuned = at(`pytorch ${threads} threads, huge-page malloc`);
  process.stdout.write(`extract / raw ORT: ${(extract / ortAt(8)).toFixed(2)} (target >= 0.90)\n`);
  if (Number.isFinite(torchDefault))
    process.stdout.write(
      `extract / PyTorch default: ${(extract / torchDefault).toFixed(2)}x (target >= 2); / PyTorch tuned: ${(extract / torchTuned).toFixed(2)}x (target >= 1.2)\n`,
    );
}
if (!args.json && int8 !== undefined) {
  process.stdout.write(
    `\nint8 (QDQ, per-channel int8 weights of ${int8.kernels.weightBits} bits by ${int8.kernels.basis}; percentile calibration on the ${imageCount} JPEGs), ${args.rounds} interleaved rounds, medians\n`,
  );
  process.stdout.write(
    `ORT fused ${int8.fused.u8s8}/${int8.fused.convs} convs into QLinearConv (U8S8), ${int8.fused.s8s8}/${int8.fused.convs} (S8S8)\n`,
  );
  process.stdout.write(
    `${'engine'.padEnd(16)}${'batch'.padStart(6)}${'img/s'.padStart(9)}${'/ fp32'.padStart(9)}\n`,
  );
  for (const r of int8.rows)
    process.stdout.write(
      `${r.engine.padEnd(16)}${String(r.batch).padStart(6)}${r.imagesPerSecond.toFixed(2).padStart(9)}${(r.imagesPerSecond / int8At('fp32', r.batch)).toFixed(2).padStart(9)}\n`,
    );
  const ratio = int8At('int8 U8S8', 8) / int8At('fp32', 8);
  process.stdout.write(
    `int8 U8S8 / fp32 forward, batch 8: ${ratio.toFixed(2)}x (target >= ${int8Target}x on this CPU: ${vnni ? 'VNNI' : 'AVX2 only'}); S8S8 / U8S8: ${(int8At('int8 S8S8', 8) / int8At('int8 U8S8', 8)).toFixed(2)}\n`,
  );
  process.stdout.write(
    `int8 extract path / fp32 extract path: ${(int8.extract.int8 / int8.extract.fp32).toFixed(2)}x (${int8.extract.int8.toFixed(2)} vs ${int8.extract.fp32.toFixed(2)} img/s; target >= ${int8Target}x)\n`,
  );
}
if (!args.json && recipe !== undefined) {
  process.stdout.write(
    `\nseed-recipe head on frozen VGG16 features (random He-scaled weights), ${recipe.source}: ${recipe.trainImages} training, ${recipe.valImages} validation images at ${recipe.inputSize}x${recipe.inputSize}, ${recipe.epochs} epochs\n`,
  );
  const pct = (values: readonly number[]): string =>
    values.map((v) => `${(100 * v).toFixed(2)}%`).join(', ');
  process.stdout.write(
    `final val accuracy per seed (${recipe.seeds.join(', ')}): fp32 features ${pct(recipe.fp32.valAccuracy)} (mean ${(100 * mean(recipe.fp32.valAccuracy)).toFixed(2)}%), int8 features ${pct(recipe.int8.valAccuracy)} (mean ${(100 * mean(recipe.int8.valAccuracy)).toFixed(2)}%; prefix ran ${recipe.int8.precisionUsed}, ${recipe.int8.figures})\n`,
  );
  process.stdout.write(
    `|mean int8 - mean fp32| = ${recipe.points.toFixed(2)} points (target <= ${RECIPE_TARGET_POINTS}); fp32 seed-to-seed spread (sd) ${recipe.fp32SeedSpreadPoints.toFixed(2)} points\n`,
  );
}
