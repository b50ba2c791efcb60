/**
 * How validation behaves against training: overfitting (a rising validation loss, or a large
 * accuracy gap while validation has stopped improving), validation above training, a validation
 * loss on another scale than training's, validation predictions that never change, and
 * forgetting at a stage change. Part of the dynamics family; judged per training.
 */
import { classCount } from '../context.js';
import {
  epochAt,
  epochName,
  epochNumber,
  series,
  type EpochRecord,
  type TrainingHistory,
} from '../history.js';
import { finite, runningMedian, stuckAtChance, trainedEpochs, type Point } from '../trends.js';
import type { Check, Finding } from '../types.js';
import { median } from '../../util/stats.js';
import { perTraining } from './per-training.js';

/**
 * Overfitting: the validation loss over its last 3 epochs (median) 15% (and 0.02) above its best
 * (of the running median), 3+ epochs after it, while train loss kept falling. Measured so, a
 * noisy flat validation loss is not rising: arnabmitra_intel6 (0.33-0.46 in its last 8 epochs,
 * ending at 0.331) reads +12%, ricecovid_xray3 frozen (66 validation images) +8%; the raw last
 * value against the raw best read +17% and +27%.
 */
export const OVERFIT_RISE = 0.15;
export const OVERFIT_MIN_RISE = 0.02;
export const OVERFIT_EPOCHS = 3;
/**
 * Overfitting with a flat validation loss: training accuracy 10 points or more above validation
 * accuracy over the last quarter of the run (at least 3 epochs) while validation has stopped
 * improving. Evidence: the smallest gaps a practitioner calls overfitting are
 * burakerguvn_cars5 (13.5 points, validation flat at 75% for 60 epochs) and brandtkaufmann_cats5
 * (14.5: 100% against 85%); alphaeusng_cars196 (44: 100% against 56%) and
 * saitejagaje_mri4 (40) are far above. Healthy runs stay below 8: aitzaz_tomato10 7.4,
 * tonyhsu32_utk5 phase 2 5.2, ricecovid_xray3 4.1.
 */
export const OVERFIT_GAP = 0.1;
export const OVERFIT_TAIL_FRACTION = 0.25;
/**
 * "Stopped improving": from the window before the last quarter to the last quarter, the median
 * validation loss fell by less than 5% (alphaeusng_cars196: 3%, still creeping down while
 * training loss halves), or the median validation accuracy rose by less than 1 point
 * (brandtkaufmann_cats5, whose loss carries a shrinking weight penalty and so keeps falling).
 */
export const OVERFIT_FLAT_LOSS = 0.05;
export const OVERFIT_FLAT_ACCURACY = 0.01;
/**
 * Validation accuracy above train accuracy by 5 points over the second half of training (a
 * note). Evidence: priyanka_vgg16 5.3 (94% against 88%, heavy augmentation) and akshatsharma_mri4's
 * head runs 11-12 points are the gaps a practitioner notices; obaidajmal_mango8 4.8,
 * tonyhsu32_utk5 phase 1 4.0 and aman001_plant19 phase 1 3.1 are within a few images' noise.
 */
export const VAL_ABOVE_TRAIN_GAP = 0.05;
/**
 * A validation loss 10x the training loss over the first 3 epochs, and above 2 ln(classes):
 * no model overfits that much before it has seen its data twice. Evidence: saitejagaje_mri4
 * resnet50 (109816, 2539, 229 against 4.6, 1.4, 1.2 — validation fed or normalised differently).
 * The worst healthy start is alokd604_soybean3's 3.5x.
 */
export const VAL_OFF_SCALE_RATIO = 10;
export const VAL_OFF_SCALE_EPOCHS = 3;
/**
 * Validation accuracy identical for 5+ consecutive epochs covering half the run,
 * while the validation loss moves by 20% or more: the predicted classes never change, only
 * their confidence. Evidence: arjunpesaru_brats4 (0.98660713 in all 35 epochs while val_loss
 * falls 0.785 -> 0.057: every pixel predicted background). A converged model holding one count
 * also holds its loss.
 */
