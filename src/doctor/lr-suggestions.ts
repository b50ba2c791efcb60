/**
 * Reading an LR range test's curve (probe.ts records it): fastai's suggestions (minimum/10,
 * steepest, valley) past the curve's head, and the verdict whether the curve says anything at all.
 * Pure functions of the recorded rates and smoothed losses, so the probe checks and `lr-find` read
 * the same figures without loading the probe runner.
 */
import { median } from '../util/stats.js';
import type { LrRangeVerdict } from './probe-results.js';

/** fastai's lr_find defaults: 1e-7 to 10. */
export const LR_START = 1e-7;
export const LR_END = 10;

/**
 * fastai's `valley`: the longest stretch over which the loss keeps falling (the longest decreasing
 * subsequence of the smoothed losses), and the rate a little past its middle (start + 1/2 of a
 * third of its length + a third), fastai's default suggestion since v2.5.
 */
export function valley(lrs: readonly number[], losses: readonly number[]): number {
  const n = losses.length;
  if (n === 0) return Number.NaN;
  const lds = new Array<number>(n).fill(1);
  let maxStart = 0;
  let maxEnd = 0;
  for (let i = 1; i < n; i++) {
    for (let j = 0; j < i; j++) {
      if (
        (losses[i] as number) < (losses[j] as number) &&
        (lds[i] as number) < (lds[j] as number) + 1
      )
        lds[i] = (lds[j] as number) + 1;
      if ((lds[maxEnd] as number) < (lds[i] as number)) {
        maxEnd = i;
        maxStart = maxEnd - (lds[maxEnd] as number);
      }
    }
  }
  const sections = (maxEnd - maxStart) / 3;
  const index = maxStart + Math.trunc(sections) + Math.trunc(sections / 2);
  return lrs[Math.min(n - 1, Math.max(0, index))] as number;
}

/**
 * The head of the curve the suggestions ignore: the first tenth of the sweep's span of rates
 * (1e-7 to ~6e-7 of 1e-7..10, the first 5 of 48 steps). fastai's `lr_find` drops its first
 * `num_it // 10` points and Lightning's `suggestion` its first 10 for the same reason: at these
 * rates the weights do not move, and the bias-corrected average there holds one to five batches'
 * losses, so its lowest point is the noise of a single batch (the 1.5e-8 "suggestion" of a
 * 24-image set: the mean of its first two batches, 1% under the first one).
 */
export const LR_SKIP_SPAN = 0.1;
/**
 * The lowest smoothed loss past the head must lie at least 2% below the head's level, or the test
 * suggests nothing. On real curves where the rate moves nothing (24 Fashion-MNIST images, batch
 * 16, random weights, SGD) the smoothed loss wanders within 0.8% (1.146..1.155 between 1e-5 and
 * 3e-3) and its first two batches dip 1% below the first: 2% is twice the widest wander seen. A
 * working fine-tune falls by tens of percent (ln 3 = 1.1 to below 0.5). fastai always suggests
 * (the minimum of a flat curve is noise); Lightning refuses only with fewer than 2 points.
 */
export const LR_MIN_FALL = 0.02;
/** Points the suggestions need past the head: Lightning's minimum (a slope needs two). */
export const LR_MIN_POINTS = 2;

/** Index of the first point past the head (LR_SKIP_SPAN of the sweep's span above the first rate); at least 1 so the head is never empty. */
function headEnd(lrs: readonly number[]): number {
  const limit = (lrs[0] as number) * (LR_END / LR_START) ** LR_SKIP_SPAN;
  const i = lrs.findIndex((lr) => lr >= limit);
  return i === -1 ? lrs.length : Math.max(1, i);
}

/** How the curve reads (LrRangeVerdict); undefined for an empty curve. */
export function lrRangeVerdict(
  lrs: readonly number[],
  losses: readonly number[],
): LrRangeVerdict | undefined {
  if (lrs.length === 0) return undefined;
  const skip = headEnd(lrs);
  const start = median(losses.slice(0, skip));
  const kept = losses.slice(skip);
  if (kept.length < LR_MIN_POINTS)
    return { start, lowest: Number.NaN, lowestLr: Number.NaN, fall: Number.NaN, conclusive: false };
  let low = 0;
  kept.forEach((l, i) => {
    if (l < (kept[low] as number)) low = i;
  });
  const lowest = kept[low] as number;
  const fall = (start - lowest) / start;
  return {
    start,
    lowest,
    lowestLr: lrs[skip + low] as number,
    fall,
    conclusive: fall >= LR_MIN_FALL,
  };
}

const NO_SUGGESTION = {
  minimum: Number.NaN,
  steepest: Number.NaN,
  valley: Number.NaN,
  suggestion: Number.NaN,
} as const;

/**
 * lr_min (rate at the lowest smoothed loss / 10), the steepest descent per decade of rate, and
 * fastai's valley, all read past the head of the curve (LR_SKIP_SPAN); all NaN, with the verdict
 * saying why, when the curve never falls LR_MIN_FALL below its start.
 */
export function suggestions(
  lrs: readonly number[],
  losses: readonly number[],
): {
  minimum: number;
  steepest: number;
  valley: number;
  suggestion: number;
  verdict?: LrRangeVerdict;
} {
  const verdict = lrRangeVerdict(lrs, losses);
  if (verdict === undefined) return { ...NO_SUGGESTION };
  if (!verdict.conclusive) return { ...NO_SUGGESTION, verdict };
  const skip = headEnd(lrs);
  const keptLrs = lrs.slice(skip);
  const kept = losses.slice(skip);
  let steep = 1;
  let slope = Number.POSITIVE_INFINITY;
  for (let i = 1; i < keptLrs.length; i++) {
    const s =
      ((kept[i] as number) - (kept[i - 1] as number)) /
      Math.log10((keptLrs[i] as number) / (keptLrs[i - 1] as number));
    if (s < slope) {
      slope = s;
      steep = i;
    }
  }
  const minimum = verdict.lowestLr / 10;
  return {
    minimum,
    steepest: keptLrs[steep] as number,
    valley: valley(keptLrs, kept),
    suggestion: minimum,
    verdict,
  };
}
