import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { readNpy } from '../../src/data/npy.js';
import { Session } from '../../src/engine/session.js';
import {
  buildTrainGraph,
  lrInput,
  slotInput,
  updatedOutput,
} from '../../src/engine/train-graph.js';
import { planTraining, type TrainPlan } from '../../src/engine/train-plan.js';
import { TrainStep } from '../../src/engine/train-step.js';
import { CONV_LOWERINGS, fixedConvLowerings } from '../../src/engine/conv-lowering.js';
import { KERAS_ADAM } from '../../src/graph/optimizers/index.js';
import type { LayerSpec } from '../../src/model/architectures.js';
import { initWeights } from '../../src/model/init.js';
import { VggkitError } from '../../src/util/errors.js';
import { Random } from '../../src/util/random.js';
import type { Float32Tensor } from '../../src/util/tensor.js';
import { assertClose } from '../helpers/finite-difference.js';

const FIXTURE = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'fixtures', 'train-step');

async function npy(name: string): Promise<Float32Tensor> {
  const a = await readNpy(join(FIXTURE, `${name.replace('/', '__')}.npy`));
  return { dims: a.dims, data: Float32Array.from(a.data) };
}

/** The fixture's network: two small convs named like block5's, pool, Keras head. */
function fixturePlan(): TrainPlan {
  const conv = (name: string, cin: number): LayerSpec => ({
    name,
    kind: 'conv',
    outputShape: [6, 6, 4],
    kernelShape: [3, 3, cin, 4],
    biasShape: [4],
    activation: 'relu',
    block: 5,
  });
  const layers: LayerSpec[] = [
    conv('block5_conv1', 3),
    conv('block5_conv2', 4),
    { name: 'block5_pool', kind: 'pool', outputShape: [3, 3, 4], block: 5 },
    { name: 'flatten', kind: 'flatten', outputShape: [36] },
    {
      name: 'dense',
      kind: 'dense',
      outputShape: [8],
      kernelShape: [36, 8],
      biasShape: [8],
      activation: 'relu',
    },
    { name: 'dropout', kind: 'dropout', outputShape: [8] },
    {
      name: 'dense_1',
      kind: 'dense',
      outputShape: [3],
      kernelShape: [8, 3],
      biasShape: [3],
      activation: 'softmax',
    },
  ];
  const params = layers.flatMap((l) =>
    l.kernelShape === undefined
      ? []
      : [
          {
            key: `${l.name}/kernel`,
            dims: l.kernelShape,
            group: l.block === undefined ? 'head' : 'block5',
          },
          {
            key: `${l.name}/bias`,
            dims: l.biasShape as number[],
            group: l.block === undefined ? 'head' : 'block5',
          },
        ],
  );
  return {
    part: {
      arch: 'vgg16',
      trainableBlocks: 1,
      inputShape: [6, 6, 3],
      head: {
        kind: 'flatten',
        dense: 8,
        dropout: 0.5,
        classes: 3,
        loss: 'categorical_crossentropy',
        labelSmoothing: 0.1,
      },
    },
    layers,
    params,
    groups: ['block5', 'head'],
  };
}

interface Meta {
  losses: number[];
  lrs: Record<string, number>;
  params: string[];
}

