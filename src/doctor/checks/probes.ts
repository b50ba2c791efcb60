/**
 * Probe family: judges the short dynamic runs of `--probe` (ctx.probes, see probe.ts) and the
 * evaluation of a `--model` folder on the data (ctx.model.evaluation). Every check returns [] when
 * its measurement is absent.
 */
import { basename } from 'node:path';
import { classCount } from '../context.js';
import { LR_MIN_FALL } from '../lr-suggestions.js';
import type { LrRangeVerdict, ProbeResults } from '../probe-results.js';
import { CHANCE_MARGIN } from '../trends.js';
import type { Check, DoctorContext, Finding } from '../types.js';
import { chanceFix, INITIAL_LOSS_FACTOR } from './dynamics.js';

/** The overfit batch must lose at least 10% of its starting loss in OVERFIT_STEPS steps: a working pipeline at a usable rate memorises 16 images far faster; a rate too small to move anything, or a broken pipeline, stays within ~1%. */
export const OVERFIT_MIN_DROP = 0.1;
/** Configured rate above 10x the sweep's suggestion (lr_min): beyond the rate at which the loss was lowest, where the sweep saw it turn upward. */
export const LR_HIGH_FACTOR = 10;
/** Configured rate below 1/1000 of the suggestion: three decades below where the loss starts to move. Asymmetric because a low rate only costs time, and fine-tuning deliberately starts low (the seed's Adam 1e-4). */
export const LR_LOW_FACTOR = 1000;
/** Deepest trainable block's RMS gradient below 1e-4 of the head's: VGG stacks without batch norm show 1-2 orders between top and bottom; 4 means the block does not move at any rate the head survives. */
export const VANISHING_RATIO = 1e-4;
/** Any layer's RMS gradient above 1 (or non-finite): one step at an ordinary rate (1e-2) would move its weights by more than their own typical magnitude (~1e-2 for VGG). */
export const EXPLODING_RMS = 1;
/** More than half of a conv layer's channels silent on every sampled image: that layer passes on less than half its features. Pretrained VGG16 on narrow domains leaves at most a few percent of channels silent. */
export const DEAD_RELU_FRACTION = 0.5;
/** Held-out accuracy 15 points lower (beyond the noise of a ~32-image half sample), or loss 50% higher, after the unfrozen stage's steps. */
export const FORGET_ACCURACY_DROP = 0.15;
export const FORGET_LOSS_RISE = 1.5;

function probes(ctx: DoctorContext): ProbeResults | undefined {
  return ctx.probes;
}

const initialLoss: Check = {
  ids: ['initial-loss-off'],
  family: 'probe',
  run(ctx) {
    const p = probes(ctx);
    if (p === undefined) return [];
    const expected = Math.log(p.classes === 1 ? 2 : p.classes);
    if (Number.isFinite(p.initialLoss) && p.initialLoss <= INITIAL_LOSS_FACTOR * expected)
      return [];
    return [
      {
        id: 'initial-loss-off',
        severity: 'warning',
        title: `Loss at initialisation is ${p.initialLoss.toPrecision(3)}, far above ln(${p.classes}) = ${expected.toFixed(3)}`,
        explanation:
          p.headFrom === undefined
            ? 'Before any step, a fresh head should guess uniformly (loss ≈ ln(classes)). Far more means its outputs are huge and confidently wrong: the features feeding it are out of scale, usually from wrong preprocessing or broken weights.'
            : `The probes start from ${basename(p.headFrom)}'s own head, as it was trained. On its own training images it does worse than guessing uniformly (loss ≈ ln(classes)): its outputs are confidently wrong, so it has not learned these images, or it sees them preprocessed differently from how it was trained.`,
        evidence: {
          initialLoss: p.initialLoss,
          expected,
          classes: p.classes,
          images: p.sampleSize,
          source: 'probe',
        },
        fix: {
          summary:
            'Check the preprocessing findings (and --batch on a batch of your pipeline); make sure the weights match their contract.',
        },
      },
    ];
  },
};

/** The LR range test's suggestion, rounded as a fix states it; undefined when the test found none. */
function suggestedLr(p: ProbeResults): number | undefined {
  const s = p.lrRange.suggestion;
  return Number.isFinite(s) && s > 0 ? Number(s.toPrecision(2)) : undefined;
}

