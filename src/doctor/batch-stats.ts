/**
 * What a user's batch (.npy, NHWC or NCHW) says about the preprocessing that produced it.
 *
 * Every candidate preprocessing is an increasing per-channel affine map from raw 0..255 pixels,
 * so each one can be inverted: a hypothesis is plausible when the batch, mapped back, lies in
 * 0..255 and spans a real range of levels. Two further fingerprints separate the survivors:
 * pixels that were integers before preprocessing map back to integers only under the right
 * hypothesis (resizing in uint8 then converting, as Keras' load_img and vggkit do), and the
 * channel order shows in which position the red and blue means landed.
 */
import type { NpyArray } from '../data/npy.js';
import {
  numericsFor,
  type ChannelOrder,
  type PreprocessContract,
  type PreprocessMode,
} from '../image/contract.js';
import { unreadableInput } from '../util/errors.js';

export type Layout = 'NHWC' | 'NCHW';

export interface ChannelStats {
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  readonly std: number;
}

export type HypothesisName =
  | 'raw'
  | 'unit'
  | 'tf'
  | 'torch'
  | 'caffe'
  | 'caffe-then-unit'
  | 'unit-then-caffe'
  | 'unit-then-torch'
  | 'tf-then-unit'
  | 'caffe-twice';

interface Hypothesis {
  readonly name: HypothesisName;
  readonly description: string;
  /** The single preprocess mode this equals, or undefined for double / partial preprocessing. */
  readonly mode: PreprocessMode | undefined;
  readonly double: boolean;
  /** The channel order the positions hold when the pipeline followed this mode's convention. */
  readonly order: ChannelOrder;
  readonly toRaw: (x: number, channel: number) => number;
}

const CAFFE = numericsFor('caffe').mean;
const TORCH = numericsFor('torch');

export const HYPOTHESES: readonly Hypothesis[] = [
  {
    name: 'raw',
    description: 'raw pixels 0..255',
    mode: 'none',
    double: false,
    order: 'rgb',
    toRaw: (x) => x,
  },
  {
    name: 'unit',
    description: 'pixels / 255 (0..1)',
    mode: undefined,
    double: false,
    order: 'rgb',
    toRaw: (x) => x * 255,
  },
  {
    name: 'tf',
    description: 'tf mode: pixels / 127.5 - 1 (-1..1)',
    mode: 'tf',
    double: false,
    order: 'rgb',
    toRaw: (x) => (x + 1) * 127.5,
  },
  {
    name: 'torch',
    description: 'torch mode: pixels / 255, minus ImageNet mean, divided by std',
    mode: 'torch',
    double: false,
    order: 'rgb',
    toRaw: (x, c) => (x * TORCH.std[c] + TORCH.mean[c]) * 255,
  },
  {
    name: 'caffe',
    description: 'caffe mode: BGR, ImageNet mean subtracted (about -124..152)',
    mode: 'caffe',
    double: false,
    order: 'bgr',
    toRaw: (x, c) => x + CAFFE[c],
  },
  {
    name: 'caffe-then-unit',
    description:
      'caffe mode and then / 255 (e.g. preprocess_input plus rescale=1/255; about -0.49..0.59)',
    mode: undefined,
    double: true,
    order: 'bgr',
    toRaw: (x, c) => x * 255 + CAFFE[c],
  },
  {
    name: 'unit-then-caffe',
    description:
      'pixels / 255 and then caffe mode (mean subtracted from 0..1 values; about -124..-103)',
    mode: undefined,
    double: true,
    order: 'bgr',
    toRaw: (x, c) => (x + CAFFE[c]) * 255,
  },
  {
    name: 'unit-then-torch',
    description: 'pixels / 255 and then torch mode, which divides by 255 again',
    mode: undefined,
    double: true,
    order: 'rgb',
    toRaw: (x, c) => (x * TORCH.std[c] + TORCH.mean[c]) * 255 * 255,
  },
  {
    name: 'tf-then-unit',
    description: 'tf mode and then / 255 (about -0.004..0.004)',
    mode: undefined,
    double: true,
    order: 'rgb',
    toRaw: (x) => (x * 255 + 1) * 127.5,
  },
  {
    // The classic Keras slip: preprocess_input in the data pipeline and again in the model. The
    // second call flips the channels back to RGB and subtracts the BGR mean from them.
    name: 'caffe-twice',
    description:
      'caffe mode applied twice (preprocess_input called twice: channels back in RGB, the mean subtracted twice; about -234..28)',
    mode: undefined,
    double: true,
    order: 'rgb',
    toRaw: (x, c) => x + CAFFE[c] + CAFFE[2 - c],
  },
];

