/** What `vggkit extract` does (declared in ../extract.ts). */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { listImageFiles } from '../../data/files.js';
import { NpyRowWriter } from '../../data/npy-writer.js';
import { inferBatches } from '../../engine/inference.js';
import { Session } from '../../engine/session.js';
import type { SkippedFile } from '../../image/index.js';
import { parseArch, type Pooling } from '../../model/architectures.js';
import { findWeights } from '../../model/registry.js';
import { folderNetwork, type Network } from '../../model/folder-network.js';
import { isModelFolder } from '../../model/model-folder.js';
import { modelLayers } from '../../model/head.js';
import { createProgress } from '../../report/progress.js';
import { writeJsonAtomic } from '../../util/atomic.js';
import { oneOf, UsageError, VggkitError } from '../../util/errors.js';
import { applyContractFlags, parseInteger, printJson } from '../common.js';
import type { ExtractFlags } from '../extract.js';
import { loadWeightsWithProgress } from './load-weights.js';
import { commandGraph } from './precision.js';
import { defaultCacheDir } from '../../model/download.js';
import { extractOnQueue } from '../../sweep/extract-queue.js';
import { parseTrainConfig } from '../../train/config-schema.js';

const TOP_LAYERS: ReadonlySet<string> = new Set(['flatten', 'fc1', 'fc2', 'predictions']);

export async function extract(paths: string[], flags: ExtractFlags): Promise<void> {
  const batchSize = parseInteger('--batch-size', flags.batchSize, 16);
  const files = await listImageFiles(paths);
  if (files.length === 0)
    throw new VggkitError('NO_IMAGES', `${paths.join(', ')}: expected image files, found none`);
  if (flags.queue !== undefined) return extractQueued(files, flags);
  const model = (await isModelFolder(flags.weights))
    ? await folderNetwork(flags.weights)
    : await pretrainedModel(flags);
  const contract = applyContractFlags(model.contract, flags);
  const layers = modelLayers(model.options, model.head);
  const layer = flags.layer ?? (layers[layers.length - 1]?.name as string);
  const { graph, int8 } = await commandGraph({ ...model, contract }, layer, files, flags);
  const featureShape = layers.find((l) => l.name === layer)?.outputShape ?? [];
  const rowSize = featureShape.reduce((a, b) => a * b, 1);

  await mkdir(flags.out, { recursive: true });
  const featuresFile = join(flags.out, 'features.npy');
  const writer = await NpyRowWriter.create(featuresFile, [rowSize]);
  const session = await Session.create(graph);
  const kept: string[] = [];
  const skipped: SkippedFile[] = [];
  const progress = createProgress({
    label: `extracting ${layer}`,
    total: files.length,
    unit: 'img',
    json: flags.json === true,
  });
  try {
    for await (const batch of inferBatches(session, files, contract, { batchSize })) {
      if (batch.files.length > 0) await writer.append(batch.output.data);
      kept.push(...batch.files);
      skipped.push(...batch.skipped);
      progress.increment(batch.files.length + batch.skipped.length);
    }
    await writer.close();
  } catch (error) {
    await writer.abort();
    throw error;
  } finally {
    progress.stop();
    await session.release();
  }

  const indexFile = join(flags.out, 'index.json');
  await writeJsonAtomic(indexFile, {
    files: kept,
    skipped: skipped.map(({ file, code, reason }) => ({ file, reason, code })),
    contract,
    layer,
    featureShape,
    weights: model.source,
    precision: int8?.precision ?? 'fp32',
    ...(int8 === undefined ? {} : { int8 }),
  });
  for (const s of skipped) process.stderr.write(`vggkit: skipped ${s.file}: ${s.reason}\n`);
  if (flags.json === true) {
    printJson({
      features: featuresFile,
      index: indexFile,
      rows: kept.length,
      columns: rowSize,
      layer,
      precision: int8?.precision ?? 'fp32',
      skipped: skipped.length,
    });
  } else {
    process.stdout.write(
      `${featuresFile}: ${kept.length} rows x ${rowSize} features of ${layer}; index in ${indexFile}${skipped.length > 0 ? `; ${skipped.length} skipped` : ''}\n`,
    );
  }
}

/** A pretrained network from `--weights TAG|FILE|none`, with or without its top. */
async function pretrainedModel(flags: ExtractFlags): Promise<Network> {
  const arch = parseArch(flags.arch);
  const pooling = oneOf<Pooling>('--pooling', ['none', 'avg', 'max'], flags.pooling);
  const includeTop = wantsTop(flags, arch);
  const size = parseInteger('--input-size', flags.inputSize, 224, 32);
  if (includeTop && size !== 224)
    throw new UsageError(
      'CONFLICTING_OPTIONS',
      `--input-size: the top needs 224, received ${size}`,
    );
  const loaded = await loadWeightsWithProgress(
    { arch, weights: flags.weights, includeTop, inputSize: size, offline: flags.offline === true },
    flags.json === true,
  );
  return {
    options: {
      arch,
      includeTop,
      inputSize: [size, size],
      pooling: includeTop ? 'none' : pooling,
      classes: 1000,
    },
    weights: loaded.weights,
    contract: loaded.contract,
    source: loaded.source,
  };
}

