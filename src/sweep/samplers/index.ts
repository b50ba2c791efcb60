/** The closed list of samplers: the CLI's choices, its help text and the sweep file name them from here. */
import { UsageError, oneOf } from '../../util/errors.js';
import type { Direction, Sampler, SearchSpace } from '../types.js';
import { GridSampler } from './grid.js';
import { RandomSampler } from './random.js';
import { N_STARTUP_TRIALS, TpeSampler } from './tpe.js';

export const SAMPLER_NAMES = ['grid', 'random', 'tpe'] as const;
export type SamplerName = (typeof SAMPLER_NAMES)[number];

export function parseSamplerName(value: unknown, name = '--sampler'): SamplerName {
  return oneOf(name, SAMPLER_NAMES, value);
}

/**
 * No --sampler: grid when every dimension is a list and no --trials was given (the grid is the
 * budget); otherwise TPE when the budget leaves trials after its random start-up, else random.
 */
export function defaultSampler(space: SearchSpace, trials: number | undefined): SamplerName {
  if (trials === undefined && space.dimensions.every((d) => d.kind === 'categorical'))
    return 'grid';
  return (trials ?? 0) > N_STARTUP_TRIALS ? 'tpe' : 'random';
}

export function createSampler(
  name: SamplerName,
  space: SearchSpace,
  seed: number,
  direction: Direction,
): Sampler {
  if (space.dimensions.length === 0)
    throw new UsageError(
      'MISSING_OPTION',
      'vggkit sweep: no search dimension; give a train flag a range (--lr 1e-5..1e-2) or a list (--optimizer adam,sgd)',
    );
  switch (name) {
    case 'grid':
      return new GridSampler(space, seed);
    case 'random':
      return new RandomSampler(space, seed);
    case 'tpe':
      return new TpeSampler(space, seed, direction);
  }
}
