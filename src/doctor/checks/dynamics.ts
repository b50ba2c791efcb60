/**
 * Dynamics family: the shape of the training curves in `ctx.history`. Each finding's evidence
 * carries `epochRange` [first, last] (0-based positions in the log) so the HTML report can mark
 * the problem region on the curves. The curve checks run once per training of the log
 * (per-training.ts); what the log itself shows about the pipeline is in log.ts, and how
 * validation behaves (overfitting, forgetting) in validation.ts.
 */
import { classCount } from '../context.js';
import { epochAt, epochName, epochNumber, series, type TrainingHistory } from '../history.js';
import {
  CHANCE_MARGIN,
  divergence,
  exceedsCrossEntropy,
  finite,
  lastValue,
  runningMedian,
  stuckAtChance,
  trainedEpochs,
  underfitting,
  UNDERFIT_PROGRESS,
  type Point,
} from '../trends.js';
import type { Check, DoctorContext, Finding } from '../types.js';
import { frozenRandomBlocks } from '../../train/stages.js';
import { lrLimits } from './config.js';
import { LOG_CHECKS } from './log.js';
import { perTraining } from './per-training.js';
import { PIPELINE_CHECKS, VALIDATION_CHECKS } from './validation.js';

/**
 * First-epoch mean loss above 2 ln(classes): predictions are confidently wrong, not just
 * untrained. Evidence: healthy real logs start at most 1.59 ln(classes) (tonyhsu32_utk5 phase 1;
 * emanuellemoco_fer7 1.54, alphaeusng_cars196 1.29); the confidently wrong starts are 2.8x
 * (anwaykapoor_mri4), 3.3x and 6.1x (saitejagaje_mri4 resnet50, vgg16) and 77x (ricecovid_xray3
 * scratch). brandtkaufmann_cats5's 4.5x is a weight penalty (see MAX_IMAGE_LOSS), not outputs.
 */
export const INITIAL_LOSS_FACTOR = 2;
/**
 * Oscillation: the training loss's mean distance from its own trend (the running median of three
 * epochs, which follows any monotone descent exactly), relative to that trend, of 10% or more.
 * Measured against the trend, a steep but steady descent is not a swing (aman001_plant19 phase
 * 1 falls 0.59 -> 0.28 in its first epoch, then moves by 1-4%: 0.4%). Healthy real logs stay at
 * or below 5% (alokd604_soybean3, abijitht_lungct3, arjunpesaru_brats4 — the last jitters ±15%
 * around 0.057 even at lr 1e-6: batch noise, not step size); saitejagaje_mri4 resnet50, whose
 * loss jumps 0.41 -> 0.94 -> 0.81 -> 0.49 while accuracy stays near 95%, reads 13%.
 */
export const OSCILLATION_AMPLITUDE = 0.1;
/**
 * The trend is floored at 5% of the first-epoch loss, so jitter on a loss converged near zero is
 * not a swing: alokd604_soybean3 (converged at 0.006) reads 5.5% against its raw trend, 2.6%
 * against the floored one.
 */
export const OSCILLATION_FLOOR = 0.05;
/**
 * Oscillation needs 6 epochs: below that the 3-epoch median trend is mostly its two end points
 * and the first epoch's drop dominates. The 5-epoch real logs (akshatsharma_mri4 fits 1 and 4,
 * emanuellemoco_fer7 NUL-header) are judged by the other checks; the 6-epoch tonyhsu32_utk5
 * phase 2 (an unfreeze shock in epoch 1) reads 8.8%, below OSCILLATION_AMPLITUDE.
 */
export const MIN_EPOCHS_SHAPE = 6;
/**
 * Slow: after 5+ epochs the loss has fallen less than 30% and is still falling every epoch
 * (the last 4). Evidence: akshatsharma_mri4's 5-epoch head runs fall 16% and 18% and are still
 * improving (a practitioner would train them longer); the shortest healthy run,
 * nimmitahsin_breastcancer (8 epochs, still falling), has fallen 32%. Stuck runs fall less but
 * not every epoch (fsrt16_bach4 vgg16 7%, emanuellemoco_fer7 11-12%).
 */
