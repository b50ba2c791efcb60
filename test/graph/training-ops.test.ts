import { test } from 'node:test';
import assert from 'node:assert/strict';
import onnxProto from 'onnx-proto';
import { GraphBuilder, BATCH, type OpDef, type Sym } from '../../src/graph/ir.js';
import { gradients } from '../../src/graph/autodiff.js';
import { conv3x3 } from '../../src/graph/ops/conv3x3.js';
import { conv3x3Winograd } from '../../src/graph/ops/conv3x3-winograd.js';
import { conv3x3Nchw } from '../../src/graph/ops/conv3x3-nchw.js';
import { maxPool2x2, maxPool2x2Nchw } from '../../src/graph/ops/max-pool.js';
import { toLayout } from '../../src/graph/ops/layout.js';
import { flatten } from '../../src/graph/ops/flatten.js';
import { globalAvgPool, globalMaxPool } from '../../src/graph/ops/global-pool.js';
import { dropout, dropoutMask } from '../../src/graph/ops/dropout.js';
import { softmaxCrossEntropy, sigmoidBinaryCrossEntropy } from '../../src/graph/ops/losses.js';
import { relu } from '../../src/graph/ops/elementwise.js';
import { Session } from '../../src/engine/session.js';
import { Random } from '../../src/util/random.js';
import { checkOp } from '../helpers/op-check.js';

const at = (a: Float64Array, i: number): number => a[i] as number;

/** NHWC conv, HWIO kernel, zero padding 1: the textbook loop. */
function refConv(
  x: Float64Array,
  k: Float64Array,
  b: Float64Array,
  n: number,
  h: number,
  w: number,
  ci: number,
  co: number,
): Float64Array {
  const y = new Float64Array(n * h * w * co);
  for (let s = 0; s < n; s++)
    for (let i = 0; i < h; i++)
      for (let j = 0; j < w; j++)
        for (let o = 0; o < co; o++) {
          let acc = at(b, o);
          for (let di = 0; di < 3; di++)
            for (let dj = 0; dj < 3; dj++) {
              const ii = i + di - 1;
              const jj = j + dj - 1;
              if (ii < 0 || ii >= h || jj < 0 || jj >= w) continue;
              for (let c = 0; c < ci; c++)
                acc +=
                  at(x, ((s * h + ii) * w + jj) * ci + c) *
                  at(k, ((di * 3 + dj) * ci + c) * co + o);
            }
          y[((s * h + i) * w + j) * co + o] = acc;
        }
  return y;
}

test('conv3x3 forward and gradients (input, kernel, bias) match finite differences', async () => {
  const [n, h, w, ci, co] = [2, 4, 5, 3, 4];
  await checkOp({
    inputs: [
      { name: 'x', dims: [n, h, w, ci], batched: true },
      { name: 'k', dims: [3, 3, ci, co] },
      { name: 'b', dims: [co] },
    ],
    build: (g, [x, k, b]) => g.apply(conv3x3, [x!, k!, b!], undefined)[0]!,
    outputDims: [n, h, w, co],
    reference: ([x, k, b]) => refConv(x!, k!, b!, n, h, w, ci, co),
  });
});

for (const [h, w, keepTiles, stripTileRows] of [
  [4, 6, true, undefined],
  [5, 3, false, undefined],
  [1, 2, true, undefined],
  [8, 4, false, 2],
  [7, 5, false, 3],
  [6, 3, false, 1],
] as const) {
  const strips = stripTileRows === undefined ? 'one strip' : `strips of ${stripTileRows} tile rows`;
  test(`conv3x3Winograd on ${h}x${w} (${keepTiles ? 'tiles kept' : 'tiles recomputed'}, ${strips}) matches finite differences`, async () => {
    const [n, ci, co] = [2, 3, 4];
    await checkOp({
      inputs: [
        { name: 'x', dims: [n, h, w, ci], batched: true },
        { name: 'k', dims: [3, 3, ci, co] },
        { name: 'b', dims: [co] },
      ],
      build: (g, [x, k, b]) =>
        g.apply(conv3x3Winograd, [x!, k!, b!], { keepTiles, stripTileRows })[0]!,
      outputDims: [n, h, w, co],
      reference: ([x, k, b]) => refConv(x!, k!, b!, n, h, w, ci, co),
    });
  });
}