for (const lowering of CONV_LOWERINGS) {
  test(`one training step (conv block + pool + flatten + dense/dropout/dense + CE + Keras Adam), convs lowered by ${lowering}, matches the PyTorch fixture`, async () => {
    const meta = JSON.parse(await readFile(join(FIXTURE, 'fixture.json'), 'utf8')) as Meta;
    const plan = fixturePlan();
    // Batch 1 as the planned size: the ort lowering then takes its weight gradient in one-row strips.
    const convs = fixedConvLowerings(plan.layers, plan.part.inputShape, lowering, 1);
    assert.deepEqual(plan.params.map((p) => p.key).sort(), [...meta.params].sort());
    const data = { x: await npy('x'), targets: await npy('targets'), mask: await npy('mask') };

    // Gradients: SGD with lr 1 and no momentum makes the update p - g, so g = p - p'.
    const sgd = await Session.create(buildTrainGraph(plan, { ...KERAS_ADAM, name: 'sgd' }, convs), {
      threads: 1,
    });
    const feeds: Record<string, Float32Tensor> = {
      ...data,
      step: { dims: [], data: new Float32Array(1) },
    };
    for (const group of plan.groups)
      feeds[lrInput(group)] = { dims: [], data: new Float32Array([1]) };
    for (const key of meta.params) feeds[key] = await npy(`init.${key}`);
    const sgdOut = await sgd.run(feeds);
    await sgd.release();
    assertClose(sgdOut.loss!.data, [meta.losses[0]!], { atol: 1e-6, rtol: 1e-5 }, 'loss');
    for (const key of meta.params) {
      const init = feeds[key]!.data;
      const grad = init.map((p, i) => p - sgdOut[updatedOutput(key)]!.data[i]!);
      assertClose(
        grad,
        (await npy(`grad.${key}`)).data,
        { atol: 1e-6, rtol: 1e-4 },
        `gradient of ${key}`,
      );
    }

    // Two Adam steps with per-group learning rates, state fed back between them. Winograd's
    // transforms do not keep the gradient's structural zeros (taps that only ever meet padding)
    // exactly zero but at float32 rounding, ~1e-8; Adam divides by sqrt(v) + 1e-7, so such an
    // element moves by up to lr * 1e-8 / 1e-7 per step where float64 PyTorch leaves it alone.
    const adamTolerance =
      lowering === 'winograd' ? { atol: 2e-5, rtol: 1e-5 } : { atol: 1e-6, rtol: 1e-5 };
    const adam = await Session.create(buildTrainGraph(plan, KERAS_ADAM, convs), { threads: 1 });
    for (const group of plan.groups)
      feeds[lrInput(group)] = { dims: [], data: new Float32Array([meta.lrs[group]!]) };
    for (const key of meta.params)
      for (const slot of ['m', 'v'])
        feeds[slotInput(slot, key)] = {
          dims: feeds[key]!.dims,
          data: new Float32Array(feeds[key]!.data.length),
        };
    for (const step of [1, 2]) {
      const out = await adam.run(feeds);
      assertClose(
        out.loss!.data,
        [meta.losses[step - 1]!],
        { atol: 1e-6, rtol: 1e-5 },
        `loss at step ${step}`,
      );
      for (const name of Object.keys(feeds).filter((n) => out[updatedOutput(n)] !== undefined))
        feeds[name] = out[updatedOutput(name)]!;
      for (const key of meta.params)
        assertClose(
          feeds[key]!.data,
          (await npy(`step${step}.${key}`)).data,
          adamTolerance,
          `${key} after step ${step}`,
        );
    }
    assert.equal(feeds.step!.data[0], 2);
    await adam.release();
  });
}

const HEAD_ONLY = {
  arch: 'vgg16' as const,
  trainableBlocks: 0,
  inputShape: [2, 2, 512] as const,
  head: {
    kind: 'flatten' as const,
    dense: 6,
    dropout: 0.5,
    classes: 3,
    loss: 'categorical_crossentropy' as const,
  },
  optimizer: KERAS_ADAM,
  seed: 5,
  threads: 1,
};

function batch(n: number, seed: number): { x: Float32Tensor; targets: Float32Tensor } {
  const r = new Random(seed);
  const x = new Float32Array(n * 2 * 2 * 512);
  const targets = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) {
    const label = i % 3;
    targets[i * 3 + label] = 1;
    // Class-dependent features so the head can learn them.
    for (let j = 0; j < 2048; j++) x[i * 2048 + j] = r.uniform(0, 1) + (j % 3 === label ? 1 : 0);
  }
  return { x: { dims: [n, 2, 2, 512], data: x }, targets: { dims: [n, 3], data: targets } };
}

