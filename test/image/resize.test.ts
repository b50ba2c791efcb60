import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { makeContract, type Interpolation, type ResizeMode } from '../../src/image/contract.js';
import { loadImage } from '../../src/image/pipeline.js';
import {
  centerCropResizeSize,
  planResize,
  resizeImage,
  roundHalfEven,
} from '../../src/image/resize.js';
import {
  at,
  near,
  pixels,
  rawInput,
  tempDir,
  writeImage,
  type Rgb,
  type TempDir,
} from './fixtures.js';

let dir: TempDir;
before(async () => {
  dir = await tempDir();
});
after(async () => {
  await dir.cleanup();
});

const contract = (
  inputSize: number | [number, number],
  resize: ResizeMode,
  interpolation: Interpolation = 'bilinear',
) => makeContract({ mode: 'none', inputSize, resize, interpolation });

const RED: Rgb = [255, 0, 0];
const GREEN: Rgb = [0, 200, 0];
const BLUE: Rgb = [0, 0, 255];

describe('planResize', () => {
  it("center-crop follows torchvision's Resize(256) + CenterCrop(224) on a 500x375 image", () => {
    // Resize(256): short side 375 -> 256, long side int(256 * 500 / 375) = int(341.33) = 341.
    // CenterCrop(224): left = round((341 - 224) / 2) = round(58.5) = 58 (Python rounds half to even).
    assert.equal(centerCropResizeSize(224), 256);
    const plan = planResize(500, 375, contract(224, 'center-crop'));
    assert.deepEqual([plan.width, plan.height], [341, 256]);
    assert.deepEqual(plan.crop, { left: 58, top: 16, width: 224, height: 224 });
    const portrait = planResize(375, 500, contract(224, 'center-crop'));
    assert.deepEqual([portrait.width, portrait.height], [256, 341]);
    assert.deepEqual(portrait.crop, { left: 16, top: 58, width: 224, height: 224 });
  });

  it('pad keeps the aspect ratio and centres the image', () => {
    const plan = planResize(40, 20, contract(20, 'pad'));
    assert.deepEqual([plan.width, plan.height], [20, 10]);
    assert.deepEqual(plan.pad, { top: 5, bottom: 5, left: 0, right: 0 });
  });

  it('rounds halves to even like Python', () => {
    assert.deepEqual([0.5, 1.5, 2.5, 58.5, 2.4, 2.6].map(roundHalfEven), [0, 2, 2, 58, 2, 3]);
  });
});

