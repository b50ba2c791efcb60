/**
 * Curve checks judge one training at a time, on numbers that mean what their names say:
 * - a log holding several trainings (a fit() re-run from scratch appended to the same CSV; see
 *   trainings.ts) is split, each finding naming the training it is about;
 * - when the log's "accuracy" is BinaryAccuracy on a multi-class softmax (trends.ts
 *   `binaryAccuracy`), or a one-hot metric under the model's sparse loss (keras-labels.ts), the
 *   checks see no accuracy at all and judge by the loss.
 */
import { classCount } from '../context.js';
import { trainingLabel, trainingsOf } from '../trainings.js';
import { binaryAccuracy, withoutAccuracy } from '../trends.js';
import type { Check, Finding } from '../types.js';
import { accuracyContradictsLoss } from './keras-labels.js';

export function perTraining(check: Check): Check {
  return {
    ids: check.ids,
    family: check.family,
    async run(ctx) {
      const history = ctx.history;
      if (history === undefined) return [];
      const judge =
        binaryAccuracy(history, classCount(ctx)) === undefined && !accuracyContradictsLoss(ctx)
          ? (h: typeof history) => h
          : withoutAccuracy;
      const trainings = trainingsOf(history);
      if (trainings.length === 1) return check.run({ ...ctx, history: judge(history) });
      const findings: Finding[] = [];
      for (const [k, training] of trainings.entries()) {
        for (const f of await check.run({ ...ctx, history: judge(training.history) }))
          findings.push({
            ...f,
            title: `${f.title} (training ${k + 1} of ${trainings.length}: ${trainingLabel(training)})`,
            evidence: { ...f.evidence, training: k + 1 },
          });
      }
      return findings;
    },
  };
}
