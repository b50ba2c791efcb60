/**
 * The accuracy guard: int8 is used only when, on held-out images, it agrees with fp32 —
 * the mean cosine similarity of each image's features at least COSINE_THRESHOLD and, for a
 * classifier, the top-1 class the same on at least TOP1_THRESHOLD of the images. Top-5 agreement
 * (fp32's top class among int8's five best) and the worst image's cosine are reported beside them.
 */

export const COSINE_THRESHOLD = 0.99;
export const TOP1_THRESHOLD = 0.99;

export interface GuardFigures {
  readonly images: number;
  /** Mean over images of cos(fp32 features, int8 features). */
  readonly cosine: number;
  readonly minCosine: number;
  /** Classifiers only: fraction of images whose top class agrees. */
  readonly top1?: number;
  /** Classifiers only: fraction of images whose fp32 top class is in int8's top 5. */
  readonly top5?: number;
}

/** Accumulates per-image agreement, batch by batch, so held-out features never sit in memory. */
export class AgreementMeter {
  private images = 0;
  private cosineSum = 0;
  private minCosine = 1;
  private top1 = 0;
  private top5 = 0;
  private classified = false;

  /** Rows of `reference` and `candidate` are images; `width` values each. */
  addFeatures(reference: Float32Array, candidate: Float32Array, rows: number): void {
    const width = reference.length / rows;
    for (let r = 0; r < rows; r++) {
      const c = cosine(
        reference.subarray(r * width, (r + 1) * width),
        candidate.subarray(r * width, (r + 1) * width),
      );
      this.cosineSum += c;
      this.minCosine = Math.min(this.minCosine, c);
    }
    this.images += rows;
  }

  /** Class scores (probabilities), one row per image; counted towards top-1/top-5. */
  addScores(reference: Float32Array, candidate: Float32Array, rows: number): void {
    this.classified = true;
    const width = reference.length / rows;
    for (let r = 0; r < rows; r++) {
      const ref = classRanking(reference.subarray(r * width, (r + 1) * width));
      const got = classRanking(candidate.subarray(r * width, (r + 1) * width));
      if (ref[0] === got[0]) this.top1++;
      if (got.slice(0, 5).includes(ref[0] as number)) this.top5++;
    }
  }

  figures(): GuardFigures {
    const n = this.images;
    return {
      images: n,
      cosine: n === 0 ? 0 : this.cosineSum / n,
      minCosine: n === 0 ? 0 : this.minCosine,
      ...(this.classified ? { top1: this.top1 / n, top5: this.top5 / n } : {}),
    };
  }
}

/** Why int8 fails the guard, or undefined when it passes. */
export function guardFailure(f: GuardFigures): string | undefined {
  const reasons: string[] = [];
  if (f.images === 0) return 'no held-out image could be decoded';
  if (!(f.cosine >= COSINE_THRESHOLD))
    reasons.push(`feature cosine ${f.cosine.toFixed(4)} < ${COSINE_THRESHOLD}`);
  if (f.top1 !== undefined && !(f.top1 >= TOP1_THRESHOLD))
    reasons.push(
      `top-1 agreement ${(100 * f.top1).toFixed(1)}% < ${(100 * TOP1_THRESHOLD).toFixed(0)}%`,
    );
  return reasons.length === 0 ? undefined : reasons.join(', ');
}

/** Higher is better: classifiers by top-1 agreement first, then everything by mean cosine. */
export function compareFigures(a: GuardFigures, b: GuardFigures): number {
  return (b.top1 ?? 0) - (a.top1 ?? 0) || b.cosine - a.cosine;
}

export function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  if (na === 0 && nb === 0) return 1;
  if (na === 0 || nb === 0) return 0;
  return dot / Math.sqrt(na * nb);
}

/**
 * Class indices best first. A single sigmoid output is a binary classifier: class 1 when its
 * probability is above one half.
 */
function classRanking(scores: Float32Array): number[] {
  if (scores.length === 1) return (scores[0] as number) > 0.5 ? [1, 0] : [0, 1];
  return Array.from(scores.keys()).sort(
    (a, b) => (scores[b] as number) - (scores[a] as number) || a - b,
  );
}
