/**
 * One pass over a class-folder dataset (and an optional validation folder): for each file, its
 * bytes' sha256 (exact duplicates), sharp's header metadata (format, colour space, depth, alpha,
 * palette, EXIF orientation, size) and a 9x8 thumbnail decoded from the whole image (a perceptual
 * hash for near duplicates, and proof that the image decodes to the end). Files are processed by a
 * small worker pool, so memory stays bounded by `concurrency` file buffers plus ~300 bytes a record.
 * A file that cannot be read becomes a record with an error code; the scan never throws for one.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import sharp from 'sharp';
import { hasImageExtension, listImageFiles } from '../data/files.js';
import { VggkitError } from '../util/errors.js';
import { dhashFromLuma, HASH_HEIGHT, HASH_WIDTH, pairsWithin, type PHash } from './dhash.js';

export type Split = 'train' | 'val';
export type ScanErrorCode = 'empty-file' | 'not-an-image' | 'corrupt-image';

export interface ImageRecord {
  readonly file: string;
  readonly split: Split;
  /** The class folder; undefined for an image lying directly in the dataset root. */
  readonly className: string | undefined;
  readonly bytes: number;
  readonly error?: { readonly code: ScanErrorCode; readonly message: string };
  readonly sha256?: string;
  readonly format?: string;
  /** Displayed size, after EXIF orientation. */
  readonly width?: number;
  readonly height?: number;
  readonly channels?: number;
  readonly space?: string;
  readonly depth?: string;
  readonly hasAlpha?: boolean;
  readonly isPalette?: boolean;
  readonly orientation?: number;
  readonly hash?: PHash;
  /** 9x8 RGB thumbnail (216 bytes): confirms near-duplicate candidates in colour. */
  readonly thumb?: Uint8Array;
  /** 16x16 grey thumbnail, zero mean and unit norm: confirms near-duplicate candidates in detail. */
  readonly signature?: Float32Array;
}

export interface SplitLayout {
  readonly root: string;
  /** Every class folder, sorted, including empty ones. */
  readonly classes: readonly string[];
  /** Files outside class folders, and files without an image extension inside them. */
  readonly strayFiles: readonly string[];
}

export interface DuplicateGroup {
  /** exact: identical bytes; near: perceptual hashes within NEAR_DUPLICATE_MAX_HAMMING. */
  readonly kind: 'exact' | 'near';
  readonly members: readonly ImageRecord[];
}

export interface DataScan {
  readonly train: SplitLayout;
  readonly val?: SplitLayout;
  readonly records: readonly ImageRecord[];
  readonly duplicates: readonly DuplicateGroup[];
}

/** dHash bits that may differ for a near duplicate: 4/64 survives re-encoding and resizing, not a different photo. */
export const NEAR_DUPLICATE_MAX_HAMMING = 4;
/** Mean absolute 9x8 RGB difference (0..255) confirming a hash match: rules out flat images of different colours. */
export const NEAR_DUPLICATE_MAX_COLOUR_DIFF = 12;
/**
 * Correlation of the 16x16 grey signatures confirming a hash match. Measured on Fashion-MNIST
 * (the hardest case: 28x28 plain garments that 9x8 hashes cannot tell apart): JPEG re-encodes,
 * resized and 10%-brightened copies correlate at >= 0.997, different garments at <= 0.992.
 */
export const NEAR_DUPLICATE_MIN_CORRELATION = 0.995;
const SIGNATURE_SIZE = 16;
/** Files decoded at once: enough to overlap I/O with libvips' decoding, small enough for 2 shared cores. */
export const SCAN_CONCURRENCY = 3;

export interface ScanOptions {
  readonly val?: string;
  readonly concurrency?: number;
  readonly onProgress?: (done: number, total: number) => void;
}

interface PendingFile {
  readonly file: string;
  readonly split: Split;
  readonly className: string | undefined;
}