export const CONSTANT_VAL_EPOCHS = 5;
/** "Identical": within 1e-6. Keras averages metrics in float32, which wobbles by a few 1e-7 (arjunpesaru_brats4); one image more or less, out of fewer than a million, moves it by more. */
export const SAME_ACCURACY = 1e-6;
/**
 * "Moves": the validation loss spans 20% of its largest value. emanuellemoco_fer7 NUL-header holds
 * 1/7 in all 5 epochs with a loss that moves 0.2%: stuck at chance, predictions and all — not
 * the same finding. arjunpesaru_brats4 spans 93%.
 */
export const CONSTANT_VAL_LOSS_CHANGE = 0.2;
/**
 * A stage or learning-rate change followed by a 5-point validation accuracy drop over the next
 * 2 epochs (two, so a one-epoch shock that is gained back at once is not a drop). Evidence:
 * tonyhsu32_utk5 phase 1 -> 2 goes 70.4% -> 61.5%, 79.8% (a mean gain); akshatsharma_mri4 fit 3
 * drops 18.5 points (recovered, see FORGET_RECOVERY); none of the 22 other rate steps of 2x or
 * more in the real logs drops validation more than 1.8 points (alokd604_soybean3).
 */
export const FORGET_DROP = 0.05;
export const FORGET_WINDOW = 2;
/**
 * Recovered: validation accuracy back within 1 point of its pre-change level before the stage
 * ends. Such a dip (BatchNorm statistics adapting when a ResNet base is unfrozen) is a note,
 * not forgetting: akshatsharma_mri4 fit 3 dips from 54% to 33% and 39%, then climbs to 81%.
 */
export const FORGET_RECOVERY = 0.01;
/**
 * Learning-rate change (either way) that marks a stage boundary when the log has no stage column.
 * Evidence: the phase changes in the real logs step the rate 4-10x (aman001_plant19 4x,
 * alphaeusng_cars196 5x, akshatsharma_mri4 10x); ReduceLROnPlateau steps of 2x
 * (anwaykapoor_mri4, factor 0.5) count too, and none of them is followed by a drop.
 */
export const LR_CHANGE_FACTOR = 2;

/** The validation loss has risen well above its smoothed best while training loss kept falling. */
function risingValidation(h: TrainingHistory): Record<string, unknown> | undefined {
  const val = finite(series(h, 'valLoss'));
  const train = finite(series(h, 'loss'));
  if (val.length < OVERFIT_EPOCHS + 2) return undefined;
  // Best and final levels both measured against the curve's noise: the best of the running
  // median (a one-epoch dip is luck), the median of the last epochs (a one-epoch spike is noise).
  const smooth = runningMedian(val);
  const best = smooth.reduce((a, b) => (b.value < a.value ? b : a));
  const last = {
    index: (val[val.length - 1] as Point).index,
    value: median(val.slice(-OVERFIT_EPOCHS).map((p) => p.value)),
  };
  const after = smooth.filter((p) => p.index > best.index).length;
  const rise = last.value - best.value;
  if (after < OVERFIT_EPOCHS || rise < OVERFIT_MIN_RISE || rise < OVERFIT_RISE * best.value)
    return undefined;
  const trainAtBest = train.find((p) => p.index === best.index)?.value;
  const trainLast = train[train.length - 1]?.value;
  if (trainAtBest === undefined || trainLast === undefined || trainLast >= trainAtBest)
    return undefined;
  return {
    bestEpoch: epochNumber(epochAt(h, best.index) as EpochRecord),
    bestValLoss: best.value,
    finalValLoss: last.value,
    trainLossAtBest: trainAtBest,
    finalTrainLoss: trainLast,
    rise: rise / best.value,
    epochRange: [best.index, last.index],
  };
}