export const SLOW_TOTAL_DROP = 0.3;
export const MIN_EPOCHS_SLOW = 5;
/**
 * 5 epochs without a 0.1% improvement of the monitored loss at a constant rate is a plateau ...
 * (5 is Keras' ReduceLROnPlateau default patience, wider than the seed's 3; 0.1% of the loss
 * sits an order above Keras' default min_delta of 1e-4 on a loss near 0.1). No real log shows
 * one uncovered: with a logged constant rate, every run still improves over its last window
 * (abijitht_lungct3 34%, aman001_plant19 phase 2 17%, akshatsharma_mri4 7-16%) except the
 * underfitting emanuellemoco_fer7 to_json, whose own finding it defers to. A Keras log without a
 * rate column says nothing about the rate, so the plateau is not judged from it.
 */
export const PLATEAU_EPOCHS = 5;
/**
 * ... or, on a short run, a third of its epochs and at least 3 (the seed's ReduceLROnPlateau
 * patience): a 9-epoch run flat for its last 3 epochs has plateaued as surely as a 30-epoch run
 * flat for 5. At least 2 epochs must precede the plateau.
 */
export const PLATEAU_MIN_EPOCHS = 3;
export const PLATEAU_MIN_IMPROVEMENT = 1e-3;

export function plateauWindow(epochs: number): number {
  return Math.min(PLATEAU_EPOCHS, Math.max(PLATEAU_MIN_EPOCHS, Math.round(epochs / 3)));
}

export function lrFix(ctx: DoctorContext, factor: number, why: string): Finding['fix'] {
  // Without a config the rate is unknown: the advice is the factor, and the bare flag names the
  // setting it touches, so a rate measured in the same report can outrank it.
  if (ctx.config === undefined)
    return {
      summary: `${why} ${factor < 1 ? `Divide the learning rate by ${Number((1 / factor).toPrecision(2))}` : `Multiply the learning rate by ${Number(factor.toPrecision(2))}`}.`,
      flag: '--lr',
    };
  const lr = Number((ctx.config.lr * factor).toPrecision(2));
  return { summary: `${why} Use lr ${lr}.`, config: { lr }, flag: `--lr ${lr}` };
}

const nanLoss: Check = {
  ids: ['nan-loss'],
  family: 'dynamics',
  run(ctx) {
    const h = ctx.history;
    if (h === undefined) return [];
    const bad = h.epochs.filter((e) =>
      [e.loss, e.valLoss].some((v) => v !== undefined && !Number.isFinite(v)),
    );
    const first = bad[0];
    if (first === undefined) return [];
    return [
      {
        id: 'nan-loss',
        severity: 'error',
        title: `The loss became NaN or infinite at epoch ${epochNumber(first)}${first.stage === undefined ? '' : ` of ${first.stage}`}`,
        explanation:
          'A NaN loss means the weights overflowed (too high a learning rate, unscaled inputs, or log(0) in the loss); every later epoch trains nothing.',
        evidence: {
          firstEpoch: epochNumber(first),
          epochs: bad.length,
          epochRange: [first.index, h.epochs.length - 1],
        },
        fix: {
          ...lrFix(ctx, 0.1, 'Lower the rate and clip gradients.'),
          ...(ctx.config === undefined
            ? {}
            : {
                config: {
                  lr: Number((ctx.config.lr * 0.1).toPrecision(2)),
                  clipNorm: 1,
                  terminateOnNan: true,
                },
              }),
        },
      },
    ];
  },
};

