/**
 * The one oracle helper for op tests (STYLE.md item 4): builds a graph around an op, runs it in a
 * real ORT session, and checks its forward output against a float64 reference written in the test
 * and its gradients against central finite differences of that reference.
 *
 * The checked scalar is sum(output * cotangent) with a random cotangent fed as autodiff's seed, so
 * every element of every input gradient is exercised.
 */
import { GraphBuilder, BATCH, type Sym } from '../../src/graph/ir.js';
import { gradients } from '../../src/graph/autodiff.js';
import { Session } from '../../src/engine/session.js';
import { assertClose, finiteDifference, randomValues } from './finite-difference.js';

export interface CheckedInput {
  readonly name: string;
  /** Concrete dims; with `batched` the first one is declared as the dynamic batch in the graph. */
  readonly dims: readonly number[];
  readonly batched?: boolean;
  /** Defaults to deterministic random values in [-1, 1). */
  readonly values?: Float64Array;
  /** Defaults to true; false for masks, targets and other inputs without a gradient. */
  readonly differentiable?: boolean;
}

export interface OpCheck {
  readonly inputs: readonly CheckedInput[];
  readonly build: (g: GraphBuilder, inputs: Sym[]) => Sym;
  /** Output dims for the concrete inputs. */
  readonly outputDims: readonly number[];
  readonly reference: (values: Float64Array[]) => Float64Array;
  readonly tolerance?: { atol: number; rtol: number };
  readonly eps?: number;
}

const f32round = (a: Float64Array): Float64Array => Float64Array.from(Float32Array.from(a));

export async function checkOp(check: OpCheck): Promise<void> {
  const g = new GraphBuilder();
  const syms = check.inputs.map((i) =>
    g.input(i.name, i.batched === true ? [BATCH, ...i.dims.slice(1)] : i.dims),
  );
  const out = check.build(g, syms);
  const outputBatched = out.shape[0] === BATCH;
  const cotangentDims = check.outputDims;
  const seed = g.input(
    'cotangent',
    outputBatched ? [BATCH, ...cotangentDims.slice(1)] : cotangentDims,
  );
  const wrtIndices = check.inputs.flatMap((i, k) => (i.differentiable === false ? [] : [k]));
  const grads = gradients(
    g,
    out,
    wrtIndices.map((k) => syms[k] as Sym),
    seed,
  );
  g.output(out, 'out');
  grads.forEach((gs, j) => g.output(gs, `grad_${j}`));
  const session = await Session.create(g.serialize(), { threads: 1 });

  const values = check.inputs.map((i, k) =>
    f32round(
      i.values ??
        randomValues(
          i.dims.reduce((a, b) => a * b, 1),
          101 + k,
        ),
    ),
  );
  const cotangent = f32round(
    randomValues(
      cotangentDims.reduce((a, b) => a * b, 1),
      7,
    ),
  );
  const feeds: Record<string, { dims: readonly number[]; data: Float32Array }> = {
    cotangent: { dims: cotangentDims, data: Float32Array.from(cotangent) },
  };
  check.inputs.forEach(
    (i, k) =>
      (feeds[i.name] = { dims: i.dims, data: Float32Array.from(values[k] as Float64Array) }),
  );
  const result = await session.run(feeds);
  await session.release();

  const tol = check.tolerance ?? { atol: 1e-4, rtol: 1e-4 };
  assertClose(result.out!.data, check.reference(values), tol, 'forward');
  const scalar = (params: Float64Array[]): number => {
    const all = values.slice();
    wrtIndices.forEach((k, j) => (all[k] = params[j] as Float64Array));
    const y = check.reference(all);
    let s = 0;
    for (let i = 0; i < y.length; i++) s += (y[i] as number) * (cotangent[i] as number);
    return s;
  };
  const expected = finiteDifference(
    scalar,
    wrtIndices.map((k) => Float64Array.from(values[k] as Float64Array)),
    check.eps,
  );
  wrtIndices.forEach((k, j) =>
    assertClose(
      result[`grad_${j}`]!.data,
      expected[j] as Float64Array,
      tol,
      `d/d${check.inputs[k]!.name}`,
    ),
  );
}
