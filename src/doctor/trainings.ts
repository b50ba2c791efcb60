/**
 * How a training log divides, read as a practitioner reads it.
 *
 * - A stage is a run of consecutive epochs with one stage label: vggkit's stages, Keras fit()
 *   runs appended to one CSVLogger file (`fit 1`, `fit 2`, …), or the files of a phased
 *   fine-tune given as several `--history` (`phase 1`, `phase 2`).
 * - A training is what one model went through. A stage continues the previous one unless it
 *   starts over from an untrained model — a notebook re-run appended to the same CSV: its first
 *   epoch is no better than the log's very first epoch and clearly worse than where the previous
 *   stage ended. Curves are judged per training, so a restart is not read as forgetting, and a
 *   loss that falls, jumps back up and falls again is not read as slow or unstable.
 */
import type { EpochRecord, TrainingHistory } from './history.js';

/** A restart begins with a training loss at least 95% of the log's first-epoch loss (the first stage's start, give or take noise) ... */
export const FRESH_START_LOSS = 0.95;
/** ... and a training accuracy at most 5 points above the log's first-epoch accuracy ... */
export const FRESH_START_ACCURACY = 0.05;
/**
 * ... while the previous stage ended with a loss at least 10% lower (or an accuracy at least
 * 5 points higher): otherwise nothing was lost, as in a run stuck at chance across fits.
 * Evidence: akshatsharma_mri4 (fits 2 and 4 start at loss 1.29 and 1.25 against the first fit's
 * 1.18, after fits ending at 0.99 and 0.50: restarts; fit 3 starts at 1.06 with accuracy 0.59:
 * a continuation), aman001_plant19 phase 2 (accuracy 0.86 against phase 1's first 0.81, but loss
 * 0.47 against 0.59: a continuation), brandtkaufmann_cats5 fit 2 (accuracy 0.98: a continuation).
 */
export const FRESH_START_DROP_LOSS = 0.1;

export interface Stage {
  /** The stage label, or undefined for a log without stages. */
  readonly name: string | undefined;
  /** Positions in `history.epochs`. */
  readonly first: number;
  readonly last: number;
}

export function stagesOf(history: TrainingHistory): Stage[] {
  const stages: Stage[] = [];
  history.epochs.forEach((e, i) => {
    const current = stages[stages.length - 1];
    if (current !== undefined && current.name === e.stage)
      stages[stages.length - 1] = { ...current, last: i };
    else stages.push({ name: e.stage, first: i, last: i });
  });
  return stages;
}

function firstMeasured(
  epochs: readonly EpochRecord[],
  metric: 'loss' | 'accuracy',
): number | undefined {
  return epochs.map((e) => e[metric]).find((v) => v !== undefined && Number.isFinite(v));
}

function lastMeasured(
  epochs: readonly EpochRecord[],
  metric: 'loss' | 'accuracy',
): number | undefined {
  return firstMeasured([...epochs].reverse(), metric);
}

/** True when `stage` starts over from an untrained model rather than continuing the stage before it. */
function startsOver(history: TrainingHistory, stages: readonly Stage[], k: number): boolean {
  const slice = (s: Stage): readonly EpochRecord[] => history.epochs.slice(s.first, s.last + 1);
  const origin = slice(stages[0] as Stage);
  const here = slice(stages[k] as Stage);
  const before = slice(stages[k - 1] as Stage);
  const verdicts: boolean[] = [];
  const loss0 = firstMeasured(origin, 'loss');
  const loss = firstMeasured(here, 'loss');
  const endLoss = lastMeasured(before, 'loss');
  if (loss0 !== undefined && loss !== undefined && endLoss !== undefined)
    verdicts.push(
      loss >= FRESH_START_LOSS * loss0 && endLoss <= (1 - FRESH_START_DROP_LOSS) * loss,
    );
  const acc0 = firstMeasured(origin, 'accuracy');
  const acc = firstMeasured(here, 'accuracy');
  const endAcc = lastMeasured(before, 'accuracy');
  if (acc0 !== undefined && acc !== undefined && endAcc !== undefined)
    verdicts.push(acc <= acc0 + FRESH_START_ACCURACY && endAcc >= acc + FRESH_START_ACCURACY);
  return verdicts.length > 0 && verdicts.every(Boolean);
}

