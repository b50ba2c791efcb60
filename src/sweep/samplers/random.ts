/**
 * Random search (Optuna's RandomSampler), seeded per trial: trial k's values are a function of
 * the seed and k alone, whatever ran before it or in parallel with it. Floats and integers are
 * drawn uniformly on their scale (log-uniformly for log dimensions), choices uniformly.
 */
import { Random } from '../../util/random.js';
import type { Dimension, Observation, ParamValue, Params, Sampler, SearchSpace } from '../types.js';

/** An independent stream for trial `number` under `seed`; `salt` separates uses within a trial. */
export function trialRandom(seed: number, number: number, salt = 0): Random {
  return new Random(
    (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(number + 1, 0x85ebca6b) ^ salt) >>> 0,
  );
}

export function sampleUniform(dimension: Dimension, random: Random): ParamValue {
  switch (dimension.kind) {
    case 'categorical':
      return dimension.choices[random.int(dimension.choices.length)] as ParamValue;
    case 'float': {
      if (!dimension.log) return random.uniform(dimension.low, dimension.high);
      return Math.exp(random.uniform(Math.log(dimension.low), Math.log(dimension.high)));
    }
    case 'int': {
      if (!dimension.log) return dimension.low + random.int(dimension.high - dimension.low + 1);
      const x = Math.exp(
        random.uniform(Math.log(dimension.low - 0.5), Math.log(dimension.high + 0.5)),
      );
      return Math.min(dimension.high, Math.max(dimension.low, Math.round(x)));
    }
  }
}

export class RandomSampler implements Sampler {
  readonly name = 'random';
  readonly capacity = Number.POSITIVE_INFINITY;

  constructor(
    private readonly space: SearchSpace,
    private readonly seed: number,
  ) {}

  ask(number: number, _told: readonly Observation[]): Params {
    const random = trialRandom(this.seed, number);
    return Object.fromEntries(this.space.dimensions.map((d) => [d.name, sampleUniform(d, random)]));
  }
}
