/**
 * Sessions for model files (a model folder's model.onnx) that skip ONNX Runtime's graph
 * optimisation and weight pre-packing after the first time. The first session saves ORT's
 * optimised graph (`optimizedModelFilePath`: layouts transformed for this CPU, Conv+Relu fused,
 * constants folded) with its pre-packed weights as external data
 * (`session.save_external_prepacked_constant_initializers`); later sessions load those files with
 * optimisation disabled. Measured on a 224x224 VGG16 folder: session creation 5-6x faster than
 * from model.onnx, 3-4x faster than from the optimised graph without its packed weights
 * (bench/startup.ts measures the whole command).
 *
 * One entry per model file, `<cacheDir>/optimized/<sha256 of its absolute path>/` holding
 * `model.onnx`, `model.data` and `stamp.json`: what the saved graph depends on — the file's size,
 * mtime and inode (a new model.onnx, which training writes atomically, changes them), the ONNX
 * Runtime version and the CPU's features (the optimised graph is specific to the machine it was
 * made on). A stale or unreadable entry is rebuilt; a cache that cannot be written only costs the
 * speed-up. An entry is written in a temporary directory and renamed into place, so a reader never
 * sees half of one; making one also removes the entries of model files that no longer exist.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { writeJsonAtomic } from '../util/atomic.js';
import { cpuFlags } from './cpu.js';
import { Session, type SessionOptions } from './session.js';

const GRAPH = 'model.onnx';
const DATA = 'model.data';
const STAMP = 'stamp.json';

interface Stamp {
  readonly file: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: number;
  readonly ort: string;
  readonly arch: string;
  readonly cpu: string;
}

export interface CachedSession {
  readonly session: Session;
  /** Whether ORT's saved graph was used (false: optimised now, and saved for next time). */
  readonly hit: boolean;
}

export async function sessionForModelFile(
  file: string,
  options: SessionOptions & {
    readonly cacheDir: string;
    /** The file's bytes when the caller has read them already. */
    readonly model?: Uint8Array;
  },
): Promise<CachedSession> {
  const { cacheDir, model, ...sessionOptions } = options;
  const path = resolve(file);
  const info = await stat(path);
  const stamp: Stamp = {
    file: path,
    size: info.size,
    mtimeMs: info.mtimeMs,
    ino: info.ino,
    ort: ort.env.versions.node ?? 'unknown',
    arch: process.arch,
    cpu: Object.entries(cpuFlags())
      .filter(([, on]) => on)
      .map(([flag]) => flag)
      .join(' '),
  };
  const entry = join(cacheDir, 'optimized', createHash('sha256').update(path).digest('hex'));

  if (sameStamp(await readJson(join(entry, STAMP)), stamp)) {
    try {
      return {
        session: await Session.create(join(entry, GRAPH), {
          ...sessionOptions,
          optimization: 'disabled',
        }),
        hit: true,
      };
    } catch {
      // A damaged entry: optimise again below and replace it.
    }
  }

  const temporary = `${entry}.${process.pid}.tmp`;
  const writable = await mkdir(temporary, { recursive: true }).then(
    () => true,
    () => false,
  );
  const session = await Session.create(model ?? (await readFile(path)), {
    ...sessionOptions,
    ...(writable
      ? {
          optimizedModelFilePath: join(temporary, GRAPH),
          quiet: true,
          config: {
            ...sessionOptions.config,
            'session.save_external_prepacked_constant_initializers': '1',
            'session.optimized_model_external_initializers_file_name': DATA,
          },
        }
      : {}),
  });
  if (writable) {
    try {
      await writeJsonAtomic(join(temporary, STAMP), stamp);
      await rm(entry, { recursive: true, force: true });
      await rename(temporary, entry);
    } catch {
      // Another process renamed its entry first, or the cache is read-only: keep theirs.
      await rm(temporary, { recursive: true, force: true });
    }
    await pruneOrphans(join(cacheDir, 'optimized'));
  }
  return { session, hit: false };
}

/** Entries whose model file is gone (a deleted run folder) are removed when a new one is made. */
async function pruneOrphans(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    if (name.endsWith('.tmp')) continue;
    const found = (await readJson(join(dir, name, STAMP))) as { file?: unknown } | undefined;
    if (typeof found?.file !== 'string') continue;
    const exists = await stat(found.file).then(
      () => true,
      () => false,
    );
    if (!exists) await rm(join(dir, name), { recursive: true, force: true });
  }
}

async function readJson(file: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as unknown;
  } catch {
    return undefined;
  }
}

function sameStamp(found: unknown, want: Stamp): boolean {
  if (found === null || typeof found !== 'object') return false;
  const f = found as Record<string, unknown>;
  return (Object.keys(want) as (keyof Stamp)[]).every((k) => f[k] === want[k]);
}