/** The range test's verdict when it ran but its curve never fell LR_MIN_FALL below its start. */
function inconclusive(p: ProbeResults): LrRangeVerdict | undefined {
  const v = p.lrRange.verdict;
  return v !== undefined && !v.conclusive ? v : undefined;
}

/** `its smoothed loss started at 1.14 and was lowest at 1.14 (lr 0.95), 0.1% lower`: the figures of an inconclusive curve. */
function describeVerdict(v: LrRangeVerdict, steps: number): string {
  const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
  if (!Number.isFinite(v.lowest))
    return `it recorded only ${steps} step(s) before the loss diverged, too few to read`;
  return `over ${steps} steps its smoothed loss started at ${v.start.toPrecision(4)} and was never lower than ${v.lowest.toPrecision(4)} (at lr ${v.lowestLr.toPrecision(2)}), ${v.fall > 0 ? `${pct(v.fall)} below` : 'not below'} its start where a rate that trains lowers it by ${pct(LR_MIN_FALL)} or more`;
}

const overfit: Check = {
  ids: ['cannot-overfit-batch'],
  family: 'probe',
  run(ctx) {
    const p = probes(ctx);
    const o = p?.overfit;
    if (p === undefined || o === undefined) return [];
    const drop = (o.startLoss - o.endLoss) / o.startLoss;
    if (Number.isFinite(o.endLoss) && drop >= OVERFIT_MIN_DROP) return [];
    const suggestion = suggestedLr(p);
    const verdict = inconclusive(p);
    // The direction comes from the measurement: a rate above the LR range test's suggestion
    // overshoots even on one batch, one far below it does not move.
    const fix: Finding['fix'] =
      verdict !== undefined
        ? {
            // The range test ran and saw no rate that trains: name no rate (a fix loop's measured
            // one, when there is one, decides it: combine.ts).
            summary: `The LR range test was inconclusive (${describeVerdict(verdict, p.lrRange.lrs.length)}), so it suggests no rate: measure rates by training (vggkit doctor with --fix-config, or vggkit sweep --lr), then check the data and preprocessing findings.`,
            flag: '--lr',
          }
        : suggestion === undefined
          ? {
              summary:
                'Run an LR range test (vggkit lr-find) and use its rate, then check the data and preprocessing findings.',
              flag: '--lr',
            }
          : {
              summary: `${o.lr > suggestion ? 'Lower' : 'Raise'} the learning rate to ${suggestion}, the LR range test's suggestion on your data; if the batch still does not overfit, check the data and preprocessing findings.`,
              config: { lr: suggestion },
              flag: `--lr ${suggestion}`,
              basis: 'probe',
            };
    return [
      {
        id: 'cannot-overfit-batch',
        severity: 'error',
        title: `The model cannot overfit one batch of ${o.images} images: loss ${o.startLoss.toPrecision(3)} → ${o.endLoss.toPrecision(3)} in ${o.steps} steps at lr ${o.lr}`,
        explanation:
          'Any working setup memorises a handful of images quickly. If it cannot, full training will not learn either: the learning rate is far off (too small to move anything, or so large the steps overshoot), or inputs, labels or the trainable part are broken.',
        evidence: {
          ...o,
          relativeDrop: Number(drop.toFixed(4)),
          minDrop: OVERFIT_MIN_DROP,
          ...(suggestion === undefined ? {} : { suggestedLr: suggestion }),
          ...(verdict === undefined ? {} : { lrRangeTest: verdict }),
        },
        fix,
      },
    ];
  },
};