export interface Training {
  /** The stages it went through, in order. */
  readonly stages: readonly Stage[];
  /** The same history restricted to this training's epochs (their `index` unchanged). */
  readonly history: TrainingHistory;
}

/** The log split where a stage starts over from an untrained model; one training when none does. */
export function trainingsOf(history: TrainingHistory): Training[] {
  const stages = stagesOf(history);
  const groups: Stage[][] = [];
  stages.forEach((stage, k) => {
    if (k === 0 || startsOver(history, stages, k)) groups.push([stage]);
    else groups[groups.length - 1]?.push(stage);
  });
  if (groups.length === 1) return [{ stages, history }];
  return groups.map((group) => {
    const first = (group[0] as Stage).first;
    const last = (group[group.length - 1] as Stage).last;
    return {
      stages: group,
      history: { ...history, epochs: history.epochs.slice(first, last + 1) },
    };
  });
}

/** "fit 2 + fit 3", or "epochs 5-10" (counted from 1, as the charts do) for a log without stage labels. */
export function trainingLabel(training: Training): string {
  const names = training.stages.map((s) => s.name).filter((n): n is string => n !== undefined);
  if (names.length > 0) return names.join(' + ');
  const epochs = training.history.epochs;
  return `epochs ${(epochs[0]?.index ?? 0) + 1}-${(epochs[epochs.length - 1]?.index ?? 0) + 1}`;
}

/** How the doctor read a log, for the report's header (`summary.history` in --json). */
export interface HistoryReading {
  readonly file: string;
  readonly format: TrainingHistory['format'];
  readonly epochs: number;
  /** Stage names in order (fits, phases or vggkit stages); empty for a log without stages. */
  readonly stages: readonly string[];
  /** Each training as its stages joined (`fit 2 + fit 3`); one entry unless a stage starts over. */
  readonly trainings: readonly string[];
  readonly notes: readonly string[];
  /** For several logs: which file each phase came from. */
  readonly phases?: readonly { readonly file: string; readonly epochs: number }[];
}

export function readingOf(history: TrainingHistory): HistoryReading {
  return {
    file: history.file,
    format: history.format,
    epochs: history.epochs.length,
    stages: stagesOf(history).flatMap((s) => (s.name === undefined ? [] : [s.name])),
    trainings: trainingsOf(history).map(trainingLabel),
    notes: history.notes ?? [],
    ...(history.sources === undefined
      ? {}
      : {
          phases: history.sources.map((s) => ({ file: s.file, epochs: s.last - s.first + 1 })),
        }),
  };
}

/** The lines a person reads first: what was read, in how many stages and trainings, against which chance level. */
export function describeReading(reading: HistoryReading, classes: number | undefined): string[] {
  const parts = [`${reading.epochs} epochs`];
  if (reading.phases !== undefined)
    parts.push(
      reading.phases.map((p, k) => `phase ${k + 1} = ${p.file} (${p.epochs} epochs)`).join(', '),
    );
  else if (reading.stages.length > 1) {
    const fits = reading.stages.every((s) => /^fit \d+$/.test(s));
    parts.push(
      fits
        ? `${reading.stages.length} fit() runs appended to one file, read as stages`
        : `stages ${reading.stages.join(', ')}`,
    );
  }
  if (reading.trainings.length > 1)
    parts.push(
      `${reading.trainings.length - 1} of them start${reading.trainings.length === 2 ? 's' : ''} again from an untrained model, so the curves are judged as ${reading.trainings.length} separate trainings: ${reading.trainings.join(' | ')}`,
    );
  const head =
    reading.phases === undefined
      ? `Read ${reading.file} (${reading.format}): ${parts.join('; ')}.`
      : `Read ${reading.phases.length} logs as the phases of one fine-tune: ${parts.join('; ')}.`;
  return [
    head,
    ...reading.notes.map((n) => `  note: ${n}.`),
    classes === undefined
      ? '  Class count unknown: the checks against chance level (stuck-at-chance, initial-loss-off, underfitting, binary accuracy) did not run; give --classes N.'
      : `  Chance level: 1/${classes} (accuracy ${(100 / classes).toFixed(1)}%, loss ln ${classes} = ${Math.log(classes).toFixed(3)}).`,
  ];
}
