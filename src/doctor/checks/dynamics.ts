/**
 * Dynamics family: the shape of the loss and accuracy curves in `ctx.history`. Each finding's
 * evidence carries `epochRange` [first, last] (0-based positions in the log) so the HTML report
 * can mark the problem region on the curves.
 */
import { classCount } from '../context.js';
import { series, type TrainingHistory } from '../history.js';
import { CHANCE_MARGIN, finite, lastValue, stuckAtChance, underfitting } from '../trends.js';
import type { Check, DoctorContext, Finding } from '../types.js';
import { lrLimits } from './config.js';

/** First-epoch mean loss above 2 ln(classes): predictions are confidently wrong, not just untrained. */
export const INITIAL_LOSS_FACTOR = 2;
/** Final loss 50% above its best and rising: the optimiser has left the minimum. */
export const DIVERGE_FACTOR = 1.5;
/** Consecutive rising epochs that make a rise a trend rather than noise. */
export const DIVERGE_RISING_EPOCHS = 3;
/** Oscillation: at least half the epoch-to-epoch changes reverse direction ... */
export const OSCILLATION_REVERSALS = 0.5;
/** ... with a mean swing of 10% of the loss (healthy noise is ~1-3%). */
export const OSCILLATION_AMPLITUDE = 0.1;
export const MIN_EPOCHS_SHAPE = 6;
/** Slow: after 5+ epochs the loss has fallen less than 30% and is still falling every epoch. */
export const SLOW_TOTAL_DROP = 0.3;
export const MIN_EPOCHS_SLOW = 5;
/** Overfitting: validation loss 15% (and 0.02) above its best, 3+ epochs after it, while train loss kept falling. */
export const OVERFIT_RISE = 0.15;
export const OVERFIT_MIN_RISE = 0.02;
export const OVERFIT_EPOCHS = 3;
/** A stage or learning-rate change followed by a 5-point validation accuracy drop over the next 2 epochs. */
export const FORGET_DROP = 0.05;
export const FORGET_WINDOW = 2;
/** Learning-rate change (either way) that marks a stage boundary when the log has no stage column. */
export const LR_CHANGE_FACTOR = 2;
/** 5 epochs without a 0.1% improvement of the monitored loss at a constant rate is a plateau. */
export const PLATEAU_EPOCHS = 5;
export const PLATEAU_MIN_IMPROVEMENT = 1e-3;
/** Validation accuracy above train accuracy by 5 points over the second half of training. */
export const VAL_ABOVE_TRAIN_GAP = 0.05;

