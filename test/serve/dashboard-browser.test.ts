/**
 * The dashboard in a real browser (Debian's chromium via playwright-core): the pages load with no
 * console error, the curves have one point per finished epoch, the sweep page lists every trial,
 * runs can be compared, and while a real `vggkit train` runs, the epoch count on its page grows
 * without a reload. Screenshots of each page go to test-artefacts/ for a person to look at.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { access, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { startServer, type RunningServer } from '../../src/serve/server.js';
import { ARTEFACTS_DIR, launchBrowser, type Browser } from '../helpers/browser.js';
import { writeShapesDataset } from '../helpers/shapes.js';
import { deadPid, writeRun, writeSweep } from './fixtures.js';

let dir = '';
let root = '';
let server: RunningServer;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vggkit-dashboard-'));
  root = join(dir, 'runs');
  await writeRun(join(root, 'pets-adam'), { epochs: 5, done: 5, end: 'finished', batches: 12 });
  await writeRun(join(root, 'pets-sgd'), {
    epochs: 8,
    done: 4,
    end: { by: 'early_stopping' },
    batches: 12,
  });
  // Killed while writing a line: the page shows what came before and names the cut-off line.
  await writeRun(join(root, 'pets-killed'), {
    epochs: 6,
    done: 2,
    pid: deadPid(),
    trailing: '{"type":"batch_end","time":17',
  });
  await writeSweep(join(root, 'sweep-lr'), 5);
  await mkdir(ARTEFACTS_DIR, { recursive: true });
  server = await startServer({ root, port: 0 });
});

after(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

/** Points drawn per series of each chart on the page (from the uPlot instances). */
function drawnPoints(page: Page): Promise<Record<string, number[]>> {
  return page.evaluate(() => {
    const charts = (
      window as unknown as {
        vggkit: { charts: Map<string, { plot?: { data: (number | null)[][] } }> };
      }
    ).vggkit.charts;
    const out: Record<string, number[]> = {};
    for (const [id, c] of charts)
      out[id] = (c.plot?.data ?? []).slice(1).map((s) => s.filter((v) => v !== null).length);
    return out;
  });
}

async function withBrowser(
  t: Parameters<typeof launchBrowser>[0],
  body: (browser: Browser) => Promise<void>,
): Promise<void> {
  const browser = await launchBrowser(t);
  if (browser === undefined) return;
  try {
    await body(browser);
  } finally {
    await browser.close();
  }
}

