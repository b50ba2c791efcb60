/**
 * Grid search (Optuna's GridSampler): every combination of the listed values exactly once, in a
 * seeded order (so a budget smaller than the grid still spreads over it). Ranges have no grid:
 * they are refused with the flag named.
 */
import { Random } from '../../util/random.js';
import { UsageError } from '../../util/errors.js';
import type { CategoricalDimension, Observation, Params, Sampler, SearchSpace } from '../types.js';

export class GridSampler implements Sampler {
  readonly name = 'grid';
  readonly capacity: number;
  private readonly dimensions: readonly CategoricalDimension[];
  private readonly order: readonly number[];

  constructor(space: SearchSpace, seed: number) {
    const range = space.dimensions.find((d) => d.kind !== 'categorical');
    if (range !== undefined)
      throw new UsageError(
        'CONFLICTING_OPTIONS',
        `--sampler grid: expected lists of values only, received a range for --${range.name}; give it as a list (e.g. 1e-4,1e-3) or use --sampler random or tpe`,
      );
    this.dimensions = space.dimensions as readonly CategoricalDimension[];
    this.capacity = this.dimensions.reduce((n, d) => n * d.choices.length, 1);
    this.order = new Random(seed).shuffle(Array.from({ length: this.capacity }, (_, i) => i));
  }

  /** The combination at `index` of the grid in row-major order (the last dimension varies fastest). */
  combination(index: number): Params {
    const params: Record<string, Params[string]> = {};
    let rest = index;
    for (let i = this.dimensions.length - 1; i >= 0; i--) {
      const d = this.dimensions[i] as CategoricalDimension;
      params[d.name] = d.choices[rest % d.choices.length] as Params[string];
      rest = Math.floor(rest / d.choices.length);
    }
    return Object.fromEntries(this.dimensions.map((d) => [d.name, params[d.name]])) as Params;
  }

  ask(number: number, _told: readonly Observation[]): Params {
    if (number >= this.capacity)
      throw new RangeError(`grid has ${this.capacity} combinations; trial ${number} was asked for`);
    return this.combination(this.order[number] as number);
  }
}