describe('resize modes through loadImage', () => {
  // 400x200: a 60-pixel red margin on the left, blue on the right, green in between.
  const margins = pixels(400, 200, 3, (x) => (x < 60 ? RED : x >= 340 ? BLUE : GREEN));

  it('stretch resizes to exactly W x H (inputSize is [height, width]) and keeps the margins', async () => {
    const file = await writeImage(dir.path('margins.png'), rawInput(margins, 400, 200, 3).png());
    const image = await loadImage(file, contract([30, 50], 'stretch'));
    assert.deepEqual([image.width, image.height], [50, 30]);
    assert.ok(near(at(image.data, 50, 0, 15), RED, 2));
    assert.ok(near(at(image.data, 50, 49, 15), BLUE, 2));
  });

  it('center-crop keeps the centre and crops the margins away', async () => {
    const file = await writeImage(
      dir.path('margins-crop.png'),
      rawInput(margins, 400, 200, 3).png(),
    );
    const image = await loadImage(file, contract(100, 'center-crop'));
    assert.deepEqual([image.width, image.height], [100, 100]);
    for (let y = 0; y < 100; y += 11) {
      for (let x = 0; x < 100; x++)
        assert.ok(
          near(at(image.data, 100, x, y), GREEN, 2),
          `(${x},${y}) ${at(image.data, 100, x, y)}`,
        );
    }
  });

  it('pad letterboxes on the background colour, and transparent pixels take it too', async () => {
    // 40x20 green with a transparent 4x4 hole in the middle.
    const rgba = pixels(40, 20, 4, (x, y) =>
      x >= 18 && x < 22 && y >= 8 && y < 12 ? [0, 0, 0, 0] : [...GREEN, 255],
    );
    const file = await writeImage(dir.path('pad.png'), rawInput(rgba, 40, 20, 4).png());
    const magenta: Rgb = [255, 0, 255];
    const image = await loadImage(file, contract(20, 'pad', 'nearest'), { background: magenta });
    assert.deepEqual([image.width, image.height], [20, 20]);
    for (let x = 0; x < 20; x++) {
      for (const y of [0, 4, 15, 19])
        assert.deepEqual(at(image.data, 20, x, y), magenta, `margin (${x},${y})`);
      for (const y of [5, 14])
        assert.deepEqual(at(image.data, 20, x, y), GREEN, `image (${x},${y})`);
    }
    assert.deepEqual(at(image.data, 20, 10, 10), magenta, 'the transparent hole');
  });

  it('nearest is exact: every output pixel is the source pixel under it', async () => {
    // 3x3 distinct colours upscaled x2, and 8x8 made of 2x2 blocks downscaled /2.
    const small = pixels(3, 3, 3, (x, y) => [x * 80, y * 80, 40 + x * 10 + y * 50]);
    const up = await loadImage(
      await writeImage(dir.path('small.png'), rawInput(small, 3, 3, 3).png()),
      contract(6, 'stretch', 'nearest'),
    );
    for (let y = 0; y < 6; y++) {
      for (let x = 0; x < 6; x++)
        assert.deepEqual(at(up.data, 6, x, y), at(small, 3, Math.floor(x / 2), Math.floor(y / 2)));
    }
    const blocks = pixels(8, 8, 3, (x, y) => [Math.floor(x / 2) * 60, Math.floor(y / 2) * 60, 7]);
    const down = await loadImage(
      await writeImage(dir.path('blocks.png'), rawInput(blocks, 8, 8, 3).png()),
      contract(4, 'stretch', 'nearest'),
    );
    for (let y = 0; y < 4; y++) {
      for (let x = 0; x < 4; x++) assert.deepEqual(at(down.data, 4, x, y), [x * 60, y * 60, 7]);
    }
  });

  it('upscaling (Pillow path) crops and pads the same way', async () => {
    // 20x10, red 3-pixel margin left, blue right; center-crop to 40: resized 92x46, crop from x=26.
    const small = pixels(20, 10, 3, (x) => (x < 3 ? RED : x >= 17 ? BLUE : GREEN));
    const file = await writeImage(dir.path('small-margins.png'), rawInput(small, 20, 10, 3).png());
    const cropped = await loadImage(file, contract(40, 'center-crop'));
    assert.deepEqual([cropped.width, cropped.height], [40, 40]);
    for (let x = 0; x < 40; x++)
      assert.ok(
        near(at(cropped.data, 40, x, 20), GREEN, 2),
        `(${x},20) ${at(cropped.data, 40, x, 20)}`,
      );
    const padded = await loadImage(file, contract(60, 'pad'), { background: [9, 9, 9] });
    // 20x10 -> 60x30, 15 rows of background above and below.
    assert.deepEqual([padded.width, padded.height], [60, 60]);
    assert.deepEqual(at(padded.data, 60, 30, 14), [9, 9, 9]);
    assert.deepEqual(at(padded.data, 60, 30, 45), [9, 9, 9]);
    assert.ok(
      near(at(padded.data, 60, 30, 15), GREEN, 2) && near(at(padded.data, 60, 30, 44), GREEN, 2),
    );
    assert.ok(
      near(at(padded.data, 60, 0, 30), RED, 2) && near(at(padded.data, 60, 59, 30), BLUE, 2),
    );
  });

  it('resizeImage applies the same plan to pixels in memory', async () => {
    const image = await resizeImage(
      { data: new Uint8Array(margins), width: 400, height: 200 },
      contract(100, 'center-crop'),
    );
    assert.deepEqual([image.width, image.height], [100, 100]);
    assert.ok(
      near(at(image.data, 100, 0, 50), GREEN, 2) && near(at(image.data, 100, 99, 50), GREEN, 2),
    );
  });
});

/**
 * PIL's Image.resize(BILINEAR), written from Pillow's Resample.c: a triangle filter whose support
 * widens with the reduction factor, pixel centres at +0.5, separable. Floats, rounded once.
 */
function pilBilinear(
  src: Uint8Array,
  width: number,
  height: number,
  outW: number,
  outH: number,
): Uint8Array {
  const weights = (inSize: number, outSize: number) => {
    const scale = inSize / outSize;
    const filterScale = Math.max(scale, 1);
    return Array.from({ length: outSize }, (_, o) => {
      const center = (o + 0.5) * scale;
      const min = Math.max(0, Math.trunc(center - filterScale + 0.5));
      const max = Math.min(inSize, Math.trunc(center + filterScale + 0.5));
      const taps: [number, number][] = [];
      for (let i = min; i < max; i++)
        taps.push([i, Math.max(0, 1 - Math.abs((i - center + 0.5) / filterScale))]);
      const total = taps.reduce((sum, [, w]) => sum + w, 0);
      return taps.map(([i, w]) => [i, w / total] as [number, number]);
    });
  };
  const wx = weights(width, outW);
  const wy = weights(height, outH);
  const horizontal = new Float64Array(height * outW * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < outW; x++) {
      for (const [i, w] of wx[x] as [number, number][]) {
        for (let c = 0; c < 3; c++)
          horizontal[(y * outW + x) * 3 + c] += w * (src[(y * width + i) * 3 + c] as number);
      }
    }
  }
  const out = new Uint8ClampedArray(outW * outH * 3);
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++) {
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        for (const [j, w] of wy[y] as [number, number][])
          sum += w * (horizontal[(j * outW + x) * 3 + c] as number);
        out[(y * outW + x) * 3 + c] = sum;
      }
    }
  }
  return new Uint8Array(out.buffer);
}