test('conv3x3Winograd refuses to keep tiles across strips, naming the tile rows', () => {
  const g = new GraphBuilder();
  const x = g.input('x', [BATCH, 6, 6, 2]);
  const k = g.input('k', [3, 3, 2, 2]);
  const b = g.input('b', [2]);
  assert.throws(
    () => g.apply(conv3x3Winograd, [x, k, b], { keepTiles: true, stripTileRows: 1 }),
    /keeps tiles only in one strip; 3 tile rows in strips of 1/,
  );
});

/** NCHW <-> NHWC of a float64 buffer. */
function permute(
  a: Float64Array,
  n: number,
  c: number,
  h: number,
  w: number,
  toNchw: boolean,
): Float64Array {
  const out = new Float64Array(a.length);
  for (let s = 0; s < n; s++)
    for (let ch = 0; ch < c; ch++)
      for (let i = 0; i < h; i++)
        for (let j = 0; j < w; j++) {
          const nchw = ((s * c + ch) * h + i) * w + j;
          const nhwc = ((s * h + i) * w + j) * c + ch;
          if (toNchw) out[nchw] = at(a, nhwc);
          else out[nhwc] = at(a, nchw);
        }
  return out;
}

for (const [h, w, stripRows] of [
  [4, 5, 1],
  [5, 3, 2],
  [3, 4, 99],
] as const) {
  test(`conv3x3Nchw (ORT Conv) on ${h}x${w}, weight gradient in strips of ${stripRows} row(s), matches finite differences`, async () => {
    const [n, ci, co] = [2, 3, 4];
    await checkOp({
      inputs: [
        { name: 'x', dims: [n, ci, h, w], batched: true },
        { name: 'k', dims: [3, 3, ci, co] },
        { name: 'b', dims: [co] },
      ],
      build: (g, [x, k, b]) => g.apply(conv3x3Nchw, [x!, k!, b!], { stripRows })[0]!,
      outputDims: [n, co, h, w],
      reference: ([x, k, b]) =>
        permute(
          refConv(permute(x!, n, ci, h, w, false), k!, b!, n, h, w, ci, co),
          n,
          co,
          h,
          w,
          true,
        ),
    });
  });
}

test('conv3x3 over the graph input emits no input gradient (its im2col of dY and GEMM are skipped)', () => {
  const g = new GraphBuilder();
  const x = g.input('x', [BATCH, 4, 4, 2]);
  const k = g.input('k', [3, 3, 2, 2]);
  const b = g.input('b', [2]);
  const [y] = g.apply(conv3x3, [x, k, b], undefined);
  const before = g.onnx.nodeCount;
  gradients(g, y!, [k, b], g.input('seed', [BATCH, 4, 4, 2]));
  // weight gradient: reshape dY, Gemm, reshape, ReduceSum — no kernel flip, im2col of dY or second Gemm.
  assert.ok(g.onnx.nodeCount - before < 8, `backward emitted ${g.onnx.nodeCount - before} nodes`);
});

function refMaxPool(x: Float64Array, n: number, h: number, w: number, c: number): Float64Array {
  const oh = Math.floor(h / 2);
  const ow = Math.floor(w / 2);
  const y = new Float64Array(n * oh * ow * c);
  for (let s = 0; s < n; s++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++)
        for (let ch = 0; ch < c; ch++) {
          let m = -Infinity;
          for (let di = 0; di < 2; di++)
            for (let dj = 0; dj < 2; dj++)
              m = Math.max(m, at(x, ((s * h + 2 * i + di) * w + 2 * j + dj) * c + ch));
          y[((s * oh + i) * ow + j) * c + ch] = m;
        }
  return y;
}