const initialLoss: Check = {
  ids: ['initial-loss-off'],
  family: 'dynamics',
  run(ctx) {
    const classes = classCount(ctx);
    const h = ctx.history;
    const first =
      h === undefined
        ? undefined
        : trainedEpochs(h).find((e) => e.loss !== undefined && Number.isFinite(e.loss));
    if (classes === undefined || classes < 2 || first?.loss === undefined) return [];
    const chance = Math.log(classes);
    if (first.loss <= INITIAL_LOSS_FACTOR * chance) return [];
    // A model already classifying well whose loss no cross-entropy could reach carries a weight
    // penalty in its loss; its size says nothing about the outputs (trends.ts MAX_IMAGE_LOSS).
    const acc = first.accuracy;
    if (
      acc !== undefined &&
      acc >= 1 / classes + UNDERFIT_PROGRESS * (1 - 1 / classes) &&
      exceedsCrossEntropy(first.loss, acc, classes)
    )
      return [];
    return [
      {
        id: 'initial-loss-off',
        severity: 'warning',
        title: `First-epoch loss ${first.loss.toPrecision(3)} is far above ln(${classes}) = ${chance.toFixed(3)}`,
        explanation:
          'A fresh head should start near ln(classes) (uniform guesses). Starting far above means confidently wrong outputs: typically unscaled or wrongly preprocessed inputs, or a learning rate that blows up the first steps.',
        evidence: {
          firstLoss: first.loss,
          expected: chance,
          classes,
          epochRange: [first.index, first.index],
        },
        fix: {
          summary:
            'Check the preprocessing findings (run with --batch on a batch of your pipeline), then lower the learning rate.',
        },
      },
    ];
  },
};

const diverging: Check = {
  ids: ['diverging-loss'],
  family: 'dynamics',
  run(ctx) {
    if (ctx.history === undefined) return [];
    const found = divergence(ctx.history);
    if (found === undefined) return [];
    const { best, last, rising } = found;
    const bestAt = epochAt(ctx.history, best.index);
    const lastAt = epochAt(ctx.history, last.index);
    return [
      {
        id: 'diverging-loss',
        severity: 'error',
        title: `Training loss ${rising ? 'is rising' : 'left its minimum and has not come back'}: ${last.value.toPrecision(3)} at ${epochName(lastAt)} vs ${best.value.toPrecision(3)} at its best, ${epochName(bestAt)}`,
        explanation:
          'A training loss that climbs, or jumps up and stays up, means the steps are too large for the current region: the optimiser has moved away from the minimum.',
        evidence: {
          best: best.value,
          // Counted as the Keras console counts (from 1), like every epoch a finding names.
          ...(bestAt === undefined ? {} : { bestEpoch: epochNumber(bestAt) }),
          last: last.value,
          ...(lastAt === undefined ? {} : { lastEpoch: epochNumber(lastAt) }),
          epochRange: [best.index, last.index],
        },
        fix: lrFix(ctx, 0.1, 'The learning rate is too high.'),
      },
    ];
  },
};

/** Mean relative distance of the training loss from its running median (see OSCILLATION_AMPLITUDE). */
export function swing(loss: readonly Point[]): number {
  const trend = runningMedian(loss);
  const floor = OSCILLATION_FLOOR * Math.abs((loss[0] as Point).value);
  const relative = loss.map(
    (p, i) =>
      Math.abs(p.value - (trend[i] as Point).value) /
      Math.max((trend[i] as Point).value, floor, 1e-12),
  );
  return relative.reduce((a, b) => a + b, 0) / relative.length;
}

