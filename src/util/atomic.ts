/**
 * Atomic file writes: the data goes to a temporary file in the same directory (so the rename
 * cannot cross file systems), is fsynced, then renamed over the target. A reader, or a run resumed
 * after `kill -9`, sees either the old file or the new one, never half of one.
 *
 * The rename alone gives that: a killed process's writes are already in the page cache, which
 * outlives it. The fsyncs (of the file, then of its directory) add survival of an OS crash or
 * power loss. `durable: false` skips them, for files rewritten every epoch whose loss in a crash
 * costs only a retrain (a sweep trial's checkpoint: ~77 MB per epoch for the 224 flatten head).
 */
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

export interface AtomicWriteOptions {
  /** Fsync the file and its directory, so the write survives an OS crash (default true). */
  readonly durable?: boolean;
}

export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): Promise<void> {
  await writeAtomic(path, (handle) => handle.writeFile(data), options);
}

/**
 * The same guarantees for a file written piece by piece through `write` (a checkpoint streamed
 * tensor by tensor, never assembled in memory).
 */
export async function writeAtomic(
  path: string,
  write: (handle: FileHandle) => Promise<void>,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const durable = options.durable ?? true;
  const temp = join(
    dirname(path),
    `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`,
  );
  try {
    const handle = await open(temp, 'w');
    try {
      await write(handle);
      if (durable) await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  if (durable) await syncDirectory(dirname(path));
}

/** Pretty-printed JSON with a trailing newline, written atomically. */
export async function writeJsonAtomic(
  path: string,
  value: unknown,
  options: AtomicWriteOptions = {},
): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`, options);
}

/** Makes the rename itself durable; some platforms cannot open directories, which is harmless. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r').catch(() => undefined);
  if (handle === undefined) return;
  try {
    await handle.sync().catch(() => undefined);
  } finally {
    await handle.close();
  }
}
