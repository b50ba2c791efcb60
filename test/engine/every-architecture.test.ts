/**
 * Generated from the architecture table (timm's test_models pattern): for every VGG variant, the
 * training plan names exactly the Keras layers of the network, and one step with everything
 * trainable moves every parameter — no layer is left out of the graph or cut off from the loss.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TrainStep } from '../../src/engine/train-step.js';
import { PLAIN_SGD } from '../../src/graph/optimizers/index.js';
import { planTraining } from '../../src/engine/train-plan.js';
import { ARCH_NAMES, vggLayers } from '../../src/model/architectures.js';
import { headLayers, type HeadSpec } from '../../src/model/head.js';
import { initWeights } from '../../src/model/init.js';
import { Random } from '../../src/util/random.js';

const SIZE = 32;
const HEAD: HeadSpec = { kind: 'flatten', dense: 8, classes: 3, activation: 'softmax' };

for (const arch of ARCH_NAMES) {
  test(`${arch}: the plan covers every Keras layer and one step with all blocks trainable updates every parameter`, async () => {
    const base = vggLayers({
      arch,
      includeTop: false,
      inputSize: [SIZE, SIZE],
      pooling: 'none',
      classes: HEAD.classes,
    });
    const layers = [...base, ...headLayers(base, HEAD)];
    const weights = initWeights(layers, new Random(3));
    const head = {
      kind: 'flatten' as const,
      dense: HEAD.dense,
      dropout: 0,
      classes: HEAD.classes,
      loss: 'categorical_crossentropy' as const,
    };
    const part = { arch, trainableBlocks: 5, inputShape: [SIZE, SIZE, 3] as const, head };
    const plan = planTraining(part);
    const expected = layers.flatMap((l) =>
      l.kernelShape === undefined ? [] : [`${l.name}/kernel`, `${l.name}/bias`],
    );
    assert.deepEqual(plan.params.map((p) => p.key).sort(), [...expected].sort());
    assert.deepEqual(plan.groups, ['block1', 'block2', 'block3', 'block4', 'block5', 'head']);

    const step = await TrainStep.create({
      ...part,
      optimizer: PLAIN_SGD,
      weights,
      seed: 1,
      threads: 1,
    });
    try {
      const n = 2;
      const random = new Random(5);
      const x = {
        dims: [n, SIZE, SIZE, 3],
        data: Float32Array.from({ length: n * SIZE * SIZE * 3 }, () => random.uniform(-100, 100)),
      };
      const targets = { dims: [n, 3], data: new Float32Array([1, 0, 0, 0, 0, 1]) };
      const lrs = Object.fromEntries(plan.groups.map((g) => [g, 0.1]));
      await step.step(x, targets, lrs);
      const after = step.getParameters();
      const unchanged = expected.filter((key) => {
        const a = weights.get(key)?.data as Float32Array;
        const b = after.get(key)?.data as Float32Array;
        return a.every((v, i) => v === b[i]);
      });
      assert.deepEqual(unchanged, [], `parameters that received no gradient in ${arch}`);
    } finally {
      await step.release();
    }
  });
}

test('planTraining refuses an input too small for the trainable blocks, naming what it needs', () => {
  const head = {
    kind: 'flatten' as const,
    dense: 8,
    dropout: 0,
    classes: 3,
    loss: 'categorical_crossentropy' as const,
  };
  // block4 and block5 halve twice: a 1x1 block3_pool output cannot survive that.
  assert.throws(
    () => planTraining({ arch: 'vgg16', trainableBlocks: 2, inputShape: [1, 1, 256], head }),
    /inputShape: expected a spatial size that survives 2 2x2 poolings, received "\[1, 1, 256\]"/,
  );
  assert.equal(
    planTraining({ arch: 'vgg16', trainableBlocks: 2, inputShape: [4, 4, 256], head }).layers
      .length,
    8 + 4,
  );
});
