/**
 * Perceptual "difference hash" (dHash, 9x8 luma -> 64 bits: is each pixel brighter than its right
 * neighbour) and a banded index that finds every pair within a Hamming radius without comparing
 * all pairs. Hashes are kept as two uint32 halves: bigint popcounts are ~20x slower.
 */

export const HASH_WIDTH = 9;
export const HASH_HEIGHT = 8;

export interface PHash {
  readonly hi: number;
  readonly lo: number;
}

/** `luma` is HASH_WIDTH x HASH_HEIGHT bytes, row-major. */
export function dhashFromLuma(luma: ArrayLike<number>): PHash {
  let hi = 0;
  let lo = 0;
  let bit = 0;
  for (let y = 0; y < HASH_HEIGHT; y++) {
    for (let x = 0; x < HASH_WIDTH - 1; x++) {
      const on = luma[y * HASH_WIDTH + x] > luma[y * HASH_WIDTH + x + 1] ? 1 : 0;
      if (bit < 32) hi = (hi | (on << (31 - bit))) >>> 0;
      else lo = (lo | (on << (63 - bit))) >>> 0;
      bit++;
    }
  }
  return { hi, lo };
}

function popcount32(v: number): number {
  let x = v - ((v >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

export function hamming(a: PHash, b: PHash): number {
  return popcount32((a.hi ^ b.hi) >>> 0) + popcount32((a.lo ^ b.lo) >>> 0);
}

/** Bits [start, start+width) of the 64-bit hash (bit 0 = most significant), as a number. */
function band(h: PHash, start: number, width: number): number {
  let value = 0;
  for (let i = start; i < start + width; i++) {
    const b = i < 32 ? (h.hi >>> (31 - i)) & 1 : (h.lo >>> (63 - i)) & 1;
    value = value * 2 + b;
  }
  return value;
}

/**
 * All index pairs (i < j) with hamming(hashes[i], hashes[j]) <= maxDistance.
 * Pigeonhole: split the 64 bits into maxDistance + 1 bands; two hashes that differ in at most
 * maxDistance bits agree exactly on at least one band, so comparing only hashes that share a band
 * value finds every pair. With random-looking hashes each band bucket holds n / 2^(64/(d+1))
 * entries, so the work is close to linear in n instead of n^2/2.
 */
export function pairsWithin(
  hashes: readonly PHash[],
  maxDistance: number,
): Array<[number, number, number]> {
  const bands = maxDistance + 1;
  const widths = Array.from(
    { length: bands },
    (_, b) => Math.floor(64 / bands) + (b < 64 % bands ? 1 : 0),
  );
  const seen = new Set<number>();
  const pairs: Array<[number, number, number]> = [];
  let start = 0;
  for (const width of widths) {
    const buckets = new Map<number, number[]>();
    hashes.forEach((h, i) => {
      const key = band(h, start, width);
      const bucket = buckets.get(key);
      if (bucket === undefined) buckets.set(key, [i]);
      else bucket.push(i);
    });
    for (const members of buckets.values()) {
      for (let a = 0; a < members.length; a++) {
        for (let b = a + 1; b < members.length; b++) {
          const i = members[a];
          const j = members[b];
          const key = i * hashes.length + j;
          if (seen.has(key)) continue;
          seen.add(key);
          const d = hamming(hashes[i], hashes[j]);
          if (d <= maxDistance) pairs.push([i, j, d]);
        }
      }
    }
    start += width;
  }
  return pairs;
}