test('runs list, run page, compare and sweep page render without console errors', async (t) => {
  await withBrowser(t, async (browser) => {
    const { page, errors } = await browser.newPage();
    await page.goto(server.url);
    await page.waitForSelector('#runs tbody tr[data-path]');
    const rows = await page.$$eval('#runs tbody tr[data-path]', (trs) =>
      trs.map((tr) => tr.getAttribute('data-path')),
    );
    assert.deepEqual([...rows].sort(), ['pets-adam', 'pets-killed', 'pets-sgd']);
    assert.match(await page.innerText('#sweeps'), /sweep-lr — 5 trials/);
    await page.screenshot({ path: join(ARTEFACTS_DIR, 'dashboard-runs.png'), fullPage: true });

    // Compare: tick two, press the button, both runs overlaid.
    for (const name of ['pets-adam', 'pets-sgd'])
      await page.check(`#runs tbody tr[data-path="${name}"] input[type=checkbox]`);
    await page.click('#compare');
    await page.waitForSelector('figure.vk-chart[data-rendered]');
    const compared = await drawnPoints(page);
    assert.deepEqual(compared['compare-val-loss'], [5, 4]);

    await page.goto(`${server.url}run/pets-adam`);
    await page.waitForSelector('figure.vk-chart[data-rendered]');
    const points = await drawnPoints(page);
    // One point per finished epoch on every epoch chart; every batch on the batch chart.
    assert.deepEqual(points.loss, [5, 5]);
    assert.deepEqual(points.accuracy, [5, 5]);
    assert.deepEqual(points.lr, [5]);
    assert.deepEqual(points['batch-loss'], [60, 60]);
    assert.equal(await page.innerText('[data-live="status"]'), 'finished');
    await page.screenshot({ path: join(ARTEFACTS_DIR, 'dashboard-run.png'), fullPage: true });

    await page.goto(`${server.url}run/pets-killed`);
    await page.waitForSelector('figure.vk-chart[data-rendered]');
    assert.equal(await page.innerText('[data-live="status"]'), 'crashed');
    assert.match(await page.innerText('[data-live="problems"]'), /incomplete line/);
    assert.deepEqual((await drawnPoints(page)).loss, [2, 2]);

    await page.goto(`${server.url}sweep/sweep-lr`);
    await page.waitForSelector('figure.vk-chart[data-rendered]');
    const trials = await page.$$eval('#trials tbody tr', (trs) =>
      trs.map((tr) => (tr.querySelector('td a') as HTMLAnchorElement).textContent),
    );
    assert.deepEqual(trials, ['000', '001', '002', '003', '004']);
    const sweepCharts = await page.$$eval('figure.vk-chart[data-rendered]', (fs) =>
      fs.map((f) => f.getAttribute('data-chart-id')),
    );
    assert.ok(sweepCharts.includes('sweep-parallel'), sweepCharts.join());
    // Every trial's dot is inside the log lr axis, the best one (lr 1e-4, at a power of 10) too.
    const vsLr = await page.evaluate(() => {
      const c = (
        window as unknown as {
          vggkit: {
            charts: Map<
              string,
              { spec: { x: number[] }; plot?: { scales: { x: { min: number; max: number } } } }
            >;
          };
        }
      ).vggkit.charts.get('sweep-vs-lr');
      return { x: c?.spec.x ?? [], scale: c?.plot?.scales.x };
    });
    assert.ok(vsLr.scale !== undefined && vsLr.x.length === 5, JSON.stringify(vsLr));
    for (const x of vsLr.x)
      assert.ok(x >= vsLr.scale.min && x <= vsLr.scale.max, JSON.stringify(vsLr));
    await page.screenshot({ path: join(ARTEFACTS_DIR, 'dashboard-sweep.png'), fullPage: true });
    assert.deepEqual(errors, []);
  });
});

test('while vggkit train runs, the epoch count on its page grows without a reload', async (t) => {
  await withBrowser(t, async (browser) => {
    const data = join(dir, 'shapes');
    await writeShapesDataset(data, { perClass: 8, size: 32, seed: 5 });
    const out = join(root, 'live-train');
    const epochs = 4;
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/cli/main.ts',
        'train',
        data,
        '--weights',
        'none',
        '--input-size',
        '32',
        '--arch',
        'vgg11',
        '--head',
        'avg',
        '--dense',
        '16',
        '--batch-size',
        '4',
        '--epochs',
        String(epochs),
        '--out',
        out,
        '--json',
      ],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, VGGKIT_HOME: join(dir, 'home') },
      },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      // The page can open as soon as the run has a folder with an events log.
      for (let i = 0; i < 600; i++) {
        if (
          await access(join(out, 'events.jsonl')).then(
            () => true,
            () => false,
          )
        )
          break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const { page, errors } = await browser.newPage();
      await page.goto(`${server.url}run/live-train`);
      await page.evaluate(() => {
        (window as unknown as { loadedOnce: boolean }).loadedOnce = true;
      });
      const seen = new Set<string>();
      for (let i = 0; i < 1800; i++) {
        seen.add(await page.innerText('[data-live="epochs"]'));
        if ((await page.innerText('[data-live="status"]')) === 'finished') break;
        await page.waitForTimeout(100);
      }
      seen.add(await page.innerText('[data-live="epochs"]'));
      assert.equal(await exited, 0, stderr);
      const counts = [...seen].map(Number);
      assert.equal(Math.max(...counts), epochs);
      assert.ok(counts.length >= 2, `the count grew on the page: saw ${counts.join(', ')}`);
      assert.ok(
        await page.evaluate(() => (window as unknown as { loadedOnce?: boolean }).loadedOnce),
        'the page was never reloaded',
      );
      const points = await drawnPoints(page);
      assert.deepEqual(points.loss, [epochs, epochs], 'one point per finished epoch');
      // The run's end brings its results in (validation metrics, top losses) without a reload.
      await page.waitForSelector('#outputs .tiles img');
      await page.screenshot({
        path: join(ARTEFACTS_DIR, 'dashboard-live-run.png'),
        fullPage: true,
      });
      assert.deepEqual(errors, []);
    } finally {
      child.kill();
      await exited;
    }
  });
});