for (const [h, w] of [
  [4, 6],
  [5, 3],
] as const) {
  test(`maxPool2x2 on ${h}x${w} (odd sizes drop the last row/column) matches finite differences`, async () => {
    const [n, c] = [2, 3];
    await checkOp({
      inputs: [{ name: 'x', dims: [n, h, w, c], batched: true }],
      build: (g, [x]) => g.apply(maxPool2x2, [x!], undefined)[0]!,
      outputDims: [n, Math.floor(h / 2), Math.floor(w / 2), c],
      reference: ([x]) => refMaxPool(x!, n, h, w, c),
    });
  });
}

for (const [h, w] of [
  [4, 6],
  [5, 3],
] as const) {
  test(`maxPool2x2Nchw (ORT MaxPool) on ${h}x${w} matches finite differences`, async () => {
    const [n, c] = [2, 3];
    await checkOp({
      inputs: [{ name: 'x', dims: [n, c, h, w], batched: true }],
      build: (g, [x]) => g.apply(maxPool2x2Nchw, [x!], undefined)[0]!,
      outputDims: [n, c, Math.floor(h / 2), Math.floor(w / 2)],
      reference: ([x]) =>
        permute(
          refMaxPool(permute(x!, n, c, h, w, false), n, h, w, c),
          n,
          c,
          Math.floor(h / 2),
          Math.floor(w / 2),
          true,
        ),
    });
  });
}

test('toLayout NHWC -> NCHW and back: a transpose whose gradient is the inverse transpose', async () => {
  const [n, h, w, c] = [2, 3, 2, 4];
  await checkOp({
    inputs: [{ name: 'x', dims: [n, h, w, c], batched: true }],
    build: (g, [x]) => g.apply(toLayout, [x!], { to: 'nchw' })[0]!,
    outputDims: [n, c, h, w],
    reference: ([x]) => permute(x!, n, c, h, w, true),
  });
});

/** Runs op(x) with seed dy and returns dx. */
async function gradientOf(
  op: OpDef<void>,
  xDims: number[],
  x: number[],
  yDims: number[],
  dy: number[],
): Promise<Float32Array> {
  const g = new GraphBuilder();
  const xs = g.input('x', [BATCH, ...xDims.slice(1)]);
  const [y] = g.apply(op, [xs], undefined);
  const [dx] = gradients(g, y!, [xs], g.input('dy', [BATCH, ...yDims.slice(1)]));
  g.output(dx!, 'dx');
  const session = await Session.create(g.serialize(), { threads: 1 });
  const result = await session.run({
    x: { dims: xDims, data: Float32Array.from(x) },
    dy: { dims: yDims, data: Float32Array.from(dy) },
  });
  await session.release();
  return result.dx!.data;
}

test('maxPool2x2 tie rule: the window gradient goes to every input equal to the maximum', async () => {
  // One 2x2 window, one channel: two tied maxima (3), one smaller value, one equal-but-negative.
  const dx = await gradientOf(maxPool2x2, [1, 2, 2, 1], [3, 1, 3, -3], [1, 1, 1, 1], [5]);
  assert.deepEqual([...dx], [5, 0, 5, 0]);
});

test('maxPool2x2Nchw has the same tie rule: every input equal to the maximum gets the gradient', async () => {
  // Channel 0: tied maxima 3 and 3; channel 1: all equal (four-way tie), a ReLU's dead window.
  const dx = await gradientOf(
    maxPool2x2Nchw,
    [1, 2, 2, 2],
    [3, 1, 3, -3, 0, 0, 0, 0],
    [1, 2, 1, 1],
    [5, 2],
  );
  assert.deepEqual([...dx], [5, 0, 5, 0, 2, 2, 2, 2]);
});

test('globalMaxPool tie rule matches maxPool2x2: every maximum receives the gradient', async () => {
  const dx = await gradientOf(globalMaxPool, [1, 2, 2, 1], [2, 2, 0, 1], [1, 1], [4]);
  assert.deepEqual([...dx], [4, 4, 0, 0]);
});

