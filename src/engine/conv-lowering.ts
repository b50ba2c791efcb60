/**
 * How each trainable 3x3 conv of a training graph is lowered: one table of lowerings, each with
 * its tensor layout and a memory model, and a per-layer choice.
 *
 *   gemm      NHWC im2col + one GEMM per pass (conv3x3.ts); the column matrix (9x the input) is
 *             kept from forward to backward — fast where memory is cheap, so it is only a
 *             candidate while that matrix stays small.
 *   winograd  NHWC Winograd F(2x2, 3x3) (conv3x3-winograd.ts): 2.25x fewer multiply-adds in every
 *             pass; its transformed tiles (4x the input) are kept only while small, else recomputed,
 *             and a batch whose tiles exceed TRANSIENT_LIMIT_BYTES runs in row strips that fit it.
 *   ort       NCHW, ONNX Runtime's own Conv forward and for the input gradient, the weight gradient
 *             as im2col GEMMs in row strips (conv3x3-nchw.ts): no large buffer at all.
 *
 * `chooseConvLowerings` resolves a policy per conv: a fixed lowering, or `auto` — the fastest
 * candidate for that shape on this machine, decided by timing each candidate's forward + backward
 * once (a graph of that conv alone, at the planned batch up to TIMING_BATCH_LIMIT images; best of
 * three runs, so a burst of load from elsewhere rarely decides) and cached on disk keyed by the
 * CPU, its kernel-picking flags, the thread count, the ORT version and the shape. Each shape's
 * timings carry the machine's load when they were taken: timings taken on a busy machine (more
 * runnable work than cores) are taken again once it is quiet, since which lowering wins can
 * depend on whether its threads had the cores to themselves. Candidates are
 * the lowerings whose buffers fit the memory limits at the planned batch; convs too small for the
 * choice to matter take `gemm` untimed, and a conv with one candidate takes it untimed.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { dirname } from 'node:path';
import * as ort from 'onnxruntime-node';
import { BATCH, GraphBuilder, type Sym } from '../graph/ir.js';
import { gradients } from '../graph/autodiff.js';
import { conv3x3 } from '../graph/ops/conv3x3.js';
import { conv3x3Nchw } from '../graph/ops/conv3x3-nchw.js';
import { conv3x3Winograd } from '../graph/ops/conv3x3-winograd.js';
import type { Layout } from '../graph/ops/layout.js';
import type { LayerSpec } from '../model/architectures.js';
import { writeFileAtomic } from '../util/atomic.js';
import { cpuInfo } from '../util/machine.js';
import { Session } from './session.js';

export const CONV_LOWERINGS = ['gemm', 'winograd', 'ort'] as const;
export type ConvLoweringName = (typeof CONV_LOWERINGS)[number];
export type ConvLoweringPolicy = ConvLoweringName | 'auto';

/** One trainable conv of a plan: its NHWC input [h, w, cin], cout, and whether dX is needed. */
export interface ConvSite {
  readonly layer: string;
  readonly h: number;
  readonly w: number;
  readonly cin: number;
  readonly cout: number;
  readonly inputGrad: boolean;
}

/** A conv lowering resolved for one site at a planned batch size. */
export interface ConvChoice {
  readonly name: ConvLoweringName;
  readonly layout: Layout;
  /** Emits conv(x) + bias (no activation); x in `layout`. */
  apply(g: GraphBuilder, x: Sym, kernel: Sym, bias: Sym): Sym;
  /** Bytes per image kept alive from this conv's forward to its backward, beyond its input. */
  readonly keptBytesPerImage: number;
  /** Bytes per image of the largest buffers alive while this conv's forward or backward runs. */
  readonly transientBytesPerImage: number;
}

const F32 = 4;
/** A transformed-tile or column buffer larger than this at the planned batch is recomputed or not kept. */
export const KEEP_LIMIT_BYTES = 64 * 2 ** 20;
/** The weight gradient's im2col strips of the `ort` lowering stay under this at the planned batch. */
export const STRIP_LIMIT_BYTES = 32 * 2 ** 20;
/** A lowering whose transient buffers exceed this at the planned batch is not a candidate (Winograd strips to fit it). */
export const TRANSIENT_LIMIT_BYTES = 512 * 2 ** 20;
/** `auto` times at most this many images per step: enough to load the GEMMs, quick to measure. */
export const TIMING_BATCH_LIMIT = 8;
/** Convs below this many multiply-adds per step (forward) take `gemm` untimed: any choice is instant. */
export const UNTIMED_MACS = 2 ** 28;

