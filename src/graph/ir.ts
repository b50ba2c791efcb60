/**
 * vggkit's graph IR: symbolic values with static shapes, high-level ops that lower themselves to
 * ONNX nodes, and a tape of op applications that autodiff (autodiff.ts) walks backwards.
 *
 * Shape of the design:
 *   - `Sym`: a value in the graph — its ONNX name, dtype and shape. Dimension -1 is the batch,
 *     only known at run time, so one graph serves every batch size (the last partial batch too).
 *   - `OpDef`: one op, declared in one file under ops/, with `forward` (emit ONNX nodes, return
 *     output Syms) and, side by side, `backward` (emit the gradient of each input from the
 *     gradients of the outputs). An op without `backward` is inference-only; differentiating
 *     through it raises an error naming it.
 *   - `GraphBuilder`: owns the ONNX graph and the tape. `apply(op, inputs, attrs)` records one
 *     tape entry; whatever the op emits inside its own forward (or any backward) is not recorded,
 *     so composite ops differentiate as one unit with their own rule.
 *   - `raw(opType, …)`: a plain ONNX node with the output shape declared by the caller — the
 *     building block op definitions use.
 */
import { type Attrs, type ConstantData, type DType, OnnxGraph } from './onnx.js';

export const BATCH = -1;

export interface Sym {
  readonly name: string;
  readonly dtype: DType;
  /** Static shape; BATCH (-1) marks the run-time batch dimension. */
  readonly shape: readonly number[];
}

export interface OpContext<A> {
  readonly inputs: readonly Sym[];
  readonly outputs: readonly Sym[];
  readonly attrs: A;
  /**
   * Per input: whether autodiff needs its gradient. A rule may skip work for inputs marked false
   * (a conv over the graph input needs no input gradient); returning one anyway is harmless.
   */
  readonly needsGrad: readonly boolean[];
}

export interface OpDef<A> {
  readonly name: string;
  forward(g: GraphBuilder, inputs: readonly Sym[], attrs: A): Sym[];
  /** One entry per input: its gradient, or undefined when it has none (e.g. an integer mask). */
  backward?(
    g: GraphBuilder,
    ctx: OpContext<A>,
    gradOutputs: readonly (Sym | undefined)[],
  ): (Sym | undefined)[];
}

export interface TapeEntry {
  readonly op: OpDef<unknown>;
  readonly inputs: readonly Sym[];
  readonly outputs: readonly Sym[];
  readonly attrs: unknown;
}

export class GraphBuilder {
  readonly onnx = new OnnxGraph();
  private readonly entries: TapeEntry[] = [];
  private recordingDepth = 0;
  private readonly int64Cache = new Map<string, Sym>();

  get tape(): readonly TapeEntry[] {
    return this.entries;
  }

  input(name: string, shape: readonly number[], dtype: DType = 'float32'): Sym {
    this.onnx.input(name, dtype, shape.map(onnxDim));
    return { name, dtype, shape };
  }

  output(value: Sym, name: string): Sym {
    const named = this.onnx.alias(value.name, name);
    this.onnx.output(named, value.dtype, value.shape.map(onnxDim));
    return { ...value, name: named };
  }

  constant(hint: string, data: ConstantData): Sym {
    return { name: this.onnx.initializer(hint, data), dtype: data.dtype, shape: [...data.dims] };
  }

  scalar(value: number, hint = 'scalar'): Sym {
    return this.constant(hint, { dtype: 'float32', dims: [], data: new Float32Array([value]) });
  }

  /** An int64 vector constant (shapes, axes, pads), shared between uses. */
  int64s(values: readonly number[]): Sym {
    const key = values.join(',');
    const cached = this.int64Cache.get(key);
    if (cached !== undefined) return cached;
    const sym = this.constant('i64', {
      dtype: 'int64',
      dims: [values.length],
      data: BigInt64Array.from(values.map(BigInt)),
    });
    this.int64Cache.set(key, sym);
    return sym;
  }

  apply<A>(op: OpDef<A>, inputs: readonly Sym[], attrs: A): Sym[] {
    const record = this.recordingDepth === 0;
    this.recordingDepth++;
    let outputs: Sym[];
    try {
      outputs = this.onnx.scoped(op.name, () => op.forward(this, inputs, attrs));
    } finally {
      this.recordingDepth--;
    }
    if (record) this.entries.push({ op: op as OpDef<unknown>, inputs, outputs, attrs });
    return outputs;
  }

  /** Runs `emit` without recording on the tape (autodiff emits backward passes this way). */
  unrecorded<T>(emit: () => T): T {
    this.recordingDepth++;
    try {
      return emit();
    } finally {
      this.recordingDepth--;
    }
  }

  raw(
    opType: string,
    inputs: readonly (Sym | string)[],
    attrs: Attrs,
    outputs: readonly { shape: readonly number[]; dtype?: DType }[],
  ): Sym[] {
    const names = this.onnx.node(
      opType,
      inputs.map((i) => (typeof i === 'string' ? i : i.name)),
      attrs,
      outputs.map(() => opType.toLowerCase()),
    );
    return names.map((name, i) => ({
      name,
      dtype: outputs[i]?.dtype ?? 'float32',
      shape: outputs[i]?.shape ?? [],
    }));
  }

  /** `raw` for the common single-output case. */
  node(
    opType: string,
    inputs: readonly (Sym | string)[],
    shape: readonly number[],
    attrs: Attrs = {},
    dtype: DType = 'float32',
  ): Sym {
    return this.raw(opType, inputs, attrs, [{ shape, dtype }])[0] as Sym;
  }

  serialize(
    options: { graphName?: string; metadata?: Readonly<Record<string, string>> } = {},
  ): Uint8Array {
    return this.onnx.serialize(options);
  }
}

function onnxDim(d: number): number | string {
  return d === BATCH ? 'batch' : d;
}

/** ONNX broadcasting result shape (numpy rules), for ops that broadcast. */
export function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1)
      throw new RangeError(`shapes [${a.join(',')}] and [${b.join(',')}] do not broadcast`);
    out.push(x === 1 ? y : x);
  }
  return out;
}
