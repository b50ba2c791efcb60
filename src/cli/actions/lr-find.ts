/** What `vggkit lr-find` does (declared in ../lr-find.ts). */
import { resolve } from 'node:path';
import { DEFAULT_PROBE_IMAGES } from '../../doctor/probe-results.js';
import { runLrRangeTest } from '../../doctor/probe.js';
import { scanDataset } from '../../doctor/scan.js';
import { defaultCacheDir } from '../../model/download.js';
import { chart } from '../../report/chart-spec.js';
import { LR_COLOR, lrRangeChart, TRAIN_COLOR, VAL_COLOR } from '../../report/curves.js';
import { escapeHtml, page } from '../../report/html.js';
import { createProgress, type Progress } from '../../report/progress.js';
import { formatNumber } from '../../sweep/space.js';
import { readTrainConfigFile } from '../../train/config-file.js';
import { DEFAULT_CONFIG } from '../../train/config.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { parseInteger } from '../common.js';
import type { LrFindFlags } from '../lr-find.js';
import { configFromFlags } from '../train-flags.js';

/** The sweep range the suggestions put forward: a decade either side of the valley. */
export function sweepRange(valley: number): readonly [number, number] {
  return [valley / 10, Math.min(valley * 10, 1)];
}

export async function lrFind(dir: string, flags: LrFindFlags): Promise<void> {
  const config = configFromFlags(
    flags,
    flags.config === undefined ? DEFAULT_CONFIG : (await readTrainConfigFile(flags.config)).config,
  );
  let bar: Progress | undefined;
  const scan = await scanDataset(dir, {
    ...(config.val === undefined ? {} : { val: config.val }),
    onProgress: (done, total) => {
      bar ??= createProgress({
        label: 'reading images',
        total,
        unit: 'img',
        json: flags.json === true,
      });
      bar.update(done);
    },
  });
  bar?.stop();
  const result = await runLrRangeTest({
    scan,
    config,
    cacheDir: defaultCacheDir(),
    images: parseInteger('--images', flags.images, DEFAULT_PROBE_IMAGES, 2),
    offline: flags.offline === true,
  });
  const { lrRange } = result;
  const valley = lrRange.valley ?? Number.NaN;
  const [low, high] = sweepRange(valley);
  const html = resolve(flags.html ?? 'lr-find.html');
  const marks = [
    { lr: valley, label: `valley ${formatNumber(valley)}`, color: LR_COLOR },
    {
      lr: lrRange.steepest,
      label: `steep ${formatNumber(lrRange.steepest)}`,
      color: TRAIN_COLOR,
    },
    {
      lr: lrRange.minimum,
      label: `minimum/10 ${formatNumber(lrRange.minimum)}`,
      color: '#6a1b9a',
    },
    { lr: config.lr, label: `configured ${formatNumber(config.lr)}`, color: VAL_COLOR },
  ].filter((m) => Number.isFinite(m.lr));
  const sweep = `vggkit sweep ${dir} --lr ${formatNumber(low)}..${formatNumber(high)} --trials 16 --scheduler asha`;
  await writeFileAtomic(
    html,
    page(
      `vggkit lr-find: ${dir}`,
      `<h1>Learning-rate range test</h1><p>${escapeHtml(`${result.sampleSize} images of ${dir}, stage ${result.stage}, ${config.optimizer}: the rate grows exponentially each step while the smoothed training loss is recorded; the test stops once the loss exceeds 4x its best. Weights are restored afterwards; nothing is written but this page and the feature cache.`)}</p>${chart(lrRangeChart(lrRange.lrs, lrRange.losses, marks))}<p>Suggestions: valley <b>${formatNumber(valley)}</b> (fastai's default), steepest descent ${formatNumber(lrRange.steepest)}, minimum/10 ${formatNumber(lrRange.minimum)}. To measure around them: <code>${escapeHtml(sweep)}</code></p>`,
    ),
  );
  process.stderr.write(
    [
      `LR range test on ${result.sampleSize} images (stage ${result.stage}, ${config.optimizer}), ${lrRange.lrs.length} steps${lrRange.stoppedEarly ? ', stopped when the loss diverged' : ''}:`,
      `  valley   ${formatNumber(valley)}   (fastai's default suggestion)`,
      `  steep    ${formatNumber(lrRange.steepest)}   (fastest fall of the loss)`,
      `  minimum  ${formatNumber(lrRange.minimum)}   (the rate of the lowest loss / 10)`,
      `  configured lr ${formatNumber(config.lr)}`,
      `measure around it: ${sweep}`,
      `plot: ${html}`,
    ].join('\n') + '\n',
  );
  if (flags.json === true)
    process.stdout.write(
      `${JSON.stringify({
        valley,
        steep: lrRange.steepest,
        minimum: lrRange.minimum,
        configured: config.lr,
        images: result.sampleSize,
        stage: result.stage,
        stoppedEarly: lrRange.stoppedEarly,
        lrs: lrRange.lrs,
        losses: lrRange.losses,
        sweepRange: [low, high],
        html,
      })}\n`,
    );
}