async function layout(
  root: string,
  split: Split,
): Promise<{ layout: SplitLayout; files: PendingFile[] }> {
  const info = await stat(root).catch((cause: unknown) => {
    throw new VggkitError('NOT_FOUND', `${root}: no such directory`, { file: root, cause });
  });
  if (!info.isDirectory())
    throw new VggkitError(
      'NOT_A_DIRECTORY',
      `${root}: expected a folder with one sub-folder per class, received a file`,
      { file: root },
    );
  const entries = (await readdir(root, { withFileTypes: true })).filter(
    (e) => !e.name.startsWith('.'),
  );
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const classes: string[] = [];
  const strayFiles: string[] = [];
  const files: PendingFile[] = [];
  for (const entry of entries) {
    const path = join(root, entry.name);
    if (entry.isDirectory()) {
      classes.push(entry.name);
      for (const file of await listImageFiles([path]))
        files.push({ file, split, className: entry.name });
      const inside = await readdir(path, { recursive: true, withFileTypes: true });
      for (const f of inside) {
        const rel = relative(path, join(f.parentPath, f.name));
        if (
          f.isFile() &&
          !rel.split(sep).some((part) => part.startsWith('.')) &&
          !hasImageExtension(f.name)
        )
          strayFiles.push(join(path, rel));
      }
    } else if (entry.isFile()) {
      strayFiles.push(path);
      if (hasImageExtension(entry.name)) files.push({ file: path, split, className: undefined });
    }
  }
  strayFiles.sort();
  return { layout: { root, classes, strayFiles }, files };
}

const UNSUPPORTED = /unsupported image format|bad seek|not a known file format/i;

async function inspect(pending: PendingFile): Promise<ImageRecord> {
  const base = { file: pending.file, split: pending.split, className: pending.className };
  let bytes: Buffer;
  try {
    bytes = await readFile(pending.file);
  } catch (cause) {
    return {
      ...base,
      bytes: 0,
      error: { code: 'corrupt-image', message: `cannot read: ${(cause as Error).message}` },
    };
  }
  if (bytes.length === 0)
    return { ...base, bytes: 0, error: { code: 'empty-file', message: 'zero-byte file' } };
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const withHash = { ...base, bytes: bytes.length, sha256 };
  // 'truncated' makes libvips fail on a cut-off JPEG/PNG instead of padding it with grey.
  const image = sharp(bytes, { failOn: 'truncated', limitInputPixels: 100_000_000 });
  let meta: Awaited<ReturnType<typeof image.metadata>>;
  try {
    meta = await image.metadata();
  } catch (cause) {
    const message = (cause as Error).message;
    return {
      ...withHash,
      error: { code: UNSUPPORTED.test(message) ? 'not-an-image' : 'corrupt-image', message },
    };
  }
  const swapped = (meta.orientation ?? 1) >= 5;
  const header = {
    format: meta.format,
    width: swapped ? meta.height : meta.width,
    height: swapped ? meta.width : meta.height,
    channels: meta.channels,
    space: meta.space,
    depth: meta.depth,
    hasAlpha: meta.hasAlpha,
    isPalette: meta.isPalette,
    orientation: meta.orientation,
  };
  try {
    const thumb = await image
      .clone()
      .autoOrient()
      .flatten({ background: '#000000' })
      .toColourspace('srgb')
      .resize(HASH_WIDTH, HASH_HEIGHT, { fit: 'fill' })
      .raw({ depth: 'uchar' })
      .toBuffer();
    const luma = new Uint8Array(HASH_WIDTH * HASH_HEIGHT);
    for (let i = 0; i < luma.length; i++)
      luma[i] = Math.round(
        0.299 * thumb[i * 3] + 0.587 * thumb[i * 3 + 1] + 0.114 * thumb[i * 3 + 2],
      );
    const grey = await image
      .clone()
      .autoOrient()
      .flatten({ background: '#000000' })
      .greyscale()
      .resize(SIGNATURE_SIZE, SIGNATURE_SIZE, { fit: 'fill' })
      .raw({ depth: 'uchar' })
      .toBuffer();
    return {
      ...withHash,
      ...header,
      hash: dhashFromLuma(luma),
      thumb: new Uint8Array(thumb),
      signature: normalised(grey),
    };
  } catch (cause) {
    return {
      ...withHash,
      ...header,
      error: { code: 'corrupt-image', message: (cause as Error).message },
    };
  }
}