const lrRange: Check = {
  ids: ['lr-too-high', 'lr-too-low', 'lr-range-inconclusive'],
  family: 'probe',
  run(ctx) {
    const p = probes(ctx);
    const verdict = p === undefined ? undefined : inconclusive(p);
    if (p !== undefined && verdict !== undefined)
      return [
        {
          id: 'lr-range-inconclusive',
          severity: 'info',
          title: `The LR range test was inconclusive: the loss never fell materially below its start, so it suggests no rate`,
          explanation: `On ${p.sampleSize} images ${describeVerdict(verdict, p.lrRange.lrs.length)}. A lowest point this shallow is the noise of a few batches, not a rate that trains: the sample is small, the features weak (random weights), or the setup learns at no rate. The lr checks that compare your rate against the test say nothing.`,
          evidence: {
            lr: p.stage.lr,
            ...verdict,
            minFall: LR_MIN_FALL,
            lrs: p.lrRange.lrs,
            losses: p.lrRange.losses,
            source: 'lr-range-test',
          },
          fix: {
            // With the fix loop run, its short trainings already measured rates: point there.
            summary:
              ctx.fixLoop === undefined
                ? 'Measure rates by training instead: vggkit doctor with your data, --config and --fix-config trains candidate rates briefly; vggkit sweep --lr searches a range.'
                : "Rates were measured by training instead: see the fix loop's candidates (measured-fix or no-better-fix).",
          },
        },
      ];
    const suggestion = p === undefined ? undefined : suggestedLr(p);
    // The config check may report the same rate by its rule; combine.ts merges the two, keeping this measured fix.
    if (p === undefined || suggestion === undefined) return [];
    const lr = p.stage.lr;
    const evidence = {
      lr,
      suggestion,
      steepest: p.lrRange.steepest,
      lrs: p.lrRange.lrs,
      losses: p.lrRange.losses,
      source: 'lr-range-test',
    };
    const fix: Finding['fix'] = {
      summary: `Use lr ${suggestion}, the LR range test's suggestion.`,
      config: { lr: suggestion },
      flag: `--lr ${suggestion}`,
      basis: 'probe',
    };
    if (lr > LR_HIGH_FACTOR * p.lrRange.suggestion)
      return [
        {
          id: 'lr-too-high',
          severity: 'warning',
          title: `Learning rate ${lr} is ${Math.round(lr / p.lrRange.suggestion)}x the LR range test's suggestion ${suggestion}`,
          explanation:
            'On your data the loss stopped falling and turned upward below this rate: steps this large overshoot.',
          evidence,
          fix,
        },
      ];
    if (lr * LR_LOW_FACTOR < p.lrRange.suggestion)
      return [
        {
          id: 'lr-too-low',
          severity: 'warning',
          title: `Learning rate ${lr} is ${Math.round(p.lrRange.suggestion / lr)}x below the LR range test's suggestion ${suggestion}`,
          explanation:
            'On your data the loss does not move at this rate in the sweep: training would need far more epochs than configured.',
          evidence,
          fix,
        },
      ];
    return [];
  },
};

const gradients: Check = {
  ids: ['vanishing-gradients', 'exploding-gradients'],
  family: 'probe',
  run(ctx) {
    const g = probes(ctx)?.gradients;
    if (g === undefined || g.layers.length === 0) return [];
    const layers = g.layers.map((l) => ({
      layer: l.layer,
      group: l.group,
      norm: l.norm,
      rms: l.rms,
    }));
    const exploded = g.layers.filter((l) => !Number.isFinite(l.rms) || l.rms > EXPLODING_RMS);
    if (exploded.length > 0)
      return [
        {
          id: 'exploding-gradients',
          severity: 'error',
          title: `Gradients explode: ${exploded.map((l) => `${l.layer} RMS ${l.rms.toPrecision(2)}`).join(', ')}`,
          explanation:
            'One step at an ordinary rate would move these weights by more than their own size: training diverges to NaN. Usually inputs out of scale or a rate far too high.',
          evidence: { layers, images: g.images, threshold: EXPLODING_RMS },
          fix: {
            summary:
              'Check the preprocessing findings, lower the learning rate and clip the gradient norm.',
            config: { clipNorm: 1 },
            flag: '--clip-norm 1',
          },
        },
      ];
    const head = Math.max(...g.layers.filter((l) => l.group === 'head').map((l) => l.rms));
    const blocks = g.layers
      .map((l) => l.group)
      .filter((group) => group !== 'head')
      .sort();
    const deepestGroup = blocks[0] ?? 'head';
    const deepest = Math.max(...g.layers.filter((l) => l.group === deepestGroup).map((l) => l.rms));
    if (deepestGroup === 'head' || !(head > 0) || deepest >= VANISHING_RATIO * head) return [];
    return [
      {
        id: 'vanishing-gradients',
        severity: 'warning',
        title: `Gradients vanish: ${deepestGroup} receives ${deepest === 0 ? 'no gradient' : `${(head / deepest).toExponential(1)}x less gradient than the head`}`,
        explanation:
          'The unfrozen block barely changes whatever the rate, so unfreezing it costs time and gains nothing; dead ReLUs or saturated, out-of-scale activations are the usual cause.',
        evidence: { layers, images: g.images, ratio: deepest / head, threshold: VANISHING_RATIO },
        fix: { summary: 'Check the dead-relu and preprocessing findings; unfreeze fewer blocks.' },
      },
    ];
  },
};