const oscillating: Check = {
  ids: ['oscillating-loss'],
  family: 'dynamics',
  run(ctx) {
    const h = ctx.history;
    if (h === undefined) return [];
    const loss = finite(series(h, 'loss'));
    // A loss that has left its minimum is diverging, a stronger finding with the same fix.
    if (loss.length < MIN_EPOCHS_SHAPE || divergence(h) !== undefined) return [];
    const amplitude = swing(loss);
    if (amplitude < OSCILLATION_AMPLITUDE) return [];
    return [
      {
        id: 'oscillating-loss',
        severity: 'warning',
        title: `Training loss zig-zags: it swings ${(amplitude * 100).toFixed(0)}% around its own trend from epoch to epoch`,
        explanation:
          'Steps overshoot the minimum back and forth instead of descending into it; the learning rate is too high (or the batch too small and noisy).',
        evidence: {
          relativeSwing: Number(amplitude.toFixed(3)),
          epochRange: [(loss[0] as Point).index, (loss[loss.length - 1] as Point).index],
        },
        fix: lrFix(ctx, 1 / 3, 'Lower the learning rate.'),
      },
    ];
  },
};

/**
 * The fix of a `stuck-at-chance` finding (this history's, or a model's at chance: probes.ts).
 * `unmeasured` is the next step while nothing was measured: the rate is the usual cause the doctor
 * can measure, with `--probe`. Once the LR range test (`--probe`) or the fix loop has run on the
 * data, sending the user to `--probe` again is advice already followed: the fix points at what
 * the measurement found instead (the measured fix, or that nothing trained better, which says the
 * cause is not a setting the loop varies).
 */
export function chanceFix(ctx: DoctorContext, unmeasured: string): Finding['fix'] {
  const loop = ctx.fixLoop;
  // A frozen random base is a cause no rate fixes: name it before the usual suspects.
  const randomBase =
    ctx.config !== undefined && frozenRandomBlocks(ctx.config) > 0
      ? 'The base is random and frozen (see random-base-frozen): its fixed random features may be all the head has to learn from. '
      : '';
  const first = `${randomBase}Check the preprocessing and data findings first.`;
  if (loop !== undefined) {
    const written =
      loop.chosen !== undefined && (loop.verification === undefined || loop.verification.improved);
    return {
      summary: written
        ? `${first} The rate and the settings the findings touch were measured on your data: use the measured fix (see measured-fix).`
        : `${first} None of the fixes trained on your data beat your config (see no-better-fix), so the rate and the settings tried are unlikely causes: check the labels, the output layer against the loss, and what is frozen.`,
    };
  }
  if (ctx.probes !== undefined)
    return {
      summary: `${first} The LR range test has run on your data: follow the learning-rate findings it raised (lr-too-high, lr-too-low, cannot-overfit-batch); if there are none, the rate is not the cause. To measure fixes on your data, add --fix-config with --config.`,
    };
  return { summary: `${randomBase}${unmeasured}` };
}

const stuck: Check = {
  ids: ['stuck-at-chance'],
  family: 'dynamics',
  run(ctx) {
    const classes = classCount(ctx);
    const h = ctx.history;
    if (h === undefined || classes === undefined || !stuckAtChance(h, classes)) return [];
    const accuracy = lastValue(h, 'accuracy');
    const loss = lastValue(h, 'loss');
    const epochs = trainedEpochs(h);
    return [
      {
        id: 'stuck-at-chance',
        severity: 'error',
        title: `Training never leaves chance level (1/${classes}${accuracy === undefined ? '' : `; final accuracy ${(accuracy * 100).toFixed(0)}%`}${loss === undefined ? '' : `; loss ${loss.toFixed(3)} against ln ${classes} = ${Math.log(classes).toFixed(3)}`})`,
        explanation:
          'The model learns nothing, not even its training data: its outputs stay as uninformed as uniform guessing. Usual causes: wrong preprocessing, labels not matching images, a learning rate far too high or too low, an output layer that does not fit the loss (sigmoid with categorical cross-entropy), or everything frozen including the head.',
        evidence: {
          classes,
          chance: 1 / classes,
          finalAccuracy: accuracy,
          finalLoss: loss,
          margin: CHANCE_MARGIN,
          epochRange: [epochs[0]?.index ?? 0, epochs[epochs.length - 1]?.index ?? 0],
        },
        fix: chanceFix(
          ctx,
          'Check the preprocessing and data findings first, then run an LR range test (vggkit doctor --probe).',
        ),
      },
    ];
  },
};