/** Training accuracy far above validation's while validation no longer improves. */
function gapWithFlatValidation(h: TrainingHistory): Record<string, unknown> | undefined {
  const pairs = h.epochs.filter(
    (e) =>
      e.accuracy !== undefined &&
      e.valAccuracy !== undefined &&
      Number.isFinite(e.accuracy) &&
      Number.isFinite(e.valAccuracy),
  );
  const tailLength = Math.max(3, Math.ceil(OVERFIT_TAIL_FRACTION * pairs.length));
  if (pairs.length < 2 * tailLength) return undefined;
  const tail = pairs.slice(-tailLength);
  const before = pairs.slice(-2 * tailLength, -tailLength);
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  const gap = mean(tail.map((e) => (e.accuracy as number) - (e.valAccuracy as number)));
  if (gap < OVERFIT_GAP) return undefined;
  const valAcc = (es: EpochRecord[]): number => median(es.map((e) => e.valAccuracy as number));
  const accGain = valAcc(tail) - valAcc(before);
  const losses = (es: EpochRecord[]): number[] =>
    es.map((e) => e.valLoss).filter((v): v is number => v !== undefined && Number.isFinite(v));
  const lossBefore = losses(before);
  const lossTail = losses(tail);
  const lossGain =
    lossBefore.length > 0 && lossTail.length > 0
      ? (median(lossBefore) - median(lossTail)) / median(lossBefore)
      : undefined;
  const flat =
    accGain < OVERFIT_FLAT_ACCURACY || (lossGain !== undefined && lossGain < OVERFIT_FLAT_LOSS);
  if (!flat) return undefined;
  return {
    meanGap: Number(gap.toFixed(3)),
    trainAccuracy: Number(mean(tail.map((e) => e.accuracy as number)).toFixed(3)),
    valAccuracy: Number(mean(tail.map((e) => e.valAccuracy as number)).toFixed(3)),
    valAccuracyGain: Number(accGain.toFixed(3)),
    ...(lossGain === undefined ? {} : { valLossImprovement: Number(lossGain.toFixed(3)) }),
    epochRange: [(tail[0] as EpochRecord).index, (tail[tail.length - 1] as EpochRecord).index],
  };
}

function offScale(
  h: TrainingHistory,
  classes: number | undefined,
): Record<string, unknown> | undefined {
  const early = trainedEpochs(h)
    .filter(
      (e) =>
        e.loss !== undefined &&
        e.valLoss !== undefined &&
        Number.isFinite(e.loss) &&
        Number.isFinite(e.valLoss) &&
        e.loss > 0,
    )
    .slice(0, VAL_OFF_SCALE_EPOCHS);
  if (early.length < VAL_OFF_SCALE_EPOCHS) return undefined;
  const ratio = median(early.map((e) => (e.valLoss as number) / (e.loss as number)));
  const valLoss = median(early.map((e) => e.valLoss as number));
  if (ratio < VAL_OFF_SCALE_RATIO || valLoss < 2 * Math.log(Math.max(classes ?? 2, 2)))
    return undefined;
  return {
    ratio: Number(ratio.toPrecision(3)),
    valLoss: early.map((e) => Number((e.valLoss as number).toPrecision(4))),
    trainLoss: early.map((e) => Number((e.loss as number).toPrecision(4))),
    epochRange: [(early[0] as EpochRecord).index, (early[early.length - 1] as EpochRecord).index],
  };
}

const valLossOffScale: Check = {
  ids: ['val-loss-off-scale'],
  family: 'dynamics',
  run(ctx) {
    const h = ctx.history;
    const evidence = h === undefined ? undefined : offScale(h, classCount(ctx));
    if (evidence === undefined) return [];
    return [
      {
        id: 'val-loss-off-scale',
        severity: 'warning',
        title: `Validation loss is ${evidence.ratio}x the training loss from the first epochs`,
        explanation:
          'No model overfits that much before it has seen its training images twice: validation images reach the model differently from training images — another preprocessing in the validation generator (rescale or preprocess_input applied to one only), or BatchNorm layers whose inference-mode statistics do not fit (a BatchNorm base fine-tuned with small batches). The train-validation gap and the swinging validation accuracy are symptoms of it, not overfitting.',
        evidence,
        fix: {
          summary:
            'Feed validation exactly like training: in Keras the same preprocessing_function/rescale in both generators, and keep a BatchNorm base in inference mode while fine-tuning (base(x, training=False)). In vggkit one preprocessing contract serves both; check what your own pipeline feeds with vggkit doctor --batch on a saved batch of each.',
        },
      },
    ];
  },
};

