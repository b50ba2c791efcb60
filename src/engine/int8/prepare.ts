/**
 * Deciding whether a frozen network runs in int8, and with which scales:
 *
 *   1. sample the user's own images (seeded): a calibration set and a disjoint held-out set;
 *   2. calibrate: one fp32 pass over the calibration set fills a histogram per conv output;
 *   3. derive the scales three ways (min-max, percentile, entropy) and run each int8 network
 *      against fp32 on the held-out set; keep the method whose features agree best;
 *   4. guard: the kept method must reach the thresholds of guard.ts (cosine of the quantized
 *      part's features and, for a classifier, top-1 agreement of the whole network's output);
 *      otherwise the answer is fp32, with the figures and the reason.
 *
 * The decision is cached as JSON under `<cacheDir>/int8/<key>.json`; the key hashes everything
 * that determines it: the weights (their bytes), the architecture, head and cut, the
 * preprocessing contract and input size, the sample (content hashes of its files) and the kernel
 * layout of this CPU. The int8 graph is rebuilt from the cached scales (quantizing the weights
 * takes milliseconds), so a cache hit costs no image at all.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { canonicalJson, hashFile } from '../../data/feature-cache.js';
import { type PreprocessContract, streamBatches } from '../../image/index.js';
import type { LayerSpec, VggOptions } from '../../model/architectures.js';
import { type HeadSpec, modelLayers } from '../../model/head.js';
import {
  DEFAULT_CALIBRATION_IMAGES,
  DEFAULT_HELD_OUT_IMAGES,
  type Precision,
} from '../../model/precision.js';
import type { ActivationRange } from '../../model/quantize.js';
import { buildVggInference, type Int8Plan, outputIndex } from '../../model/vgg-graph.js';
import { biasKey, kernelKey, type WeightMap } from '../../model/weight-map.js';
import { writeJsonAtomic } from '../../util/atomic.js';
import { Random } from '../../util/random.js';
import { type Int8Kernels, int8Kernels } from '../cpu.js';
import { Session } from '../session.js';
import { calibrate, rangesFor } from './calibrate.js';
import {
  AgreementMeter,
  COSINE_THRESHOLD,
  compareFigures,
  type GuardFigures,
  guardFailure,
  TOP1_THRESHOLD,
} from './guard.js';
import { CALIBRATION_METHODS, type CalibrationMethod } from './histogram.js';

/** Fewer images than this cannot both calibrate and check: vggkit stays in fp32. */
export const MIN_INT8_IMAGES = 8;
const CHECK_BATCH = 8;
const CACHE_VERSION = 1;

export interface Int8Request {
  readonly options: VggOptions;
  readonly head?: HeadSpec;
  readonly weights: WeightMap;
  /** Keras name of the graph's output layer. */
  readonly outputLayer: string;
  readonly contract: PreprocessContract;
  /** The user's images to sample from (the command's own inputs). */
  readonly files: readonly string[];
  readonly cacheDir: string;
  readonly calibrationImages?: number;
  readonly heldOutImages?: number;
  readonly seed?: number;
  /** Default: what this CPU wants (cpu.ts). */
  readonly kernels?: Int8Kernels;
  readonly onProgress?: (phase: 'calibrating' | 'checking', done: number, total: number) => void;
}

/** What vggkit writes to index.json, the model folder and the feature cache. */
export interface Int8Report {
  /** The precision the network runs in: int8 only when the guard passed. */
  readonly precision: Precision;
  /** Why fp32 was used instead, with the figures. */
  readonly reason?: string;
  /** The calibration method kept (the best on the held-out images). */
  readonly method?: CalibrationMethod;
  readonly kernels: Int8Kernels;
  readonly calibrationImages: number;
  readonly heldOutImages: number;
  /** sha256 of the sampled files' contents: which images calibrated and checked. */
  readonly sample: string;
  readonly thresholds: { readonly cosine: number; readonly top1: number };
  /** Figures of every method on the held-out images; the kept one also has the classifier's. */
  readonly methods: Partial<Record<CalibrationMethod, GuardFigures>>;
  /** The cache entry (key) this decision is stored under. */
  readonly key: string;
  readonly cached: boolean;
}

