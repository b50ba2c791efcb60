import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder } from '../../src/graph/ir.js';
import {
  applyOptimizer,
  KERAS_ADAM,
  optimizerSlots,
  type OptimizerSpec,
} from '../../src/graph/optimizers/index.js';
import { Session } from '../../src/engine/session.js';
import { assertClose, randomValues } from '../helpers/finite-difference.js';

const SHAPES = [[2, 3], [4]] as const;
const LRS = [0.01, 0.003];

/** Float64 reference written from the formulas in Keras' docs, one parameter at a time. */
function reference(
  spec: OptimizerSpec,
  params: Float64Array[],
  gradsPerStep: Float64Array[][],
): Float64Array[] {
  const p = params.map((a) => Float64Array.from(a));
  const m = p.map((a) => new Float64Array(a.length));
  const v = p.map((a) => new Float64Array(a.length));
  gradsPerStep.forEach((rawGrads, s) => {
    const t = s + 1;
    const grads = rawGrads.map((gr, i) =>
      gr.map((x, j) => (spec.name !== 'adamw' ? x + spec.weightDecay * (p[i]![j] as number) : x)),
    );
    let scale = 1;
    if (spec.clipNorm > 0) {
      const norm = Math.sqrt(grads.reduce((acc, gr) => acc + gr.reduce((a, x) => a + x * x, 0), 0));
      scale = spec.clipNorm / Math.max(norm, spec.clipNorm);
    }
    grads.forEach((gr, i) => {
      const lr = LRS[i] as number;
      for (let j = 0; j < gr.length; j++) {
        const gj = (gr[j] as number) * scale;
        const pj = p[i]![j] as number;
        if (spec.name === 'sgd') {
          if (spec.momentum === 0) p[i]![j] = pj - lr * gj;
          else {
            const vel = spec.momentum * (m[i]![j] as number) - lr * gj;
            m[i]![j] = vel;
            p[i]![j] = pj + (spec.nesterov ? spec.momentum * vel - lr * gj : vel);
          }
        } else {
          const mj = spec.beta1 * (m[i]![j] as number) + (1 - spec.beta1) * gj;
          const vj = spec.beta2 * (v[i]![j] as number) + (1 - spec.beta2) * gj * gj;
          m[i]![j] = mj;
          v[i]![j] = vj;
          const decayed = spec.name === 'adamw' ? pj - lr * spec.weightDecay * pj : pj;
          const mHat = mj / (1 - spec.beta1 ** t);
          p[i]![j] =
            decayed - (lr * mHat * Math.sqrt(1 - spec.beta2 ** t)) / (Math.sqrt(vj) + spec.epsilon);
        }
      }
    });
  });
  return p;
}

async function runSteps(
  spec: OptimizerSpec,
  params: Float64Array[],
  gradsPerStep: Float64Array[][],
): Promise<Float32Array[]> {
  const g = new GraphBuilder();
  const slots = optimizerSlots(spec);
  const updates = SHAPES.map((shape, i) => ({
    param: g.input(`p${i}`, shape),
    grad: g.input(`g${i}`, shape),
    lr: g.input(`lr${i}`, []),
    state: slots.map((s) => g.input(`${s}${i}`, shape)),
  }));
  const { updated, step } = applyOptimizer(g, spec, updates, g.input('step', []));
  updated.forEach((u, i) => {
    g.output(u.param, `p${i}_out`);
    u.state.forEach((s, k) => g.output(s, `${slots[k]}${i}_out`));
  });
  g.output(step, 'step_out');
  const session = await Session.create(g.serialize(), { threads: 1 });
  let current: Float32Array[] = params.map((p) => Float32Array.from(p));
  let state: Float32Array[][] = SHAPES.map((shape) =>
    slots.map(() => new Float32Array(shape.reduce((a, b) => a * b, 1))),
  );
  let stepCount: Float32Array = new Float32Array([0]);
  for (const grads of gradsPerStep) {
    const feeds: Record<string, { dims: readonly number[]; data: Float32Array }> = {
      step: { dims: [], data: stepCount },
    };
    SHAPES.forEach((shape, i) => {
      feeds[`p${i}`] = { dims: shape, data: current[i]! };
      feeds[`g${i}`] = { dims: shape, data: Float32Array.from(grads[i]!) };
      feeds[`lr${i}`] = { dims: [], data: new Float32Array([LRS[i]!]) };
      slots.forEach((s, k) => (feeds[`${s}${i}`] = { dims: shape, data: state[i]![k]! }));
    });
    const out = await session.run(feeds);
    current = SHAPES.map((_, i) => out[`p${i}_out`]!.data);
    state = SHAPES.map((_, i) => slots.map((s) => out[`${s}${i}_out`]!.data));
    stepCount = out.step_out!.data;
  }
  assert.equal(stepCount[0], gradsPerStep.length);
  await session.release();
  return current;
}

const params = SHAPES.map((shape, i) =>
  randomValues(
    shape.reduce((a, b) => a * b, 1),
    11 + i,
  ),
);
const grads = [0, 1, 2].map((s) =>
  SHAPES.map((shape, i) =>
    randomValues(
      shape.reduce((a, b) => a * b, 1),
      50 + 10 * s + i,
    ).map((x) => x * (s + 1)),
  ),
);

for (const spec of [
  KERAS_ADAM,
  { ...KERAS_ADAM, beta1: 0.8, beta2: 0.95, epsilon: 0.1 },
  { ...KERAS_ADAM, name: 'adamw', weightDecay: 0.05 },
  { ...KERAS_ADAM, weightDecay: 0.1 },
  { ...KERAS_ADAM, clipNorm: 0.5 },
  { ...KERAS_ADAM, name: 'sgd' },
  { ...KERAS_ADAM, name: 'sgd', momentum: 0.9 },
  { ...KERAS_ADAM, name: 'sgd', momentum: 0.9, nesterov: true, weightDecay: 0.01, clipNorm: 1 },
] satisfies OptimizerSpec[]) {
  test(`optimizer ${JSON.stringify(spec)}: three steps with two learning-rate groups match the float64 formula`, async () => {
    const actual = await runSteps(spec, params, grads);
    const expected = reference(spec, params, grads);
    actual.forEach((a, i) =>
      assertClose(a, expected[i]!, { atol: 2e-6, rtol: 1e-5 }, `param ${i}`),
    );
    // The update really moved the parameters (a no-op optimizer would fail here).
    assert.ok(actual[0]!.some((x, j) => Math.abs(x - params[0]![j]!) > 1e-4));
  });
}

test('optimizer state slots: adam keeps m and v, sgd keeps a velocity only with momentum', () => {
  assert.deepEqual(optimizerSlots(KERAS_ADAM), ['m', 'v']);
  assert.deepEqual(optimizerSlots({ ...KERAS_ADAM, name: 'sgd', momentum: 0.9 }), ['velocity']);
  assert.deepEqual(optimizerSlots({ ...KERAS_ADAM, name: 'sgd' }), []);
});
