/** What `vggkit extract` does (declared in ../extract.ts): parse, extractFeatures, print. */
import { extractFeatures } from '../../inference/extract.js';
import { parseArch, type Pooling } from '../../model/architectures.js';
import { createProgress, type Progress } from '../../report/progress.js';
import { requireImageFiles } from '../../data/files.js';
import { oneOf } from '../../util/errors.js';
import { contractFlags, parseInteger, printContractNotes, printJson } from '../common.js';
import type { ExtractFlags } from '../extract.js';
import { extractQueued } from './extract-queued.js';
import { downloadBar } from './load-weights.js';
import { Int8Progress, parsePrecisionFlags, reportInt8 } from './precision.js';

export async function extract(paths: string[], flags: ExtractFlags): Promise<void> {
  if (flags.queue !== undefined) {
    return extractQueued(await requireImageFiles(paths), flags);
  }
  const batchSize = parseInteger('--batch-size', flags.batchSize, 16);
  const pooling = oneOf<Pooling>('--pooling', ['none', 'avg', 'max'], flags.pooling);
  const inputSize = parseInteger('--input-size', flags.inputSize, 224, 32);
  const json = flags.json === true;
  const bar = downloadBar(json);
  const int8Progress = new Int8Progress(json);
  let progress: Progress | undefined;
  const result = await extractFeatures({
    paths,
    out: flags.out,
    weights: flags.weights,
    arch: parseArch(flags.arch),
    ...(flags.layer === undefined ? {} : { layer: flags.layer }),
    ...(flags.includeTop === true ? { includeTop: true } : {}),
    pooling,
    inputSize,
    batchSize,
    contract: contractFlags(flags),
    ...parsePrecisionFlags(flags),
    onInt8Progress: (phase, done, total) => {
      bar.stop();
      int8Progress.update(phase, done, total);
    },
    // Said before the rows are computed: which precision the wait is for.
    onInt8Decision: (report) => {
      int8Progress.stop();
      reportInt8(report);
    },
    offline: flags.offline === true,
    onDownloadProgress: bar.onDownloadProgress,
    onProgress: (done, total, layer) => {
      bar.stop();
      int8Progress.stop();
      progress ??= createProgress({ label: `extracting ${layer}`, total, unit: 'img', json });
      progress.update(done);
    },
  }).finally(() => {
    bar.stop();
    int8Progress.stop();
    progress?.stop();
  });
  printContractNotes(result);
  for (const s of result.skipped) process.stderr.write(`vggkit: skipped ${s.file}: ${s.reason}\n`);
  const { featuresFile, indexFile, rows, columns, layer, skipped, precision } = result;
  if (json) {
    printJson({
      features: featuresFile,
      index: indexFile,
      rows,
      columns,
      layer,
      precision,
      skipped: skipped.length,
    });
  } else {
    process.stdout.write(
      `${featuresFile}: ${rows} rows x ${columns} features of ${layer} (${precision}); index in ${indexFile}${skipped.length > 0 ? `; ${skipped.length} skipped` : ''}\n`,
    );
  }
}
