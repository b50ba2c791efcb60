/**
 * Whole-network correctness of the conv lowerings on a tiny input: VGG11 with every block
 * trainable at 32x32, one plain SGD step (lr 1, so parameter change = gradient) with the convs
 * lowered all by GEMM, all by Winograd, all by ORT's Conv, and mixed layer by layer (so NHWC and
 * NCHW values meet at conv and pool boundaries and the head) must agree on the loss and on every
 * parameter's gradient. The GEMM lowering itself is pinned to PyTorch by the train-step fixture.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Session } from '../../src/engine/session.js';
import { buildTrainGraph, lrInput, updatedOutput } from '../../src/engine/train-graph.js';
import { planTraining } from '../../src/engine/train-plan.js';
import {
  CONV_LOWERINGS,
  convChoice,
  convSites,
  type ConvChoice,
} from '../../src/engine/conv-lowering.js';
import { PLAIN_SGD } from '../../src/graph/optimizers/index.js';
import { initWeights } from '../../src/model/init.js';
import { Random } from '../../src/util/random.js';
import type { Float32Tensor } from '../../src/util/tensor.js';
import { assertClose } from '../helpers/finite-difference.js';

const part = {
  arch: 'vgg11' as const,
  trainableBlocks: 5,
  inputShape: [32, 32, 3] as const,
  head: {
    kind: 'flatten' as const,
    dense: 8,
    dropout: 0,
    classes: 3,
    loss: 'categorical_crossentropy' as const,
  },
};
const plan = planTraining(part);
const sites = convSites(plan.layers, part.inputShape);
const weights = initWeights(plan.layers, new Random(21));
const n = 2;
const random = new Random(22);
const x = {
  dims: [n, 32, 32, 3],
  data: Float32Array.from({ length: n * 32 * 32 * 3 }, () => random.uniform(-1, 1)),
};
const targets = { dims: [n, 3], data: new Float32Array([0, 1, 0, 0, 0, 1]) };

async function sgdStep(convs: Map<string, ConvChoice>): Promise<Record<string, Float32Tensor>> {
  const session = await Session.create(buildTrainGraph(plan, PLAIN_SGD, convs), { threads: 1 });
  const feeds: Record<string, Float32Tensor> = {
    x,
    targets,
    step: { dims: [], data: new Float32Array(1) },
  };
  for (const group of plan.groups)
    feeds[lrInput(group)] = { dims: [], data: new Float32Array([1]) };
  for (const p of plan.params) feeds[p.key] = weights.get(p.key)!;
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

const uniform = (name: (typeof CONV_LOWERINGS)[number]): Map<string, ConvChoice> =>
  new Map(sites.map((s) => [s.layer, convChoice(name, s, n)]));

test('VGG11 trained whole at 32x32: GEMM, Winograd, ORT Conv and a per-layer mix give the same loss and gradients', async () => {
  const reference = await sgdStep(uniform('gemm'));
  const mixed = new Map(
    sites.map((s, i) => [s.layer, convChoice(CONV_LOWERINGS[(i + 1) % 3]!, s, n)]),
  );
  const variants: [string, Map<string, ConvChoice>][] = [
    ['winograd', uniform('winograd')],
    ['ort', uniform('ort')],
    [`mixed (${[...mixed.values()].map((c) => c.name).join(', ')})`, mixed],
  ];
  for (const [name, convs] of variants) {
    const out = await sgdStep(convs);
    assertClose(out.loss!.data, reference.loss!.data, { atol: 1e-5, rtol: 1e-5 }, `${name}: loss`);
    for (const p of plan.params) {
      const w = weights.get(p.key)!.data;
      const grad = (o: Record<string, Float32Tensor>): number[] =>
        Array.from(w, (v, i) => v - o[updatedOutput(p.key)]!.data[i]!);
      assertClose(
        grad(out),
        grad(reference),
        { atol: 5e-6, rtol: 1e-3 },
        `${name}: gradient of ${p.key}`,
      );
    }
  }
  assert.ok(new Set([...mixed.values()].map((c) => c.layout)).size === 2);
});