const deadRelu: Check = {
  ids: ['dead-relu'],
  family: 'probe',
  run(ctx) {
    const d = probes(ctx)?.deadRelu;
    if (d === undefined) return [];
    const dead = d.layers.filter((l) => l.dead > DEAD_RELU_FRACTION * l.channels);
    if (dead.length === 0) return [];
    return [
      {
        id: 'dead-relu',
        severity: 'warning',
        title: `Dead ReLUs: ${dead.map((l) => `${l.layer} ${Math.round((100 * l.dead) / l.channels)}%`).join(', ')} of channels are zero on every sampled image`,
        explanation:
          'A channel that is zero for every image carries no information and passes no gradient: the network downstream works with a fraction of its features. Typical of broken or mismatched weights, or inputs far off their expected range.',
        evidence: {
          layers: d.layers.map((l) => ({ ...l, fraction: l.dead / l.channels })),
          images: d.images,
          threshold: DEAD_RELU_FRACTION,
        },
        fix: {
          summary:
            'Check that the weights load correctly and the preprocessing matches their contract.',
        },
      },
    ];
  },
};

const forgetting: Check = {
  ids: ['forgetting-after-unfreeze'],
  family: 'probe',
  run(ctx) {
    const f = probes(ctx)?.forgetting;
    if (f === undefined) return [];
    const accuracyDrop = f.before.accuracy - f.after.accuracy;
    const lossRatio = f.after.loss / f.before.loss;
    if (
      Number.isFinite(f.after.loss) &&
      accuracyDrop < FORGET_ACCURACY_DROP &&
      lossRatio < FORGET_LOSS_RISE
    )
      return [];
    return [
      {
        id: 'forgetting-after-unfreeze',
        severity: 'warning',
        title: `Unfreezing ${f.stage} at lr ${f.stageLr} degrades held-out images: accuracy ${(f.before.accuracy * 100).toFixed(0)}% → ${(f.after.accuracy * 100).toFixed(0)}%, loss ${f.before.loss.toPrecision(3)} → ${f.after.loss.toPrecision(3)}`,
        explanation:
          'A probe trained the head, then the unfrozen stage at its configured rate: the pretrained features were overwritten faster than they adapted (catastrophic forgetting).',
        evidence: { ...f, source: 'probe' },
        fix: {
          summary: 'Divide the learning rate by 10 (or more) at each unfreezing.',
          config: { stageLrFactor: Math.min(0.1, (ctx.config?.stageLrFactor ?? 1) / 10) },
          flag: '--stage-lr-factor 0.1',
        },
      },
    ];
  },
};

const modelAtChance: Check = {
  ids: ['stuck-at-chance'],
  family: 'probe',
  run(ctx) {
    const e = ctx.model?.evaluation;
    const classes = ctx.model?.classes?.length ?? classCount(ctx);
    if (e === undefined || classes === undefined || classes < 2) return [];
    const chance = 1 / classes;
    if (e.accuracy > chance + CHANCE_MARGIN) return [];
    return [
      {
        id: 'stuck-at-chance',
        severity: 'error',
        title: `The model scores ${(e.accuracy * 100).toFixed(0)}% on ${e.images} images: chance level for ${classes} classes`,
        explanation:
          'The trained model has learned nothing usable on this data: wrong preprocessing, labels not matching images, or a failed fine-tune.',
        evidence: { ...e, chance, margin: CHANCE_MARGIN },
        fix: chanceFix(
          ctx,
          'Run vggkit doctor with --config and --probe on the training data to find why training failed.',
        ),
      },
    ];
  },
};

export const PROBE_CHECKS: readonly Check[] = [
  initialLoss,
  overfit,
  lrRange,
  gradients,
  deadRelu,
  forgetting,
  modelAtChance,
];