export interface Int8Decision {
  readonly precision: Precision;
  /** Set when precision is int8: pass it to buildVggInference. */
  readonly plan?: Int8Plan;
  readonly report: Int8Report;
}

interface CacheRecord {
  readonly version: number;
  readonly report: Omit<Int8Report, 'cached'>;
  readonly ranges?: Readonly<Record<string, ActivationRange>>;
}

export async function decideInt8(request: Int8Request): Promise<Int8Decision> {
  const kernels = request.kernels ?? int8Kernels();
  const layers = modelLayers(request.options, request.head);
  const cut = outputIndex(layers, request.outputLayer);
  const upToCut = layers.slice(0, cut + 1);
  const convs = upToCut.filter((l) => l.kind === 'conv');
  const quantEnd = lastQuantizedLayer(upToCut);
  const { calibration, heldOut } = sample(request);
  const base = {
    kernels,
    calibrationImages: calibration.length,
    heldOutImages: heldOut.length,
    thresholds: { cosine: COSINE_THRESHOLD, top1: TOP1_THRESHOLD },
    methods: {},
  };
  if (convs.length === 0 || quantEnd === undefined)
    return fp32(base, 'no convolution before the output layer: nothing to quantize');
  if (calibration.length + heldOut.length < MIN_INT8_IMAGES)
    return fp32(
      base,
      `int8 needs at least ${MIN_INT8_IMAGES} images to calibrate and check against fp32, received ${calibration.length + heldOut.length}`,
    );

  const sampleDigest = await digestSample(calibration, heldOut);
  const key = sha256(
    canonicalJson({
      version: CACHE_VERSION,
      weights: weightsDigest(request.weights, upToCut),
      options: request.options,
      head: request.head ?? null,
      outputLayer: request.outputLayer,
      contract: request.contract,
      sample: sampleDigest,
      kernels: { activations: kernels.activations, weightBits: kernels.weightBits },
    }),
  );
  const cacheFile = join(request.cacheDir, 'int8', `${key}.json`);
  const hit = await readCache(cacheFile);
  if (hit !== undefined) return fromRecord(hit, kernels);

  const stats = await calibrate({
    options: request.options,
    weights: request.weights,
    convs,
    contract: request.contract,
    files: calibration,
    ...(request.head === undefined ? {} : { head: request.head }),
    onProgress: (done, total) => request.onProgress?.('calibrating', done, total),
  });
  const plans = Object.fromEntries(
    CALIBRATION_METHODS.map((method) => [
      method,
      {
        activations: kernels.activations,
        weightBits: kernels.weightBits,
        ranges: rangesFor(stats, request.contract, method),
      } satisfies Int8Plan,
    ]),
  ) as Record<CalibrationMethod, Int8Plan>;
  const classifier = isClassifier(layers[cut] as LayerSpec);
  const check = await compareOnHeldOut(request, heldOut, plans, quantEnd.name, classifier);
  const ranked = [...CALIBRATION_METHODS].sort((a, b) =>
    compareFigures(check.methods[a], check.methods[b]),
  );
  const method = ranked[0] as CalibrationMethod;
  const methods: Partial<Record<CalibrationMethod, GuardFigures>> = { ...check.methods };
  if (classifier)
    methods[method] = {
      ...check.methods[method],
      ...(await classifierAgreement(request, heldOut, plans[method], check.scores)),
    };
  const figures = methods[method] as GuardFigures;
  const failure = guardFailure(figures);
  const report: Omit<Int8Report, 'cached'> = {
    ...base,
    precision: failure === undefined ? 'int8' : 'fp32',
    ...(failure === undefined
      ? {}
      : { reason: `int8 rejected on ${figures.images} held-out images: ${failure}` }),
    method,
    calibrationImages: stats.images,
    sample: sampleDigest,
    methods,
    key,
  };
  const record: CacheRecord = {
    version: CACHE_VERSION,
    report,
    ...(failure === undefined ? { ranges: plans[method].ranges } : {}),
  };
  await mkdir(join(request.cacheDir, 'int8'), { recursive: true });
  await writeJsonAtomic(cacheFile, record);
  return fromRecord(record, kernels, false);
}

