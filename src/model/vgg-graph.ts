/**
 * Frozen VGG inference graphs as ONNX bytes: every weight an initializer (ORT pre-packs them),
 * convolutions NCHW on ORT's fast path. The graph takes `input` [batch, 3, H, W] float32, already
 * preprocessed, and returns `output`: the output of `outputLayer` (default: the last layer).
 * Spatial outputs (conv, pool) leave in NHWC, Keras' layout, so features match what Keras'
 * `Model(inputs, model.get_layer(name).output)` returns and the trainer consumes them unchanged.
 *
 * With an `int8` plan every convolution is emitted in QDQ form (src/graph/ops/qdq.ts): the
 * image and each conv's ReLU output pass through QuantizeLinear -> DequantizeLinear at the plan's
 * calibrated per-tensor scale, kernels are int8 per output channel and biases int32, so ONNX
 * Runtime runs QLinearConv and 8-bit MaxPool; the dense layers stay float32 (under 1% of the
 * multiply-adds). Outputs are float32 either way.
 */
import { BATCH, GraphBuilder, type Sym } from '../graph/ir.js';
import { attr } from '../graph/onnx.js';
import { dense } from '../graph/ops/dense.js';
import { dequantizedConstant, quantizeDequantize } from '../graph/ops/qdq.js';
import { relu } from '../graph/ops/elementwise.js';
import {
  activation,
  conv2d3x3,
  flattenKeras,
  globalPool,
  hwioToOihw,
  maxPool2x2,
  toNhwc,
} from '../graph/ops/inference.js';
import { UsageError, VggkitError } from '../util/errors.js';
import type { Float32Tensor } from '../util/tensor.js';
import type { LayerKind, LayerSpec, VggOptions } from './architectures.js';
import { type HeadSpec, modelLayers } from './head.js';
import { METADATA_KEYS } from './model-folder.js';
import {
  type ActivationRange,
  type ActivationType,
  activationParams,
  quantizeBias,
  quantizeKernel,
  type QuantParams,
} from './quantize.js';
import { biasKey, kernelKey, type WeightMap } from './weight-map.js';

export interface VggGraphOptions {
  readonly options: VggOptions;
  readonly weights: WeightMap;
  /** Keras layer name to cut the graph at; default the network's last layer. */
  readonly outputLayer?: string;
  readonly head?: HeadSpec;
  /** Layers up to the cut also returned as outputs named after them (NHWC when spatial). */
  readonly extraOutputs?: readonly string[];
  /** Extra ONNX metadata (e.g. `modelMetadata(...)` for a model folder). */
  readonly metadata?: Readonly<Record<string, string>>;
  /**
   * Per-channel preprocessing inside the network, before block1_conv1:
   * `y[c] = scale[c] * x[source[c]] + offset[c]` (a user's Keras model that rescales or normalises
   * its own input; the graph then takes raw pixels). Lowered as a 1x1 convolution, which is exact.
   */
  readonly inputTransform?: {
    readonly source: readonly number[];
    readonly scale: readonly number[];
    readonly offset: readonly number[];
  };
  /** Emit the convolutions in int8 QDQ form with these calibrated scales. */
  readonly int8?: Int8Plan;
}

/** What an int8 graph needs beyond the float weights. */
export interface Int8Plan {
  readonly activations: ActivationType;
  /** 8, or 7 ("reduce range") where the int8 kernels would saturate (AVX2 without VNNI). */
  readonly weightBits: 7 | 8;
  /**
   * Float range of each quantized tensor: `input` (the preprocessed image) and, by conv layer
   * name, that conv's ReLU output. Every conv up to the cut needs one.
   */
  readonly ranges: Readonly<Record<string, ActivationRange>>;
}

/** The range key of the preprocessed image in an Int8Plan. */
export const INPUT_RANGE = 'input';

interface Value {
  readonly sym: Sym;
  /** NCHW spatial tensor, or [N, features]. */
  readonly spatial: boolean;
  /** Set when the value is the output of a DequantizeLinear with these parameters. */
  readonly quant?: QuantParams;
}

type Emit = (
  g: GraphBuilder,
  x: Value,
  layer: LayerSpec,
  weight: (role: 'kernel' | 'bias') => Float32Tensor,
  int8: Int8Plan | undefined,
) => Value;

