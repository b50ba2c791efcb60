/**
 * The `auto` conv lowering's timing cache: a shape timed once is not timed again, unless its
 * timings were taken on a busy machine and the machine is quiet now. Real timings of a real conv
 * (ONNX Runtime sessions), with the cache file edited between runs to tell which entries were used.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  candidates,
  chooseConvLowerings,
  type ConvLoweringName,
  type ConvSite,
  type MachineLoad,
} from '../../src/engine/conv-lowering.js';

// Large enough to be timed (not the untimed-small case), small enough to time in well under a second.
const SITE: ConvSite = { layer: 'block2_conv2', h: 32, w: 32, cin: 64, cout: 64, inputGrad: true };
const BATCH = 8;
const QUIET: MachineLoad = { loadAverage: 0.2, cores: 2 };
const BUSY: MachineLoad = { loadAverage: 9, cores: 2 };

interface Entry {
  ms: Record<string, number>;
  load: MachineLoad;
}

async function choose(cacheFile: string, load: MachineLoad) {
  const timed: ConvLoweringName[] = [];
  const chosen = await chooseConvLowerings([SITE], {
    policy: 'auto',
    batch: BATCH,
    threads: 1,
    cacheFile,
    load,
    onTiming: (_site, name) => timed.push(name),
  });
  return { name: chosen.get(SITE.layer)?.name, timed };
}

async function entries(cacheFile: string): Promise<Record<string, Entry>> {
  const parsed = JSON.parse(await readFile(cacheFile, 'utf8')) as {
    version: number;
    timings: Record<string, Entry>;
  };
  assert.equal(parsed.version, 3);
  return parsed.timings;
}

/** Rewrites the one cached shape so that `winner` looks 1000x faster than the rest, taken under `load`. */
async function plant(cacheFile: string, winner: ConvLoweringName, load: MachineLoad) {
  const timings = await entries(cacheFile);
  const [key] = Object.keys(timings);
  assert.ok(key !== undefined);
  const names = candidates(SITE, BATCH);
  const ms = Object.fromEntries(names.map((n) => [n, n === winner ? 0.001 : 1]));
  await writeFile(cacheFile, JSON.stringify({ version: 3, timings: { [key]: { ms, load } } }));
}

test('a shape timed on a quiet machine is not timed again; timed on a busy one, it is once quiet', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vggkit-conv-cache-'));
  const cacheFile = join(dir, 'conv-timings.json');
  try {
    const names = candidates(SITE, BATCH);
    assert.ok(names.length >= 2, `needs a choice between lowerings, got ${names.join(', ')}`);

    const first = await choose(cacheFile, QUIET);
    assert.deepEqual(first.timed, names);
    const [measured] = Object.values(await entries(cacheFile));
    assert.deepEqual(measured?.load, QUIET);
    assert.deepEqual(Object.keys(measured?.ms ?? {}).sort(), [...names].sort());

    // A planted winner that is not the measured one shows whether the cache decided.
    const measuredBest = first.name;
    const planted = names.find((n) => n !== measuredBest) as ConvLoweringName;
    await plant(cacheFile, planted, QUIET);
    assert.deepEqual(await choose(cacheFile, QUIET), { name: planted, timed: [] });
    assert.deepEqual(await choose(cacheFile, BUSY), { name: planted, timed: [] });

    await plant(cacheFile, planted, BUSY);
    assert.deepEqual(
      await choose(cacheFile, BUSY),
      { name: planted, timed: [] },
      'still busy: timing again would not be fairer',
    );
    const retimed = await choose(cacheFile, QUIET);
    assert.deepEqual(retimed.timed, names);
    const [fresh] = Object.values(await entries(cacheFile));
    assert.deepEqual(fresh?.load, QUIET);
    assert.ok(
      Object.values(fresh?.ms ?? {}).every((ms) => ms !== 0.001 && ms !== 1),
      JSON.stringify(fresh),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('older cache files are timed again: version 1 (no load recorded), version 2 (Winograd before strips)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vggkit-conv-cache-'));
  const cacheFile = join(dir, 'conv-timings.json');
  try {
    await choose(cacheFile, QUIET);
    const timings = await entries(cacheFile);
    const old = Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, v.ms]));
    await writeFile(cacheFile, JSON.stringify({ version: 1, timings: old }));
    const again = await choose(cacheFile, QUIET);
    assert.deepEqual(again.timed, candidates(SITE, BATCH));
    const [rewritten] = Object.values(await entries(cacheFile));
    assert.deepEqual(rewritten?.load, QUIET);

    await writeFile(cacheFile, JSON.stringify({ version: 2, timings: await entries(cacheFile) }));
    assert.deepEqual((await choose(cacheFile, QUIET)).timed, candidates(SITE, BATCH));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