function tiles(site: ConvSite): number {
  return Math.ceil(site.h / 2) * Math.ceil(site.w / 2);
}

/** The lowering `name` for `site` at `batch` images per step. */
export function convChoice(name: ConvLoweringName, site: ConvSite, batch: number): ConvChoice {
  const pixels = site.h * site.w;
  const first = (outputs: Sym[]): Sym => outputs[0] as Sym;
  switch (name) {
    case 'gemm':
      return {
        name,
        layout: 'nhwc',
        apply: (g, x, k, b) => first(g.apply(conv3x3, [x, k, b], undefined)),
        keptBytesPerImage: 9 * pixels * site.cin * F32,
        transientBytesPerImage: 9 * pixels * Math.max(site.cin, site.cout) * F32,
      };
    case 'winograd': {
      const tileRows = Math.ceil(site.h / 2);
      // Backward, per row of tiles: the tiles of x (kept or recomputed), Z of dY, and dX's tiles and products.
      const perTileRow = 16 * Math.ceil(site.w / 2) * (2 * site.cin + 2 * site.cout) * F32;
      const stripTileRows = Math.max(
        1,
        Math.min(tileRows, Math.floor(TRANSIENT_LIMIT_BYTES / (batch * perTileRow))),
      );
      const perImage = 16 * tiles(site) * site.cin * F32;
      const keepTiles = stripTileRows === tileRows && perImage * batch <= KEEP_LIMIT_BYTES;
      return {
        name,
        layout: 'nhwc',
        apply: (g, x, k, b) =>
          first(g.apply(conv3x3Winograd, [x, k, b], { keepTiles, stripTileRows })),
        keptBytesPerImage: keepTiles ? perImage : 0,
        transientBytesPerImage: stripTileRows * perTileRow,
      };
    }
    case 'ort': {
      const stripRows = Math.max(
        1,
        Math.floor(STRIP_LIMIT_BYTES / (batch * site.w * 9 * site.cin * F32)),
      );
      return {
        name,
        layout: 'nchw',
        apply: (g, x, k, b) => first(g.apply(conv3x3Nchw, [x, k, b], { stripRows })),
        keptBytesPerImage: 0,
        // NHWC copies of x and dY for the weight gradient, plus one strip of columns, plus its
        // output in NHWC for neighbours in that layout (VGG16 whole at 224, batch 32: ORT's Conv
        // for block1_conv1 alone, Winograd elsewhere, peaked at 4.89 GB; Winograd there too, 3.95 GB).
        transientBytesPerImage:
          pixels * (site.cin + 2 * site.cout) * F32 +
          Math.min(site.h, stripRows) * site.w * 9 * site.cin * F32,
      };
    }
  }
}

/**
 * The lowerings worth timing for `site`: those whose buffers fit the limits at `batch`, or `ort`
 * (the one with the smallest fixed buffers) when none does. `ort` is held to the limit too: its
 * NHWC copies outgrow Winograd's strips at large batches (VGG16 whole at 224, batch 32, on 2 AVX2
 * cores: ORT's Conv in block 1 gave 4.78-4.89 GB peak RSS, Winograd there 3.95 GB and a faster
 * step), and a conv timed alone at TIMING_BATCH_LIMIT images does not show that.
 */
export function candidates(site: ConvSite, batch: number): ConvLoweringName[] {
  const fitting = CONV_LOWERINGS.filter((name) => {
    const c = convChoice(name, site, batch);
    return (
      c.keptBytesPerImage * batch <= 4 * KEEP_LIMIT_BYTES &&
      c.transientBytesPerImage * batch <= TRANSIENT_LIMIT_BYTES
    );
  });
  return fitting.length > 0 ? fitting : ['ort'];
}

/**
 * For each conv site, the candidate `auto` may pick that takes the most memory at `batch` (kept
 * plus transient bytes): what an up-front memory check must assume before the timings decide.
 */
