import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { decodeImage, inspectImage } from '../../src/image/decode.js';
import {
  at,
  near,
  pixels,
  rawInput,
  tempDir,
  writeCmykTiff,
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

/** Alpha compositing written out: what flattening `rgb` with alpha `a` onto `bg` must give. */
function over(rgb: readonly number[], alpha: number, bg: readonly number[]): number[] {
  return rgb.map((v, c) => (v * alpha + (bg[c] as number) * (255 - alpha)) / 255);
}

describe('decodeImage: colour models -> 8-bit sRGB RGB', () => {
  it('grayscale is replicated to R=G=B', async () => {
    const file = await writeImage(
      dir.path('gray.png'),
      rawInput(Buffer.from([10, 200, 77, 0]), 2, 2, 1)
        .toColourspace('b-w')
        .png(),
    );
    assert.equal((await inspectImage(file)).channels, 1);
    const image = await decodeImage(file);
    assert.deepEqual([image.width, image.height], [2, 2]);
    assert.deepEqual([...image.data], [10, 10, 10, 200, 200, 200, 77, 77, 77, 0, 0, 0]);
  });

  it('grayscale + alpha is flattened on black by default and on a custom background', async () => {
    const file = await writeImage(
      dir.path('gray-alpha.png'),
      rawInput(Buffer.from([200, 128, 100, 255, 50, 0]), 3, 1, 2)
        .toColourspace('b-w')
        .png(),
    );
    const info = await inspectImage(file);
    assert.deepEqual([info.channels, info.hasAlpha], [2, true]);
    const onBlack = await decodeImage(file);
    const onPink = await decodeImage(file, { background: [255, 0, 100] });
    const cases: [number, number][] = [
      [200, 128],
      [100, 255],
      [50, 0],
    ];
    cases.forEach(([grey, alpha], x) => {
      assert.ok(
        near(at(onBlack.data, 3, x, 0), over([grey, grey, grey], alpha, [0, 0, 0]), 1),
        `black x=${x}: ${at(onBlack.data, 3, x, 0)}`,
      );
      assert.ok(
        near(at(onPink.data, 3, x, 0), over([grey, grey, grey], alpha, [255, 0, 100]), 1),
        `pink x=${x}: ${at(onPink.data, 3, x, 0)}`,
      );
    });
  });

  it('RGBA is flattened on black by default and on a custom background', async () => {
    const rgba = Buffer.from([200, 100, 50, 128, 10, 20, 30, 0, 1, 2, 3, 255]);
    const file = await writeImage(dir.path('rgba.png'), rawInput(rgba, 3, 1, 4).png());
    const onBlack = await decodeImage(file);
    const onWhite = await decodeImage(file, { background: [255, 255, 255] });
    for (let x = 0; x < 3; x++) {
      const rgb = [...rgba.subarray(x * 4, x * 4 + 3)];
      const alpha = rgba[x * 4 + 3] as number;
      assert.ok(near(at(onBlack.data, 3, x, 0), over(rgb, alpha, [0, 0, 0]), 1), `black x=${x}`);
      assert.ok(
        near(at(onWhite.data, 3, x, 0), over(rgb, alpha, [255, 255, 255]), 1),
        `white x=${x}`,
      );
    }
  });

  it('palette PNG decodes to its palette colours', async () => {
    const colours: Rgb[] = [
      [255, 0, 0],
      [0, 255, 0],
      [0, 0, 255],
      [128, 128, 128],
    ];
    const file = await writeImage(
      dir.path('palette.png'),
      rawInput(
        pixels(4, 1, 3, (x) => colours[x] as Rgb),
        4,
        1,
        3,
      ).png({ palette: true, colours: 4, dither: 0 }),
    );
    assert.equal((await inspectImage(file)).isPalette, true);
    const image = await decodeImage(file);
    colours.forEach((colour, x) =>
      assert.ok(near(at(image.data, 4, x, 0), colour, 2), `x=${x}: ${at(image.data, 4, x, 0)}`),
    );
  });

  it('16-bit PNG is reduced to 8 bits (v / 257)', async () => {
    const values = new Uint16Array([25700, 0, 65535, 1000, 40000, 12850]);
    const file = await writeImage(
      dir.path('deep.png'),
      rawInput(values, 2, 1, 3).toColourspace('rgb16').png(),
    );
    assert.equal((await inspectImage(file)).depth, 'ushort');
    const image = await decodeImage(file);
    [...values].forEach((v, i) =>
      assert.ok(
        Math.abs((image.data[i] as number) - v / 257) <= 1,
        `value ${i}: ${image.data[i]} vs ${v / 257}`,
      ),
    );
  });

  it('CMYK TIFF (written by hand, no profile) converts through a CMYK profile to sRGB', async () => {
    // white, K100, C100, M100, Y100
    const cmyk = Buffer.from([0, 0, 0, 0, 0, 0, 0, 255, 255, 0, 0, 0, 0, 255, 0, 0, 0, 0, 255, 0]);
    const file = await writeCmykTiff(dir.path('cmyk.tif'), 5, 1, cmyk);
    assert.equal((await inspectImage(file)).space, 'cmyk');
    const image = await decodeImage(file);
    assert.equal(image.data.length, 15);
    const [white, black, cyan, magenta, yellow] = [0, 1, 2, 3, 4].map((x) =>
      at(image.data, 5, x, 0),
    ) as Rgb[];
    assert.ok(
      white.every((v) => v >= 240),
      `white ${white}`,
    );
    assert.ok(
      black.every((v) => v <= 70),
      `black ${black}`,
    );
    assert.ok(cyan[0] < 100 && cyan[1] > cyan[0] + 80 && cyan[2] > cyan[0] + 80, `cyan ${cyan}`);
    assert.ok(
      magenta[1] < 100 && magenta[0] > magenta[1] + 80 && magenta[2] > magenta[1] + 30,
      `magenta ${magenta}`,
    );
    assert.ok(
      yellow[2] < 100 && yellow[0] > yellow[2] + 80 && yellow[1] > yellow[2] + 80,
      `yellow ${yellow}`,
    );
  });

  it('CMYK JPEG decodes to sRGB with the colours where they were', async () => {
    const colours: Rgb[] = [
      [200, 60, 60],
      [60, 60, 200],
      [240, 240, 240],
    ];
    const source = pixels(24, 8, 3, (x) => colours[Math.floor(x / 8)] as Rgb);
    const file = await writeImage(
      dir.path('cmyk.jpg'),
      rawInput(source, 24, 8, 3).toColourspace('cmyk').jpeg({ quality: 95 }),
    );
    assert.equal((await inspectImage(file)).space, 'cmyk');
    const image = await decodeImage(file);
    const [red, blue, light] = [4, 12, 20].map((x) => at(image.data, 24, x, 4)) as Rgb[];
    assert.ok(red[0] > red[1] + 80 && red[0] > red[2] + 80, `red ${red}`);
    assert.ok(blue[2] > blue[0] + 60 && blue[2] > blue[1] + 60, `blue ${blue}`);
    assert.ok(
      light.every((v) => v > 200),
      `light ${light}`,
    );
  });
});

describe('decodeImage: formats', () => {
  // Four 8x8 blocks in a 16x16 image; lossy formats are checked at block centres with a tolerance.
  const blocks: Rgb[] = [
    [220, 30, 30],
    [30, 200, 40],
    [40, 50, 210],
    [240, 240, 60],
  ];
  const block = (x: number, y: number) => blocks[(y >= 8 ? 2 : 0) + (x >= 8 ? 1 : 0)] as Rgb;
  const source = pixels(16, 16, 3, block);
  const formats = [
    { name: 'png', ext: 'png', write: (s: ReturnType<typeof rawInput>) => s.png(), tolerance: 0 },
    {
      name: 'tiff',
      ext: 'tif',
      write: (s: ReturnType<typeof rawInput>) => s.tiff({ compression: 'lzw' }),
      tolerance: 0,
    },
    {
      name: 'gif',
      ext: 'gif',
      write: (s: ReturnType<typeof rawInput>) => s.gif({ dither: 0 }),
      tolerance: 0,
    },
    {
      name: 'webp lossless',
      ext: 'webp',
      write: (s: ReturnType<typeof rawInput>) => s.webp({ lossless: true }),
      tolerance: 0,
    },
    {
      name: 'webp lossy',
      ext: 'webp',
      write: (s: ReturnType<typeof rawInput>) => s.webp({ quality: 90 }),
      tolerance: 25,
    },
    {
      name: 'jpeg',
      ext: 'jpg',
      write: (s: ReturnType<typeof rawInput>) => s.jpeg({ quality: 95 }),
      tolerance: 12,
    },
    {
      name: 'avif',
      ext: 'avif',
      write: (s: ReturnType<typeof rawInput>) => s.avif({ quality: 90 }),
      tolerance: 25,
    },
  ];
  for (const format of formats) {
    it(`${format.name}`, async () => {
      const file = await writeImage(
        dir.path(`blocks-${format.name.replace(' ', '-')}.${format.ext}`),
        format.write(rawInput(source, 16, 16, 3)),
      );
      const image = await decodeImage(file);
      assert.deepEqual([image.width, image.height, image.data.length], [16, 16, 768]);
      for (const [x, y] of [
        [4, 4],
        [12, 4],
        [4, 12],
        [12, 12],
      ] as const) {
        assert.ok(
          near(at(image.data, 16, x, y), block(x, y), format.tolerance),
          `(${x},${y}): ${at(image.data, 16, x, y)} vs ${block(x, y)}`,
        );
      }
    });
  }

  it('animated GIF: the first frame only', async () => {
    // Two 8x4 frames stacked: red, then blue.
    const frames = pixels(8, 8, 3, (_x, y) => (y < 4 ? [255, 0, 0] : [0, 0, 255]));
    const file = await writeImage(
      dir.path('anim.gif'),
      sharp(frames, { raw: { width: 8, height: 8, channels: 3, pageHeight: 4 } }).gif(),
    );
    assert.equal((await sharp(file).metadata()).pages, 2);
    const image = await decodeImage(file);
    assert.deepEqual([image.width, image.height], [8, 4]);
    for (let y = 0; y < 4; y++) assert.deepEqual(at(image.data, 8, 3, y), [255, 0, 0]);
  });
});

describe('decodeImage: EXIF orientation', () => {
  // A 6x4 image, grey, with a red marked 2x2 top-left corner as stored.
  const W = 6;
  const H = 4;
  const source = pixels(W, H, 3, (x, y) => (x < 2 && y < 2 ? [255, 0, 0] : [90, 90, 90]));
  // Where the stored top-left corner must be displayed, per the EXIF definitions.
  const cases = [
    { orientation: 1, width: W, height: H, corner: 'top-left' },
    { orientation: 2, width: W, height: H, corner: 'top-right' },
    { orientation: 3, width: W, height: H, corner: 'bottom-right' },
    { orientation: 6, width: H, height: W, corner: 'top-right' },
    { orientation: 8, width: H, height: W, corner: 'bottom-left' },
  ] as const;
  for (const { orientation, width, height, corner } of cases) {
    for (const ext of ['png', 'jpg'] as const) {
      it(`orientation ${orientation} (${ext}): ${width}x${height}, marker at the ${corner}`, async () => {
        const base = rawInput(source, W, H, 3).withMetadata({ orientation });
        const file = await writeImage(
          dir.path(`orient-${orientation}.${ext}`),
          ext === 'png' ? base.png() : base.jpeg({ quality: 100, chromaSubsampling: '4:4:4' }),
        );
        const info = await inspectImage(file);
        assert.deepEqual([info.orientation, info.width, info.height], [orientation, width, height]);
        const image = await decodeImage(file);
        assert.deepEqual([image.width, image.height], [width, height]);
        const x = corner.endsWith('left') ? 0 : width - 1;
        const y = corner.startsWith('top') ? 0 : height - 1;
        const tolerance = ext === 'png' ? 0 : 40;
        assert.ok(
          near(at(image.data, width, x, y), [255, 0, 0], tolerance),
          `marker ${at(image.data, width, x, y)}`,
        );
        // The diagonally opposite corner is grey in every orientation.
        assert.ok(
          near(at(image.data, width, width - 1 - x, height - 1 - y), [90, 90, 90], tolerance),
        );
      });
    }
  }
});

describe('inspectImage', () => {
  it('reports the header without decoding', async () => {
    const file = await writeImage(
      dir.path('inspect.png'),
      rawInput(
        pixels(5, 3, 4, () => [1, 2, 3, 4]),
        5,
        3,
        4,
      ).png(),
    );
    const info = await inspectImage(file);
    assert.equal(info.format, 'png');
    assert.deepEqual(
      [info.width, info.height, info.channels, info.hasAlpha, info.isPalette, info.orientation],
      [5, 3, 4, true, false, 1],
    );
    assert.equal(info.space, 'srgb');
    assert.equal(info.depth, 'uchar');
    assert.equal(info.bitsPerSample, 8);
    assert.ok(info.bytes > 0);
  });
});