const slow: Check = {
  ids: ['slow-convergence'],
  family: 'dynamics',
  run(ctx) {
    const h = ctx.history;
    if (h === undefined || stuckAtChance(h, classCount(ctx))) return [];
    const loss = finite(series(h, 'loss'));
    if (loss.length < MIN_EPOCHS_SLOW) return [];
    const first = (loss[0] as Point).value;
    const last = (loss[loss.length - 1] as Point).value;
    const tail = loss.slice(-4);
    const stillFalling = tail.every((p, i) => i === 0 || p.value < (tail[i - 1] as Point).value);
    const drop = (first - last) / Math.max(first, 1e-12);
    if (!stillFalling || drop >= SLOW_TOTAL_DROP || drop <= 0) return [];
    const limits = ctx.config === undefined ? undefined : lrLimits(ctx.config);
    const fix =
      ctx.config !== undefined && limits !== undefined && ctx.config.lr * 10 <= limits.high
        ? lrFix(ctx, 10, 'The rate is too low for the epochs given.')
        : {
            summary:
              'Train for more epochs, or raise the learning rate (an LR range test shows how far).',
          };
    return [
      {
        id: 'slow-convergence',
        severity: 'warning',
        title: `After ${loss.length} epochs the loss has fallen only ${(drop * 100).toFixed(0)}% and is still falling`,
        explanation:
          'Training is steady but slow: it ended long before converging, typically because the learning rate is too low.',
        evidence: {
          epochs: loss.length,
          firstLoss: first,
          lastLoss: last,
          relativeDrop: Number(drop.toFixed(3)),
          epochRange: [(loss[0] as Point).index, (loss[loss.length - 1] as Point).index],
        },
        fix,
      },
    ];
  },
};

const underfit: Check = {
  ids: ['underfitting'],
  family: 'dynamics',
  run(ctx) {
    const h = ctx.history;
    const evidence = h === undefined ? undefined : underfitting(h, classCount(ctx));
    if (h === undefined || evidence === undefined) return [];
    const epochs = trainedEpochs(h);
    const level =
      evidence.finalAccuracy !== undefined
        ? `Training accuracy levelled off at ${(evidence.finalAccuracy * 100).toFixed(0)}%`
        : `Training loss levelled off at ${evidence.finalLoss?.toFixed(3)}, only ${((1 - (evidence.finalLoss ?? 0) / (evidence.chanceLoss ?? 1)) * 100).toFixed(0)}% below the ${evidence.chanceLoss?.toFixed(3)} of uniform guessing`;
    return [
      {
        id: 'underfitting',
        severity: 'warning',
        title: level,
        explanation:
          'The model cannot fit even its training images: it lacks capacity where it is allowed to learn (everything frozen, too small a head) or the rate has decayed too far.',
        evidence: {
          ...evidence,
          epochRange: [
            epochs[Math.max(0, epochs.length - 4)]?.index ?? 0,
            epochs[epochs.length - 1]?.index ?? 0,
          ],
        },
        fix: {
          summary:
            'Unfreeze the top block (stages head then block5 with a 10x lower rate), or train longer at a higher rate.',
          flag: '--stages head:N,block5:M',
        },
      },
    ];
  },
};

function constantRate(h: TrainingHistory, ctx: DoctorContext, tailLength: number): boolean {
  const tail = h.epochs.slice(-tailLength);
  if (h.epochs.every((e) => e.lr !== undefined)) return tail.every((e) => e.lr === tail[0]?.lr);
  return (
    ctx.config !== undefined && !ctx.config.reduceLr.enabled && ctx.config.schedule.name === 'none'
  );
}

