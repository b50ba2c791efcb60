/**
 * What a long-lived trial worker keeps between jobs: each conv base it loaded, and each frozen
 * prefix's FeatureSource with its features decoded in memory. A head trial on cached features is
 * a few small GEMMs per batch, so re-reading a 58 MB weights file, re-hashing every image and
 * re-reading every cache entry for each trial would cost more than the training itself.
 */
import { hostname } from 'node:os';
import { FeatureSource, type FeatureSourceOptions, type PrefixSpec } from '../train/features.js';
import { loadBase, type BaseOptions, type LoadedBase } from '../train/recipe.js';
import type { Lease, TrainingResources } from '../train/resources.js';
import type { TrainConfig } from '../train/config.js';

export class WorkerContext {
  readonly name = `${hostname()}:${process.pid}`;
  private readonly bases = new Map<string, Promise<LoadedBase>>();
  private readonly sources = new Map<string, FeatureSource>();

  readonly resources: TrainingResources = {
    base: (config, options) => this.base(config, options),
    features: (spec, options) => this.features(spec, options),
  };

  /** Features computed so far by every source this worker holds (cache misses). */
  get featuresComputed(): number {
    let n = 0;
    for (const s of this.sources.values()) n += s.computed;
    return n;
  }

  private base(config: TrainConfig, options: BaseOptions): Promise<LoadedBase> {
    const key = JSON.stringify([
      config.arch,
      config.weights,
      config.inputSize,
      config.preprocess ?? null,
      config.resize ?? null,
      config.interpolation ?? null,
      // Random-init weights depend on the seed.
      config.weights === 'none' ? config.seed : null,
      options.cacheDir,
    ]);
    let base = this.bases.get(key);
    if (base === undefined) {
      base = loadBase(config, options);
      this.bases.set(key, base);
      base.catch(() => this.bases.delete(key));
    }
    return base;
  }

  private async features(
    spec: PrefixSpec,
    options: FeatureSourceOptions,
  ): Promise<Lease<FeatureSource>> {
    const key = JSON.stringify([
      spec.arch,
      spec.weightsId,
      spec.contract,
      spec.trainableBlocks,
      spec.precision ?? 'fp32',
      options.cacheDir,
    ]);
    let source = this.sources.get(key);
    if (source === undefined) {
      source = await FeatureSource.create(spec, options);
      this.sources.set(key, source);
    }
    return { value: source, release: () => Promise.resolve() };
  }

  async close(): Promise<void> {
    for (const source of this.sources.values()) await source.release();
    this.sources.clear();
    this.bases.clear();
  }
}
