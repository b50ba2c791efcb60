/**
 * ONNX assembly: named values, nodes, initializers, and serialisation to a ModelProto with the IR
 * version and opset pinned (STYLE.md item 5: never "the newest", so the ORT we ship loads them).
 * This layer knows nothing about autodiff; `ir.ts` builds on it.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

export const ONNX_IR_VERSION = 8;
export const ONNX_OPSET = 18;

/** int8, uint8 and int32 carry quantized weights, activations and biases (QDQ graphs). */
export type DType = 'float32' | 'int64' | 'bool' | 'int8' | 'uint8' | 'int32';

const DATA_TYPE: Record<DType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  int64: onnx.TensorProto.DataType.INT64,
  bool: onnx.TensorProto.DataType.BOOL,
  int8: onnx.TensorProto.DataType.INT8,
  uint8: onnx.TensorProto.DataType.UINT8,
  int32: onnx.TensorProto.DataType.INT32,
};

/** A dimension: a number, or a name for a dimension only known at run time (the batch). */
export type Dim = number | string;

export type AttrValue =
  | { readonly kind: 'int'; readonly value: number }
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'ints'; readonly value: readonly number[] }
  | { readonly kind: 'floats'; readonly value: readonly number[] }
  | { readonly kind: 'string'; readonly value: string };

export const attr = {
  int: (value: number): AttrValue => ({ kind: 'int', value }),
  float: (value: number): AttrValue => ({ kind: 'float', value }),
  ints: (value: readonly number[]): AttrValue => ({ kind: 'ints', value }),
  floats: (value: readonly number[]): AttrValue => ({ kind: 'floats', value }),
  string: (value: string): AttrValue => ({ kind: 'string', value }),
};

export type Attrs = Readonly<Record<string, AttrValue>>;

export interface ConstantData {
  readonly dtype: DType;
  readonly dims: readonly number[];
  readonly data: Float32Array | BigInt64Array | Uint8Array | Int8Array | Int32Array;
}

interface ValueInfo {
  readonly name: string;
  readonly dtype: DType;
  readonly dims: readonly Dim[];
}

interface NodeRecord {
  /** Where the node came from (`conv3x3`, `conv3x3.grad`, `optimizer`), for profiles and Netron. */
  readonly scope: string;
  readonly opType: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attrs: Attrs;
}

export class OnnxGraph {
  private readonly inputs: ValueInfo[] = [];
  private readonly outputs: ValueInfo[] = [];
  private readonly nodes: NodeRecord[] = [];
  private readonly initializers = new Map<string, ConstantData>();
  private readonly names = new Set<string>();
  private counter = 0;
  private readonly scopes: string[] = [];

  /** A fresh value name; `hint` keeps generated graphs readable in Netron. */
  fresh(hint: string): string {
    let name = hint;
    while (this.names.has(name)) name = `${hint}_${++this.counter}`;
    this.names.add(name);
    return name;
  }

  input(name: string, dtype: DType, dims: readonly Dim[]): string {
    this.claim(name);
    this.inputs.push({ name, dtype, dims });
    return name;
  }

  output(name: string, dtype: DType, dims: readonly Dim[]): void {
    this.outputs.push({ name, dtype, dims });
  }

  initializer(hint: string, data: ConstantData): string {
    const name = this.fresh(hint);
    this.initializers.set(name, data);
    return name;
  }

  node(
    opType: string,
    inputs: readonly string[],
    attrs: Attrs = {},
    outputHints: readonly string[] = [opType.toLowerCase()],
  ): string[] {
    const outputs = outputHints.map((hint) => this.fresh(hint));
    this.nodes.push({ scope: this.scopes.join('/'), opType, inputs, outputs, attrs });
    return outputs;
  }

  /** Emits `emit`'s nodes under `scope` (nested scopes join with '/'): their names start with it. */
  scoped<T>(scope: string, emit: () => T): T {
    this.scopes.push(scope);
    try {
      return emit();
    } finally {
      this.scopes.pop();
    }
  }

