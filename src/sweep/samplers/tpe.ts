/**
 * The tree-structured Parzen estimator as Optuna's TPESampler describes it (independent TPE,
 * optuna/samplers/_tpe/sampler.py), seeded per trial:
 * - the first N_STARTUP_TRIALS trials are random (the same RandomSampler, so a TPE sweep's first
 *   trials equal a random sweep's at the same seed);
 * - afterwards the observed trials (completed and pruned; running and failed ones are not
 *   observations) are ranked as Optuna ranks them: completed trials by value, then pruned ones,
 *   those that got further first, each by its last value; a diverged (NaN) value ranks last;
 * - the best gamma(n) = min(ceil(0.1 n), 25) form l(x), the rest g(x), each a ParzenEstimator per
 *   dimension, observations weighted by `default_weights` (flat below 25, a ramp for older ones);
 * - N_EI_CANDIDATES values are drawn from l(x) and the one maximising log l(x) - log g(x) is taken,
 *   one dimension at a time.
 */
import type {
  Dimension,
  Direction,
  Observation,
  ParamValue,
  Params,
  Sampler,
  SearchSpace,
} from '../types.js';
import { ParzenEstimator } from './parzen.js';
import { RandomSampler, trialRandom } from './random.js';

export const N_STARTUP_TRIALS = 10;
export const N_EI_CANDIDATES = 24;

export function gamma(n: number): number {
  return Math.min(Math.ceil(0.1 * n), 25);
}

/** Optuna's default_weights: ones below 25 observations, else a linear ramp for all but the newest 25. */
export function observationWeights(n: number): number[] {
  if (n < 25) return new Array<number>(n).fill(1);
  const ramp = Array.from({ length: n - 25 }, (_, i) =>
    n - 25 === 1 ? 1 / n : 1 / n + ((1 - 1 / n) * i) / (n - 26),
  );
  return [...ramp, ...new Array<number>(25).fill(1)];
}

/** Optuna's (-step, value) order: completed before pruned, further-pruned before less, then by value. */
function rankKey(o: Observation, direction: Direction): [number, number] {
  const signed = Number.isNaN(o.value) ? Infinity : direction === 'min' ? o.value : -o.value;
  return [o.status === 'completed' ? -Infinity : -o.epochs, signed];
}

export class TpeSampler implements Sampler {
  readonly name = 'tpe';
  readonly capacity = Number.POSITIVE_INFINITY;
  private readonly random: RandomSampler;

  constructor(
    private readonly space: SearchSpace,
    private readonly seed: number,
    private readonly direction: Direction,
    private readonly startupTrials = N_STARTUP_TRIALS,
  ) {
    this.random = new RandomSampler(space, seed);
  }

  ask(number: number, told: readonly Observation[]): Params {
    const observed = told.filter((o) => o.status !== 'running');
    if (observed.length < this.startupTrials) return this.random.ask(number, told);
    const keyed = observed.map((o, index) => ({ o, index, key: rankKey(o, this.direction) }));
    keyed.sort((a, b) => a.key[0] - b.key[0] || a.key[1] - b.key[1] || a.index - b.index);
    const nBelow = gamma(observed.length);
    // Chronological order inside each group, as Optuna's np.sort of the indices keeps it.
    const below = keyed
      .slice(0, nBelow)
      .map((k) => k.index)
      .sort((a, b) => a - b);
    const above = keyed
      .slice(nBelow)
      .map((k) => k.index)
      .sort((a, b) => a - b);
    const random = trialRandom(this.seed, number, 0x7e5);
    const params: Record<string, ParamValue> = {};
    for (const dimension of this.space.dimensions)
      params[dimension.name] = this.sampleDimension(dimension, observed, below, above, random);
    return params;
  }

  private sampleDimension(
    dimension: Dimension,
    observed: readonly Observation[],
    below: readonly number[],
    above: readonly number[],
    random: ReturnType<typeof trialRandom>,
  ): ParamValue {
    const values = (indices: readonly number[]): ParamValue[] =>
      indices.map((i) => (observed[i] as Observation).params[dimension.name] as ParamValue);
    const l = new ParzenEstimator(dimension, values(below), observationWeights(below.length));
    const g = new ParzenEstimator(dimension, values(above), observationWeights(above.length));
    const candidates = l.sample(random, N_EI_CANDIDATES);
    const logL = l.logPdf(candidates);
    const logG = g.logPdf(candidates);
    let best = 0;
    for (let i = 1; i < candidates.length; i++)
      if (
        (logL[i] as number) - (logG[i] as number) >
        (logL[best] as number) - (logG[best] as number)
      )
        best = i;
    return candidates[best] as ParamValue;
  }
}