/** Levels a pipeline may overshoot 0..255 by (bicubic/lanczos ringing on float data) before a hypothesis is ruled out. */
export const RAW_RANGE_TOLERANCE = 8;
/** A plausible hypothesis must map the batch onto at least this many levels on average; 0..1 read as raw spans 1. */
export const MIN_RAW_SPAN = 24;
/** |recovered - round(recovered)| below this counts as an integer pixel (float32 round-off is ~1e-4 levels). */
export const INTEGER_TOLERANCE = 0.02;
/** Fraction of sampled values that must be integers to call a hypothesis integer-consistent. */
export const INTEGER_FRACTION = 0.95;
/** Levels (summed over channels) by which the expected mode may fit worse than the best and still be preferred. */
export const MISFIT_MARGIN = 48;
/** Values sampled for the integer and replicated-channel tests; evenly strided over the batch. */
const SAMPLE_PIXELS = 20_000;

export interface HypothesisScore {
  readonly name: HypothesisName;
  readonly plausible: boolean;
  readonly integerFraction: number;
  /** Levels of 0..255 left unused plus levels overshooting it, summed over channels. */
  readonly misfit: number;
}

export interface InferredPreprocessing {
  readonly name: HypothesisName;
  readonly description: string;
  readonly mode: PreprocessMode | undefined;
  readonly double: boolean;
  /** The order the channels appear to be in, from where the red and blue means landed. */
  readonly channelOrder: ChannelOrder;
  /** Raw (0..255) per-channel means in RGB reading of the positions assumed by the hypothesis. */
  readonly rawMeans: readonly number[];
}

export interface BatchStats {
  readonly file?: string;
  readonly dims: readonly number[];
  readonly layout: Layout;
  readonly images: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly channelStats: readonly ChannelStats[];
  /** Every sampled pixel has (numerically) equal channels: a grayscale image copied three times. */
  readonly replicatedChannels: boolean;
  readonly scores: readonly HypothesisScore[];
  readonly inferred: InferredPreprocessing | undefined;
}

/** Red minus blue mean (0..255 levels) needed to call the order; ImageNet's own gap is ~20 levels. */
export const CHANNEL_ORDER_MIN_GAP = 10;

function detectLayout(
  dims: readonly number[],
  file: string,
): { layout: Layout; n: number; h: number; w: number; c: number } {
  const shape = dims.length === 3 ? [1, ...dims] : dims;
  if (shape.length !== 4)
    throw unreadableInput(
      'BAD_BATCH',
      `${file}: expected a batch of images (4 dimensions, NHWC or NCHW), received shape (${dims.join(', ')})`,
      { file },
    );
  const [n, a, b, c] = shape;
  const isChannels = (d: number): boolean => d === 1 || d === 3;
  if (isChannels(c)) return { layout: 'NHWC', n, h: a, w: b, c };
  if (isChannels(a)) return { layout: 'NCHW', n, h: b, w: c, c: a };
  throw unreadableInput(
    'BAD_BATCH',
    `${file}: expected 1 or 3 channels first or last, received shape (${dims.join(', ')})`,
    { file },
  );
}

export function batchStats(
  array: NpyArray,
  expected?: PreprocessContract,
  file = '<batch>',
): BatchStats {
  const { layout, n, h, w, c } = detectLayout(array.dims, file);
  const data = array.data;
  const plane = h * w;
  const channelOf =
    layout === 'NHWC' ? (i: number) => i % c : (i: number) => Math.floor(i / plane) % c;
  const at =
    layout === 'NHWC'
      ? (pixel: number, ch: number) => data[pixel * c + ch]
      : (pixel: number, ch: number) =>
          data[(Math.floor(pixel / plane) * c + ch) * plane + (pixel % plane)];

  const min = new Array<number>(c).fill(Infinity);
  const max = new Array<number>(c).fill(-Infinity);
  const sum = new Array<number>(c).fill(0);
  const sumSq = new Array<number>(c).fill(0);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    const ch = channelOf(i);
    if (v < min[ch]) min[ch] = v;
    if (v > max[ch]) max[ch] = v;
    sum[ch] += v;
    sumSq[ch] += v * v;
  }
  const count = n * plane;
  const channelStats = min.map((_, ch) => {
    const mean = sum[ch] / count;
    return {
      min: min[ch],
      max: max[ch],
      mean,
      std: Math.sqrt(Math.max(0, sumSq[ch] / count - mean * mean)),
    };
  });

  const pixels = n * plane;
  const stride = Math.max(1, Math.floor(pixels / SAMPLE_PIXELS));
  const sample: number[] = [];
  for (let p = 0; p < pixels; p += stride) sample.push(p);

  const scores = c === 3 ? HYPOTHESES.map((hyp) => score(hyp, channelStats, sample, at)) : [];
  const inferred = c === 3 ? choose(scores, channelStats, expected) : undefined;
  const replicated = c === 3 && sample.every((p) => replicatedAt(p, at, inferred?.name));
  return {
    file,
    dims: array.dims,
    layout,
    images: n,
    height: h,
    width: w,
    channels: c,
    channelStats,
    replicatedChannels: replicated,
    scores,
    inferred,
  };
}

