import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dhashFromLuma, hamming, pairsWithin, type PHash } from '../../src/doctor/dhash.js';
import { Random } from '../../src/util/random.js';

function bitsOf(h: PHash): string {
  return h.hi.toString(2).padStart(32, '0') + h.lo.toString(2).padStart(32, '0');
}

test('dHash sets bit k when pixel k is brighter than its right neighbour, row by row', () => {
  const luma = new Uint8Array(72);
  // Row 0 strictly decreasing: all 8 bits of row 0 set; every other row increasing: bits clear.
  for (let y = 0; y < 8; y++) for (let x = 0; x < 9; x++) luma[y * 9 + x] = y === 0 ? 200 - x : x;
  luma[7 * 9 + 3] = 250; // row 7: pixel 3 > pixel 4 sets bit 7*8+3 = 59; pixel 2 < pixel 3 leaves bit 58 clear
  const bits = bitsOf(dhashFromLuma(luma));
  assert.equal(bits, '11111111' + '0'.repeat(51) + '1' + '0000');
});

test('the banded index finds exactly the pairs a brute-force comparison finds', () => {
  const random = new Random(11);
  const word = (): number => (random.int(65536) * 65536 + random.int(65536)) >>> 0;
  const hashes: PHash[] = [];
  for (let i = 0; i < 400; i++) hashes.push({ hi: word(), lo: word() });
  // Plant near copies at distances 0..6 by flipping random bits.
  for (let i = 0; i < 60; i++) {
    const source = hashes[random.int(hashes.length)];
    let { hi, lo } = source;
    const flips = new Set<number>();
    const distance = i % 7;
    while (flips.size < distance) flips.add(random.int(64));
    for (const bit of flips) {
      if (bit < 32) hi = (hi ^ (1 << bit)) >>> 0;
      else lo = (lo ^ (1 << (bit - 32))) >>> 0;
    }
    hashes.push({ hi, lo });
  }
  for (const radius of [0, 3, 4]) {
    const expected: string[] = [];
    for (let i = 0; i < hashes.length; i++) {
      for (let j = i + 1; j < hashes.length; j++) {
        const d = bitsOf(hashes[i])
          .split('')
          .filter((b, k) => b !== bitsOf(hashes[j])[k]).length;
        if (d <= radius) expected.push(`${i}-${j}-${d}`);
      }
    }
    const found = pairsWithin(hashes, radius).map(([i, j, d]) => `${i}-${j}-${d}`);
    assert.deepEqual(found.sort(), expected.sort());
    assert.ok(expected.length > 0);
  }
  assert.equal(hamming({ hi: 0xffffffff, lo: 0 }, { hi: 0, lo: 1 }), 33);
});
