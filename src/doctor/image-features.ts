/**
 * Per-image descriptors for neighbour-based checks (`suspected-mislabel`): the conv base's block5
 * output, global-average pooled (512 values for VGG16), computed with the config's weights and
 * contract. Entries are cached in the trainer's FeatureCache under the pooling layer's name, so a
 * second doctor run on the same data decodes nothing.
 */
import { FeatureCache, hashFile } from '../data/feature-cache.js';
import { inferBatches } from '../engine/inference.js';
import { Session } from '../engine/session.js';
import { vggLayers } from '../model/architectures.js';
import { buildVggInference } from '../model/vgg-graph.js';
import type { TrainConfig } from '../train/config.js';
import { readable } from './context.js';
import { loadBase } from '../train/recipe.js';
import type { SetupOptions } from './probe-setup.js';
import type { DataScan } from './scan.js';

/** Images per forward pass: small, since the doctor shares the machine with whatever else runs. */
export const FEATURE_BATCH = 16;

export async function imageFeatures(
  scan: DataScan,
  config: TrainConfig,
  options: SetupOptions,
): Promise<Map<string, Float32Array>> {
  const { weights, contract, weightsId } = await loadBase(config, options);
  const vgg = {
    arch: config.arch,
    includeTop: false,
    inputSize: contract.inputSize,
    pooling: 'avg',
    classes: 0,
  } as const;
  const pool = vggLayers(vgg).at(-1);
  if (pool === undefined) throw new RangeError(`no pooling layer in ${config.arch}`);
  const cache = new FeatureCache(
    options.cacheDir,
    { weightsId, contract, layer: pool.name },
    pool.outputShape,
  );
  const out = new Map<string, Float32Array>();
  const hashes = new Map<string, string>();
  const missing: string[] = [];
  for (const record of readable(scan.records)) {
    const hash = record.sha256 ?? (await hashFile(record.file));
    hashes.set(record.file, hash);
    const cached = await cache.get(hash);
    if (cached === undefined) missing.push(record.file);
    else out.set(record.file, cached);
  }
  if (missing.length === 0) return out;
  const session = await Session.create(buildVggInference({ options: vgg, weights }));
  try {
    const size = pool.outputShape[0] as number;
    for await (const batch of inferBatches(session, missing, contract, {
      batchSize: FEATURE_BATCH,
    })) {
      for (const [i, file] of batch.files.entries()) {
        const features = batch.output.data.slice(i * size, (i + 1) * size);
        await cache.put(hashes.get(file) as string, features);
        out.set(file, features);
      }
    }
  } finally {
    await session.release();
  }
  return out;
}