const overfitting: Check = {
  ids: ['overfitting'],
  family: 'dynamics',
  run(ctx) {
    const h = ctx.history;
    // A validation loss on another scale from the start is a pipeline mismatch; augmenting against
    // "overfitting" would not touch it.
    if (h === undefined || offScale(h, classCount(ctx)) !== undefined) return [];
    const rising = risingValidation(h);
    const gap = gapWithFlatValidation(h);
    if (rising === undefined && gap === undefined) return [];
    const title =
      rising !== undefined
        ? `Validation loss bottomed out at ${epochName(epochAt(h, (rising.epochRange as number[])[0] as number))} and has risen ${((rising.rise as number) * 100).toFixed(0)}% since, while training loss kept falling`
        : `Training accuracy runs ${(((gap?.meanGap as number) ?? 0) * 100).toFixed(0)} points above validation accuracy (${(((gap?.trainAccuracy as number) ?? 0) * 100).toFixed(0)}% vs ${(((gap?.valAccuracy as number) ?? 0) * 100).toFixed(0)}%) and validation has stopped improving`;
    return [
      {
        id: 'overfitting',
        severity: 'warning',
        title,
        explanation:
          rising !== undefined
            ? 'The model is memorising the training images instead of learning what generalises; the weights from the best epoch are better than the final ones.'
            : `The model fits its training images far better than unseen ones and further epochs only widen the gap: it is memorising. ${gapLossSentence(gap)}`,
        evidence: { ...(gap ?? {}), ...(rising ?? {}) },
        fix: {
          summary:
            'Stop early and keep the best weights; add augmentation (and dropout) to fight memorisation.',
          config: {
            earlyStopping: { enabled: true, restoreBestWeights: true },
            augment: ['flip', 'rotate', 'zoom'],
          },
          flag: '--augment flip,rotate,zoom',
        },
      },
    ];
  },
};

/** What the validation loss did over the gap's epochs, between the last two quarters of the run. */
function gapLossSentence(gap: Record<string, unknown> | undefined): string {
  const improvement = gap?.valLossImprovement;
  if (typeof improvement !== 'number') return '';
  const percent = `${(Math.abs(improvement) * 100).toFixed(0)}%`;
  if (improvement >= OVERFIT_FLAT_LOSS)
    return `The validation loss still fell ${percent} between the last two quarters of the run while validation accuracy did not move: a loss that falls while the predictions stay put usually carries a weight penalty (kernel_regularizer) that shrinks with the weights, so accuracy is the measure here.`;
  if (improvement < -OVERFIT_MIN_RISE)
    return `The validation loss rose ${percent} between the last two quarters of the run.`;
  return 'A flat validation loss does not make this healthy.';
}

/** The longest run of consecutive identical validation accuracies, with the validation losses over it. */
function constantRun(h: TrainingHistory): { value: number; epochs: EpochRecord[] } | undefined {
  const measured = trainedEpochs(h).filter(
    (e) => e.valAccuracy !== undefined && Number.isFinite(e.valAccuracy),
  );
  let best: EpochRecord[] = [];
  let run: EpochRecord[] = [];
  for (const e of measured) {
    run =
      run.length > 0 &&
      Math.abs((run[0]?.valAccuracy as number) - (e.valAccuracy as number)) <= SAME_ACCURACY
        ? [...run, e]
        : [e];
    if (run.length > best.length) best = run;
  }
  if (best.length < Math.max(CONSTANT_VAL_EPOCHS, measured.length / 2)) return undefined;
  return { value: best[0]?.valAccuracy as number, epochs: best };
}

