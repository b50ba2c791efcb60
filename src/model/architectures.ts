/**
 * The VGG family as one table: conv widths per block (Simonyan & Zisserman, configs A, B, D, E).
 * Everything else — layer names, shapes, parameter counts, graphs, weight loading — derives from
 * this table, so a new variant is one row.
 */
import { oneOf } from '../util/errors.js';

export const ARCHITECTURES = {
  vgg11: [[64], [128], [256, 256], [512, 512], [512, 512]],
  vgg13: [
    [64, 64],
    [128, 128],
    [256, 256],
    [512, 512],
    [512, 512],
  ],
  vgg16: [
    [64, 64],
    [128, 128],
    [256, 256, 256],
    [512, 512, 512],
    [512, 512, 512],
  ],
  vgg19: [
    [64, 64],
    [128, 128],
    [256, 256, 256, 256],
    [512, 512, 512, 512],
    [512, 512, 512, 512],
  ],
} as const satisfies Record<string, readonly (readonly number[])[]>;

export type ArchName = keyof typeof ARCHITECTURES;
export const ARCH_NAMES = Object.keys(ARCHITECTURES) as ArchName[];

export function parseArch(value: unknown): ArchName {
  return oneOf('--arch', ARCH_NAMES, value);
}

export type Pooling = 'none' | 'avg' | 'max';

export interface VggOptions {
  readonly arch: ArchName;
  /** fc1 4096, fc2 4096, predictions (classes, softmax); input fixed at 224x224. */
  readonly includeTop: boolean;
  /** [height, width]; at least 32 each; must be 224x224 with the top. */
  readonly inputSize: readonly [number, number];
  /** Global pooling after block5 when there is no top. */
  readonly pooling: Pooling;
  /** Number of outputs of `predictions` (1000 for ImageNet). */
  readonly classes: number;
  /** Conv widths per block instead of the table's row for `arch` (small test networks). */
  readonly widths?: readonly (readonly number[])[];
  /** Units of fc1 and fc2 instead of 4096; when given, the top accepts any input size. */
  readonly fcUnits?: number;
}

/** Every kind of layer; each graph builder lowers them through a table keyed by this list. */
export const LAYER_KINDS = [
  'input',
  'conv',
  'pool',
  'flatten',
  'dense',
  'dropout',
  'global-avg',
  'global-max',
] as const;

export type LayerKind = (typeof LAYER_KINDS)[number];

/** One Keras-named layer with its NHWC output shape (batch omitted) and weight shapes (Keras layout). */
export interface LayerSpec {
  readonly name: string;
  readonly kind: LayerKind;
  /** [H, W, C] for spatial outputs, [features] after flatten/dense/global pooling. */
  readonly outputShape: readonly number[];
  /** Keras layout: conv kernel [3, 3, in, out] (HWIO), dense kernel [in, out]; bias [out]. */
  readonly kernelShape?: readonly number[];
  readonly biasShape?: readonly number[];
  readonly activation?: 'relu' | 'softmax' | 'sigmoid';
  /** conv layers: 1-based block index, for freezing and per-block learning rates. */
  readonly block?: number;
}

/**
 * Conv and pool layers of blocks `firstBlock`.. of `widths`, fed an NHWC `input` [H, W, C]: the
 * whole base from the image (block 1) or, for training, the trainable blocks from a cut.
 */
export function convBlocks(
  widths: readonly (readonly number[])[],
  firstBlock: number,
  input: readonly [number, number, number],
): LayerSpec[] {
  const layers: LayerSpec[] = [];
  let [h, w, c] = input;
  for (let block = firstBlock; block <= widths.length; block++) {
    (widths[block - 1] as readonly number[]).forEach((out, i) => {
      layers.push({
        name: `block${block}_conv${i + 1}`,
        kind: 'conv',
        outputShape: [h, w, out],
        kernelShape: [3, 3, c, out],
        biasShape: [out],
        activation: 'relu',
        block,
      });
      c = out;
    });
    h = Math.floor(h / 2);
    w = Math.floor(w / 2);
    layers.push({ name: `block${block}_pool`, kind: 'pool', outputShape: [h, w, c], block });
  }
  return layers;
}

export function vggLayers(options: VggOptions): LayerSpec[] {
  const [height, width] = options.inputSize;
  if (options.includeTop && options.fcUnits === undefined && (height !== 224 || width !== 224)) {
    throw new RangeError(
      `includeTop needs a 224x224 input (fc1 expects 7x7x512), received ${height}x${width}`,
    );
  }
  if (height < 32 || width < 32) {
    throw new RangeError(
      `VGG needs an input of at least 32x32 (five 2x2 poolings), received ${height}x${width}`,
    );
  }
  const layers: LayerSpec[] = [
    { name: 'input_1', kind: 'input', outputShape: [height, width, 3] },
    ...convBlocks(options.widths ?? ARCHITECTURES[options.arch], 1, [height, width, 3]),
  ];
  const [h, w, c] = (layers[layers.length - 1] as LayerSpec).outputShape as [
    number,
    number,
    number,
  ];
  if (options.includeTop) {
    const flat = h * w * c;
    const units = options.fcUnits ?? 4096;
    layers.push({ name: 'flatten', kind: 'flatten', outputShape: [flat] });
    layers.push({
      name: 'fc1',
      kind: 'dense',
      outputShape: [units],
      kernelShape: [flat, units],
      biasShape: [units],
      activation: 'relu',
    });
    layers.push({
      name: 'fc2',
      kind: 'dense',
      outputShape: [units],
      kernelShape: [units, units],
      biasShape: [units],
      activation: 'relu',
    });
    layers.push({
      name: 'predictions',
      kind: 'dense',
      outputShape: [options.classes],
      kernelShape: [units, options.classes],
      biasShape: [options.classes],
      activation: 'softmax',
    });
  } else if (options.pooling === 'avg') {
    layers.push({ name: 'global_average_pooling2d', kind: 'global-avg', outputShape: [c] });
  } else if (options.pooling === 'max') {
    layers.push({ name: 'global_max_pooling2d', kind: 'global-max', outputShape: [c] });
  }
  return layers;
}

export function paramCount(layer: LayerSpec): number {
  const count = (shape: readonly number[] | undefined): number =>
    shape === undefined ? 0 : shape.reduce((a, b) => a * b, 1);
  return count(layer.kernelShape) + count(layer.biasShape);
}