/** The layer where the int8 part ends: the last conv or pool at or before the cut. */
function lastQuantizedLayer(layers: readonly LayerSpec[]): LayerSpec | undefined {
  return layers.filter((l) => l.kind === 'conv' || l.kind === 'pool').at(-1);
}

function isClassifier(layer: LayerSpec): boolean {
  return (
    layer.kind === 'dense' && (layer.activation === 'softmax' || layer.activation === 'sigmoid')
  );
}

function fp32(
  base: Omit<Int8Report, 'precision' | 'sample' | 'key' | 'cached'>,
  reason: string,
): Int8Decision {
  return {
    precision: 'fp32',
    report: { ...base, precision: 'fp32', reason, sample: '', key: '', cached: false },
  };
}

/**
 * A seeded shuffle of the (sorted) files: the first `calibrationImages` calibrate, the next
 * `heldOutImages` check. With fewer files than both, a third of them (at least one) are held out.
 */
function sample(request: Int8Request): { calibration: string[]; heldOut: string[] } {
  const wantCalibration = request.calibrationImages ?? DEFAULT_CALIBRATION_IMAGES;
  const wantHeldOut = request.heldOutImages ?? DEFAULT_HELD_OUT_IMAGES;
  const files = [...new Set(request.files)].sort();
  const rng = new Random(request.seed ?? 0);
  for (let i = files.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [files[i], files[j]] = [files[j] as string, files[i] as string];
  }
  const heldOut =
    files.length >= wantCalibration + wantHeldOut
      ? wantHeldOut
      : Math.min(wantHeldOut, Math.max(1, Math.round(files.length / 3)));
  const calibration = Math.min(wantCalibration, files.length - heldOut);
  return {
    calibration: files.slice(0, calibration),
    heldOut: files.slice(calibration, calibration + heldOut),
  };
}

async function digestSample(calibration: string[], heldOut: string[]): Promise<string> {
  const hashes = async (files: string[]): Promise<string[]> =>
    (await Promise.all(files.map((f) => hashFile(f)))).sort();
  return sha256(
    canonicalJson({ calibration: await hashes(calibration), heldOut: await hashes(heldOut) }),
  );
}