test('relu kink: the gradient at exactly 0 is 0, at positive inputs it passes', async () => {
  const dx = await gradientOf(relu, [1, 4], [0, 2, -1, 0], [1, 4], [7, 7, 7, 7]);
  assert.deepEqual([...dx], [0, 7, 0, 0]);
});

test('flatten is Keras order (h, w, c) and its gradient reshapes back', async () => {
  const [n, h, w, c] = [2, 2, 3, 2];
  await checkOp({
    inputs: [{ name: 'x', dims: [n, h, w, c], batched: true }],
    build: (g, [x]) => g.apply(flatten, [x!], undefined)[0]!,
    outputDims: [n, h * w * c],
    // NHWC row-major is already (n, h, w, c): flattening per sample is the identity on the buffer.
    reference: ([x]) => Float64Array.from(x!),
  });
});

test('globalAvgPool and globalMaxPool match finite differences', async () => {
  const [n, h, w, c] = [2, 3, 2, 4];
  const reduce = (x: Float64Array, pick: (vs: number[]) => number): Float64Array => {
    const y = new Float64Array(n * c);
    for (let s = 0; s < n; s++)
      for (let ch = 0; ch < c; ch++) {
        const vs: number[] = [];
        for (let p = 0; p < h * w; p++) vs.push(at(x, (s * h * w + p) * c + ch));
        y[s * c + ch] = pick(vs);
      }
    return y;
  };
  await checkOp({
    inputs: [{ name: 'x', dims: [n, h, w, c], batched: true }],
    build: (g, [x]) => g.apply(globalAvgPool, [x!], undefined)[0]!,
    outputDims: [n, c],
    reference: ([x]) => reduce(x!, (vs) => vs.reduce((a, b) => a + b, 0) / vs.length),
  });
  await checkOp({
    inputs: [{ name: 'x', dims: [n, h, w, c], batched: true }],
    build: (g, [x]) => g.apply(globalMaxPool, [x!], undefined)[0]!,
    outputDims: [n, c],
    reference: ([x]) => reduce(x!, (vs) => Math.max(...vs)),
  });
});

test('dropout multiplies by the fed keep-mask; the mask is seedable and scaled by 1/(1-rate)', async () => {
  const mask = dropoutMask(new Random(3), 12, 0.25);
  assert.deepEqual([...mask], [...dropoutMask(new Random(3), 12, 0.25)]);
  assert.ok([...mask].every((m) => m === 0 || Math.abs(m - 4 / 3) < 1e-6));
  assert.ok(mask.includes(0) && mask.some((m) => m !== 0));
  await checkOp({
    inputs: [
      { name: 'x', dims: [3, 4], batched: true },
      {
        name: 'mask',
        dims: [3, 4],
        batched: true,
        values: Float64Array.from(mask),
        differentiable: false,
      },
    ],
    build: (g, [x, m]) => g.apply(dropout, [x!, m!], undefined)[0]!,
    outputDims: [3, 4],
    reference: ([x, m]) => x!.map((v, i) => v * at(m!, i)),
  });
  assert.throws(
    () => dropoutMask(new Random(1), 4, 1),
    /dropout rate must be in \[0, 1\), received 1/,
  );
});

function refSoftmaxCe(
  z: Float64Array,
  t: Float64Array,
  w: Float64Array | undefined,
  n: number,
  k: number,
  smoothing: number,
): number {
  let total = 0;
  for (let s = 0; s < n; s++) {
    const row = Array.from({ length: k }, (_, j) => at(z, s * k + j));
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0));
    let l = 0;
    let sw = 0;
    for (let j = 0; j < k; j++) {
      const y = at(t, s * k + j) * (1 - smoothing) + smoothing / k;
      l -= y * (at(z, s * k + j) - lse);
      sw += at(t, s * k + j) * (w === undefined ? 1 : at(w, j));
    }
    total += w === undefined ? l : l * sw;
  }
  return total / n;
}

const oneHot = (labels: number[], k: number): Float64Array => {
  const t = new Float64Array(labels.length * k);
  labels.forEach((l, i) => (t[i * k + l] = 1));
  return t;
};

