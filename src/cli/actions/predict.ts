/** What `vggkit predict` does (declared in ../predict.ts): openClassifier, predict, print. */
import { openClassifier } from '../../inference/classify.js';
import { parseArch } from '../../model/architectures.js';
import { contractFlags, parseInteger, printContractNotes, printJson } from '../common.js';
import type { PredictFlags } from '../predict.js';
import { downloadBar } from './load-weights.js';
import { Int8Progress, parsePrecisionFlags, reportInt8 } from './precision.js';

export async function predict(paths: string[], flags: PredictFlags): Promise<void> {
  const top = parseInteger('--top', flags.top, 5);
  const batchSize = parseInteger('--batch-size', flags.batchSize, 8);
  const bar = downloadBar(flags.json === true);
  const int8Progress = new Int8Progress(flags.json === true);
  const classifier = await openClassifier({
    weights: flags.weights,
    ...(flags.kerasWeights === undefined ? {} : { kerasWeights: flags.kerasWeights }),
    arch: parseArch(flags.arch),
    contract: contractFlags(flags),
    // int8 calibrates on the images it is asked to classify.
    ...parsePrecisionFlags(flags),
    calibration: paths,
    onInt8Progress: (phase, done, total) => {
      bar.stop();
      int8Progress.update(phase, done, total);
    },
    offline: flags.offline === true,
    onDownloadProgress: bar.onDownloadProgress,
  }).finally(() => {
    bar.stop();
    int8Progress.stop();
  });
  printContractNotes(classifier);
  reportInt8(classifier.int8);
  const { predictions, skipped } = await classifier
    .predict(paths, { top, batchSize })
    .finally(() => classifier.release());

  if (flags.json === true) {
    printJson({
      weights: classifier.source,
      contract: classifier.contract,
      precision: classifier.precision,
      ...(classifier.int8 === undefined ? {} : { int8: classifier.int8 }),
      predictions,
      skipped: skipped.map(({ file, code, reason }) => ({ file, code, reason })),
    });
  } else {
    for (const { file, top: best } of predictions) {
      process.stdout.write(`${file}\n`);
      for (const p of best)
        process.stdout.write(
          `  ${p.probability.toFixed(4)}  ${p.label}${p.id === undefined ? '' : ` (${p.id})`}\n`,
        );
    }
  }
  for (const s of skipped) process.stderr.write(`vggkit: skipped ${s.file}: ${s.reason}\n`);
  const broken = predictions.filter((r) => r.top.some((p) => !Number.isFinite(p.probability)));
  if (broken.length > 0)
    process.stderr.write(
      `vggkit: warning: the model produced NaN or infinite probabilities for ${broken.length} of ${predictions.length} images (e.g. ${broken[0]?.file}): the weights are damaged, or the inputs are far outside what they expect (check --preprocess; try vggkit doctor)\n`,
    );
}
