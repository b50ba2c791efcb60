/**
 * Softmax on a multi-label setup. The model file cannot say whether an image may carry several
 * labels; the data folder can: a multi-label set laid out as class folders has the same image
 * (identical bytes, the scan's sha256) filed under several classes. One or two such copies are
 * filing mistakes, which duplicate-images already reports as contradictory labels; a multi-label
 * layout puts a sizeable share of its images in several folders, hence the two thresholds.
 */
import { readable } from '../context.js';
import type { DataScan } from '../scan.js';
import type { Check } from '../types.js';

/** Fewer images in several folders than this reads as filing mistakes, not a multi-label set. */
export const MULTI_LABEL_MIN_IMAGES = 3;
/** Share of the distinct training images filed under two or more classes. */
export const MULTI_LABEL_MIN_FRACTION = 0.05;

export interface MultiLabelEvidence {
  /** Distinct training images (by content) lying in two or more class folders. */
  readonly shared: number;
  readonly distinct: number;
  readonly examples: readonly (readonly string[])[];
}

/** The training folders hold the same images under several classes, often enough to be multi-label. */
export function multiLabelEvidence(scan: DataScan | undefined): MultiLabelEvidence | undefined {
  if (scan === undefined) return undefined;
  const bySha = new Map<string, { classes: Set<string>; files: string[] }>();
  for (const r of readable(scan.records, 'train')) {
    if (r.sha256 === undefined) continue;
    const entry = bySha.get(r.sha256) ?? { classes: new Set<string>(), files: [] };
    entry.classes.add(r.className as string);
    entry.files.push(r.file);
    bySha.set(r.sha256, entry);
  }
  const shared = [...bySha.values()].filter((e) => e.classes.size > 1);
  if (
    shared.length < MULTI_LABEL_MIN_IMAGES ||
    shared.length < MULTI_LABEL_MIN_FRACTION * bySha.size
  )
    return undefined;
  return {
    shared: shared.length,
    distinct: bySha.size,
    // The copies of each image, as duplicate-images lists them (the folders name the classes).
    examples: shared.slice(0, 5).map((e) => e.files),
  };
}

const softmaxMultiLabel: Check = {
  ids: ['output-activation-mismatch'],
  family: 'keras',
  run(ctx) {
    const out = ctx.keras?.analysis.output;
    if (out?.activation !== 'softmax' || out.units === undefined || out.units < 2) return [];
    const found = multiLabelEvidence(ctx.scan);
    if (found === undefined) return [];
    const share = Math.round((found.shared / found.distinct) * 100);
    return [
      {
        id: 'output-activation-mismatch',
        severity: 'warning',
        title: `A softmax output on multi-label data: ${found.shared} of ${found.distinct} training images (${share}%) sit in two or more class folders`,
        explanation: `Softmax makes the ${out.units} outputs sum to 1, so it forces one class per image: an image with two labels can score at most 0.5 on each, and the model is pushed to pick one. Class-folder loaders (image_dataset_from_directory, flow_from_directory) also give each copy a single label, so the same image is trained as one class and then as another — contradictory targets rather than multi-hot ones.`,
        evidence: {
          layer: out.layer,
          units: out.units,
          activation: out.activation,
          loss: ctx.keras?.model.training?.loss?.name ?? null,
          ...found,
        },
        fix: {
          summary:
            'If images really carry several labels: independent sigmoids with binary cross-entropy, fed one multi-hot label vector per image (built from a label table, not from folders). If each image has one class, the copies are filing mistakes: keep each image in its one folder.',
          keras: `layers.Dense(${out.units}, activation='sigmoid')(x); model.compile(loss='binary_crossentropy', metrics=[keras.metrics.BinaryAccuracy(), keras.metrics.AUC(multi_label=True)], optimizer=...)  # y: multi-hot vectors`,
          flag: 'none: vggkit trains single-label class folders only, so a multi-label set is outside what vggkit train does',
        },
      },
    ];
  },
};

export const KERAS_MULTI_LABEL_CHECKS: readonly Check[] = [softmaxMultiLabel];
