/**
 * The doctor's gradient probe reads gradients as the parameter change of one plain SGD step at
 * learning rate 1. This checks that premise against the closed-form gradient of softmax
 * cross-entropy for the head: d/db = mean(p - y) and d/dW = h^T (p - y) / N, with the hidden
 * activations h recomputed in float64 from the parameters.
 */
import { test } from 'node:test';
import { TrainStep } from '../../src/engine/train-step.js';
import { PLAIN_SGD } from '../../src/graph/optimizers/index.js';
import { vggLayers } from '../../src/model/architectures.js';
import { headLayers } from '../../src/model/head.js';
import { initWeights } from '../../src/model/init.js';
import { Random } from '../../src/util/random.js';
import { assertClose } from '../helpers/finite-difference.js';

test('one SGD step at lr 1 moves the head by exactly its softmax cross-entropy gradient', async () => {
  const [n, features, hidden, classes] = [5, 512, 8, 3];
  const base = vggLayers({
    arch: 'vgg11',
    includeTop: false,
    inputSize: [32, 32],
    pooling: 'none',
    classes,
  });
  const weights = initWeights(
    headLayers(base, { kind: 'flatten', dense: hidden, classes, activation: 'softmax' }),
    new Random(2),
  );
  const step = await TrainStep.create({
    arch: 'vgg11',
    trainableBlocks: 0,
    inputShape: [1, 1, features],
    head: { kind: 'flatten', dense: hidden, dropout: 0, classes, loss: 'categorical_crossentropy' },
    optimizer: PLAIN_SGD,
    weights,
    seed: 1,
    threads: 1,
  });
  try {
    const random = new Random(7);
    const x = {
      dims: [n, 1, 1, features],
      data: Float32Array.from({ length: n * features }, () => random.uniform(-1, 1)),
    };
    const labels = [0, 2, 1, 2, 0];
    const y = { dims: [n, classes], data: new Float32Array(n * classes) };
    labels.forEach((label, i) => (y.data[i * classes + label] = 1));
    const p = (await step.evaluate(x, y)).probabilities.data;
    const before = step.getParameters();
    await step.step(x, y, { head: 1 });
    const after = step.getParameters();

    const w1 = before.get('dense/kernel')?.data as Float32Array;
    const b1 = before.get('dense/bias')?.data as Float32Array;
    const h = new Float64Array(n * hidden);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < hidden; j++) {
        let z = b1[j] as number;
        for (let k = 0; k < features; k++)
          z += (x.data[i * features + k] as number) * (w1[k * hidden + j] as number);
        h[i * hidden + j] = Math.max(0, z);
      }
    const residual = (i: number, c: number): number =>
      (p[i * classes + c] as number) - (y.data[i * classes + c] as number);
    const gradBias = Array.from(
      { length: classes },
      (_, c) => labels.reduce((s, _l, i) => s + residual(i, c), 0) / n,
    );
    const gradKernel = Array.from({ length: hidden * classes }, (_, idx) => {
      const [j, c] = [Math.floor(idx / classes), idx % classes];
      return labels.reduce((s, _l, i) => s + (h[i * hidden + j] as number) * residual(i, c), 0) / n;
    });
    const moved = (key: string): number[] => {
      const a = before.get(key)?.data as Float32Array;
      const b = after.get(key)?.data as Float32Array;
      return Array.from(a, (v, i) => v - (b[i] as number));
    };
    assertClose(
      moved('dense_1/bias'),
      gradBias,
      { atol: 1e-5, rtol: 1e-4 },
      'dense_1/bias gradient',
    );
    assertClose(
      moved('dense_1/kernel'),
      gradKernel,
      { atol: 1e-5, rtol: 1e-4 },
      'dense_1/kernel gradient',
    );
  } finally {
    await step.release();
  }
});