const constantValAccuracy: Check = {
  ids: ['constant-val-accuracy'],
  family: 'dynamics',
  run(ctx) {
    const h = ctx.history;
    if (h === undefined || stuckAtChance(h, classCount(ctx))) return [];
    const found = constantRun(h);
    if (found === undefined) return [];
    const losses = found.epochs
      .map((e) => e.valLoss)
      .filter((v): v is number => v !== undefined && Number.isFinite(v) && v > 0);
    if (
      losses.length < 2 ||
      Math.max(...losses) / Math.min(...losses) - 1 < CONSTANT_VAL_LOSS_CHANGE
    )
      return [];
    const first = found.epochs[0] as EpochRecord;
    const last = found.epochs[found.epochs.length - 1] as EpochRecord;
    return [
      {
        id: 'constant-val-accuracy',
        severity: 'warning',
        title: `Validation accuracy is exactly ${(found.value * 100).toFixed(2)}% in ${found.epochs.length} consecutive epochs while the validation loss moves from ${(first.valLoss ?? Number.NaN).toPrecision(3)} to ${(last.valLoss ?? Number.NaN).toPrecision(3)}`,
        explanation:
          'The confidence changes but not one predicted class does: the model gives every validation image the same answer each epoch — usually the majority class, whose share the accuracy then equals — so the number says nothing about learning. Imbalanced data (or a segmentation mask that is mostly background) does this.',
        evidence: {
          valAccuracy: found.value,
          epochs: found.epochs.length,
          epochRange: [first.index, last.index],
        },
        fix: {
          summary:
            'Look at per-class recall (vggkit evaluate prints it) instead of accuracy; weight the classes (vggkit train --class-weights balanced, Keras class_weight=), and for segmentation judge Dice or IoU per class.',
          config: { classWeights: 'balanced' },
          flag: '--class-weights balanced',
        },
      },
    ];
  },
};

const valAboveTrain: Check = {
  ids: ['val-above-train'],
  family: 'dynamics',
  run(ctx) {
    const h = ctx.history;
    if (h === undefined) return [];
    const pairs = h.epochs.filter(
      (e) =>
        e.accuracy !== undefined &&
        e.valAccuracy !== undefined &&
        Number.isFinite(e.accuracy) &&
        Number.isFinite(e.valAccuracy),
    );
    if (pairs.length < 2) return [];
    const half = pairs.slice(Math.floor(pairs.length / 2));
    const gap =
      half.reduce((s, e) => s + (e.valAccuracy as number) - (e.accuracy as number), 0) /
      half.length;
    if (gap < VAL_ABOVE_TRAIN_GAP) return [];
    const leakage =
      ctx.scan?.duplicates.some(
        (g) =>
          g.members.some((m) => m.split === 'train') && g.members.some((m) => m.split === 'val'),
      ) ?? false;
    return [
      {
        id: 'val-above-train',
        severity: leakage ? 'warning' : 'info',
        title: `Validation accuracy runs ${(gap * 100).toFixed(0)} points above training accuracy`,
        explanation: leakage
          ? 'Validation images that also appear in the training set (see train-val-leakage) make validation look better than it is.'
          : 'Usually harmless: dropout and augmentation make training harder than validation. It can also mean a too-easy or leaked validation set.',
        evidence: {
          meanGap: Number(gap.toFixed(3)),
          leakage,
          epochRange: [
            (half[0] as EpochRecord).index,
            (half[half.length - 1] as EpochRecord).index,
          ],
        },
        fix: {
          summary: leakage
            ? 'Remove the duplicated images from the validation folder.'
            : 'Nothing required unless the validation set was not drawn like the test data.',
        },
      },
    ];
  },
};

/** Positions (in `h.epochs`) where a stage begins: a stage label change, an epoch reset, or a rate change. */
function boundaries(h: TrainingHistory): number[] {
  const out: number[] = [];
  for (let i = 1; i < h.epochs.length; i++) {
    const a = h.epochs[i - 1] as EpochRecord;
    const b = h.epochs[i] as EpochRecord;
    const stageChange = a.stage !== b.stage;
    const epochReset = b.epoch <= a.epoch;
    const lrChange =
      a.lr !== undefined &&
      b.lr !== undefined &&
      a.lr > 0 &&
      b.lr > 0 &&
      Math.max(a.lr / b.lr, b.lr / a.lr) >= LR_CHANGE_FACTOR;
    if (stageChange || epochReset || lrChange) out.push(i);
  }
  return out;
}

