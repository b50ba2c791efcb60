/**
 * `--model DIR` with a data folder: the model's accuracy and per-class recall on the folder's
 * readable images, preprocessed with the model's own contract. Images of folders the model has no
 * class for are left out (class-count-mismatch reports those folders).
 */
import { inferBatches } from '../engine/inference.js';
import { Session } from '../engine/session.js';
import type { LoadedModelFolder } from '../model/model-folder.js';
import { VggkitError } from '../util/errors.js';
import { readable } from './context.js';
import type { DataScan } from './scan.js';
import type { ModelEvaluation } from './types.js';

export const EVAL_BATCH = 16;

export async function evaluateOnScan(folder: LoadedModelFolder, scan: DataScan): Promise<ModelEvaluation | undefined> {
  const { classNames, contract } = folder.metadata;
  const labelOf = new Map<string, number>();
  for (const r of readable(scan.records)) {
    const label = classNames.indexOf(r.className as string);
    if (label >= 0) labelOf.set(r.file, label);
  }
  if (labelOf.size === 0) return undefined;
  const k = classNames.length;
  const hits = new Array<number>(k).fill(0);
  const totals = new Array<number>(k).fill(0);
  const session = await Session.create(folder.model);
  try {
    for await (const batch of inferBatches(session, [...labelOf.keys()], contract, { batchSize: EVAL_BATCH })) {
      const width = batch.output.dims[1] ?? 0;
      // A binary cross-entropy model has one sigmoid output: the probability of the second class.
      if (batch.files.length > 0 && width !== k && !(width === 1 && k === 2))
        throw new VggkitError('MODEL_METADATA', `${folder.file}: expected ${k} outputs (one per class name), received ${width}`, { file: folder.file });
      batch.files.forEach((file, row) => {
        const label = labelOf.get(file) as number;
        const out = batch.output.data.subarray(row * width, (row + 1) * width);
        const predicted = width === 1 ? Number((out[0] as number) > 0.5) : out.indexOf(Math.max(...out));
        totals[label] = (totals[label] as number) + 1;
        if (predicted === label) hits[label] = (hits[label] as number) + 1;
      });
    }
  } finally {
    await session.release();
  }
  const images = totals.reduce((a, b) => a + b, 0);
  if (images === 0) return undefined;
  const perClassRecall: Record<string, number> = {};
  classNames.forEach((name, c) => {
    if ((totals[c] as number) > 0) perClassRecall[name] = (hits[c] as number) / (totals[c] as number);
  });
  return { images, accuracy: hits.reduce((a, b) => a + b, 0) / images, perClassRecall };
}
