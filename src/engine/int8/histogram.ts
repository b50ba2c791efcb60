/**
 * Calibration statistics of one activation tensor and the three ways to turn them into a range:
 *
 *   - `minmax`: the largest value seen. Nothing saturates; a few outliers coarsen every step.
 *   - `percentile`: the value below which 99.999% of the samples lie (ONNX Runtime's default);
 *     the rarest outliers saturate, the step shrinks.
 *   - `entropy`: the threshold whose 8-bit quantized distribution is closest to the observed one
 *     in Kullback-Leibler divergence (TensorRT's calibration, as ONNX Runtime's
 *     `HistogramCalibrater` does it), over `QUANT_LEVELS` levels.
 *
 * Which one wins depends on the weights and the images, so vggkit measures all three on held-out
 * images and keeps the best (src/engine/int8/prepare.ts) instead of picking one by habit.
 *
 * The histogram covers [0, range) in `BINS` equal bins — the tensors calibrated are ReLU outputs,
 * never negative — and grows without a second pass: when a batch exceeds the range, the range
 * doubles as often as needed and pairs of bins merge, which is exact because the new bin edges are
 * old ones (and, the range being a power of two, the float arithmetic of the edges is exact too).
 */

export const CALIBRATION_METHODS = ['minmax', 'percentile', 'entropy'] as const;
export type CalibrationMethod = (typeof CALIBRATION_METHODS)[number];

export const BINS = 2048;
/** Levels of a uint8 activation above zero: [0, T] maps onto 0..255. */
export const QUANT_LEVELS = 255;
export const PERCENTILE = 99.999;

export class ActivationHistogram {
  readonly counts = new Float64Array(BINS);
  /** Upper edge of the last bin; 0 until a positive value arrives. */
  range = 0;
  max = 0;
  total = 0;

  add(values: Float32Array): void {
    let batchMax = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i] as number;
      if (v > batchMax) batchMax = v;
      else if (Number.isNaN(v)) throw new RangeError('calibration: NaN activation');
    }
    if (batchMax > 0) this.grow(batchMax);
    this.max = Math.max(this.max, batchMax);
    const counts = this.counts;
    const perBin = this.range > 0 ? BINS / this.range : 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i] as number;
      // Negative inputs (there are none after ReLU) count as zero, where the quantizer puts them.
      const bin = v > 0 ? Math.min(BINS - 1, Math.floor(v * perBin)) : 0;
      counts[bin] = (counts[bin] as number) + 1;
    }
    this.total += values.length;
  }

  /** The range stays a power of two strictly above every value, so no value sits on its edge. */
  private grow(needed: number): void {
    if (this.range === 0) {
      this.range = 2 ** (Math.floor(Math.log2(needed)) + 1);
      return;
    }
    let factor = 1;
    while (this.range * factor <= needed) factor *= 2;
    if (factor === 1) return;
    const merged = new Float64Array(BINS);
    for (let i = 0; i < BINS; i++) {
      const target = Math.floor(i / factor);
      merged[target] = (merged[target] as number) + (this.counts[i] as number);
    }
    this.counts.set(merged);
    this.range *= factor;
  }

  /** The upper end of the quantization range under `method`. */
  threshold(method: CalibrationMethod): number {
    if (this.max === 0) return 0;
    switch (method) {
      case 'minmax':
        return this.max;
      case 'percentile':
        return Math.min(this.max, this.percentile(PERCENTILE));
      case 'entropy':
        return Math.min(this.max, this.entropyThreshold());
    }
  }

  private percentile(p: number): number {
    const target = (this.total * p) / 100;
    let seen = 0;
    for (let i = 0; i < BINS; i++) {
      seen += this.counts[i] as number;
      if (seen >= target) return ((i + 1) * this.range) / BINS;
    }
    return this.range;
  }

  /**
   * For each candidate threshold bin i (from QUANT_LEVELS to BINS): P is the histogram cut at i
   * with everything beyond folded into its last bin; Q spreads P's mass over QUANT_LEVELS equal
   * groups of bins, each group's mass shared evenly by its non-empty bins. The threshold with the
   * smallest KL(P || Q) wins.
   */
  private entropyThreshold(): number {
    const counts = this.counts;
    let best = BINS;
    let bestDivergence = Infinity;
    const p = new Float64Array(BINS);
    for (let i = QUANT_LEVELS; i <= BINS; i++) {
      let outliers = 0;
      for (let j = i; j < BINS; j++) outliers += counts[j] as number;
      for (let j = 0; j < i; j++) p[j] = counts[j] as number;
      p[i - 1] = (p[i - 1] as number) + outliers;
      const divergence = klToQuantized(p, i);
      if (divergence < bestDivergence) {
        bestDivergence = divergence;
        best = i;
      }
    }
    return (best * this.range) / BINS;
  }
}

/** KL(P || Q) for the first `n` bins of `p` against its QUANT_LEVELS-level quantization. */
function klToQuantized(p: Float64Array, n: number): number {
  let totalP = 0;
  for (let j = 0; j < n; j++) totalP += p[j] as number;
  if (totalP === 0) return 0;
  const q = new Float64Array(n);
  const width = n / QUANT_LEVELS;
  for (let level = 0; level < QUANT_LEVELS; level++) {
    const start = Math.floor(level * width);
    const end = level === QUANT_LEVELS - 1 ? n : Math.floor((level + 1) * width);
    let mass = 0;
    let nonEmpty = 0;
    for (let j = start; j < end; j++) {
      mass += p[j] as number;
      if ((p[j] as number) > 0) nonEmpty++;
    }
    if (nonEmpty === 0) continue;
    for (let j = start; j < end; j++) if ((p[j] as number) > 0) q[j] = mass / nonEmpty;
  }
  let divergence = 0;
  for (let j = 0; j < n; j++) {
    const pj = (p[j] as number) / totalP;
    if (pj === 0) continue;
    const qj = (q[j] as number) / totalP;
    divergence += pj * Math.log(pj / qj);
  }
  return divergence;
}
