/**
 * The classification head vggkit's trainer puts on the convolutional base (the seed article's
 * Example 2): Flatten or GlobalAveragePooling2D, Dense(relu), Dropout, Dense(softmax|sigmoid).
 * Layer names are the ones Keras gives these layers automatically in a fresh session, so weights
 * and freezing rules written against Keras code find the same names here.
 */
import { type LayerSpec, type VggOptions, vggLayers } from './architectures.js';

/** `flatten` keeps every position (Keras `Flatten`, NHWC order); `avg` averages them. */
export const HEAD_KINDS = ['flatten', 'avg'] as const;
export type HeadKind = (typeof HEAD_KINDS)[number];

export interface HeadSpec {
  readonly kind: HeadKind;
  /** Units of the hidden dense layer. */
  readonly dense: number;
  readonly classes: number;
  readonly activation: 'softmax' | 'sigmoid';
}

/** The head's layers after `base`, whose last layer must be spatial ([H, W, C], e.g. block5_pool). */
export function headLayers(base: readonly LayerSpec[], head: HeadSpec): LayerSpec[] {
  const last = base[base.length - 1];
  const [h, w, c] = last?.outputShape ?? [];
  if (
    last === undefined ||
    h === undefined ||
    w === undefined ||
    c === undefined ||
    last.outputShape.length !== 3
  ) {
    throw new RangeError(
      `a head goes on a spatial output [H, W, C], received ${last === undefined ? 'no layers' : `${last.name} [${last.outputShape.join(', ')}]`}`,
    );
  }
  const features = head.kind === 'flatten' ? h * w * c : c;
  return [
    head.kind === 'flatten'
      ? { name: 'flatten', kind: 'flatten', outputShape: [features] }
      : { name: 'global_average_pooling2d', kind: 'global-avg', outputShape: [features] },
    {
      name: 'dense',
      kind: 'dense',
      outputShape: [head.dense],
      kernelShape: [features, head.dense],
      biasShape: [head.dense],
      activation: 'relu',
    },
    { name: 'dropout', kind: 'dropout', outputShape: [head.dense] },
    {
      name: 'dense_1',
      kind: 'dense',
      outputShape: [head.classes],
      kernelShape: [head.dense, head.classes],
      biasShape: [head.classes],
      activation: head.activation,
    },
  ];
}

/** The base network's layers, followed by the head's when there is one. */
export function modelLayers(options: VggOptions, head?: HeadSpec): LayerSpec[] {
  const base = vggLayers(options);
  if (head === undefined) return base;
  if (options.includeTop || options.pooling !== 'none') {
    throw new RangeError(
      `a head replaces the top and global pooling: expected includeTop false and pooling none, received includeTop ${options.includeTop}, pooling ${options.pooling}`,
    );
  }
  return [...base, ...headLayers(base, head)];
}
