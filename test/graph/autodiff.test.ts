import { test } from 'node:test';
import assert from 'node:assert/strict';
import onnxProto from 'onnx-proto';
import { GraphBuilder, BATCH, type OpDef } from '../../src/graph/ir.js';
import { gradients } from '../../src/graph/autodiff.js';
import { dense } from '../../src/graph/ops/dense.js';
import { relu, mul } from '../../src/graph/ops/elementwise.js';
import { Session } from '../../src/engine/session.js';
import { assertClose, finiteDifference, randomValues } from '../helpers/finite-difference.js';

const N = 3;
const IN = 4;
const OUT = 5;

/** loss = sum(relu(x·W + b) * c): the float64 reference, independent of the graph. */
function referenceLoss([x, w, b, c]: Float64Array[]): number {
  let loss = 0;
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < OUT; o++) {
      let z = (b as Float64Array)[o] as number;
      for (let i = 0; i < IN; i++)
        z +=
          ((x as Float64Array)[n * IN + i] as number) *
          ((w as Float64Array)[i * OUT + o] as number);
      loss += Math.max(z, 0) * ((c as Float64Array)[n * OUT + o] as number);
    }
  }
  return loss;
}

test('gradients of dense -> relu -> weighted sum match finite differences through a real ORT session', async () => {
  const g = new GraphBuilder();
  const x = g.input('x', [BATCH, IN]);
  const w = g.input('w', [IN, OUT]);
  const b = g.input('b', [OUT]);
  const c = g.input('c', [BATCH, OUT]);
  const [z] = g.apply(dense, [x, w, b], undefined);
  const [h] = g.apply(relu, [z!], undefined);
  const [weighted] = g.apply(mul, [h!, c], undefined);
  const loss = g.node('ReduceSum', [weighted!], [], { keepdims: { kind: 'int', value: 0 } });
  // ReduceSum is emitted raw (not an op), so seed its gradient by hand: d loss / d weighted = 1.
  const seed = g.node(
    'Expand',
    [g.scalar(1), g.node('Shape', [weighted!], [2], {}, 'int64')],
    weighted!.shape,
  );
  const [dx, dw, db] = gradients(g, weighted!, [x, w, b], seed);
  g.output(loss, 'loss');
  g.output(dx!, 'dx');
  g.output(dw!, 'dw');
  g.output(db!, 'db');
  const session = await Session.create(g.serialize());

  const params = [
    randomValues(N * IN, 1),
    randomValues(IN * OUT, 2),
    randomValues(OUT, 3),
    randomValues(N * OUT, 4),
  ];
  const f32 = (a: Float64Array): Float32Array => Float32Array.from(a);
  const result = await session.run({
    x: { dims: [N, IN], data: f32(params[0]!) },
    w: { dims: [IN, OUT], data: f32(params[1]!) },
    b: { dims: [OUT], data: f32(params[2]!) },
    c: { dims: [N, OUT], data: f32(params[3]!) },
  });
  assert.ok(Math.abs(result.loss!.data[0]! - referenceLoss(params)) < 1e-5);
  const [gx, gw, gb] = finiteDifference(referenceLoss, params);
  const tol = { atol: 1e-4, rtol: 1e-4 };
  assertClose(result.dx!.data, gx!, tol, 'dx');
  assertClose(result.dw!.data, gw!, tol, 'dw');
  assertClose(result.db!.data, gb!, tol, 'db');
  await session.release();
});

test('differentiating through an op without a gradient rule names the op', () => {
  const g = new GraphBuilder();
  const x = g.input('x', [2]);
  const opaque = {
    name: 'opaque',
    forward: (
      b: GraphBuilder,
      [v]: readonly { name: string; dtype: 'float32'; shape: readonly number[] }[],
    ) => [b.node('Neg', [v!], v!.shape)],
  };
  const [y] = g.apply(opaque, [x], undefined);
  const s = g.node('ReduceSum', [y!], [], { keepdims: { kind: 'int', value: 0 } });
  assert.throws(() => gradients(g, y!, [x], s), /op opaque has no gradient rule/);
});

for (const returned of [1, 3]) {
  test(`a gradient rule returning ${returned} gradient(s) for 2 inputs is an error naming the op`, () => {
    const g = new GraphBuilder();
    const a = g.input('a', [2]);
    const b = g.input('b', [2]);
    const miscounted: OpDef<void> = {
      name: 'miscounted',
      forward: (gb, [u, v]) => [gb.node('Add', [u!, v!], [2])],
      backward: (_gb, _ctx, [dy]) => Array.from({ length: returned }, () => dy),
    };
    const [y] = g.apply(miscounted, [a, b], undefined);
    assert.throws(
      () => gradients(g, y!, [a, b], g.input('seed', [2])),
      new RegExp(
        `op miscounted: its gradient rule returned ${returned} gradient\\(s\\) for 2 input\\(s\\)`,
      ),
    );
  });
}

test('nodes are named by the op they came from, and gradient nodes by its rule (for profiles)', () => {
  const g = new GraphBuilder();
  const x = g.input('x', [BATCH, IN]);
  const w = g.input('w', [IN, OUT]);
  const [z] = g.apply(dense, [x, w], undefined);
  const [h] = g.apply(relu, [z!], undefined);
  g.onnx.scoped('adam', () => g.node('Neg', [w], w.shape));
  const [dw] = gradients(g, h!, [w], g.input('seed', [BATCH, OUT]));
  g.output(dw!, 'dw');
  const names = onnxProto.onnx.ModelProto.decode(g.serialize()).graph!.node!.map((n) => n.name);
  assert.ok(names.includes('dense/MatMul_0'), names.join(' '));
  assert.ok(names.includes('relu/Relu_1'), names.join(' '));
  assert.ok(names.includes('adam/Neg_2'), names.join(' '));
  assert.ok(
    names.some((n) => n?.startsWith('relu.grad/Where_')) &&
      names.some((n) => n?.startsWith('dense.grad/MatMul_')),
    names.join(' '),
  );
});
