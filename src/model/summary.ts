/**
 * Keras-style model summaries: one row per layer with its type, output shape (batch as None),
 * parameter count and whether it trains, then the totals `model.summary()` prints.
 */
import { type LayerKind, type LayerSpec, paramCount } from './architectures.js';

/** Keras class names, so the table reads like `model.summary()`. */
const KERAS_TYPES: Record<LayerKind, string> = {
  input: 'InputLayer',
  conv: 'Conv2D',
  pool: 'MaxPooling2D',
  flatten: 'Flatten',
  dense: 'Dense',
  dropout: 'Dropout',
  'global-avg': 'GlobalAveragePooling2D',
  'global-max': 'GlobalMaxPooling2D',
};

export interface SummaryRow {
  readonly name: string;
  readonly type: string;
  /** Keras' NHWC output shape with the batch as null (None). */
  readonly outputShape: readonly (number | null)[];
  readonly params: number;
  readonly trainable: boolean;
}

export interface ModelSummary {
  readonly name: string;
  readonly layers: readonly SummaryRow[];
  readonly totalParams: number;
  readonly trainableParams: number;
  readonly nonTrainableParams: number;
}

export function summarize(
  name: string,
  layers: readonly LayerSpec[],
  isTrainable: (layer: string) => boolean = () => true,
): ModelSummary {
  const rows = layers.map((layer) => ({
    name: layer.name,
    type: KERAS_TYPES[layer.kind],
    outputShape: [null, ...layer.outputShape],
    params: paramCount(layer),
    trainable: isTrainable(layer.name),
  }));
  const total = rows.reduce((sum, row) => sum + row.params, 0);
  const trainable = rows.reduce((sum, row) => sum + (row.trainable ? row.params : 0), 0);
  return {
    name,
    layers: rows,
    totalParams: total,
    trainableParams: trainable,
    nonTrainableParams: total - trainable,
  };
}

const group = (n: number): string => n.toLocaleString('en-US');

export function renderSummary(summary: ModelSummary): string {
  const cells = summary.layers.map((row) => [
    `${row.name} (${row.type})`,
    `(${row.outputShape.map((d) => (d === null ? 'None' : String(d))).join(', ')})`,
    group(row.params),
    row.trainable ? 'Y' : 'N',
  ]);
  const header = ['Layer (type)', 'Output Shape', 'Param #', 'Trainable'];
  const widths = header.map(
    (h, i) => Math.max(h.length, ...cells.map((c) => (c[i] as string).length)) + 3,
  );
  const line = (c: readonly string[]): string =>
    ` ${c.map((v, i) => v.padEnd(widths[i] as number)).join('')}`.trimEnd();
  const width = widths.reduce((a, b) => a + b, 1);
  return [
    `Model: "${summary.name}"`,
    '_'.repeat(width),
    line(header),
    '='.repeat(width),
    ...cells.map(line),
    '='.repeat(width),
    `Total params: ${group(summary.totalParams)}`,
    `Trainable params: ${group(summary.trainableParams)}`,
    `Non-trainable params: ${group(summary.nonTrainableParams)}`,
    '',
  ].join('\n');
}
