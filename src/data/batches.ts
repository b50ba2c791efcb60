/**
 * Per-epoch shuffling and batch slicing. The order of epoch `e` is a function of (seed, e) only,
 * so a run resumed at epoch 7 draws exactly the order an uninterrupted run drew, without replaying
 * epochs 0-6.
 */
import { Random } from '../util/random.js';

/** Mixes the run seed and the epoch number into one 32-bit seed (murmur3's finaliser). */
function epochSeed(seed: number, epoch: number): number {
  let h = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(epoch + 1, 0x85ebca77)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** A permutation of 0..n-1 for this epoch. */
export function epochOrder(n: number, seed: number, epoch: number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  return new Random(epochSeed(seed, epoch)).shuffle(order);
}

/** Cuts `order` into batches of `batchSize`; the last, smaller batch is kept, as Keras' `fit` does. */
export function sliceBatches<T>(order: readonly T[], batchSize: number): T[][] {
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new RangeError(`batchSize must be a positive integer, received ${batchSize}`);
  const batches: T[][] = [];
  for (let start = 0; start < order.length; start += batchSize)
    batches.push(order.slice(start, start + batchSize));
  return batches;
}

export function batchCount(n: number, batchSize: number): number {
  return Math.ceil(n / batchSize);
}

/** The index batches of one epoch: shuffled for training, in order for evaluation. */
export function epochBatches(
  n: number,
  batchSize: number,
  options: { shuffle: boolean; seed: number; epoch: number },
): number[][] {
  const order = options.shuffle
    ? epochOrder(n, options.seed, options.epoch)
    : Array.from({ length: n }, (_, i) => i);
  return sliceBatches(order, batchSize);
}

/**
 * Batch `index` of a stream that cycles through `items` in order, `size` at a time, wrapping
 * around the end (a batch is never larger than `items`): what the doctor's probes step through
 * when they need more steps than one pass gives.
 */
export function cyclicBatch<T>(items: readonly T[], index: number, size: number): T[] {
  const start = (index * size) % items.length;
  return [...items, ...items].slice(start, start + Math.min(size, items.length));
}
