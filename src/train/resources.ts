/**
 * What fineTune acquires that a caller running many trainings in one process may want to share:
 * the loaded conv base and the frozen-prefix feature sources (with their features in memory).
 * `vggkit train` uses FRESH_RESOURCES (load, use, release); a sweep worker keeps them between
 * trials (src/sweep/worker-context.ts), so a head trial on cached features pays no set-up.
 */
import { FeatureSource, type FeatureSourceOptions, type PrefixSpec } from './features.js';
import { loadBase, type BaseOptions, type LoadedBase } from './recipe.js';
import type { TrainConfig } from './config.js';

/** A borrowed resource: `release()` hands it back (a shared one stays alive for the next borrower). */
export interface Lease<T> {
  readonly value: T;
  release(): Promise<void>;
}

export interface TrainingResources {
  /** The conv base the config names; the caller must not mutate the returned weights. */
  base(config: TrainConfig, options: BaseOptions): Promise<LoadedBase>;
  features(spec: PrefixSpec, options: FeatureSourceOptions): Promise<Lease<FeatureSource>>;
}

export const FRESH_RESOURCES: TrainingResources = {
  base: loadBase,
  features: async (spec, options) => {
    const source = await FeatureSource.create(spec, options);
    return { value: source, release: () => source.release() };
  },
};