const plateau: Check = {
  ids: ['plateau-without-lr-decay'],
  family: 'dynamics',
  run(ctx) {
    const h = ctx.history;
    if (h === undefined) return [];
    // A plateau far from a fit is underfitting or a run stuck at chance: their own findings, and
    // a smaller rate is not their remedy.
    const classes = classCount(ctx);
    if (stuckAtChance(h, classes) || underfitting(h, classes) !== undefined) return [];
    const monitored = finite(series(h, 'valLoss')).length > 0 ? 'valLoss' : 'loss';
    const values = finite(series(h, monitored));
    const window = plateauWindow(values.length);
    if (values.length < window + 2 || !constantRate(h, ctx, window + 1)) return [];
    const bestBefore = Math.min(...values.slice(0, -window).map((p) => p.value));
    const recent = values.slice(-window);
    const improved = recent.some((p) => p.value < bestBefore * (1 - PLATEAU_MIN_IMPROVEMENT));
    const lastValueSeen = (recent[recent.length - 1] as Point).value;
    // A rising validation loss is overfitting (its own finding), not a plateau.
    if (improved || lastValueSeen > bestBefore * 1.15) return [];
    const evidence = {
      monitored: monitored === 'valLoss' ? 'val_loss' : 'loss',
      bestBefore,
      recent: recent.map((p) => p.value),
      epochRange: [(recent[0] as Point).index, (recent[recent.length - 1] as Point).index],
    };
    const which = monitored === 'valLoss' ? 'Validation' : 'Training';
    const reduceLr = ctx.config?.reduceLr;
    if (reduceLr?.enabled === true && ctx.config?.schedule.name === 'none') {
      // The callback was on and never fired: tiny improvements above its min_delta kept resetting
      // its patience, or the patience is longer than the plateau.
      const steps = recent.map(
        (p, i) => (i === 0 ? bestBefore : (recent[i - 1] as Point).value) - p.value,
      );
      const tinyGains = steps.some((d) => d > reduceLr.minDelta);
      const minDelta = Number((bestBefore * PLATEAU_MIN_IMPROVEMENT).toPrecision(1));
      return [
        {
          id: 'plateau-without-lr-decay',
          severity: 'warning',
          title: `${which} loss has not improved for ${window} epochs and ReduceLROnPlateau never fired`,
          explanation: tinyGains
            ? `Improvements of less than ${PLATEAU_MIN_IMPROVEMENT * 100}% still exceed its min_delta (${reduceLr.minDelta}), so each one resets its patience and the rate never drops.`
            : `Its patience (${reduceLr.patience} epochs) is longer than the plateau it should end.`,
          evidence: {
            ...evidence,
            reduceLrMinDelta: reduceLr.minDelta,
            reduceLrPatience: reduceLr.patience,
          },
          fix: tinyGains
            ? {
                summary: `Make ReduceLROnPlateau ignore negligible gains: min_delta ${minDelta}.`,
                config: { reduceLr: { minDelta } },
              }
            : {
                summary: "Use the seed's patience of 3 epochs.",
                config: { reduceLr: { patience: 3 } },
              },
        },
      ];
    }
    return [
      {
        id: 'plateau-without-lr-decay',
        severity: 'warning',
        title: `${which} loss has not improved for ${window} epochs and the learning rate never dropped`,
        explanation:
          'At a plateau a smaller step usually finds further improvement; keeping the rate constant wastes these epochs.',
        evidence,
        fix: {
          summary: 'Reduce the learning rate on plateau (the seed: factor 0.2, patience 3).',
          config: { reduceLr: { enabled: true } },
        },
      },
    ];
  },
};

const CURVE_CHECKS: readonly Check[] = [
  initialLoss,
  diverging,
  oscillating,
  stuck,
  slow,
  underfit,
  plateau,
].map(perTraining);

export const DYNAMICS_CHECKS: readonly Check[] = [
  nanLoss,
  ...LOG_CHECKS,
  ...PIPELINE_CHECKS,
  ...CURVE_CHECKS,
  ...VALIDATION_CHECKS,
];
