/**
 * `--model DIR` with a data folder: the model's accuracy and per-class recall on the folder's
 * readable images, preprocessed with the model's own contract. Images of folders the model has no
 * class for are left out (class-count-mismatch reports those folders).
 */
import type { LoadedModelFolder } from '../model/model-folder.js';
import { predictLabelled } from '../train/evaluate.js';
import { evaluationReport } from '../train/metrics.js';
import { readable } from './context.js';
import type { DataScan } from './scan.js';
import type { ModelEvaluation } from './types.js';

export async function evaluateOnScan(
  folder: LoadedModelFolder,
  scan: DataScan,
  cacheDir: string,
): Promise<ModelEvaluation | undefined> {
  const { classNames } = folder.metadata;
  const items = readable(scan.records)
    .map((r) => ({ file: r.file, label: classNames.indexOf(r.className as string) }))
    .filter((item) => item.label >= 0);
  if (items.length === 0) return undefined;
  const { probabilities, labels } = await predictLabelled(folder, items, { cacheDir });
  if (labels.length === 0) return undefined;
  const report = evaluationReport(probabilities, labels, classNames);
  const perClassRecall: Record<string, number> = {};
  for (const c of report.perClass) if (c.support > 0) perClassRecall[c.name] = c.recall;
  return { images: labels.length, accuracy: report.accuracy, perClassRecall };
}