export function largestCandidates(
  sites: readonly ConvSite[],
  batch: number,
): Map<string, ConvChoice> {
  const footprint = (c: ConvChoice): number => c.keptBytesPerImage + c.transientBytesPerImage;
  return new Map(
    sites.map((site) => {
      const choices = candidates(site, batch).map((name) => convChoice(name, site, batch));
      return [site.layer, choices.reduce((a, b) => (footprint(b) > footprint(a) ? b : a))];
    }),
  );
}

/** The trainable convs of a plan's layers, in order; the first one's input needs no gradient. */
export function convSites(layers: readonly LayerSpec[], input: readonly number[]): ConvSite[] {
  const sites: ConvSite[] = [];
  let [h, w, c] = input as [number, number, number];
  for (const layer of layers) {
    if (layer.kind === 'conv') {
      const cout = layer.outputShape[2] as number;
      sites.push({ layer: layer.name, h, w, cin: c, cout, inputGrad: sites.length > 0 });
    }
    if (layer.outputShape.length === 3) [h, w, c] = layer.outputShape as [number, number, number];
  }
  return sites;
}

export interface ChooseOptions {
  readonly policy: ConvLoweringPolicy;
  /** The batch size steps will mostly run at (buffers are sized and timed for it). */
  readonly batch: number;
  readonly threads: number;
  /** File of cached timings (`auto`); undefined times every shape again and keeps nothing. */
  readonly cacheFile?: string;
  /** Called before each timing (the first `auto` choice for a shape on a machine takes seconds). */
  readonly onTiming?: (site: ConvSite, lowering: ConvLoweringName) => void;
  /** The machine's load now (default: the 1-minute load average over the core count). */
  readonly load?: MachineLoad;
}

/** How busy the machine was: runnable processes (1-minute load average) against its cores. */
export interface MachineLoad {
  readonly loadAverage: number;
  readonly cores: number;
}

/** One shape's timings: milliseconds of one forward + backward per candidate, and the load they were taken under. */
interface ShapeTimings {
  readonly ms: Record<string, number>;
  readonly load: MachineLoad;
}

/**
 * The cache file's format and the lowerings' graphs it was timed with: bumped when either changes,
 * so timings of an older graph are taken again (3: Winograd in row strips, each padding its own rows).
 */
const CACHE_VERSION = 3;

interface CacheFile {
  readonly version: typeof CACHE_VERSION;
  readonly timings: Record<string, ShapeTimings>;
}

function currentLoad(): MachineLoad {
  return { loadAverage: loadavg()[0] ?? 0, cores: availableParallelism() };
}

/** More runnable work than cores: a timing competed with other processes for them. */
function busy(load: MachineLoad): boolean {
  return load.loadAverage > load.cores;
}

function machineKey(threads: number): string {
  const info = cpuInfo();
  const flags = Object.entries(info.flags)
    .filter(([, has]) => has)
    .map(([f]) => f)
    .join('+');
  return `${info.cpu}|${flags}|${threads}t|ort${ort.env.versions.common ?? '?'}`;
}

function shapeKey(site: ConvSite, batch: number): string {
  return `${site.h}x${site.w}x${site.cin}->${site.cout}|b${batch}|${site.inputGrad ? 'dx' : 'nodx'}`;
}

async function readCache(file: string | undefined): Promise<CacheFile> {
  if (file === undefined) return { version: CACHE_VERSION, timings: {} };
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as Partial<CacheFile>;
    if (
      parsed.version === CACHE_VERSION &&
      typeof parsed.timings === 'object' &&
      parsed.timings !== null
    )
      return { version: CACHE_VERSION, timings: parsed.timings };
  } catch {
    // Missing or unreadable: timings are measured again and the file rewritten.
  }
  // Older versions timed other graphs (or held no load): their timings are taken again.
  return { version: CACHE_VERSION, timings: {} };
}

