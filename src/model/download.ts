/**
 * Weights files in the local cache, downloaded at most once. A file is only ever used after its
 * checksum matched, and it only appears under its final name after that check (temp file in the
 * same directory + atomic rename), so an interrupted download never looks like a good file.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { VggkitError } from '../util/errors.js';
import type { Checksum, WeightsEntry } from './registry.js';

export interface DownloadOptions {
  /** Root of vggkit's cache; weights go to `<cacheDir>/weights/`. Default `$VGGKIT_HOME` or `~/.cache/vggkit`. */
  readonly cacheDir?: string;
  /** Never touch the network; a missing file is an OFFLINE error. */
  readonly offline?: boolean;
  /** `total` is undefined when the server sends no Content-Length or compresses the body. */
  readonly onProgress?: (received: number, total: number | undefined) => void;
}

export type DownloadableWeights = Pick<WeightsEntry, 'url' | 'checksum' | 'fileName'>;

export function defaultCacheDir(): string {
  const home = process.env['VGGKIT_HOME'];
  return home !== undefined && home !== '' ? home : join(homedir(), '.cache', 'vggkit');
}

export function weightsPath(
  entry: DownloadableWeights,
  cacheDir: string = defaultCacheDir(),
): string {
  return join(cacheDir, 'weights', entry.fileName);
}

/** The local path of `entry`'s file, downloading and verifying it first when needed. */
export async function ensureWeightsFile(
  entry: DownloadableWeights,
  options: DownloadOptions = {},
): Promise<string> {
  const target = weightsPath(entry, options.cacheDir ?? defaultCacheDir());
  const cached = await fileChecksum(target, entry.checksum.algorithm);
  if (cached === entry.checksum.hex) return target;
  if (options.offline === true) {
    const problem =
      cached === undefined
        ? 'is not in the cache'
        : `is in the cache with the wrong ${entry.checksum.algorithm} (expected ${entry.checksum.hex}, received ${cached})`;
    throw new VggkitError(
      'OFFLINE',
      `offline: weights file ${problem}; download ${entry.url} and place it at ${target}`,
      { file: target },
    );
  }
  await mkdir(join(target, '..'), { recursive: true });
  await download(entry, target, options.onProgress);
  return target;
}

async function download(
  entry: DownloadableWeights,
  target: string,
  onProgress: DownloadOptions['onProgress'],
): Promise<void> {
  const temp = `${target}.${process.pid}.${Date.now().toString(36)}.part`;
  try {
    const actual = await fetchToFile(entry, target, temp, onProgress);
    if (actual !== entry.checksum.hex) {
      throw new VggkitError(
        'CHECKSUM_MISMATCH',
        `${entry.url}: ${entry.checksum.algorithm} mismatch, expected ${entry.checksum.hex}, received ${actual}; the download was discarded`,
        { file: target },
      );
    }
    await rename(temp, target);
  } finally {
    // After a successful rename there is nothing left to remove; after any failure the partial file goes.
    await rm(temp, { force: true });
  }
}

/** Streams the body of `entry.url` to `path`, hashing as it goes; returns the hex digest. */
async function fetchToFile(
  entry: DownloadableWeights,
  target: string,
  path: string,
  onProgress: DownloadOptions['onProgress'],
): Promise<string> {
  const { url } = entry;
  const algorithm = entry.checksum.algorithm;
  // A machine without network needs to know where the file goes and what else it can pass.
  const failed = (reason: string, cause?: unknown): VggkitError =>
    new VggkitError(
      'DOWNLOAD_FAILED',
      `could not download weights from ${url}: ${reason}. Without network: download it on another machine and place it at ${target} (its ${algorithm} is checked), or pass other --weights (a local .h5 or .safetensors file, or none to start from random weights)`,
      { cause, file: target },
    );
  let response: Response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw failed(describeNetworkError(error), error);
  }
  if (!response.ok || response.body === null)
    throw failed(`HTTP ${response.status} ${response.statusText}`.trim());
  const length = Number(response.headers.get('content-length'));
  // fetch decodes a Content-Encoding (gzip, br), so the length then counts the wrong bytes.
  const encoding = response.headers.get('content-encoding') ?? 'identity';
  const total =
    encoding === 'identity' && Number.isFinite(length) && length > 0 ? length : undefined;
  const hash = createHash(algorithm);
  const handle = await open(path, 'w');
  let received = 0;
  try {
    for await (const chunk of response.body) {
      hash.update(chunk);
      await handle.write(chunk);
      received += chunk.byteLength;
      onProgress?.(received, total);
    }
  } catch (error) {
    throw failed(`connection lost after ${received} bytes (${describeNetworkError(error)})`, error);
  } finally {
    await handle.close();
  }
  if (total !== undefined && received !== total)
    throw failed(`expected ${total} bytes, received ${received}`);
  return hash.digest('hex');
}

function describeNetworkError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause;
  return cause instanceof Error ? `${error.message}: ${cause.message}` : error.message;
}

/** Hex digest of a file, or undefined when it does not exist. */
async function fileChecksum(
  path: string,
  algorithm: Checksum['algorithm'],
): Promise<string | undefined> {
  try {
    if (!(await stat(path)).isFile()) return undefined;
  } catch {
    return undefined;
  }
  const hash = createHash(algorithm);
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