describe("bilinear is PIL's bilinear (what Keras load_img and torchvision use)", () => {
  // A smooth image with some structure: gradients plus a slow wave.
  const smooth = (w: number, h: number) =>
    pixels(w, h, 3, (x, y) => [
      Math.round((255 * x) / (w - 1)),
      Math.round((255 * y) / (h - 1)),
      Math.round(127 + 100 * Math.sin((x + y) / 4)),
    ]);
  const cases = [
    // Upscaling runs Pillow's algorithm: only rounding differs.
    {
      name: 'upscale 16x12 -> 40x30',
      w: 16,
      h: 12,
      outW: 40,
      outH: 30,
      tolerance: 1,
      meanTolerance: 0.5,
    },
    {
      name: 'upscale 7x5 -> 224x224',
      w: 7,
      h: 5,
      outW: 224,
      outH: 224,
      tolerance: 1,
      meanTolerance: 0.5,
    },
    // Downscaling runs libvips (box pre-shrink, then the triangle filter): close, not identical.
    {
      name: 'downscale 64x48 -> 24x18 (factor 2.67)',
      w: 64,
      h: 48,
      outW: 24,
      outH: 18,
      tolerance: 8,
      meanTolerance: 1.5,
    },
  ];
  for (const { name, w, h, outW, outH, tolerance, meanTolerance } of cases) {
    it(`${name}: within ${tolerance} levels everywhere, ${meanTolerance} on average`, async () => {
      const source = smooth(w, h);
      const file = await writeImage(dir.path(`smooth-${w}.png`), rawInput(source, w, h, 3).png());
      const image = await loadImage(file, contract([outH, outW], 'stretch', 'bilinear'));
      const expected = pilBilinear(source, w, h, outW, outH);
      let worst = 0;
      let sum = 0;
      for (let i = 0; i < expected.length; i++) {
        const diff = Math.abs((image.data[i] as number) - (expected[i] as number));
        worst = Math.max(worst, diff);
        sum += diff;
      }
      const mean = sum / expected.length;
      assert.ok(
        worst <= tolerance && mean <= meanTolerance,
        `max difference ${worst}, mean ${mean.toFixed(3)}`,
      );
    });
  }
});

describe("upscaling gives Pillow's bytes (fixed point, 8-bit between the passes)", () => {
  it('bilinear 2x1 -> 4x1 rounds halves up, as Pillow does', async () => {
    // Pillow's taps for 2 -> 4: out0 = a, out1 = 0.75a + 0.25b, out2 = 0.25a + 0.75b, out3 = b,
    // each plus half a unit and truncated: 2.5 -> 3 and 1.5 -> 2 (not half-to-even 2 and 2).
    const source = Buffer.from([1, 3, 0, 3, 1, 255]);
    const file = await writeImage(dir.path('halves.png'), rawInput(source, 2, 1, 3).png());
    const image = await loadImage(file, contract([1, 4], 'stretch', 'bilinear'));
    assert.deepEqual([...image.data], [1, 3, 0, 2, 3, 64, 3, 2, 191, 3, 1, 255]);
  });

  it('bicubic clips the horizontal pass to 0..255 before the vertical pass', async () => {
    // Row 0 is a 0 -> 255 step, row 1 black; 4x2 -> 8x4. Horizontally, output x = 5 takes input
    // pixels 1..3 with Keys weights (-0.0703, 0.8672, 0.2266) / 1.0234: 272.5, which Pillow stores
    // as 255. Vertically, output y = 1 takes rows 0..1 with (0.8672, 0.2266) / 1.0938, so Pillow
    // gives floor(255 * 3325484 / 2^22 + 0.5) = 202; without the clip it would be 216.
    const source = Buffer.alloc(4 * 2 * 3);
    for (let x = 2; x < 4; x++) source.fill(255, x * 3, x * 3 + 3);
    const file = await writeImage(dir.path('step.png'), rawInput(source, 4, 2, 3).png());
    const image = await loadImage(file, contract([4, 8], 'stretch', 'bicubic'));
    assert.deepEqual(at(image.data, 8, 5, 1), [202, 202, 202]);
    assert.deepEqual(at(image.data, 8, 5, 0), [255, 255, 255]);
  });
});
