/**
 * `vggkit extract --queue`: the frozen-base features computed by the sweep workers (sharded over
 * the queue into the shared cache) and read back into features.npy and index.json.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { NpyRowWriter } from '../../data/npy-writer.js';
import { defaultCacheDir } from '../../model/download.js';
import { isModelFolder } from '../../model/model-folder.js';
import { createProgress } from '../../report/progress.js';
import { extractOnQueue } from '../../sweep/extract-queue.js';
import { parseTrainConfig } from '../../train/config-schema.js';
import { writeJsonAtomic } from '../../util/atomic.js';
import { UsageError } from '../../util/errors.js';
import { parseInteger, printJson } from '../common.js';
import type { ExtractFlags } from '../extract.js';

export async function extractQueued(files: readonly string[], flags: ExtractFlags): Promise<void> {
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
