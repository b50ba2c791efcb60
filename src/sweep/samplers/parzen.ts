/**
 * One dimension's Parzen estimator, as Optuna's `_ParzenEstimator` builds it for independent TPE
 * (optuna/samplers/_tpe/parzen_estimator.py): a mixture of one kernel per observation plus a prior
 * kernel, weighted by `weights` with `PRIOR_WEIGHT` for the prior, then normalised.
 *
 * Numeric dimensions work in an internal space: log(x) for log dimensions; integers widen their
 * bounds by half a step. Each kernel is a Gaussian truncated to the bounds, centred on an
 * observation, its sigma the larger distance to its sorted neighbours (the bounds and the prior's
 * mean included; `consider_endpoints=False` uses the inner neighbour for the outermost kernels),
 * clipped to [(high-low)/min(100, 1+n_kernels), high-low] (`consider_magic_clip`); the prior is
 * centred on the middle with sigma high-low. Integer kernels are discretised: the mass of
 * [x-1/2, x+1/2]. Categorical kernels put `PRIOR_WEIGHT / n_kernels` on every choice plus 1 on the
 * observed one, normalised per kernel.
 */
import type { Random } from '../../util/random.js';
import type { Dimension, ParamValue } from '../types.js';
import { logNormalCdf, logNormalPdf, ndtri, normalCdf } from './normal.js';

export const PRIOR_WEIGHT = 1;

function logSumExp(values: readonly number[]): number {
  const max = Math.max(...values);
  if (max === -Infinity) return -Infinity;
  return max + Math.log(values.reduce((s, v) => s + Math.exp(v - max), 0));
}

/** log(Phi(b) - Phi(a)) for a < b, stable in both tails. */
function logMass(a: number, b: number): number {
  if (a > 0) return logMass(-b, -a);
  const la = logNormalCdf(a);
  const lb = logNormalCdf(b);
  return lb + Math.log1p(-Math.exp(la - lb));
}

interface NumericKernels {
  readonly kind: 'numeric';
  readonly mus: readonly number[];
  readonly sigmas: readonly number[];
  readonly low: number;
  readonly high: number;
}

interface CategoricalKernels {
  readonly kind: 'categorical';
  /** [kernel][choice] probabilities. */
  readonly table: readonly (readonly number[])[];
}

export class ParzenEstimator {
  private readonly weights: readonly number[];
  private readonly kernels: NumericKernels | CategoricalKernels;

  /** `observations` in the dimension's external representation; `weights` one per observation. */
  constructor(
    private readonly dimension: Dimension,
    observations: readonly ParamValue[],
    weights: readonly number[],
  ) {
    const all = observations.length === 0 ? [1] : [...weights, PRIOR_WEIGHT];
    const total = all.reduce((s, w) => s + w, 0);
    this.weights = all.map((w) => w / total);
    this.kernels =
      dimension.kind === 'categorical'
        ? categoricalKernels(
            dimension.choices.length,
            observations.map((o) => dimension.choices.indexOf(o)),
          )
        : numericKernels(
            dimension,
            observations.map((o) => toInternal(dimension, o as number)),
          );
  }

  sample(random: Random, size: number): ParamValue[] {
    const out: ParamValue[] = [];
    for (let i = 0; i < size; i++) {
      const k = pick(this.weights, random);
      if (this.kernels.kind === 'categorical') {
        const choices = (this.dimension as { choices: readonly ParamValue[] }).choices;
        out.push(choices[pick(this.kernels.table[k] as number[], random)] as ParamValue);
        continue;
      }
      const { mus, sigmas, low, high } = this.kernels;
      const mu = mus[k] as number;
      const sigma = sigmas[k] as number;
      const a = normalCdf((low - mu) / sigma);
      const b = normalCdf((high - mu) / sigma);
      const x = mu + sigma * ndtri(a + (b - a) * random.next());
      out.push(fromInternal(this.dimension, Math.min(high, Math.max(low, x))));
    }
    return out;
  }

  /** Log density (log probability for integers and choices) of each value under the mixture. */
  logPdf(values: readonly ParamValue[]): number[] {
    return values.map((value) => {
      const terms = this.weights.map((w, k) => Math.log(w) + this.kernelLogPdf(k, value));
      return logSumExp(terms);
    });
  }