function headWeights(seed: number) {
  return initWeights(planTraining(HEAD_ONLY).layers, new Random(seed));
}

test('TrainStep: the loss falls on a learnable batch, evaluate is dropout-free and consistent with its probabilities', async () => {
  const ts = await TrainStep.create({ ...HEAD_ONLY, weights: headWeights(1) });
  assert.deepEqual(ts.groups, ['head']);
  const { x, targets } = batch(6, 2);
  const before = await ts.evaluate(x, targets);
  for (let i = 0; i < 30; i++) await ts.step(x, targets, { head: 1e-3 });
  const after = await ts.evaluate(x, targets);
  assert.ok(after.loss < before.loss * 0.5, `loss ${before.loss} -> ${after.loss}`);
  let ce = 0;
  let right = 0;
  for (let i = 0; i < 6; i++) {
    const row = after.probabilities.data.slice(i * 3, i * 3 + 3);
    assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-5);
    ce -= Math.log(row[i % 3]!);
    if (row.indexOf(Math.max(...row)) === i % 3) right++;
  }
  assert.equal(after.correct, right);
  assert.ok(Math.abs(ce / 6 - after.loss) < 1e-5);
  // Evaluation has no dropout: it is deterministic.
  assert.equal((await ts.evaluate(x, targets)).loss, after.loss);
  await ts.release();
});

test('TrainStep: parameters and optimizer state round-trip so a resumed run continues bit-identically', async () => {
  const { x, targets } = batch(5, 3);
  const lrs = { head: 1e-3 };
  const a = await TrainStep.create({ ...HEAD_ONLY, weights: headWeights(4) });
  await a.step(x, targets, lrs);
  await a.step(x, targets, lrs);
  const savedParams = a.getParameters();
  const savedState = a.getOptimizerState();
  assert.equal(savedState.step, 2);
  // The views lend the same values without a copy (a checkpoint is streamed from them).
  const viewed = a.viewOptimizerState();
  assert.equal(viewed.step, 2);
  for (const [name, t] of savedState.slots)
    assert.deepEqual(viewed.slots.get(name)!.data, t.data, name);
  const viewedParams = a.viewParameters();
  for (const [key, t] of savedParams) assert.deepEqual(viewedParams.get(key)!.data, t.data, key);
  assert.deepEqual([...savedState.slots.keys()].sort(), [
    'm:dense/bias',
    'm:dense/kernel',
    'm:dense_1/bias',
    'm:dense_1/kernel',
    'v:dense/bias',
    'v:dense/kernel',
    'v:dense_1/bias',
    'v:dense_1/kernel',
  ]);
  const r1 = await a.step(x, targets, lrs);
  const r2 = await a.step(x, targets, lrs);

  const b = await TrainStep.create({ ...HEAD_ONLY, seed: 999, weights: headWeights(77) });
  b.setParameters(savedParams);
  b.setOptimizerState(savedState);
  assert.deepEqual(await b.step(x, targets, lrs), r1);
  assert.deepEqual(await b.step(x, targets, lrs), r2);
  for (const [key, t] of a.getParameters())
    assert.deepEqual(b.getParameters().get(key)!.data, t.data, key);
  // getParameters returns copies: the saved snapshot did not move with later steps.
  assert.notDeepEqual(
    savedParams.get('dense/kernel')!.data,
    a.getParameters().get('dense/kernel')!.data,
  );
  await a.release();
  await b.release();
});

test('TrainStep rejects wrong shapes and learning-rate groups with what was expected', async () => {
  const ts = await TrainStep.create({ ...HEAD_ONLY, weights: headWeights(1) });
  const { x, targets } = batch(2, 1);
  await assert.rejects(
    ts.step(x, targets, { head: 1e-3, block5: 1e-4 }),
    /expected head, received "head, block5"/,
  );
  await assert.rejects(ts.step(x, targets, {}), /learning rate of group head/);
  await assert.rejects(
    ts.step({ dims: [2, 2, 2, 3], data: new Float32Array(24) }, targets, { head: 1 }),
    /x: expected shape \[n, 2, 2, 512\] \(NHWC\), received \[2, 2, 2, 3\]/,
  );
  const missing = new Map(headWeights(1));
  missing.delete('dense_1/bias');
  assert.throws(
    () => ts.setParameters(missing),
    (e: unknown) =>
      e instanceof VggkitError && /expected dense_1\/bias \[3\], found none/.test(e.message),
  );
  await ts.release();
});