function lrFix(ctx: DoctorContext, factor: number, why: string): Finding['fix'] {
  if (ctx.config === undefined)
    return {
      summary: `${why} Divide the learning rate by ${Math.round(1 / factor)}.`,
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
    if (bad.length === 0) return [];
    return [
      {
        id: 'nan-loss',
        severity: 'error',
        title: `The loss became NaN or infinite at epoch ${bad[0].epoch}`,
        explanation:
          'A NaN loss means the weights overflowed (too high a learning rate, unscaled inputs, or log(0) in the loss); every later epoch trains nothing.',
        evidence: {
          firstEpoch: bad[0].epoch,
          epochs: bad.length,
          epochRange: [bad[0].index, h.epochs.length - 1],
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
    const first = ctx.history === undefined ? undefined : finite(series(ctx.history, 'loss'))[0];
    if (classes === undefined || classes < 2 || first === undefined) return [];
    const chance = Math.log(classes);
    if (first.value <= INITIAL_LOSS_FACTOR * chance) return [];
    return [
      {
        id: 'initial-loss-off',
        severity: 'warning',
        title: `First-epoch loss ${first.value.toFixed(3)} is far above ln(${classes}) = ${chance.toFixed(3)}`,
        explanation:
          'A fresh head should start near ln(classes) (uniform guesses). Starting far above means confidently wrong outputs: typically unscaled or wrongly preprocessed inputs, or a learning rate that blows up the first steps.',
        evidence: {
          firstLoss: first.value,
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
    const loss = finite(series(ctx.history, 'loss'));
    if (loss.length < DIVERGE_RISING_EPOCHS + 1) return [];
    const best = loss.reduce((a, b) => (b.value < a.value ? b : a));
    const tail = loss.slice(-DIVERGE_RISING_EPOCHS - 1);
    const rising = tail.every((p, i) => i === 0 || p.value > tail[i - 1].value);
    const last = loss[loss.length - 1];
    if (!rising || last.value <= DIVERGE_FACTOR * best.value) return [];
    return [
      {
        id: 'diverging-loss',
        severity: 'error',
        title: `Training loss is rising: ${last.value.toPrecision(3)} now vs ${best.value.toPrecision(3)} at its best`,
        explanation:
          'A training loss that climbs for several epochs means the steps are too large for the current region: the optimiser is moving away from the minimum.',
        evidence: {
          best: best.value,
          bestEpochIndex: best.index,
          last: last.value,
          epochRange: [best.index, last.index],
        },
        fix: lrFix(ctx, 0.1, 'The learning rate is too high.'),
      },
    ];
  },
};

const oscillating: Check = {
  ids: ['oscillating-loss'],
  family: 'dynamics',
  run(ctx) {
    if (ctx.history === undefined) return [];
    const loss = finite(series(ctx.history, 'loss')).map((p) => p.value);
    if (loss.length < MIN_EPOCHS_SHAPE) return [];
    const diffs = loss.slice(1).map((v, i) => v - loss[i]);
    const reversals =
      diffs.slice(1).filter((d, i) => Math.sign(d) !== Math.sign(diffs[i]) && d !== 0).length /
      (diffs.length - 1);
    const meanLoss = loss.reduce((a, b) => a + b, 0) / loss.length;
    const swing =
      diffs.reduce((a, d) => a + Math.abs(d), 0) / diffs.length / Math.max(meanLoss, 1e-12);
    if (reversals < OSCILLATION_REVERSALS || swing < OSCILLATION_AMPLITUDE) return [];
    return [
      {
        id: 'oscillating-loss',
        severity: 'warning',
        title: `Training loss zig-zags: ${(reversals * 100).toFixed(0)}% of epochs reverse direction, swinging ${(swing * 100).toFixed(0)}% of the loss`,
        explanation:
          'Steps overshoot the minimum back and forth instead of descending into it; the learning rate is too high (or the batch too small and noisy).',
        evidence: {
          reversals: Number(reversals.toFixed(2)),
          relativeSwing: Number(swing.toFixed(3)),
          epochRange: [0, loss.length - 1],
        },
        fix: lrFix(ctx, 1 / 3, 'Lower the learning rate.'),
      },
    ];
  },
};

const stuck: Check = {
  ids: ['stuck-at-chance'],
  family: 'dynamics',
  run(ctx) {
    const classes = classCount(ctx);
    if (ctx.history === undefined || !stuckAtChance(ctx.history, classes)) return [];
    const accuracy = lastValue(ctx.history, 'accuracy');
    return [
      {
        id: 'stuck-at-chance',
        severity: 'error',
        title: `Training never leaves chance level (1/${classes}${accuracy === undefined ? '' : `; final accuracy ${(accuracy * 100).toFixed(0)}%`})`,
        explanation:
          'The model learns nothing, not even its training data. Usual causes: wrong preprocessing, labels not matching images, a learning rate far too high or too low, or everything frozen including the head.',
        evidence: {
          classes,
          chance: 1 / (classes as number),
          finalAccuracy: accuracy,
          margin: CHANCE_MARGIN,
          epochRange: [0, ctx.history.epochs.length - 1],
        },
        fix: {
          summary:
            'Check the preprocessing and data findings first, then run an LR range test (vggkit doctor --probe).',
        },
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
    const first = loss[0].value;
    const last = loss[loss.length - 1].value;
    const tail = loss.slice(-4);
    const stillFalling = tail.every((p, i) => i === 0 || p.value < tail[i - 1].value);
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
          epochRange: [loss[0].index, loss[loss.length - 1].index],
        },
        fix,
      },
    ];
  },
};

const overfitting: Check = {
  ids: ['overfitting'],
  family: 'dynamics',
  run(ctx) {
    const h = ctx.history;
    if (h === undefined) return [];
    const val = finite(series(h, 'valLoss'));
    const train = finite(series(h, 'loss'));
    if (val.length < OVERFIT_EPOCHS + 2) return [];
    const best = val.reduce((a, b) => (b.value < a.value ? b : a));
    const last = val[val.length - 1];
    const after = val.filter((p) => p.index > best.index).length;
    const trainAtBest = train.find((p) => p.index === best.index)?.value;
    const trainLast = train[train.length - 1]?.value;
    const rise = last.value - best.value;
    if (after < OVERFIT_EPOCHS || rise < OVERFIT_MIN_RISE || rise < OVERFIT_RISE * best.value)
      return [];
    if (trainAtBest === undefined || trainLast === undefined || trainLast >= trainAtBest) return [];
    return [
      {
        id: 'overfitting',
        severity: 'warning',
        title: `Validation loss bottomed out at epoch ${h.epochs[best.index].epoch} and has risen ${((rise / best.value) * 100).toFixed(0)}% since, while training loss kept falling`,
        explanation:
          'The model is memorising the training images instead of learning what generalises; the weights from the best epoch are better than the final ones.',
        evidence: {
          bestValLoss: best.value,
          finalValLoss: last.value,
          trainLossAtBest: trainAtBest,
          finalTrainLoss: trainLast,
          epochRange: [best.index, last.index],
        },
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

const underfit: Check = {
  ids: ['underfitting'],
  family: 'dynamics',
  run(ctx) {
    const h = ctx.history;
    const evidence = h === undefined ? undefined : underfitting(h, classCount(ctx));
    if (h === undefined || evidence === undefined) return [];
    return [
      {
        id: 'underfitting',
        severity: 'warning',
        title: `Training accuracy levelled off at ${(evidence.finalAccuracy * 100).toFixed(0)}%`,
        explanation:
          'The model cannot fit even its training images: it lacks capacity where it is allowed to learn (everything frozen, too small a head) or the rate has decayed too far.',
        evidence: {
          ...evidence,
          epochRange: [Math.max(0, h.epochs.length - 4), h.epochs.length - 1],
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

function boundaries(h: TrainingHistory): number[] {
  const out: number[] = [];
  for (let i = 1; i < h.epochs.length; i++) {
    const a = h.epochs[i - 1];
    const b = h.epochs[i];
    const stageChange = a.stage !== undefined && b.stage !== undefined && a.stage !== b.stage;
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

const forgetting: Check = {
  ids: ['forgetting-after-unfreeze'],
  family: 'dynamics',
  run(ctx) {
    const h = ctx.history;
    if (h === undefined) return [];
    const findings: Finding[] = [];
    for (const i of boundaries(h)) {
      const before = h.epochs[i - 1].valAccuracy;
      const window = h.epochs
        .slice(i, i + FORGET_WINDOW)
        .map((e) => e.valAccuracy)
        .filter((v): v is number => v !== undefined && Number.isFinite(v));
      if (before === undefined || window.length === 0) continue;
      const after = window.reduce((a, b) => a + b, 0) / window.length;
      if (before - after < FORGET_DROP) continue;
      findings.push({
        id: 'forgetting-after-unfreeze',
        severity: 'warning',
        title: `Validation accuracy fell from ${(before * 100).toFixed(0)}% to ${(after * 100).toFixed(0)}% right after the change at epoch ${h.epochs[i].epoch}${h.epochs[i].stage === undefined ? '' : ` (stage ${h.epochs[i].stage})`}`,
        explanation:
          'Unfreezing pretrained blocks at too high a rate overwrites the features they learned on ImageNet (catastrophic forgetting) — the seed article’s third failure.',
        evidence: {
          before,
          after,
          lrBefore: h.epochs[i - 1].lr,
          lrAfter: h.epochs[i].lr,
          epochRange: [i - 1, i + window.length - 1],
        },
        fix: {
          summary:
            'Divide the learning rate by 10 (or more) at each unfreezing, and unfreeze one block at a time.',
          config: {
            stageLrFactor:
              ctx.config === undefined ? 0.1 : Math.min(0.1, ctx.config.stageLrFactor / 10),
          },
          flag: '--stage-lr-factor 0.1',
        },
      });
      break;
    }
    return findings;
  },
};

const plateau: Check = {
  ids: ['plateau-without-lr-decay'],
  family: 'dynamics',
  run(ctx) {
    const h = ctx.history;
    if (h === undefined) return [];
    const monitored = finite(series(h, 'valLoss')).length > 0 ? 'valLoss' : 'loss';
    const values = finite(series(h, monitored));
    if (values.length <= PLATEAU_EPOCHS) return [];
    const lrs = h.epochs.map((e) => e.lr);
    const tail = h.epochs.slice(-PLATEAU_EPOCHS - 1);
    const constantLr = lrs.every((v) => v !== undefined)
      ? tail.every((e) => e.lr === tail[0].lr)
      : ctx.config !== undefined &&
        !ctx.config.reduceLr.enabled &&
        ctx.config.schedule.name === 'none';
    if (!constantLr) return [];
    const bestBefore = Math.min(...values.slice(0, -PLATEAU_EPOCHS).map((p) => p.value));
    const recent = values.slice(-PLATEAU_EPOCHS);
    const improved = recent.some((p) => p.value < bestBefore * (1 - PLATEAU_MIN_IMPROVEMENT));
    const lastValue = recent[recent.length - 1].value;
    // A rising validation loss is overfitting (its own finding), not a plateau.
    if (improved || lastValue > bestBefore * (1 + OVERFIT_RISE)) return [];
    const evidence = {
      monitored: monitored === 'valLoss' ? 'val_loss' : 'loss',
      bestBefore,
      recent: recent.map((p) => p.value),
      epochRange: [recent[0].index, recent[recent.length - 1].index],
    };
    const reduceLr = ctx.config?.reduceLr;
    if (reduceLr?.enabled === true && ctx.config?.schedule.name === 'none') {
      // The callback was on and never fired: tiny improvements above its min_delta kept resetting
      // its patience, or the patience is longer than the plateau.
      const steps = recent.map(
        (p, i) => (i === 0 ? bestBefore : (recent[i - 1] as { value: number }).value) - p.value,
      );
      const tinyGains = steps.some((d) => d > reduceLr.minDelta);
      const minDelta = Number((bestBefore * PLATEAU_MIN_IMPROVEMENT).toPrecision(1));
      return [
        {
          id: 'plateau-without-lr-decay',
          severity: 'warning',
          title: `${monitored === 'valLoss' ? 'Validation' : 'Training'} loss has not improved for ${PLATEAU_EPOCHS} epochs and ReduceLROnPlateau never fired`,
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
        title: `${monitored === 'valLoss' ? 'Validation' : 'Training'} loss has not improved for ${PLATEAU_EPOCHS} epochs and the learning rate never dropped`,
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
          epochRange: [half[0].index, half[half.length - 1].index],
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

export const DYNAMICS_CHECKS: readonly Check[] = [
  nanLoss,
  initialLoss,
  diverging,
  oscillating,
  stuck,
  slow,
  overfitting,
  underfit,
  forgetting,
  plateau,
  valAboveTrain,
];
