/**
 * Fix family: judges the fix loop's measurements (ctx.fixLoop, fix-loop/). When a candidate beat
 * the user's config (and, with --verify, kept beating it over the full budget), `measured-fix`
 * states its settings with basis `sweep`: combine.ts then makes every rule about those settings
 * defer to it. Its patch covers every setting the loop measured or the rules changed, unchanged
 * ones included ("keep batchSize 8"), so `--fix-config` writes exactly the candidate that won.
 * Otherwise `no-better-fix` says what was tried, and nothing is written.
 */
import {
  describePatch,
  formatSettingValue,
  patchFlags,
  SGD_ONLY_SETTINGS,
} from '../fix-settings.js';
import { setupConfig } from '../context.js';
import { kerasLinesFor } from '../keras-lines.js';
import type { FixLoopResult, Score, TriedCandidate } from '../fix-loop/types.js';
import type { Check, ConfigPatch, DoctorContext } from '../types.js';

function pct(accuracy: number): string {
  return Number.isFinite(accuracy) ? `${(accuracy * 100).toFixed(0)}%` : 'n/a';
}

function triedEvidence(loop: FixLoopResult): Record<string, unknown>[] {
  return loop.tried.map((t) => ({
    candidate: t.label,
    accuracy: t.score.accuracy,
    loss: t.score.loss,
    status: t.status,
  }));
}

function metric(loop: FixLoopResult): string {
  return loop.validationImages > 0 ? 'validation accuracy' : 'training accuracy';
}

function measuredPatch(
  ctx: DoctorContext,
  loop: FixLoopResult,
  chosen: TriedCandidate,
): ConfigPatch {
  const config = setupConfig(ctx) as unknown as Record<string, unknown>;
  const changes = chosen.changes as Record<string, unknown>;
  const keys = new Set([...loop.settings, ...Object.keys(loop.rules), ...Object.keys(changes)]);
  // `val` is the folder the doctor validated on, not a setting the fix changes.
  keys.delete('val');
  // Momentum means nothing to Adam: the measurement says nothing about it (and combine.ts drops a
  // rule's momentum as moot once this fix decides the optimizer is not SGD).
  for (const k of sgdOnlySettings(ctx, chosen)) keys.delete(k);
  return Object.fromEntries(
    [...keys].map((k) => [k, k in changes ? changes[k] : config[k]]),
  ) as ConfigPatch;
}

/** The SGD-only settings, when the winner does not use SGD (and does not set them itself). */
function sgdOnlySettings(ctx: DoctorContext, chosen: TriedCandidate): string[] {
  const optimizer = chosen.changes.optimizer ?? setupConfig(ctx)?.optimizer;
  return optimizer === 'sgd'
    ? []
    : SGD_ONLY_SETTINGS.filter((k) => !(k in (chosen.changes as Record<string, unknown>)));
}

/** The settings a rule wanted changed that the winner keeps as the user had them, with the values tried instead. */
function kept(loop: FixLoopResult, chosen: TriedCandidate, ctx: DoctorContext): string {
  const config = setupConfig(ctx) as unknown as Record<string, unknown>;
  const moot = sgdOnlySettings(ctx, chosen);
  const parts = Object.keys(loop.rules)
    .filter((k) => k !== 'lr' && k !== 'val' && !(k in chosen.changes) && !moot.includes(k))
    .map((k) => {
      const tried = [
        ...new Set(
          loop.tried
            .map((t) => (t.changes as Record<string, unknown>)[k])
            .filter((v) => v !== undefined)
            .map((v) => formatSettingValue(v)),
        ),
      ];
      return `keep ${k} ${formatSettingValue(config[k])}${tried.length === 0 ? '' : ` (${tried.join(', ')} trained no better)`}`;
    });
  return parts.length === 0 ? '' : `; ${parts.join('; ')}`;
}

/** With `--keras`: the winner as the Keras lines to change. */
function kerasFix(chosen: TriedCandidate, ctx: DoctorContext): { keras?: string } {
  const setup = setupConfig(ctx);
  const lines = setup === undefined ? undefined : kerasLinesFor(chosen.changes, setup);
  return lines === undefined ? {} : { keras: lines };
}

function change(before: Score, after: Score): string {
  return `${pct(before.accuracy)} → ${pct(after.accuracy)}`;
}

const measured: Check = {
  ids: ['measured-fix', 'no-better-fix'],
  family: 'fix',
  run(ctx) {
    const loop = ctx.fixLoop;
    if (loop === undefined || setupConfig(ctx) === undefined) return [];
    const yours = loop.tried[0] as TriedCandidate;
    const chosen = loop.chosen === undefined ? undefined : loop.tried[loop.chosen];
    const v = loop.verification;
    const others = loop.tried.length - 1;
    if (chosen !== undefined && (v === undefined || v.improved)) {
      const verified =
        v === undefined
          ? ''
          : `; verified over your ${v.epochs} epochs: ${change(v.before.score, v.after.score)}`;
      const patch = measuredPatch(ctx, loop, chosen);
      return [
        {
          id: 'measured-fix',
          severity: 'info',
          title: `Measured on your data: ${chosen.label} trains best of ${loop.tried.length} candidates (${metric(loop)} ${change(yours.score, chosen.score)} in ${loop.epochs} epochs${verified})`,
          explanation: `The doctor trained your config and ${others} candidate fixes for ${loop.epochs} epoch(s) each on your images (the same share of each one's budget, so a batch size is judged on the steps it would really take; the frozen base's features computed once), with learning rates from LR range tests, and kept the one that learned best. Fixes below that touch the same settings defer to it.`,
          evidence: {
            chosen: chosen.label,
            settings: loop.settings,
            epochs: loop.epochs,
            validationImages: loop.validationImages,
            tried: triedEvidence(loop),
            ...(v === undefined
              ? {}
              : {
                  verifiedEpochs: v.epochs,
                  before: v.before.score,
                  after: v.after.score,
                }),
            seconds: Number(loop.seconds.toFixed(1)),
          },
          fix: {
            summary: `Use ${describePatch(chosen.changes)}${kept(loop, chosen, ctx)}${v === undefined ? ' (run with --verify to train it for your whole budget first)' : ''}.`,
            config: patch,
            flag: patchFlags(chosen.changes),
            ...(ctx.keras === undefined ? {} : kerasFix(chosen, ctx)),
            basis: 'sweep',
          },
        },
      ];
    }
    const why =
      chosen !== undefined && v !== undefined
        ? `The best, ${chosen.label}, led after ${loop.epochs} epochs but over your ${v.epochs} epochs reached ${change(v.before.score, v.after.score)}: not better.`
        : `After ${loop.epochs} epoch(s) none beat your config's ${metric(loop)} of ${pct(yours.score.accuracy)} by more than one image (or its loss by 10%).`;
    return [
      {
        id: 'no-better-fix',
        severity: 'warning',
        title: `None of ${others} candidate fixes trained better than your config on your data`,
        explanation: `${why} Nothing was written: the fixes below are unproven here. If training fails anyway, look at the data and preprocessing findings first; the settings tried may not be what is wrong.`,
        evidence: {
          settings: loop.settings,
          epochs: loop.epochs,
          validationImages: loop.validationImages,
          tried: triedEvidence(loop),
          ...(v === undefined ? {} : { before: v.before.score, after: v.after.score }),
        },
        fix: {
          summary: `Tried: ${loop.tried
            .slice(1)
            .map((t) => t.label)
            .join('; ')}.`,
        },
      },
    ];
  },
};

export const FIX_CHECKS: readonly Check[] = [measured];