  /** Renames an existing value by inserting an Identity, so graph outputs get stable names. */
  alias(value: string, name: string): string {
    this.claim(name);
    this.nodes.push({
      scope: this.scopes.join('/'),
      opType: 'Identity',
      inputs: [value],
      outputs: [name],
      attrs: {},
    });
    return name;
  }

  get nodeCount(): number {
    return this.nodes.length;
  }

  serialize(
    options: { graphName?: string; metadata?: Readonly<Record<string, string>> } = {},
  ): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: ONNX_IR_VERSION,
      producerName: 'vggkit',
      opsetImport: [{ domain: '', version: ONNX_OPSET }],
      metadataProps: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
      graph: {
        name: options.graphName ?? 'vggkit',
        input: this.inputs.map(valueInfo),
        output: this.outputs.map(valueInfo),
        initializer: [...this.initializers].map(([name, data]) => tensorProto(name, data)),
        node: this.foldedAliases().map((n, index) => ({
          name: n.scope === '' ? `${n.opType}_${index}` : `${n.scope}/${n.opType}_${index}`,
          opType: n.opType,
          input: [...n.inputs],
          output: [...n.outputs],
          attribute: Object.entries(n.attrs).map(([name, value]) => attributeProto(name, value)),
        })),
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }

  /**
   * The nodes with output aliases folded into their producers: an Identity that only renames a
   * computed value for a graph output is a full copy in ORT (it keeps Identities that feed graph
   * outputs), ~50 ms per training step for 160 MB of parameters and optimizer state. Renaming the
   * producer's output instead lets the producing kernel write straight into the (caller's) output.
   * Graph inputs, initializers and values already folded once keep their Identity.
   */
  private foldedAliases(): NodeRecord[] {
    const outputNames = new Set(this.outputs.map((o) => o.name));
    const inputNames = new Set(this.inputs.map((i) => i.name));
    const producer = new Map<string, number>();
    this.nodes.forEach((n, i) => n.outputs.forEach((o) => producer.set(o, i)));
    const renamed = new Map<string, string>();
    const dropped = new Set<number>();
    this.nodes.forEach((n, i) => {
      if (n.opType !== 'Identity' || !outputNames.has(n.outputs[0] as string)) return;
      const source = n.inputs[0] as string;
      if (
        inputNames.has(source) ||
        outputNames.has(source) ||
        renamed.has(source) ||
        !producer.has(source)
      )
        return;
      renamed.set(source, n.outputs[0] as string);
      dropped.add(i);
    });
    const rename = (name: string): string => renamed.get(name) ?? name;
    return this.nodes
      .filter((_, i) => !dropped.has(i))
      .map((n) => ({ ...n, inputs: n.inputs.map(rename), outputs: n.outputs.map(rename) }));
  }

  private claim(name: string): void {
    if (this.names.has(name)) throw new Error(`ONNX value name ${name} is already used`);
    this.names.add(name);
  }
}

function valueInfo(v: ValueInfo): onnxProto.onnx.IValueInfoProto {
  return {
    name: v.name,
    type: {
      tensorType: {
        elemType: DATA_TYPE[v.dtype],
        shape: {
          dim: v.dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })),
        },
      },
    },
  };
}

function tensorProto(name: string, c: ConstantData): onnxProto.onnx.ITensorProto {
  return {
    name,
    dataType: DATA_TYPE[c.dtype],
    dims: [...c.dims],
    rawData: new Uint8Array(c.data.buffer, c.data.byteOffset, c.data.byteLength),
  };
}

function attributeProto(name: string, a: AttrValue): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.kind) {
    case 'int':
      return { name, type: T.INT, i: a.value };
    case 'float':
      return { name, type: T.FLOAT, f: a.value };
    case 'ints':
      return { name, type: T.INTS, ints: [...a.value] };
    case 'floats':
      return { name, type: T.FLOATS, floats: [...a.value] };
    case 'string':
      return { name, type: T.STRING, s: new TextEncoder().encode(a.value) };
  }
}
