/**
 * What a finished run leaves in its folder besides what the loop writes each epoch (checkpoint,
 * history.csv, events.jsonl): the model (model.onnx + weights.h5), the best epoch's model in
 * `best/`, history.json, predictions.json (with a validation set; predictions.ts) and report.html. history.json's schema is documented at `historyJson`.
 */
import { join } from 'node:path';
import { readSafetensors } from '../model/safetensors.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic.js';
import { checkpointExists } from './checkpoint.js';
import type { EpochLogs, StopTraining } from './events.js';
import { writeModel } from './model-output.js';
import { modelValidationOutputs, writeValPredictions } from './predictions.js';
import { renderTrainingReport } from './report.js';
import type { TrainingRun } from './run.js';

export function historyFile(run: TrainingRun): string {
  return join(run.out, 'history.json');
}

/**
 * history.json: the class names and one record per epoch with Keras' metric names and the stage it
 * belonged to (what `vggkit doctor --history` reads; the class count sets its chance level).
 */
export function historyJson(run: TrainingRun): {
  classNames: readonly string[];
  epochs: Record<string, unknown>[];
} {
  const stageOfEpoch = run.stages.flatMap((s) => new Array<string>(s.epochs).fill(s.name));
  // JSON has no NaN or Infinity: write them as the strings Python's json and the doctor read back.
  const finite = (logs: EpochLogs): Record<string, unknown> =>
    Object.fromEntries(
      Object.entries(logs).map(([k, v]) => [
        k,
        typeof v === 'number' && !Number.isFinite(v) ? String(v) : v,
      ]),
    );
  return {
    classNames: run.classNames,
    epochs: run.loop.history.map((logs, epoch) => ({
      epoch,
      ...finite(logs),
      stage: stageOfEpoch[epoch],
    })),
  };
}

/** The model, the best epoch's model, history.json and the curves report. */
export async function writeRunOutputs(
  run: TrainingRun,
  stopped: StopTraining | undefined,
): Promise<void> {
  const { description } = run;
  await writeModel(run.out, description, run.params);
  if (await checkpointExists(run.files.best)) {
    const best = new Map(run.params);
    for (const [key, t] of (await readSafetensors(run.files.best)).tensors) best.set(key, t);
    await writeModel(join(run.out, 'best'), description, best);
  }
  await writeJsonAtomic(historyFile(run), historyJson(run));
  // The run page's top losses and per-class metrics: the final model on the validation set.
  const readableVal = run.dataset.val.filter((f) => !run.skipped.some((k) => k.file === f.file));
  const validation =
    run.validation ??
    (readableVal.length > 0 ? await modelValidationOutputs(run.out, readableVal) : undefined);
  if (validation !== undefined && validation.files.length > 0) {
    const measured = new Set(validation.files);
    await writeValPredictions(run.out, validation, {
      classNames: run.classNames,
      data: run.config.val ?? run.options.data,
      skipped: run.dataset.val.filter((f) => !measured.has(f.file)).length,
    });
  }
  await writeFileAtomic(
    join(run.out, 'report.html'),
    renderTrainingReport({
      history: run.loop.history,
      stages: run.stages,
      config: run.config,
      classNames: run.classNames,
      stoppedBy: stopped?.by,
    }),
  );
}