function rangeOf(plan: Int8Plan, key: string): ActivationRange {
  const range = plan.ranges[key];
  if (range === undefined)
    throw new RangeError(`int8 plan: expected a calibrated range for ${key}, found none`);
  return range;
}

/** A conv in QDQ form: DQ(input) * DQ(int8 kernel) + DQ(int32 bias) -> Relu -> Q -> DQ. */
function int8Conv(
  g: GraphBuilder,
  x: Value,
  layer: LayerSpec,
  weight: (role: 'kernel' | 'bias') => Float32Tensor,
  plan: Int8Plan,
): Value {
  if (layer.activation !== 'relu')
    throw new RangeError(`int8: ${layer.name} must end in relu, has ${layer.activation ?? 'none'}`);
  const input =
    x.quant === undefined
      ? quantized(
          g,
          x,
          activationParams(rangeOf(plan, INPUT_RANGE), plan.activations),
          'input',
          plan,
        )
      : x;
  const kernel = quantizeKernel(hwioToOihw(weight('kernel')), plan.weightBits);
  const bias = quantizeBias(weight('bias').data, (input.quant as QuantParams).scale, kernel.scales);
  const w = dequantizedConstant(g, { hint: `${layer.name}_kernel`, ...kernel });
  const b = dequantizedConstant(g, {
    hint: `${layer.name}_bias`,
    dims: [bias.data.length],
    ...bias,
  });
  const y = withActivation(g, one(g.apply(conv2d3x3, [input.sym, w, b], undefined)), layer);
  const params = activationParams(rangeOf(plan, layer.name), plan.activations);
  return quantized(g, { sym: y, spatial: true }, params, layer.name, plan);
}

function quantized(
  g: GraphBuilder,
  x: Value,
  params: QuantParams,
  hint: string,
  plan: Int8Plan,
): Value {
  const sym = one(g.apply(quantizeDequantize, [x.sym], { params, type: plan.activations, hint }));
  return { sym, spatial: x.spatial, quant: params };
}

function one(outputs: Sym[]): Sym {
  return outputs[0] as Sym;
}

function withActivation(g: GraphBuilder, y: Sym, layer: LayerSpec): Sym {
  if (layer.activation === 'relu') return one(g.apply(relu, [y], undefined));
  if (layer.activation === 'softmax' || layer.activation === 'sigmoid')
    return one(g.apply(activation, [y], { kind: layer.activation }));
  return y;
}

/** How each kind of layer lowers; a new layer kind is one entry. */
const EMIT: Record<Exclude<LayerKind, 'input'>, Emit> = {
  conv: (g, x, layer, weight, int8) => {
    if (int8 !== undefined) return int8Conv(g, x, layer, weight, int8);
    const w = g.constant(`${layer.name}_kernel`, {
      dtype: 'float32',
      ...hwioToOihw(weight('kernel')),
    });
    const b = g.constant(`${layer.name}_bias`, { dtype: 'float32', ...weight('bias') });
    return {
      sym: withActivation(g, one(g.apply(conv2d3x3, [x.sym, w, b], undefined)), layer),
      spatial: true,
    };
  },
  // Q -> DQ after the pool at the input's scale: ORT drops both and pools the 8-bit values.
  pool: (g, x, layer, _weight, int8) => {
    const pooled: Value = { sym: one(g.apply(maxPool2x2, [x.sym], undefined)), spatial: true };
    return int8 === undefined || x.quant === undefined
      ? pooled
      : quantized(g, pooled, x.quant, layer.name, int8);
  },
  flatten: (g, x) => ({ sym: one(g.apply(flattenKeras, [x.sym], undefined)), spatial: false }),
  'global-avg': (g, x) => ({
    sym: one(g.apply(globalPool, [x.sym], { kind: 'avg' })),
    spatial: false,
  }),
  'global-max': (g, x) => ({
    sym: one(g.apply(globalPool, [x.sym], { kind: 'max' })),
    spatial: false,
  }),
  dense: (g, x, layer, weight) => {
    const w = g.constant(`${layer.name}_kernel`, { dtype: 'float32', ...weight('kernel') });
    const b = g.constant(`${layer.name}_bias`, { dtype: 'float32', ...weight('bias') });
    return {
      sym: withActivation(g, one(g.apply(dense, [x.sym, w, b], undefined)), layer),
      spatial: false,
    };
  },
  // Dropout is the identity at inference.
  dropout: (_g, x) => x,
};