function weightsDigest(weights: WeightMap, layers: readonly LayerSpec[]): string {
  const hash = createHash('sha256');
  for (const layer of layers) {
    for (const key of [kernelKey(layer.name), biasKey(layer.name)]) {
      const t = weights.get(key);
      if (t === undefined) continue;
      hash.update(`${key}[${t.dims.join(',')}]`);
      hash.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    }
  }
  return hash.digest('hex');
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

async function readCache(file: string): Promise<CacheRecord | undefined> {
  try {
    const record = JSON.parse(await readFile(file, 'utf8')) as CacheRecord;
    return record.version === CACHE_VERSION ? record : undefined;
  } catch {
    // Absent or unreadable: calibrate again and overwrite it.
    return undefined;
  }
}

function fromRecord(record: CacheRecord, kernels: Int8Kernels, cached = true): Int8Decision {
  const report: Int8Report = { ...record.report, cached };
  if (record.ranges === undefined || report.precision !== 'int8')
    return { precision: 'fp32', report };
  return {
    precision: 'int8',
    plan: {
      activations: kernels.activations,
      weightBits: kernels.weightBits,
      ranges: record.ranges,
    },
    report,
  };
}

interface HeldOutCheck {
  readonly methods: Record<CalibrationMethod, GuardFigures>;
  /** fp32 class scores per held-out batch (classifiers only), for the top-k check. */
  readonly scores: Float32Array[];
}

/**
 * fp32 (the whole network, also returning the quantized part's output) against each method's int8
 * network cut at the quantized part's end, batch by batch on the held-out images.
 */
async function compareOnHeldOut(
  request: Int8Request,
  heldOut: readonly string[],
  plans: Record<CalibrationMethod, Int8Plan>,
  quantEnd: string,
  classifier: boolean,
): Promise<HeldOutCheck> {
  const head = request.head === undefined ? {} : { head: request.head };
  const atCut = quantEnd === request.outputLayer;
  const reference = await Session.create(
    buildVggInference({
      options: request.options,
      weights: request.weights,
      outputLayer: request.outputLayer,
      ...(atCut ? {} : { extraOutputs: [quantEnd] }),
      ...head,
    }),
  );
  const candidates = new Map<CalibrationMethod, Session>();
  const meters = new Map(CALIBRATION_METHODS.map((m) => [m, new AgreementMeter()]));
  const scores: Float32Array[] = [];
  try {
    for (const method of CALIBRATION_METHODS)
      candidates.set(
        method,
        await Session.create(
          buildVggInference({
            options: request.options,
            weights: request.weights,
            outputLayer: quantEnd,
            int8: plans[method],
            ...head,
          }),
        ),
      );
    let done = 0;
    for await (const batch of streamBatches(heldOut, request.contract, {
      batchSize: CHECK_BATCH,
      skipErrors: true,
    })) {
      done += batch.files.length + batch.skipped.length;
      if (batch.files.length > 0) {
        const out = await reference.run({ input: batch.tensor });
        const features = (atCut ? out.output : out[quantEnd])?.data as Float32Array;
        if (classifier) scores.push((out.output as { data: Float32Array }).data);
        for (const method of CALIBRATION_METHODS) {
          const got = await (candidates.get(method) as Session).run({ input: batch.tensor });
          meters
            .get(method)
            ?.addFeatures(
              features,
              (got.output as { data: Float32Array }).data,
              batch.files.length,
            );
        }
      }
      request.onProgress?.('checking', done, heldOut.length);
    }
  } finally {
    await reference.release();
    for (const session of candidates.values()) await session.release();
  }
  return {
    methods: Object.fromEntries(
      CALIBRATION_METHODS.map((m) => [m, (meters.get(m) as AgreementMeter).figures()]),
    ) as Record<CalibrationMethod, GuardFigures>,
    scores,
  };
}

/** Top-1/top-5 agreement of the whole int8 network with the fp32 scores collected before. */
async function classifierAgreement(
  request: Int8Request,
  heldOut: readonly string[],
  plan: Int8Plan,
  reference: readonly Float32Array[],
): Promise<Pick<GuardFigures, 'top1' | 'top5'>> {
  const session = await Session.create(
    buildVggInference({
      options: request.options,
      weights: request.weights,
      outputLayer: request.outputLayer,
      int8: plan,
      ...(request.head === undefined ? {} : { head: request.head }),
    }),
  );
  const meter = new AgreementMeter();
  try {
    let index = 0;
    for await (const batch of streamBatches(heldOut, request.contract, {
      batchSize: CHECK_BATCH,
      skipErrors: true,
    })) {
      if (batch.files.length === 0) continue;
      const got = await session.run({ input: batch.tensor });
      const ref = reference[index++] as Float32Array;
      const scores = (got.output as { data: Float32Array }).data;
      meter.addFeatures(ref, scores, batch.files.length);
      meter.addScores(ref, scores, batch.files.length);
    }
  } finally {
    await session.release();
  }
  const { top1, top5 } = meter.figures();
  return { ...(top1 === undefined ? {} : { top1 }), ...(top5 === undefined ? {} : { top5 }) };
}
