/** Facts several check families derive from the context, computed one way only. */
import type { ResizeMode } from '../image/contract.js';
import type { TrainConfig } from '../train/config.js';
import type { DoctorContext } from './types.js';
import type { ImageRecord, Split } from './scan.js';

/** Why 224: the Keras ImageNet contract, which is vggkit's default weights. */
export const DEFAULT_INPUT_SIZE = 224;
/** How many example files a finding lists (the HTML report shows them as thumbnails). */
export const MAX_EXAMPLES = 6;

export function readable(records: readonly ImageRecord[], split?: Split): ImageRecord[] {
  return records.filter(
    (r) =>
      r.error === undefined &&
      r.className !== undefined &&
      (split === undefined || r.split === split),
  );
}

/** Readable images per class folder of a split, including folders with none. */
export function classCounts(ctx: DoctorContext, split: Split = 'train'): Map<string, number> {
  const scan = ctx.scan;
  const counts = new Map<string, number>();
  if (scan === undefined) return counts;
  const layout = split === 'train' ? scan.train : scan.val;
  for (const name of layout?.classes ?? []) counts.set(name, 0);
  for (const r of readable(scan.records, split))
    counts.set(r.className as string, (counts.get(r.className as string) ?? 0) + 1);
  return counts;
}

/** The class count the inputs themselves show (data folders with images, the model's metadata, the log's class names) and which one showed it. */
export function classCountWithout(
  ctx: DoctorContext,
): { count: number; source: string } | undefined {
  if (ctx.scan !== undefined) {
    const n = [...classCounts(ctx).values()].filter((c) => c > 0).length;
    if (n > 0) return { count: n, source: 'the data folder' };
  }
  const model = ctx.model?.classes?.length;
  if (model !== undefined) return { count: model, source: 'the model folder' };
  const log = ctx.history?.classNames?.length;
  if (log !== undefined) return { count: log, source: `the training log (${ctx.history?.file})` };
  return undefined;
}

/**
 * The setup under diagnosis, which the fix loop measures from and its findings compare against:
 * the user's vggkit config, else the one their Keras model was compiled with (`--keras`).
 */
export function setupConfig(ctx: DoctorContext): TrainConfig | undefined {
  return ctx.config ?? ctx.kerasConfig;
}

/** Classes the model is trained on: data folders with images, else the model's metadata, else the training log's, else `--classes`. */
export function classCount(ctx: DoctorContext): number | undefined {
  return classCountWithout(ctx)?.count ?? ctx.classes;
}

/** Training images after the automatic validation split (all of them when --val is given). */
export function trainImages(ctx: DoctorContext): number | undefined {
  if (ctx.scan === undefined) return undefined;
  const total = readable(ctx.scan.records, 'train').length;
  const valSplit =
    ctx.scan.val === undefined && ctx.config !== undefined && ctx.config.val === undefined
      ? ctx.config.valSplit
      : 0;
  return Math.floor(total * (1 - valSplit));
}

export function inputSize(ctx: DoctorContext): number {
  return ctx.config?.inputSize ?? ctx.contract?.inputSize[0] ?? DEFAULT_INPUT_SIZE;
}

export function resizeMode(ctx: DoctorContext): ResizeMode {
  return ctx.config?.resize ?? ctx.contract?.resize ?? 'stretch';
}

export function examples(records: readonly ImageRecord[]): string[] {
  return records.slice(0, MAX_EXAMPLES).map((r) => r.file);
}

export function percent(part: number, whole: number): string {
  return whole === 0 ? '0%' : `${((100 * part) / whole).toFixed(part / whole < 0.1 ? 1 : 0)}%`;
}