/**
 * Index in `layers` of the layer a graph ends at (default the last); an unknown name is a usage
 * error listing the ones there are.
 */
export function outputIndex(layers: readonly LayerSpec[], outputLayer?: string): number {
  const selectable = layers.filter((layer) => layer.kind !== 'input');
  const target = outputLayer ?? (selectable[selectable.length - 1] as LayerSpec).name;
  const stop = layers.findIndex((layer) => layer.name === target && layer.kind !== 'input');
  if (stop < 0) {
    throw new UsageError(
      'UNKNOWN_LAYER',
      `--layer: expected one of ${selectable.map((l) => l.name).join(', ')}, received ${JSON.stringify(target)}`,
    );
  }
  return stop;
}

export function buildVggInference(spec: VggGraphOptions): Uint8Array {
  const layers = modelLayers(spec.options, spec.head);
  const stop = outputIndex(layers, spec.outputLayer);
  const target = (layers[stop] as LayerSpec).name;
  const [height, width] = spec.options.inputSize;
  // The int8 plan's image range is the contract's; a transform inside the graph would change it.
  if (spec.int8 !== undefined && spec.inputTransform !== undefined)
    throw new RangeError('int8: a graph with an input transform cannot be quantized');
  const g = new GraphBuilder();
  let x: Value = { sym: g.input('input', [BATCH, 3, height, width]), spatial: true };
  if (spec.inputTransform !== undefined)
    x = { sym: inputTransform(g, x.sym, spec.inputTransform), spatial: true };
  const extra = new Set(spec.extraOutputs ?? []);
  const asOutput = (value: Value): Sym =>
    value.spatial ? one(g.apply(toNhwc, [value.sym], undefined)) : value.sym;
  for (const layer of layers.slice(1, stop + 1)) {
    x = EMIT[layer.kind as Exclude<LayerKind, 'input'>](
      g,
      x,
      layer,
      (role) => weightFor(spec.weights, layer, role),
      spec.int8,
    );
    if (extra.delete(layer.name)) g.output(asOutput(x), layer.name);
  }
  if (extra.size > 0) {
    throw new VggkitError(
      'UNKNOWN_LAYER',
      `extra outputs: expected layers up to ${target}, received ${[...extra].join(', ')}`,
    );
  }
  g.output(asOutput(x), 'output');
  return g.serialize({
    graphName: `vggkit_${spec.options.arch}`,
    metadata: { ...spec.metadata, [METADATA_KEYS.outputLayer]: target },
  });
}

function inputTransform(
  g: GraphBuilder,
  x: Sym,
  t: NonNullable<VggGraphOptions['inputTransform']>,
): Sym {
  const kernel = new Float32Array(9);
  for (let c = 0; c < 3; c++) kernel[c * 3 + (t.source[c] as number)] = t.scale[c] as number;
  const w = g.constant('input_transform_kernel', {
    dtype: 'float32',
    dims: [3, 3, 1, 1],
    data: kernel,
  });
  const b = g.constant('input_transform_bias', {
    dtype: 'float32',
    dims: [3],
    data: Float32Array.from(t.offset),
  });
  return g.node('Conv', [x, w, b], [...x.shape], { kernel_shape: attr.ints([1, 1]) });
}

function weightFor(weights: WeightMap, layer: LayerSpec, role: 'kernel' | 'bias'): Float32Tensor {
  const key = role === 'kernel' ? kernelKey(layer.name) : biasKey(layer.name);
  const expected = role === 'kernel' ? layer.kernelShape : layer.biasShape;
  const found = weights.get(key);
  if (found === undefined) {
    throw new VggkitError(
      'WEIGHTS_MISSING_LAYER',
      `weights: expected ${key} [${(expected ?? []).join(', ')}] for layer ${layer.name}, found none`,
    );
  }
  if (
    expected !== undefined &&
    (found.dims.length !== expected.length || found.dims.some((d, i) => d !== expected[i]))
  ) {
    throw new VggkitError(
      'WEIGHTS_SHAPE',
      `weights: ${key}: expected shape [${expected.join(', ')}], received [${found.dims.join(', ')}]`,
    );
  }
  return found;
}