for (const variant of [
  { name: 'one-hot', targets: oneHot([0, 2, 1, 2], 3), smoothing: 0, weights: undefined },
  {
    name: 'one-hot, label smoothing 0.1, class weights',
    targets: oneHot([0, 2, 1, 2], 3),
    smoothing: 0.1,
    weights: Float64Array.from([0.5, 2, 1.5]),
  },
  {
    name: 'soft targets',
    targets: Float64Array.from([0.2, 0.5, 0.3, 1, 0, 0, 0, 0.9, 0.1, 0.3, 0.3, 0.4]),
    smoothing: 0.2,
    weights: undefined,
  },
]) {
  test(`softmaxCrossEntropy (${variant.name}) loss and logits gradient match finite differences`, async () => {
    const [n, k] = [4, 3];
    await checkOp({
      inputs: [
        {
          name: 'z',
          dims: [n, k],
          batched: true,
          values: Float64Array.from({ length: n * k }, (_, i) => Math.sin(i * 1.7) * 3),
        },
        { name: 't', dims: [n, k], batched: true, values: variant.targets, differentiable: false },
        ...(variant.weights === undefined
          ? []
          : [{ name: 'w', dims: [k], values: variant.weights, differentiable: false }]),
      ],
      build: (g, [z, t, w]) =>
        g.apply(softmaxCrossEntropy, w === undefined ? [z!, t!] : [z!, t!, w], {
          labelSmoothing: variant.smoothing,
        })[0]!,
      outputDims: [],
      reference: ([z, t, w]) => Float64Array.of(refSoftmaxCe(z!, t!, w, n, k, variant.smoothing)),
    });
  });
}

test('sigmoidBinaryCrossEntropy (smoothing, class weights, large logits) matches finite differences', async () => {
  const [n, k] = [4, 2];
  const smoothing = 0.1;
  const weights = Float64Array.from([0.7, 3]);
  const z = Float64Array.from([-40, 0.3, 2, -1.5, 35, 0.01, -0.7, 4]);
  const t = Float64Array.from([0, 1, 1, 0, 1, 1, 0, 0]);
  await checkOp({
    inputs: [
      { name: 'z', dims: [n, k], batched: true, values: z },
      { name: 't', dims: [n, k], batched: true, values: t, differentiable: false },
      { name: 'w', dims: [2], values: weights, differentiable: false },
    ],
    build: (g, [zs, ts, ws]) =>
      g.apply(sigmoidBinaryCrossEntropy, [zs!, ts!, ws!], { labelSmoothing: smoothing })[0]!,
    outputDims: [],
    reference: ([zv, tv, wv]) => {
      let total = 0;
      for (let i = 0; i < n * k; i++) {
        const x = at(zv!, i);
        const y = at(tv!, i) * (1 - smoothing) + smoothing / 2;
        // log(p) and log(1-p) written out, computed stably for large |x| through log1p(exp(-|x|)).
        const logP = -(Math.max(-x, 0) + Math.log1p(Math.exp(-Math.abs(x))));
        const log1mP = -(Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))));
        const weight = at(tv!, i) * at(wv!, 1) + (1 - at(tv!, i)) * at(wv!, 0);
        total += -weight * (y * logP + (1 - y) * log1mP);
      }
      return Float64Array.of(total / (n * k));
    },
  });
});

test('the probabilities output of a loss carries no gradient', () => {
  const g = new GraphBuilder();
  const z = g.input('z', [BATCH, 3]);
  const t = g.input('t', [BATCH, 3]);
  const [, p] = g.apply(softmaxCrossEntropy, [z, t], { labelSmoothing: 0 });
  assert.throws(
    () => gradients(g, p as Sym, [z], g.input('s', [BATCH, 3])),
    /gradients flow only from its loss output/,
  );
});

type GraphNode = onnxProto.onnx.INodeProto;

