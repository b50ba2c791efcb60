/**
 * Opening HDF5 files through h5wasm with errors a person can read. By default HDF5 prints its error
 * stack to stderr and h5wasm hands back an unusable handle; vggkit switches h5wasm to throwing, and
 * turns the throw into a VggkitError naming the file and HDF5's most specific reason.
 */
import { stat } from 'node:fs/promises';
import h5wasm, { Module } from 'h5wasm/node';
import { VggkitError } from '../util/errors.js';

export type H5File = InstanceType<typeof h5wasm.File>;
export type H5Group = InstanceType<typeof h5wasm.Group>;
export type H5Dataset = InstanceType<typeof h5wasm.Dataset>;

export function isGroup(entity: unknown): entity is H5Group {
  return entity instanceof h5wasm.Group;
}

export function isDataset(entity: unknown): entity is H5Dataset {
  return entity instanceof h5wasm.Dataset;
}

/** A weights dataset's values as float32 (float64 files are narrowed), or undefined for any other dtype. */
export function float32Values(dataset: H5Dataset): Float32Array | undefined {
  const value = dataset.value;
  if (value instanceof Float32Array) return value;
  if (value instanceof Float64Array) return Float32Array.from(value);
  return undefined;
}

/** `group/a/b/name`: creates the intermediate groups h5wasm would not create on its own. */
export function ensureParentGroups(group: H5Group, path: string): void {
  const parts = path.split('/').slice(0, -1);
  let current = group;
  for (const part of parts) {
    const next = current.get(part);
    current = isGroup(next) ? next : current.create_group(part);
  }
}

let initialised: Promise<void> | undefined;

function ready(): Promise<void> {
  initialised ??= h5wasm.ready.then(() => {
    Module.activate_throwing_error_handler();
  });
  return initialised;
}

export async function openH5(file: string, mode: 'r' | 'w'): Promise<H5File> {
  await ready();
  if (mode === 'r') {
    const info = await stat(file).catch(() => undefined);
    if (info === undefined || !info.isFile())
      throw new VggkitError('WEIGHTS_NOT_FOUND', `${file}: no such weights file`, { file });
  }
  try {
    return new h5wasm.File(file, mode);
  } catch (error) {
    throw corrupt(
      file,
      mode === 'r' ? 'not a readable HDF5 file' : 'cannot create the HDF5 file',
      error,
    );
  }
}

/** WEIGHTS_CORRUPT with HDF5's innermost message ("truncated file: eof = ...") when there is one. */
export function corrupt(file: string, what: string, cause: unknown): VggkitError {
  const reason = hdf5Reason(cause);
  return new VggkitError(
    'WEIGHTS_CORRUPT',
    `${file}: ${what}${reason === '' ? '' : ` (${reason})`}; the file is damaged or truncated, download or save it again`,
    {
      file,
      cause,
    },
  );
}

function hdf5Reason(cause: unknown): string {
  const text = cause instanceof Error ? cause.message : String(cause);
  // HDF5 stacks read "#003: <source> line N in FUNC(): message"; the last frame is the root cause.
  const frames = [...text.matchAll(/#\d+: .*? in [^(]+\(\): (.*)/g)].map((match) =>
    (match[1] ?? '').trim(),
  );
  return frames.at(-1) ?? text.split('\n')[0]?.trim() ?? '';
}
