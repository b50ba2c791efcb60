/**
 * Where a training step's time goes, per kernel, from ONNX Runtime's own profiler: the step's
 * graph is run with profiling on, and kernel times are summed per (scope, op type) — the scope is
 * the vggkit op a node came from (`conv3x3`, `conv3x3.grad`, `adam`, …), see GraphBuilder — and
 * per category: GEMM, im2col gathers, transposes, copies/reshapes, masks, optimizer, other.
 *
 *   node --import tsx bench/profile-step.ts [--blocks 1] [--image 224] [--batch 16] [--steps 5]
 *
 * `--blocks k` trains the top k conv blocks plus the seed head (k = 1: block5 + head, the
 * bench/train.ts step); the input is the frozen prefix's output for a `--image`-sized image.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { TrainStep } from '../src/engine/train-step.js';
import { planTraining, type TrainPart } from '../src/engine/train-plan.js';
import { KERAS_ADAM } from '../src/graph/optimizers/index.js';
import { ARCHITECTURES } from '../src/model/architectures.js';
import { initWeights } from '../src/model/init.js';
import { Random } from '../src/util/random.js';
import { describeMachine } from './machine.js';

const { values: args } = parseArgs({
  options: {
    blocks: { type: 'string', default: '1' },
    image: { type: 'string', default: '224' },
    batch: { type: 'string', default: '16' },
    steps: { type: 'string', default: '5' },
    top: { type: 'string', default: '25' },
  },
});
const blocks = Number(args.blocks);
const batch = Number(args.batch);
const steps = Number(args.steps);
const widths = ARCHITECTURES.vgg16;
const side = Number(args.image) / 2 ** (5 - blocks);
const channels = blocks === 5 ? 3 : (widths[4 - blocks]?.at(-1) as number);
const CLASSES = 5;

const part: TrainPart = {
  arch: 'vgg16',
  trainableBlocks: blocks,
  inputShape: [side, side, channels],
  head: {
    kind: 'flatten',
    dense: 256,
    dropout: 0.5,
    classes: CLASSES,
    loss: 'categorical_crossentropy',
  },
};

interface ProfileEvent {
  readonly cat: string;
  readonly name: string;
  readonly dur: number;
  readonly args?: { readonly op_name?: string };
}

/** The category a kernel's time is charged to. */
function category(scope: string, op: string): string {
  if (/^(adam|adamw|sgd)(\/|$)/.test(scope)) return 'optimizer (Adam/SGD element-wise)';
  if (
    ['Gemm', 'MatMul', 'FusedGemm', 'FusedMatMul', 'Conv', 'ConvTranspose', 'FusedConv'].includes(
      op,
    )
  )
    return 'GEMM / conv';
  if (op === 'Gather' || (op === 'Pad' && scope.startsWith('conv3x3'))) return 'im2col gathers';
  if (op === 'Transpose') return 'transposes';
  if (['Equal', 'Where', 'Greater'].includes(op)) return 'masks (ReLU, max-pool)';
  if (['Concat', 'Slice', 'Identity', 'Reshape', 'Expand', 'Pad', 'Cast', 'Split'].includes(op))
    return 'copies and reshapes';
  return 'other';
}

/**
 * The vggkit scope of an ORT node name: the path before the `<OpType>_<index>` segment vggkit
 * names nodes with. ORT's fusions keep the original name after a prefix (`fused conv3x3/Gemm_3`)
 * or as the first segment of a new one (`dense.grad/MatMul_61/MatmulTransposeFusion`).
 */
function scopeOf(node: string): string {
  const segments = node.replace(/^fused /, '').split('/');
  const at = segments.findIndex((s) => /^[A-Z][A-Za-z]*_\d+$/.test(s));
  return segments.slice(0, at < 0 ? segments.length - 1 : at).join('/');
}

function table(rows: Map<string, number>, total: number, top: number): string {
  return [...rows]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(
      ([k, us]) =>
        `  ${(us / steps / 1000).toFixed(1).padStart(8)} ms  ${((100 * us) / total).toFixed(1).padStart(5)}%  ${k}`,
    )
    .join('\n');
}

const dir = await mkdtemp(join(tmpdir(), 'vggkit-profile-'));
const random = new Random(1);
const ts = await TrainStep.create({
  ...part,
  optimizer: KERAS_ADAM,
  weights: initWeights(planTraining(part).layers, random),
  seed: 2,
  profileFilePrefix: join(dir, 'step'),
});
const x = {
  dims: [batch, ...part.inputShape],
  data: Float32Array.from({ length: batch * side * side * channels }, () => random.uniform(0, 2)),
};
const targets = {
  dims: [batch, CLASSES],
  data: Float32Array.from({ length: batch * CLASSES }, (_, i) => (i % CLASSES === 0 ? 1 : 0)),
};
const lrs = Object.fromEntries(ts.groups.map((g) => [g, 1e-4]));
// Warm-up runs (first-run allocations) are profiled too; only the last `steps` runs are counted.
for (let i = 0; i < 2 + steps; i++) await ts.step(x, targets, lrs);
ts.endProfiling();
await ts.release();
const file = (await readdir(dir)).find((f) => f.endsWith('.json')) as string;
const events = JSON.parse(await readFile(join(dir, file), 'utf8')) as ProfileEvent[];
await rm(dir, { recursive: true, force: true });

const runs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run');
const counted = runs.slice(-steps);
const from = (counted[0] as unknown as { ts: number }).ts;
const kernels = events.filter(
  (e) =>
    e.cat === 'Node' &&
    e.name.endsWith('_kernel_time') &&
    (e as unknown as { ts: number }).ts >= from,
);
const byScopeOp = new Map<string, number>();
const byCategory = new Map<string, number>();
let kernelTotal = 0;
for (const e of kernels) {
  const scope = scopeOf(e.name.slice(0, -'_kernel_time'.length));
  const op = e.args?.op_name ?? '?';
  const key = `${scope || '(graph)'} ${op}`;
  byScopeOp.set(key, (byScopeOp.get(key) ?? 0) + e.dur);
  const c = category(scope, op);
  byCategory.set(c, (byCategory.get(c) ?? 0) + e.dur);
  kernelTotal += e.dur;
}
const runTotal = counted.reduce((s, e) => s + e.dur, 0);
console.log(describeMachine());
console.log(
  `vgg16, top ${blocks} block(s) + head trainable, input [${part.inputShape.join(', ')}], batch ${batch}, Adam; ${steps} profiled steps`,
);
console.log(
  `step: ${(runTotal / steps / 1000).toFixed(1)} ms (model_run), kernels ${(kernelTotal / steps / 1000).toFixed(1)} ms`,
);
console.log('by category:');
console.log(table(byCategory, kernelTotal, 20));
console.log(`by scope and op (top ${args.top}):`);
console.log(table(byScopeOp, kernelTotal, Number(args.top)));