/** What changed between two epochs, as a reader of the log names it: the stage that began, else the rate. */
function changeAt(before: EpochRecord, after: EpochRecord): string {
  const rate =
    before.lr !== undefined && after.lr !== undefined && before.lr !== after.lr
      ? `the learning rate went from ${Number(before.lr.toPrecision(2))} to ${Number(after.lr.toPrecision(2))}`
      : undefined;
  if (after.stage !== undefined && after.stage !== before.stage)
    return `${after.stage} began${rate === undefined ? '' : ` (${rate})`}`;
  return `${rate ?? 'a new fit() began'} at ${epochName(after)}`;
}

const forgetting: Check = {
  ids: ['forgetting-after-unfreeze'],
  family: 'dynamics',
  run(ctx) {
    const h = ctx.history;
    if (h === undefined) return [];
    const cuts = boundaries(h);
    const found: Finding[] = [];
    for (const [k, i] of cuts.entries()) {
      const change = h.epochs[i] as EpochRecord;
      const before = h.epochs[i - 1]?.valAccuracy;
      const stage = h.epochs.slice(i, cuts[k + 1] ?? h.epochs.length);
      const window = stage
        .map((e) => e.valAccuracy)
        .filter((v): v is number => v !== undefined && Number.isFinite(v))
        .slice(0, FORGET_WINDOW);
      if (before === undefined || !Number.isFinite(before) || window.length === 0) continue;
      const after = window.reduce((a, b) => a + b, 0) / window.length;
      if (before - after < FORGET_DROP) continue;
      const recoveredAt = stage.find(
        (e) => e.valAccuracy !== undefined && e.valAccuracy >= before - FORGET_RECOVERY,
      );
      const where = changeAt(h.epochs[i - 1] as EpochRecord, change);
      const evidence = {
        before,
        after,
        lrBefore: h.epochs[i - 1]?.lr,
        lrAfter: change.lr,
        epochRange: [h.epochs[i - 1]?.index ?? i - 1, change.index + window.length - 1],
      };
      found.push(
        recoveredAt === undefined
          ? {
              id: 'forgetting-after-unfreeze',
              severity: 'warning',
              title: `Validation accuracy fell from ${(before * 100).toFixed(0)}% to ${(after * 100).toFixed(0)}% right after ${where}`,
              explanation:
                'Unfreezing pretrained blocks at too high a rate overwrites the features they learned on ImageNet (catastrophic forgetting) — the seed article’s third failure.',
              evidence,
              fix: {
                summary:
                  'Divide the learning rate by 10 (or more) at each unfreezing, and unfreeze one block at a time.',
                config: {
                  stageLrFactor:
                    ctx.config === undefined ? 0.1 : Math.min(0.1, ctx.config.stageLrFactor / 10),
                },
                flag: '--stage-lr-factor 0.1',
              },
            }
          : {
              id: 'forgetting-after-unfreeze',
              severity: 'info',
              title: `Validation accuracy dipped from ${(before * 100).toFixed(0)}% to ${(after * 100).toFixed(0)}% right after ${where}, and was back by ${epochName(recoveredAt)}`,
              explanation:
                'A short dip when pretrained layers start training (BatchNorm statistics adapting, a rate briefly too high for them) that the model recovered from: no lasting forgetting.',
              evidence: { ...evidence, recoveredAtEpoch: epochNumber(recoveredAt) },
              fix: {
                summary:
                  'Nothing required; a lower rate at the change (--stage-lr-factor 0.1, or a short warm-up) avoids even the dip.',
              },
            },
      );
    }
    const worst = found.find((f) => f.severity === 'warning') ?? found[0];
    return worst === undefined ? [] : [worst];
  },
};

/** Validation numbers that say the pipeline, not the model, is wrong: reported before the curves. */
export const PIPELINE_CHECKS: readonly Check[] = [valLossOffScale, constantValAccuracy].map(
  perTraining,
);

export const VALIDATION_CHECKS: readonly Check[] = [overfitting, forgetting, valAboveTrain].map(
  perTraining,
);
