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
  /**
   * Units of further hidden Dense(relu) layers after `dense`, in order: a user's Keras head may
   * have several (vggkit trains heads with one). Absent: one hidden layer.
   */
  readonly moreDense?: readonly number[];
}

/**
 * The head's Dense layers in order, as Keras names them in a fresh session: `dense`, `dense_1`,
 * …; the last is the output (`dense_1` for vggkit's own one-hidden-layer head).
 */
export function headDenseNames(head: HeadSpec): string[] {
  const count = 2 + (head.moreDense?.length ?? 0);
  return Array.from({ length: count }, (_, i) => (i === 0 ? 'dense' : `dense_${i}`));
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
  const names = headDenseNames(head);
  const widths = [head.dense, ...(head.moreDense ?? [])];
  const hidden = widths.map((units, i): LayerSpec => ({
    name: names[i] as string,
    kind: 'dense',
    outputShape: [units],
    kernelShape: [i === 0 ? features : (widths[i - 1] as number), units],
    biasShape: [units],
    activation: 'relu',
  }));
  const width = widths.at(-1) as number;
  return [
    head.kind === 'flatten'
      ? { name: 'flatten', kind: 'flatten', outputShape: [features] }
      : { name: 'global_average_pooling2d', kind: 'global-avg', outputShape: [features] },
    ...hidden,
    { name: 'dropout', kind: 'dropout', outputShape: [width] },
    {
      name: names.at(-1) as string,
      kind: 'dense',
      outputShape: [head.classes],
      kernelShape: [width, head.classes],
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
