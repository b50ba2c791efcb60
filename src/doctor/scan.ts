/**
 * One pass over a class-folder dataset (and an optional validation folder), built on the trainer's
 * own walker (`scanClassFolders`: which folders are classes, which files are images, symlinks
 * followed, hidden entries skipped) and its own decoder (`openImage`: header checks, pixel limit,
 * failure codes), so the doctor and training can never disagree about which files exist or decode.
 * For each file: its bytes' sha256 (exact duplicates), the decoder's header facts (format, colour
 * space, depth, alpha, palette, EXIF orientation, size) and a 9x8 thumbnail decoded from the whole
 * image through the decoder's pipeline (a perceptual hash for near duplicates, and proof that the
 * image decodes to the end). Files are processed by a small worker pool, so memory stays bounded by
 * `concurrency` file buffers plus ~300 bytes a record. A file that cannot be decoded becomes a
 * record with the decoder's ImageErrorCode; the scan never throws for one.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { scanClassFolders } from '../data/dataset.js';
import { openImage, renderPipeline, type OpenedImage } from '../image/decode.js';
import { isImageError, type ImageErrorCode } from '../image/errors.js';
import { dhashFromLuma, HASH_HEIGHT, HASH_WIDTH, pairsWithin, type PHash } from './dhash.js';

export type Split = 'train' | 'val';

export interface ImageRecord {
  readonly file: string;
  readonly split: Split;
  /** The class folder; undefined for an image lying directly in the dataset root. */
  readonly className: string | undefined;
  readonly bytes: number;
  /** Why the trainer's decoder rejects the file: its code and reason. */
  readonly error?: { readonly code: ImageErrorCode; readonly message: string };
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
  /** Files outside class folders, and files without an image extension anywhere (hidden ones aside). */
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
  const scan = await scanClassFolders(root);
  const files: PendingFile[] = [
    ...scan.items.map((item) => ({
      file: item.file,
      split,
      className: scan.classNames[item.label],
    })),
    ...scan.strayFiles.map((file) => ({ file, split, className: undefined })),
  ];
  const strayFiles = [...scan.strayFiles, ...scan.ignoredFiles].sort();
  return { layout: { root, classes: scan.classNames, strayFiles }, files };
}

async function inspect(pending: PendingFile): Promise<ImageRecord> {
  const base = { file: pending.file, split: pending.split, className: pending.className };
  const failed = async (error: unknown): Promise<ImageRecord> => {
    if (!isImageError(error)) throw error;
    const bytes = await stat(pending.file).then(
      (info) => info.size,
      () => 0,
    );
    return { ...base, bytes, error: { code: error.code, message: error.reason } };
  };
  let image: OpenedImage;
  try {
    image = await openImage(pending.file);
  } catch (error) {
    return failed(error);
  }
  const { info, pipeline } = image;
  const header = {
    format: info.format,
    width: info.width,
    height: info.height,
    channels: info.channels,
    space: info.space,
    depth: info.depth,
    hasAlpha: info.hasAlpha,
    isPalette: info.isPalette,
    orientation: info.orientation,
  };
  const bytes = await readFile(pending.file);
  const withHash = {
    ...base,
    ...header,
    bytes: bytes.length,
    sha256: createHash('sha256').update(bytes).digest('hex'),
  };
  try {
    const thumb = await renderPipeline(
      pending.file,
      pipeline.clone().resize(HASH_WIDTH, HASH_HEIGHT, { fit: 'fill' }),
    );
    const luma = new Uint8Array(HASH_WIDTH * HASH_HEIGHT);
    for (let i = 0; i < luma.length; i++)
      luma[i] = Math.round(
        0.299 * thumb.data[i * 3] + 0.587 * thumb.data[i * 3 + 1] + 0.114 * thumb.data[i * 3 + 2],
      );
    const grey = await renderPipeline(
      pending.file,
      pipeline.clone().resize(SIGNATURE_SIZE, SIGNATURE_SIZE, { fit: 'fill' }).toColourspace('b-w'),
    );
    return {
      ...withHash,
      hash: dhashFromLuma(luma),
      thumb: new Uint8Array(thumb.data),
      signature: normalised(grey.data),
    };
  } catch (error) {
    if (!isImageError(error)) throw error;
    return { ...withHash, error: { code: error.code, message: error.reason } };
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
