import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  augmentImage,
  brightness,
  contrast,
  flipHorizontal,
  rotate,
} from '../../src/image/augment.js';
import type { RgbImage } from '../../src/image/decode.js';
import type { AugmentName } from '../../src/train/config.js';
import { Random } from '../../src/util/random.js';
import { at, pixels } from './fixtures.js';

// 12x8 with every pixel distinct enough to notice any misplacement.
const image: RgbImage = {
  data: new Uint8Array(pixels(12, 8, 3, (x, y) => [x * 20, y * 30, (x * 7 + y * 13) % 256])),
  width: 12,
  height: 8,
};
const ALL: AugmentName[] = ['flip', 'rotate', 'zoom', 'brightness', 'contrast'];

describe('augmentImage', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    const a = augmentImage(image, ALL, new Random(7));
    const b = augmentImage(image, ALL, new Random(7));
    assert.deepEqual(a.data, b.data);
    const others = [8, 9, 10].map((seed) => augmentImage(image, ALL, new Random(seed)).data);
    assert.ok(others.some((d) => !d.every((v, i) => v === a.data[i])));
  });

  it('preserves the dimensions for every op', () => {
    for (const op of ALL) {
      for (let seed = 0; seed < 4; seed++) {
        const out = augmentImage(image, [op], new Random(seed));
        assert.deepEqual([out.width, out.height, out.data.length], [12, 8, 12 * 8 * 3], op);
      }
    }
  });

  it('flip mirrors horizontally: p=1 always, p=0 never', () => {
    const flipped = augmentImage(image, ['flip'], new Random(1), { flipProbability: 1 });
    for (let y = 0; y < 8; y++)
      for (let x = 0; x < 12; x++)
        assert.deepEqual(at(flipped.data, 12, x, y), at(image.data, 12, 11 - x, y));
    assert.deepEqual(
      augmentImage(image, ['flip'], new Random(1), { flipProbability: 0 }).data,
      image.data,
    );
    assert.deepEqual(flipHorizontal(flipHorizontal(image)).data, image.data);
  });

  it('flip at p=0.5 flips about half the time', () => {
    const rng = new Random(3);
    let flips = 0;
    for (let i = 0; i < 400; i++)
      if (augmentImage(image, ['flip'], rng).data[0] !== image.data[0]) flips++;
    assert.ok(flips > 150 && flips < 250, `${flips} flips of 400`);
  });

  it('rotation by 0 is the identity; by 90 degrees on a square moves the corners', () => {
    assert.deepEqual(rotate(image, 0, 'edge').data, image.data);
    const square: RgbImage = {
      data: new Uint8Array(
        pixels(5, 5, 3, (x, y) => (x === 0 && y === 4 ? [255, 0, 0] : [0, 0, 0])),
      ),
      width: 5,
      height: 5,
    };
    // Counter-clockwise: bottom-left goes to bottom-right.
    const turned = rotate(square, Math.PI / 2, 'black');
    assert.deepEqual(at(turned.data, 5, 4, 4), [255, 0, 0]);
    assert.deepEqual(at(turned.data, 5, 0, 4), [0, 0, 0]);
  });

  it('rotation fills the uncovered corners with black or with the edge', () => {
    const grey: RgbImage = { data: new Uint8Array(12 * 8 * 3).fill(100), width: 12, height: 8 };
    const black = rotate(grey, Math.PI / 6, 'black');
    const edge = rotate(grey, Math.PI / 6, 'edge');
    assert.deepEqual(at(black.data, 12, 0, 0), [0, 0, 0]);
    assert.deepEqual(at(edge.data, 12, 0, 0), [100, 100, 100]);
    assert.deepEqual(at(black.data, 12, 6, 4), [100, 100, 100]);
  });

  it('brightness multiplies and clamps; contrast blends with the mean grey level', () => {
    const px: RgbImage = { data: new Uint8Array([100, 200, 50, 0, 0, 0]), width: 2, height: 1 };
    assert.deepEqual([...brightness(px, 1.2).data], [120, 240, 60, 0, 0, 0]);
    assert.deepEqual([...brightness(px, 2).data], [200, 255, 100, 0, 0, 0]);
    // Grey of (100,200,50) = 0.299*100 + 0.587*200 + 0.114*50 = 153.0; of black = 0; mean 76.5.
    const mean = (0.299 * 100 + 0.587 * 200 + 0.114 * 50) / 2;
    const expected = [100, 200, 50, 0, 0, 0].map((v) =>
      Math.min(255, Math.max(0, Math.round(v * 0.8 + 0.2 * mean))),
    );
    const actual = [...contrast(px, 0.8).data];
    actual.forEach((v, i) =>
      assert.ok(Math.abs(v - (expected[i] as number)) <= 1, `${actual} vs ${expected}`),
    );
  });

  it('zoom keeps a window of the image: a full-area window is the identity', () => {
    assert.deepEqual(
      augmentImage(image, ['zoom'], new Random(5), { zoomMinArea: 1 }).data,
      image.data,
    );
    const zoomed = augmentImage(image, ['zoom'], new Random(5), { zoomMinArea: 0.5 });
    assert.notDeepEqual(zoomed.data, image.data);
  });
});