test('planTraining: Keras names, groups deepest first, and the prefix output it expects', () => {
  const plan = planTraining({ ...HEAD_ONLY, trainableBlocks: 2, inputShape: [28, 28, 256] });
  assert.deepEqual(plan.groups, ['block4', 'block5', 'head']);
  assert.deepEqual(
    plan.layers.map((l) => l.name),
    [
      'block4_conv1',
      'block4_conv2',
      'block4_conv3',
      'block4_pool',
      'block5_conv1',
      'block5_conv2',
      'block5_conv3',
      'block5_pool',
      'flatten',
      'dense',
      'dropout',
      'dense_1',
    ],
  );
  assert.deepEqual(plan.params.find((p) => p.key === 'dense/kernel')?.dims, [7 * 7 * 512, 6]);
  assert.throws(
    () => planTraining({ ...HEAD_ONLY, trainableBlocks: 1, inputShape: [14, 14, 256] }),
    /expected \[H, W, 512\] \(the output of block4_pool\), received "\[14, 14, 256\]"/,
  );
  assert.throws(() => planTraining({ ...HEAD_ONLY, trainableBlocks: 6 }), /integer from 0 to 5/);
});

test('TrainStep updates the optimizer state in place and still matches a run with separate output buffers', async () => {
  const part = { ...HEAD_ONLY, trainableBlocks: 1, head: { ...HEAD_ONLY.head, dropout: 0 } };
  const plan = planTraining(part);
  const weights = initWeights(plan.layers, new Random(8));
  const { x, targets } = batch(3, 9);
  const lrs = { block5: 1e-3, head: 1e-3 };
  const ts = await TrainStep.create({ ...part, weights, convLowering: 'winograd', batchSize: 3 });
  for (let i = 0; i < 3; i++) await ts.step(x, targets, lrs);

  // The same three steps fed and written through distinct buffers, state carried by hand.
  const convs = fixedConvLowerings(plan.layers, part.inputShape, 'winograd', 3);
  const session = await Session.create(buildTrainGraph(plan, KERAS_ADAM, convs), { threads: 1 });
  const feeds: Record<string, Float32Tensor> = {
    x,
    targets,
    step: { dims: [], data: new Float32Array(1) },
    [lrInput('block5')]: { dims: [], data: new Float32Array([lrs.block5]) },
    [lrInput('head')]: { dims: [], data: new Float32Array([lrs.head]) },
  };
  for (const p of plan.params) {
    feeds[p.key] = weights.get(p.key)!;
    for (const slot of ['m', 'v'])
      feeds[slotInput(slot, p.key)] = {
        dims: p.dims,
        data: new Float32Array(p.dims.reduce((a, b) => a * b, 1)),
      };
  }
  for (let i = 0; i < 3; i++) {
    const out = await session.run(feeds);
    for (const name of Object.keys(feeds).filter((n) => out[updatedOutput(n)] !== undefined))
      feeds[name] = out[updatedOutput(name)]!;
  }
  await session.release();
  const after = ts.getParameters();
  const state = ts.getOptimizerState();
  for (const p of plan.params) {
    assert.deepEqual(after.get(p.key)!.data, feeds[p.key]!.data, p.key);
    for (const slot of ['m', 'v'])
      assert.deepEqual(
        state.slots.get(slotInput(slot, p.key))!.data,
        feeds[slotInput(slot, p.key)]!.data,
        `${slot}:${p.key}`,
      );
  }
  assert.equal(state.step, 3);
  await ts.release();
});
