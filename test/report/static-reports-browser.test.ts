/**
 * The static reports in a real browser (Debian's chromium): report.html and doctor --html open from
 * disk with no network, draw every chart with the inlined library, without a console error, and
 * with one point per epoch. Screenshots go to test-artefacts/ for a person to look at.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { parseHistory } from '../../src/doctor/history.js';
import { renderHtml } from '../../src/doctor/render-html.js';
import { runDoctor } from '../../src/doctor/run.js';
import { DEFAULT_CONFIG } from '../../src/train/config.js';
import { renderTrainingReport } from '../../src/train/report.js';
import { ARTEFACTS_DIR, launchBrowser } from '../helpers/browser.js';
import { healthyEpochs, kerasCsv } from '../doctor/fixtures.js';

interface DrawnChart {
  id: string;
  points: number[];
  canvas: boolean;
}

test('report.html and doctor --html draw their charts offline in chromium', async (t) => {
  const browser = await launchBrowser(t);
  if (browser === undefined) return;
  const dir = await mkdtemp(join(tmpdir(), 'vggkit-static-'));
  try {
    const history = Array.from({ length: 9 }, (_, i) => ({
      loss: 2 / (i + 1),
      accuracy: 0.3 + 0.07 * i,
      val_loss: 2.2 / (i + 1) + 0.1,
      val_accuracy: 0.25 + 0.07 * i,
      lr: i < 6 ? 1e-4 : 2e-5,
    }));
    const train = join(dir, 'report.html');
    await writeFile(
      train,
      renderTrainingReport({
        history,
        stages: [
          { name: 'head', epochs: 5 },
          { name: 'block5', epochs: 4 },
        ],
        config: DEFAULT_CONFIG,
        classNames: ['cats', 'dogs'],
      }),
    );
    const log = parseHistory(kerasCsv(healthyEpochs()), 'history.csv');
    const doctor = join(dir, 'doctor.html');
    await writeFile(
      doctor,
      await renderHtml(await runDoctor({ history: log, model: { classes: ['a', 'b'] } }), {
        history: log,
        lrRange: {
          lrs: [1e-6, 1e-5, 1e-4, 1e-3, 1e-2],
          losses: [0.7, 0.69, 0.6, 0.4, 0.9],
          minimum: 1e-4,
          steepest: 1e-4,
          suggestion: 1e-4,
          stoppedEarly: true,
        },
        configuredLr: 1e-2,
      }),
    );
    await mkdir(ARTEFACTS_DIR, { recursive: true });
    // Anything but the file itself would be an outside request: a self-contained page makes none.
    const outside: string[] = [];
    await browser.context.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith('file:')) return route.continue();
      outside.push(url);
      return route.abort();
    });
    for (const [file, epochs, charts] of [
      [train, history.length, ['loss', 'accuracy', 'lr']],
      [doctor, log.epochs.length, ['loss', 'accuracy', 'lr', 'lr-range']],
    ] as const) {
      const { page, errors } = await browser.newPage();
      await page.goto(pathToFileURL(file).href);
      await page.waitForFunction(
        () => document.querySelectorAll('figure.vk-chart[data-rendered]').length > 0,
      );
      const drawn = await page.evaluate(() => {
        const registry = (
          window as unknown as {
            vggkit: { charts: Map<string, { plot: { data: unknown[][] }; figure: Element }> };
          }
        ).vggkit.charts;
        return [...registry].map(([id, c]) => ({
          id,
          points: c.plot.data.slice(1).map((s) => s.filter((v) => v !== null).length),
          canvas: c.figure.querySelector('canvas') !== null,
        }));
      });
      await page.screenshot({
        path: join(ARTEFACTS_DIR, `static-${file === train ? 'report' : 'doctor'}.png`),
        fullPage: true,
      });
      await page.close();
      assert.deepEqual(errors, [], `${file}: console errors`);
      assert.deepEqual(
        drawn.map((c: DrawnChart) => c.id),
        charts,
      );
      for (const c of drawn) {
        assert.ok(c.canvas, `${c.id} drew no canvas`);
        if (c.id !== 'lr-range')
          for (const n of c.points) assert.equal(n, epochs, `${c.id}: one point per epoch`);
      }
    }
    assert.deepEqual(outside, []);
  } finally {
    await browser.close();
    await rm(dir, { recursive: true, force: true });
  }
});
