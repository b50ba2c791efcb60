/**
 * VGG16 conv base forward at 224x224: ONNX Runtime images/s and GFLOP/s at batch 1 and 8, PyTorch
 * (Debian's python3-torch) in the same run when it imports — default and with glibc huge-page
 * malloc — and the whole extract path (decode + resize + preprocess + forward) on generated
 * photo-sized JPEGs against raw ORT.
 *
 *   node --import tsx bench/forward.ts [--iters 10] [--images 64] [--width 640] [--height 480] [--no-torch] [--json]
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
import { describeMachine, machineInfo } from './machine.js';

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
    'no-torch': { type: 'boolean', default: false },
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
  const contract = makeContract({ mode: 'caffe', inputSize: 224 });
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
const session = await Session.create(
  buildVggInference({ options, weights: initWeights(modelLayers(options), new Random(0)) }),
  { threads },
);
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
let extract: number;
try {
  const files = await writePhotos(dir, imageCount, Number(args.width), Number(args.height));
  extract = await extractPath(session, files);
} finally {
  await rm(dir, { recursive: true, force: true });
}
rows.push({
  engine: `extract path (${imageCount} JPEGs ${args.width}x${args.height})`,
  batch: 8,
  imagesPerSecond: extract,
});
await session.release();

const ortAt = (batch: number): number =>
  rows.find((r) => r.engine === 'onnxruntime' && r.batch === batch)?.imagesPerSecond ?? Number.NaN;
const report = rows.map((r) => ({
  ...r,
  gflops: r.imagesPerSecond * GFLOP_PER_IMAGE,
  ortOverThis: ortAt(r.batch) / r.imagesPerSecond,
}));

if (args.json) {
  process.stdout.write(
    `${JSON.stringify({ machine: machineInfo(), threads, iters, rows: report }, null, 2)}\n`,
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
