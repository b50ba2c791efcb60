/** Real image files for the image tests, written by sharp (or by hand) into a fresh temp dir. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import sharp, { type Sharp } from 'sharp';

export type Rgb = readonly [number, number, number];

export interface TempDir {
  readonly path: (name: string) => string;
  readonly cleanup: () => Promise<void>;
}

export async function tempDir(): Promise<TempDir> {
  const dir = await mkdtemp(join(tmpdir(), 'vggkit-image-'));
  return {
    path: (name) => join(dir, name),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Row-major interleaved pixels from a colour function. */
export function pixels(
  width: number,
  height: number,
  channels: number,
  colour: (x: number, y: number) => readonly number[],
): Buffer {
  const data = Buffer.alloc(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const value = colour(x, y);
      for (let c = 0; c < channels; c++) data[(y * width + x) * channels + c] = value[c] as number;
    }
  }
  return data;
}

export function rawInput(
  data: Buffer | Uint16Array,
  width: number,
  height: number,
  channels: 1 | 2 | 3 | 4,
): Sharp {
  return sharp(data, { raw: { width, height, channels } });
}

export async function writeImage(path: string, image: Sharp): Promise<string> {
  await image.toFile(path);
  return path;
}

/** Pixel (x, y) of an HWC RGB buffer. */
export function at(data: Uint8Array, width: number, x: number, y: number): Rgb {
  const i = (y * width + x) * 3;
  return [data[i] as number, data[i + 1] as number, data[i + 2] as number];
}

export function near(actual: Rgb, expected: readonly number[], tolerance: number): boolean {
  return actual.every((v, c) => Math.abs(v - (expected[c] as number)) <= tolerance);
}

/**
 * An uncompressed CMYK (Photometric = Separated) TIFF, written byte by byte so the CMYK decode
 * is tested on a file sharp did not produce.
 */
export async function writeCmykTiff(
  path: string,
  width: number,
  height: number,
  cmyk: Buffer,
): Promise<string> {
  const entries: [tag: number, type: number, count: number, value: number][] = [];
  const headerSize = 8;
  const bitsOffset = headerSize;
  const dataOffset = bitsOffset + 8;
  const ifdOffset = dataOffset + cmyk.length + (cmyk.length % 2);
  const SHORT = 3;
  const LONG = 4;
  entries.push([256, LONG, 1, width]); // ImageWidth
  entries.push([257, LONG, 1, height]); // ImageLength
  entries.push([258, SHORT, 4, bitsOffset]); // BitsPerSample 8,8,8,8 (stored out of line)
  entries.push([259, SHORT, 1, 1]); // Compression: none
  entries.push([262, SHORT, 1, 5]); // Photometric: separated (CMYK)
  entries.push([273, LONG, 1, dataOffset]); // StripOffsets
  entries.push([277, SHORT, 1, 4]); // SamplesPerPixel
  entries.push([278, LONG, 1, height]); // RowsPerStrip
  entries.push([279, LONG, 1, cmyk.length]); // StripByteCounts
  entries.push([284, SHORT, 1, 1]); // PlanarConfiguration: chunky
  entries.push([332, SHORT, 1, 1]); // InkSet: CMYK
  const file = Buffer.alloc(ifdOffset + 2 + entries.length * 12 + 4);
  file.write('II', 0, 'latin1');
  file.writeUInt16LE(42, 2);
  file.writeUInt32LE(ifdOffset, 4);
  for (let i = 0; i < 4; i++) file.writeUInt16LE(8, bitsOffset + 2 * i);
  cmyk.copy(file, dataOffset);
  file.writeUInt16LE(entries.length, ifdOffset);
  entries.forEach(([tag, type, count, value], i) => {
    const at = ifdOffset + 2 + i * 12;
    file.writeUInt16LE(tag, at);
    file.writeUInt16LE(type, at + 2);
    file.writeUInt32LE(count, at + 4);
    if (type === SHORT && count === 1) file.writeUInt16LE(value, at + 8);
    else file.writeUInt32LE(value, at + 8);
  });
  await writeFile(path, file);
  return path;
}

/**
 * A decompression bomb's opening: a PNG whose IHDR declares width x height, followed by one IDAT
 * holding just the first row, and no end. The header is valid; the pixels are not there.
 */
export async function writePngHeaderOnly(
  path: string,
  width: number,
  height: number,
): Promise<string> {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type RGB
  const firstRow = deflateSync(Buffer.alloc(1 + width * 3));
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  await writeFile(
    path,
    Buffer.concat([signature, pngChunk('IHDR', ihdr), pngChunk('IDAT', firstRow)]),
  );
  return path;
}

function pngChunk(type: string, body: Buffer): Buffer {
  const chunk = Buffer.alloc(12 + body.length);
  chunk.writeUInt32BE(body.length, 0);
  chunk.write(type, 4, 'latin1');
  body.copy(chunk, 8);
  chunk.writeUInt32BE(crc32(chunk.subarray(4, 8 + body.length)), 8 + body.length);
  return chunk;
}
