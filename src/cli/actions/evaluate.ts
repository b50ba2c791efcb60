/** What `vggkit evaluate` does (declared in ../evaluate.ts). */
import { stat } from 'node:fs/promises';
import { createProgress, type Progress } from '../../report/progress.js';
import { evaluateModel, type EvaluationResult } from '../../train/evaluate.js';
import { EVALUATION_FILE, writeEvaluation } from '../../train/predictions.js';
import { parseInteger, printJson } from '../common.js';
import type { EvaluateFlags } from '../evaluate.js';
import { Int8Progress, parsePrecisionFlags } from './precision.js';

export async function evaluate(model: string, dir: string, flags: EvaluateFlags): Promise<void> {
  const batchSize = parseInteger('--batch-size', flags.batchSize, 16);
  const precision = parsePrecisionFlags(flags);
  let progress: Progress | undefined;
  const int8Progress = new Int8Progress(flags.json === true);
  let result: EvaluationResult;
  try {
    result = await evaluateModel({
      model,
      ...(flags.kerasWeights === undefined ? {} : { kerasWeights: flags.kerasWeights }),
      data: dir,
      batchSize,
      ...precision,
      onInt8Progress: int8Progress.update,
      log: (line) => {
        int8Progress.stop();
        process.stderr.write(`vggkit: ${line}\n`);
      },
      onProgress: (done, total) => {
        progress ??= createProgress({
          label: 'evaluating',
          total,
          unit: 'img',
          json: flags.json === true,
        });
        progress.update(done);
      },
    });
  } finally {
    int8Progress.stop();
    progress?.stop();
  }
  // Beside the model, for the run page; a read-only model folder is not an error. A Keras model
  // file has no run page (and no folder of its own to write into).
  if ((await stat(model).catch(() => undefined))?.isDirectory() === true)
    await writeEvaluation(model, dir, result).catch((error: unknown) =>
      process.stderr.write(
        `vggkit: warning: could not write ${EVALUATION_FILE} in ${model}: ${String(error)}\n`,
      ),
    );
  if (flags.json === true) {
    const { accuracy, loss, perClass, confusionMatrix, classNames, skipped } = result;
    printJson({
      precision: result.precision,
      ...(result.int8 === undefined ? {} : { int8: result.int8 }),
      accuracy,
      loss,
      perClass,
      confusionMatrix,
      classNames,
      skipped: skipped.map(({ file, code, reason }) => ({ file, code, reason })),
    });
  } else {
    process.stdout.write(renderReport(result));
  }
}

function table(rows: readonly (readonly string[])[]): string {
  const widths = (rows[0] ?? []).map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((cell, c) => (c === 0 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0)))
        .join('  '),
    )
    .join('\n');
}

export function renderReport(result: EvaluationResult): string {
  const images = result.confusionMatrix.flat().reduce((a, b) => a + b, 0);
  const perClass = table([
    ['class', 'precision', 'recall', 'f1', 'support'],
    ...result.perClass.map((c) => [
      c.name,
      c.precision.toFixed(4),
      c.recall.toFixed(4),
      c.f1.toFixed(4),
      String(c.support),
    ]),
  ]);
  const confusion = table([
    ['true \\ predicted', ...result.classNames],
    ...result.confusionMatrix.map((row, i) => [result.classNames[i] ?? '', ...row.map(String)]),
  ]);
  return [
    `images    ${images}${result.skipped.length > 0 ? ` (${result.skipped.length} skipped)` : ''}`,
    `accuracy  ${result.accuracy.toFixed(4)}`,
    `loss      ${result.loss.toFixed(4)}`,
    // Only when int8 was asked for: whether it ran (the reason is on stderr).
    ...(result.int8 === undefined
      ? []
      : [
          `precision ${result.precision}${result.int8.reason === undefined ? '' : ' (int8 rejected by the accuracy guard)'}`,
        ]),
    '',
    perClass,
    '',
    'confusion matrix (rows: true class, columns: predicted)',
    confusion,
    '',
  ].join('\n');
}