/** Levels (0..255) within which three channels count as one gray value copied. */
const REPLICATED_TOLERANCE = 0.5;

/** Channels equal once the preprocessing is undone (caffe subtracts a different mean per channel). */
function replicatedAt(
  p: number,
  at: (p: number, ch: number) => number,
  name: HypothesisName | undefined,
): boolean {
  const hyp = HYPOTHESES.find((x) => x.name === name);
  const raw = [0, 1, 2].map((ch) => (hyp === undefined ? at(p, ch) : hyp.toRaw(at(p, ch), ch)));
  const tolerance = hyp === undefined ? 1e-6 : REPLICATED_TOLERANCE;
  return Math.abs(raw[0] - raw[1]) <= tolerance && Math.abs(raw[1] - raw[2]) <= tolerance;
}

function score(
  hyp: Hypothesis,
  stats: readonly ChannelStats[],
  sample: readonly number[],
  at: (p: number, ch: number) => number,
): HypothesisScore {
  let overshoot = 0;
  let misfit = 0;
  let span = 0;
  stats.forEach((s, ch) => {
    const lo = hyp.toRaw(s.min, ch);
    const hi = hyp.toRaw(s.max, ch);
    overshoot = Math.max(overshoot, -lo, hi - 255);
    misfit += Math.abs(lo) + Math.abs(255 - hi);
    span += (hi - lo) / stats.length;
  });
  let integers = 0;
  for (const p of sample) {
    for (let ch = 0; ch < 3; ch++) {
      const raw = hyp.toRaw(at(p, ch), ch);
      if (Math.abs(raw - Math.round(raw)) < INTEGER_TOLERANCE) integers++;
    }
  }
  const plausible = overshoot <= RAW_RANGE_TOLERANCE && span >= MIN_RAW_SPAN;
  return {
    name: hyp.name,
    plausible,
    integerFraction: sample.length === 0 ? 0 : integers / (sample.length * 3),
    misfit,
  };
}

function choose(
  scores: readonly HypothesisScore[],
  stats: readonly ChannelStats[],
  expected: PreprocessContract | undefined,
): InferredPreprocessing | undefined {
  const plausible = scores.filter((s) => s.plausible);
  if (plausible.length === 0) return undefined;
  const integral = plausible.filter((s) => s.integerFraction >= INTEGER_FRACTION);
  const pool = integral.length > 0 ? integral : plausible;
  const best = pool.reduce((a, b) => (b.misfit < a.misfit ? b : a));
  // Benefit of the doubt: when the expected mode fits about as well, it is the answer (no false alarm).
  const expectedName: HypothesisName | undefined =
    expected === undefined ? undefined : expected.mode === 'none' ? 'raw' : expected.mode;
  const preferred =
    pool.find((s) => s.name === expectedName && s.misfit <= best.misfit + MISFIT_MARGIN) ?? best;
  const hyp = HYPOTHESES.find((x) => x.name === preferred.name) as Hypothesis;
  const positional = stats.map((s, ch) => hyp.toRaw(s.mean, ch));
  const rgbMeans = hyp.order === 'rgb' ? positional : [...positional].reverse();
  const swapped = rgbMeans[2] - rgbMeans[0] > CHANNEL_ORDER_MIN_GAP;
  const flip = (o: ChannelOrder): ChannelOrder => (o === 'rgb' ? 'bgr' : 'rgb');
  return {
    name: hyp.name,
    description: hyp.description,
    mode: hyp.mode,
    double: hyp.double,
    channelOrder: swapped ? flip(hyp.order) : hyp.order,
    rawMeans: rgbMeans,
  };
}