/** Milliseconds of one forward + backward of `site` lowered by `name` at `batch` (best of 3). */
export async function timeConv(
  name: ConvLoweringName,
  site: ConvSite,
  batch: number,
  threads: number,
): Promise<number> {
  const choice = convChoice(name, site, batch);
  const g = new GraphBuilder();
  const nchw = choice.layout === 'nchw';
  const spatial = nchw ? [site.cin, site.h, site.w] : [site.h, site.w, site.cin];
  const x = g.input('x', [BATCH, ...spatial]);
  const k = g.input('k', [3, 3, site.cin, site.cout]);
  const b = g.input('b', [site.cout]);
  const y = choice.apply(g, x, k, b);
  const outSpatial = nchw ? [site.cout, site.h, site.w] : [site.h, site.w, site.cout];
  const wrt = site.inputGrad ? [x, k, b] : [k, b];
  gradients(g, y, wrt, g.input('dy', [BATCH, ...outSpatial])).forEach((gr, i) =>
    g.output(gr, `grad${i}`),
  );
  const session = await Session.create(g.serialize(), { threads, spinning: false });
  try {
    const fill = (n: number): Float32Array =>
      Float32Array.from({ length: n }, (_, i) => ((i * 7919) % 97) / 97 - 0.5);
    const count = (dims: readonly number[]): number => dims.reduce((a, v) => a * v, 1);
    const xDims = [batch, ...spatial];
    const dyDims = [batch, ...outSpatial];
    const feeds = {
      x: { dims: xDims, data: fill(count(xDims)) },
      k: { dims: [3, 3, site.cin, site.cout], data: fill(9 * site.cin * site.cout) },
      b: { dims: [site.cout], data: fill(site.cout) },
      dy: { dims: dyDims, data: fill(count(dyDims)) },
    };
    await session.run(feeds);
    let best = Infinity;
    for (let i = 0; i < 3; i++) {
      const start = performance.now();
      await session.run(feeds);
      best = Math.min(best, performance.now() - start);
    }
    return best;
  } finally {
    await session.release();
  }
}

/** Every conv of `layers` (fed `input`) lowered by `name`: the synchronous, fixed-policy case. */
export function fixedConvLowerings(
  layers: readonly LayerSpec[],
  input: readonly number[],
  name: ConvLoweringName,
  batch: number,
): Map<string, ConvChoice> {
  return new Map(
    convSites(layers, input).map((site) => [site.layer, convChoice(name, site, batch)]),
  );
}

/** The lowering of every conv site: fixed by the policy, or the fastest candidate (`auto`). */
export async function chooseConvLowerings(
  sites: readonly ConvSite[],
  options: ChooseOptions,
): Promise<Map<string, ConvChoice>> {
  const chosen = new Map<string, ConvChoice>();
  if (options.policy !== 'auto') {
    for (const site of sites)
      chosen.set(site.layer, convChoice(options.policy, site, options.batch));
    return chosen;
  }
  const cache = await readCache(options.cacheFile);
  const machine = machineKey(options.threads);
  const load = options.load ?? currentLoad();
  let changed = false;
  const timedBatch = Math.min(options.batch, TIMING_BATCH_LIMIT);
  for (const site of sites) {
    const names = candidates(site, options.batch);
    const macs = options.batch * site.h * site.w * 9 * site.cin * site.cout;
    if (macs < UNTIMED_MACS && names.includes('gemm')) {
      chosen.set(site.layer, convChoice('gemm', site, options.batch));
      continue;
    }
    if (names.length === 1) {
      chosen.set(site.layer, convChoice(names[0] as ConvLoweringName, site, options.batch));
      continue;
    }
    const key = `${machine}|${shapeKey(site, timedBatch)}`;
    const cached = cache.timings[key];
    // Candidates are compared only under one load: a busy entry is taken again whole once quiet.
    const stale = cached === undefined || (busy(cached.load) && !busy(load));
    const timings = stale ? {} : { ...cached.ms };
    for (const name of names) {
      if (timings[name] !== undefined) continue;
      options.onTiming?.(site, name);
      timings[name] = await timeConv(name, site, timedBatch, options.threads);
      changed = true;
    }
    cache.timings[key] = { ms: timings, load: stale ? load : (cached?.load ?? load) };
    const best = names.reduce((a, b) => ((timings[b] as number) < (timings[a] as number) ? b : a));
    chosen.set(site.layer, convChoice(best, site, options.batch));
  }
  if (changed && options.cacheFile !== undefined) {
    await mkdir(dirname(options.cacheFile), { recursive: true });
    await writeFileAtomic(options.cacheFile, `${JSON.stringify(cache, null, 2)}\n`);
  }
  return chosen;
}
