/**
 * Fine-tuning step benchmark (issue 3, bench (b)): block5 + Flatten-Dense256-Dropout-Dense head
 * trainable, batch 16, 14x14x512 cached block4_pool features, Adam update included. Prints
 * images/s and GFLOP/s for vggkit's training graph and, in the same run, PyTorch's figure for the
 * same step (default malloc, then the huge-page malloc tuning) when /usr/bin/python3 has torch.
 *
 *   node --import tsx bench/train.ts [steps]
 *
 * FLOPs counted: per image, each of block5's three convs does 196 x 4608 x 512 multiply-adds
 * forward and the same again for its weight gradient; conv2 and conv3 also for their input
 * gradient (conv1's input is frozen features: no input gradient) — 8 conv GEMMs of 462.4 M
 * multiply-adds — plus the dense layers' 3 x (25088 x 256 + 256 x 5). The update itself is not
 * counted, only timed.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { TrainStep } from '../src/engine/train-step.js';
import { planTraining } from '../src/engine/train-plan.js';
import { initWeights } from '../src/model/init.js';
import { Random } from '../src/util/random.js';

const STEPS = Number(process.argv[2] ?? 5);
const BATCH = 16;
const CLASSES = 5;
const CONV_MACS = 196 * 4608 * 512;
const FLOP_PER_IMAGE = 2 * (8 * CONV_MACS + 3 * (25088 * 256 + 256 * CLASSES));

const part = {
  arch: 'vgg16' as const,
  trainableBlocks: 1,
  inputShape: [14, 14, 512] as const,
  head: { kind: 'flatten' as const, dense: 256, dropout: 0.5, classes: CLASSES, loss: 'categorical_crossentropy' as const },
};

async function vggkit(): Promise<number> {
  const random = new Random(1);
  const ts = await TrainStep.create({
    ...part,
    optimizer: { name: 'adam', beta1: 0.9, beta2: 0.999, epsilon: 1e-7, momentum: 0, nesterov: false, weightDecay: 0, clipNorm: 0 },
    weights: initWeights(planTraining(part).layers, random),
    seed: 2,
  });
  const x = { dims: [BATCH, 14, 14, 512], data: Float32Array.from({ length: BATCH * 14 * 14 * 512 }, () => random.uniform(0, 2)) };
  const targets = { dims: [BATCH, CLASSES], data: Float32Array.from({ length: BATCH * CLASSES }, (_, i) => (i % CLASSES === Math.floor(i / CLASSES) % CLASSES ? 1 : 0)) };
  const lrs = { block5: 1e-5, head: 1e-4 };
  for (let i = 0; i < 2; i++) await ts.step(x, targets, lrs);
  const start = performance.now();
  for (let i = 0; i < STEPS; i++) await ts.step(x, targets, lrs);
  const seconds = (performance.now() - start) / 1000;
  await ts.release();
  return (BATCH * STEPS) / seconds;
}

async function pytorch(env: NodeJS.ProcessEnv): Promise<number | undefined> {
  const script = fileURLToPath(new URL('train_step_torch.py', import.meta.url));
  try {
    const { stdout } = await promisify(execFile)('/usr/bin/python3', [script, String(STEPS)], { env: { ...process.env, ...env } });
    return (JSON.parse(stdout.trim().split('\n').at(-1) as string) as { imagesPerSecond: number }).imagesPerSecond;
  } catch (error) {
    console.log(`PyTorch unavailable: ${(error as Error).message.split('\n')[0]}`);
    return undefined;
  }
}

function line(name: string, ips: number | undefined): void {
  if (ips === undefined) return;
  console.log(`${name.padEnd(34)} ${ips.toFixed(1).padStart(6)} img/s  ${((ips * FLOP_PER_IMAGE) / 1e9).toFixed(0).padStart(4)} GFLOP/s`);
}

const ours = await vggkit();
line('vggkit (ORT, im2col GEMM)', ours);
const torchDefault = await pytorch({});
line('PyTorch 1.13 default', torchDefault);
line('PyTorch 1.13 huge-page malloc', await pytorch({ GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967296' }));
if (torchDefault !== undefined) console.log(`vggkit / PyTorch default: ${(ours / torchDefault).toFixed(2)}x (target >= 0.9x)`);