  private kernelLogPdf(k: number, value: ParamValue): number {
    if (this.kernels.kind === 'categorical') {
      const choices = (this.dimension as { choices: readonly ParamValue[] }).choices;
      return Math.log((this.kernels.table[k] as number[])[choices.indexOf(value)] as number);
    }
    const { mus, sigmas, low, high } = this.kernels;
    const mu = mus[k] as number;
    const sigma = sigmas[k] as number;
    const norm = logMass((low - mu) / sigma, (high - mu) / sigma);
    const x = toInternal(this.dimension, value as number);
    if (this.dimension.kind === 'int' && !this.dimension.log)
      return logMass((x - 0.5 - mu) / sigma, (x + 0.5 - mu) / sigma) - norm;
    return logNormalPdf((x - mu) / sigma) - Math.log(sigma) - norm;
  }
}

function pick(probabilities: readonly number[], random: Random): number {
  let u = random.next();
  for (let i = 0; i < probabilities.length; i++) {
    u -= probabilities[i] as number;
    if (u < 0) return i;
  }
  return probabilities.length - 1;
}

function bounds(dimension: Dimension): { low: number; high: number } {
  if (dimension.kind === 'categorical')
    throw new TypeError('categorical dimensions have no bounds');
  const step = dimension.kind === 'int' ? 0.5 : 0;
  const low = dimension.low - step;
  const high = dimension.high + step;
  return dimension.log ? { low: Math.log(low), high: Math.log(high) } : { low, high };
}

function toInternal(dimension: Dimension, value: number): number {
  return dimension.kind !== 'categorical' && dimension.log ? Math.log(value) : value;
}

function fromInternal(dimension: Dimension, x: number): number {
  if (dimension.kind === 'categorical')
    throw new TypeError('categorical dimensions are not numeric');
  const value = dimension.log ? Math.exp(x) : x;
  if (dimension.kind === 'int')
    return Math.min(dimension.high, Math.max(dimension.low, Math.round(value)));
  return Math.min(dimension.high, Math.max(dimension.low, value));
}

function numericKernels(dimension: Dimension, mus: readonly number[]): NumericKernels {
  const { low, high } = bounds(dimension);
  const priorMu = 0.5 * (low + high);
  const withPrior = [...mus, priorMu];
  const order = withPrior
    .map((_, i) => i)
    .sort((i, j) => (withPrior[i] as number) - (withPrior[j] as number));
  const sorted = [low, ...order.map((i) => withPrior[i] as number), high];
  const sortedSigmas = order.map((_, i) =>
    Math.max(
      (sorted[i + 1] as number) - (sorted[i] as number),
      (sorted[i + 2] as number) - (sorted[i + 1] as number),
    ),
  );
  // consider_endpoints=False: the outermost kernels ignore the distance to the bound.
  if (sorted.length >= 4) {
    sortedSigmas[0] = (sorted[2] as number) - (sorted[1] as number);
    sortedSigmas[sortedSigmas.length - 1] =
      (sorted[sorted.length - 2] as number) - (sorted[sorted.length - 3] as number);
  }
  const sigmas = new Array<number>(withPrior.length);
  order.forEach((original, rank) => {
    sigmas[original] = sortedSigmas[rank] as number;
  });
  const maxSigma = high - low;
  const minSigma = (high - low) / Math.min(100, 1 + withPrior.length);
  const clipped = sigmas.slice(0, mus.length).map((s) => Math.min(maxSigma, Math.max(minSigma, s)));
  return { kind: 'numeric', mus: withPrior, sigmas: [...clipped, high - low], low, high };
}

function categoricalKernels(choices: number, observed: readonly number[]): CategoricalKernels {
  if (observed.length === 0)
    return { kind: 'categorical', table: [new Array<number>(choices).fill(1 / choices)] };
  const kernels = observed.length + 1;
  const table = Array.from({ length: kernels }, (_, k) => {
    const row = new Array<number>(choices).fill(PRIOR_WEIGHT / kernels);
    const index = observed[k];
    if (index !== undefined) row[index] = (row[index] as number) + 1;
    const sum = row.reduce((s, v) => s + v, 0);
    return row.map((v) => v / sum);
  });
  return { kind: 'categorical', table };
}