/**
 * The top is built when asked for, when the layer lives in it, or when no layer is named and the
 * weights are a registry tag that has it (their natural output is then the predictions). Local
 * files and `none` default to the convolutional base: their layout does not say.
 */
function wantsTop(flags: ExtractFlags, arch: ReturnType<typeof parseArch>): boolean {
  if (flags.includeTop === true) return true;
  if (flags.layer !== undefined) return TOP_LAYERS.has(flags.layer);
  if (flags.weights === 'none' || /[\\/.]/.test(flags.weights)) return false;
  return findWeights(arch, flags.weights).includesTop;
}

/** `--queue`: the workers fill the shared cache shard by shard; the rows are read back from it. */
async function extractQueued(files: readonly string[], flags: ExtractFlags): Promise<void> {
  const layer = flags.layer ?? 'block5_pool';
  const cut = /^block([1-5])_pool$/.exec(layer);
  if ((flags.precision ?? 'fp32') !== 'fp32')
    throw new UsageError(
      'CONFLICTING_OPTIONS',
      `--queue: the workers compute fp32 features; received --precision ${flags.precision ?? ''} (run int8 without --queue)`,
    );
  if (
    cut === null ||
    flags.includeTop === true ||
    flags.pooling !== 'none' ||
    (await isModelFolder(flags.weights))
  )
    throw new UsageError(
      'CONFLICTING_OPTIONS',
      `--queue: expected a frozen-base layer (block1_pool … block5_pool) of pretrained weights without --include-top or --pooling, received --layer ${layer}${flags.includeTop === true ? ' --include-top' : ''}${flags.pooling !== 'none' ? ` --pooling ${flags.pooling}` : ''}; run those without --queue`,
    );
  const config = parseTrainConfig(
    {
      arch: flags.arch,
      weights: flags.weights,
      inputSize: parseInteger('--input-size', flags.inputSize, 224, 32),
      // `--weights none` initialises as extract always does (seed 0), so the rows match a local extract.
      seed: 0,
      ...(flags.preprocess === undefined ? {} : { preprocess: flags.preprocess }),
      ...(flags.resize === undefined ? {} : { resize: flags.resize }),
      ...(flags.interpolation === undefined ? {} : { interpolation: flags.interpolation }),
    },
    'extract',
  );
  const progress = createProgress({
    label: `extracting ${layer} on the queue`,
    total: files.length,
    unit: 'img',
    json: flags.json === true,
  });
  const extraction = await extractOnQueue({
    url: flags.queue as string,
    files,
    config,
    trainableBlocks: 5 - Number(cut[1]),
    cacheDir: defaultCacheDir(),
    offline: flags.offline === true,
    slots: parseInteger('--parallel', flags.parallel, 4),
    onProgress: (done) => progress.update(done),
  }).finally(() => progress.stop());
  try {
    await mkdir(flags.out, { recursive: true });
    const featuresFile = join(flags.out, 'features.npy');
    let writer: NpyRowWriter | undefined;
    let columns = 0;
    for await (const row of extraction.rows()) {
      columns = row.length;
      writer ??= await NpyRowWriter.create(featuresFile, [columns]);
      await writer.append(row);
    }
    await writer?.close();
    const indexFile = join(flags.out, 'index.json');
    await writeJsonAtomic(indexFile, {
      files: extraction.kept,
      skipped: extraction.skipped.map(({ file, code, reason }) => ({ file, reason, code })),
      contract: extraction.contract,
      layer,
      weights: extraction.source,
      workers: extraction.workers,
    });
    for (const s of extraction.skipped)
      process.stderr.write(`vggkit: skipped ${s.file}: ${s.reason}\n`);
    process.stderr.write(
      `computed on ${extraction.workers.length} worker(s): ${extraction.workers.join(', ')}\n`,
    );
    if (flags.json === true)
      printJson({
        features: featuresFile,
        index: indexFile,
        rows: extraction.kept.length,
        columns,
        layer,
        skipped: extraction.skipped.length,
        workers: extraction.workers,
      });
    else
      process.stdout.write(
        `${featuresFile}: ${extraction.kept.length} rows x ${columns} features of ${layer}; index in ${indexFile}\n`,
      );
  } finally {
    await extraction.release();
  }
}