/** The serialized graph's nodes, each output's producer, and a node's ancestors by name. */
function graphOf(g: GraphBuilder): {
  nodes: GraphNode[];
  producer: Map<string, GraphNode>;
  ancestors: (n: GraphNode) => Set<string>;
} {
  const nodes = onnxProto.onnx.ModelProto.decode(g.serialize()).graph!.node!;
  const producer = new Map<string, GraphNode>();
  for (const n of nodes) for (const o of n.output!) producer.set(o, n);
  const ancestors = (n: GraphNode): Set<string> => {
    const seen = new Set<string>();
    const stack = [...n.input!];
    while (stack.length > 0) {
      const p = producer.get(stack.pop()!);
      if (p === undefined || seen.has(p.name!)) continue;
      seen.add(p.name!);
      stack.push(...p.input!);
    }
    return seen;
  };
  return { nodes, producer, ancestors };
}

test('conv3x3Nchw weight-gradient strips run one after another: each strip gathers only after the previous GEMM', () => {
  const g = new GraphBuilder();
  const x = g.input('x', [BATCH, 2, 6, 4]);
  const k = g.input('k', [3, 3, 2, 3]);
  const b = g.input('b', [3]);
  const [y] = g.apply(conv3x3Nchw, [x, k, b], { stripRows: 2 });
  gradients(g, y!, [k], g.input('seed', [BATCH, 3, 6, 4]));
  const { nodes, ancestors } = graphOf(g);
  const gathers = nodes.filter(
    (n) => n.opType === 'Gather' && n.name!.startsWith('conv3x3Nchw.grad/'),
  );
  const gemms = nodes.filter((n) => n.opType === 'Gemm');
  assert.equal(gathers.length, 3);
  assert.equal(gemms.length, 3);
  gathers
    .slice(1)
    .forEach((gather, i) =>
      assert.ok(
        ancestors(gather).has(gemms[i]!.name!),
        `strip ${i + 1} does not wait for GEMM ${i}`,
      ),
    );
});

test('conv3x3Winograd strips run one after another: each strip gathers its tiles only after the previous strip', () => {
  const g = new GraphBuilder();
  const x = g.input('x', [BATCH, 6, 4, 2]);
  const k = g.input('k', [3, 3, 2, 3]);
  const b = g.input('b', [3]);
  const [y] = g.apply(conv3x3Winograd, [x, k, b], { keepTiles: false, stripTileRows: 1 });
  gradients(g, y!, [k], g.input('seed', [BATCH, 6, 4, 3]));
  const { nodes, producer, ancestors } = graphOf(g);
  // Tile gathers read image rows; the batch-size Gathers read a Shape.
  const tileGathers = (prefix: string): GraphNode[] =>
    nodes.filter(
      (n) =>
        n.opType === 'Gather' &&
        n.name!.startsWith(prefix) &&
        producer.get(n.input![0]!)?.opType !== 'Shape',
    );
  const slices = nodes.filter(
    (n) => n.opType === 'Slice' && n.name!.startsWith('conv3x3Winograd.grad/'),
  );
  for (const [pass, gathers] of [
    ['forward', tileGathers('conv3x3Winograd/')],
    ['weight gradient', tileGathers('conv3x3Winograd.grad/')],
  ] as const) {
    assert.equal(gathers.length, 3, pass);
    gathers
      .slice(1)
      .forEach((gather, i) =>
        assert.ok(
          ancestors(gather).has(gathers[i]!.name!),
          `${pass}: strip ${i + 1} does not wait for strip ${i}`,
        ),
      );
  }
  // dY's strips (Slices of the seed) wait too, or every strip's Z could be built before the first product.
  const weightGathers = tileGathers('conv3x3Winograd.grad/');
  const dyStrips = slices.filter((s) => s.input![0] === 'seed');
  assert.equal(dyStrips.length, 3);
  dyStrips
    .slice(1)
    .forEach((slice, i) =>
      assert.ok(
        ancestors(slice).has(weightGathers[i]!.name!),
        `dY strip ${i + 1} does not wait for strip ${i}`,
      ),
    );
});