async function pool<T, R>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<R>,
  onDone: (n: number) => void,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]);
      onDone(++done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

/** Zero mean, unit norm, so the dot product of two signatures is their correlation. */
function normalised(grey: Uint8Array): Float32Array {
  let mean = 0;
  for (const v of grey) mean += v;
  mean /= grey.length;
  const out = new Float32Array(grey.length);
  let norm = 0;
  for (let i = 0; i < grey.length; i++) {
    out[i] = grey[i] - mean;
    norm += out[i] * out[i];
  }
  const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  for (let i = 0; i < out.length; i++) out[i] *= scale;
  return out;
}

/** Flat images have no detail to compare: two of them correlate only if both are flat. */
function correlation(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let flatA = true;
  let flatB = true;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    if (a[i] !== 0) flatA = false;
    if (b[i] !== 0) flatB = false;
  }
  return flatA && flatB ? 1 : dot;
}

function colourDiff(a: Uint8Array, b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / a.length;
}

/** Union-find over exact (same sha256) and confirmed near (hash + colour) pairs. */
export function findDuplicates(records: readonly ImageRecord[]): DuplicateGroup[] {
  const hashed = records.filter(
    (r) =>
      r.hash !== undefined &&
      r.thumb !== undefined &&
      r.signature !== undefined &&
      r.error === undefined,
  );
  const parent = hashed.map((_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) {
      parent[i] = parent[parent[i]];
      i = parent[i];
    }
    return i;
  };
  const union = (a: number, b: number): void => {
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent[Math.max(ra, rb)] = Math.min(ra, rb);
  };
  const bySha = new Map<string, number>();
  hashed.forEach((r, i) => {
    const first = bySha.get(r.sha256 as string);
    if (first === undefined) bySha.set(r.sha256 as string, i);
    else union(first, i);
  });
  for (const [i, j] of pairsWithin(
    hashed.map((r) => r.hash as PHash),
    NEAR_DUPLICATE_MAX_HAMMING,
  )) {
    if (
      colourDiff(hashed[i].thumb as Uint8Array, hashed[j].thumb as Uint8Array) <=
        NEAR_DUPLICATE_MAX_COLOUR_DIFF &&
      correlation(hashed[i].signature as Float32Array, hashed[j].signature as Float32Array) >=
        NEAR_DUPLICATE_MIN_CORRELATION
    )
      union(i, j);
  }
  const groups = new Map<number, ImageRecord[]>();
  hashed.forEach((r, i) => {
    const root = find(i);
    const group = groups.get(root);
    if (group === undefined) groups.set(root, [r]);
    else group.push(r);
  });
  return [...groups.values()]
    .filter((members) => members.length > 1)
    .map((members) => ({
      kind: members.every((m) => m.sha256 === members[0].sha256) ? 'exact' : 'near',
      members,
    }));
}

export async function scanDataset(dataDir: string, options: ScanOptions = {}): Promise<DataScan> {
  const train = await layout(dataDir, 'train');
  const val = options.val === undefined ? undefined : await layout(options.val, 'val');
  const pending = [...train.files, ...(val?.files ?? [])];
  const records = await pool(pending, options.concurrency ?? SCAN_CONCURRENCY, inspect, (n) =>
    options.onProgress?.(n, pending.length),
  );
  return { train: train.layout, val: val?.layout, records, duplicates: findDuplicates(records) };
}
