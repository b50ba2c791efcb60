/**
 * safetensors files: 8-byte little-endian header length, a JSON header
 * `{name: {dtype, shape, data_offsets: [begin, end]}}` (offsets relative to the data section), then
 * raw little-endian tensor bytes. The format is small enough that a strict parser here beats a
 * dependency; every offset is checked against the file size so a truncated file is an error, not
 * zeros. Tensors are read one at a time straight into their Float32Array, so memory stays at one
 * copy of the weights.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { endianness } from 'node:os';
import { writeAtomic, type AtomicWriteOptions } from '../util/atomic.js';
import { VggkitError } from '../util/errors.js';
import { type Float32Tensor, sizeOf, tensor } from '../util/tensor.js';

const DTYPE_BYTES = { F32: 4, F16: 2, BF16: 2, F64: 8 } as const;
type Dtype = keyof typeof DTYPE_BYTES;
/** Headers of real checkpoints are kilobytes; a huge length means the first 8 bytes are not a header. */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export interface SafetensorsEntry {
  readonly dtype: Dtype;
  readonly shape: readonly number[];
  /** Absolute byte range in the file. */
  readonly begin: number;
  readonly end: number;
}

export class SafetensorsFile {
  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    readonly entries: ReadonlyMap<string, SafetensorsEntry>,
    /** The header's `__metadata__` strings. */
    readonly metadata: Record<string, string>,
  ) {}

  static async open(path: string): Promise<SafetensorsFile> {
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (error) {
      throw new VggkitError(
        'WEIGHTS_NOT_FOUND',
        `${path}: cannot open weights file (${(error as Error).message})`,
        { file: path, cause: error },
      );
    }
    try {
      const { entries, metadata } = await readHeader(path, handle);
      return new SafetensorsFile(path, handle, entries, metadata);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  async close(): Promise<void> {
    await this.handle.close();
  }

  /** The tensor as float32 (F16, BF16 and F64 converted). */
  async read(name: string): Promise<Float32Tensor> {
    const entry = this.entries.get(name);
    if (entry === undefined)
      throw new VggkitError('WEIGHTS_FORMAT', `${this.path}: no tensor named ${name}`, {
        file: this.path,
      });
    const raw = new Uint8Array(entry.end - entry.begin);
    const { bytesRead } = await this.handle.read(raw, 0, raw.length, entry.begin);
    if (bytesRead !== raw.length)
      throw corrupt(
        this.path,
        `tensor ${name}: expected ${raw.length} bytes, received ${bytesRead}`,
      );
    return tensor(entry.shape, toFloat32(raw, entry.dtype));
  }
}

async function readHeader(
  path: string,
  handle: FileHandle,
): Promise<{ entries: Map<string, SafetensorsEntry>; metadata: Record<string, string> }> {
  const size = (await handle.stat()).size;
  if (size < 8) throw corrupt(path, `expected at least 8 bytes (header length), received ${size}`);
  const prefix = Buffer.alloc(8);
  await handle.read(prefix, 0, 8, 0);
  const headerBytes = Number(prefix.readBigUInt64LE(0));
  if (headerBytes > MAX_HEADER_BYTES || 8 + headerBytes > size) {
    throw corrupt(path, `header length ${headerBytes} does not fit in a ${size}-byte file`);
  }
  const text = Buffer.alloc(headerBytes);
  await handle.read(text, 0, headerBytes, 8);
  let header: unknown;
  try {
    header = JSON.parse(text.toString('utf8'));
  } catch (error) {
    throw corrupt(path, `header is not valid JSON (${(error as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    throw corrupt(path, 'header is not a JSON object');
  const dataStart = 8 + headerBytes;
  const entries = new Map<string, SafetensorsEntry>();
  const metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (typeof value === 'object' && value !== null) {
        for (const [k, v] of Object.entries(value)) if (typeof v === 'string') metadata[k] = v;
      }
      continue;
    }
    entries.set(name, parseEntry(path, name, value, dataStart, size));
  }
  return { entries, metadata };
}

function parseEntry(
  path: string,
  name: string,
  value: unknown,
  dataStart: number,
  size: number,
): SafetensorsEntry {
  const bad = (what: string): VggkitError => corrupt(path, `tensor ${name}: ${what}`);
  if (typeof value !== 'object' || value === null) throw bad('header entry is not an object');
  const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
  if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES)) {
    throw new VggkitError(
      'WEIGHTS_FORMAT',
      `${path}: tensor ${name}: expected dtype F32, F16, BF16 or F64, received ${String(dtype)}`,
      { file: path },
    );
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0))
    throw bad(`invalid shape ${JSON.stringify(shape)}`);
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)
  ) {
    throw bad(`invalid data_offsets ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  const expectedBytes = sizeOf(shape as number[]) * DTYPE_BYTES[dtype as Dtype];
  if (end - begin !== expectedBytes)
    throw bad(
      `shape [${shape.join(', ')}] ${dtype} needs ${expectedBytes} bytes, data_offsets give ${end - begin}`,
    );
  if (dataStart + end > size)
    throw bad(
      `data ends at byte ${dataStart + end}, but the file has only ${size} bytes (truncated)`,
    );
  return {
    dtype: dtype as Dtype,
    shape: shape as number[],
    begin: dataStart + begin,
    end: dataStart + end,
  };
}

const LITTLE_ENDIAN_HOST = endianness() === 'LE';

function toFloat32(raw: Uint8Array, dtype: Dtype): Float32Array {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const n = raw.byteLength / DTYPE_BYTES[dtype];
  if (dtype === 'F32' && LITTLE_ENDIAN_HOST && raw.byteOffset === 0)
    return new Float32Array(raw.buffer, 0, n);
  const out = new Float32Array(n);
  switch (dtype) {
    case 'F32':
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
      break;
    case 'F64':
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(8 * i, true);
      break;
    case 'BF16': {
      // bfloat16 is the top half of a float32.
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) bits[i] = view.getUint16(2 * i, true) << 16;
      break;
    }
    case 'F16':
      for (let i = 0; i < n; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
      break;
  }
  return out;
}

function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

export function corrupt(path: string, what: string): VggkitError {
  return new VggkitError(
    'WEIGHTS_CORRUPT',
    `${path}: ${what}; the file is damaged or truncated, download or save it again`,
    { file: path },
  );
}

/**
 * Writes float32 tensors as a safetensors file (8-byte little-endian header length, JSON header
 * with `__metadata__` strings, raw little-endian data), atomically (util/atomic.ts). vggkit's
 * resume checkpoints use this format so they open with the same reader as downloaded weights.
 * The header goes first, then each tensor's bytes straight from its Float32Array: the file is
 * never assembled in memory, so saving a checkpoint (parameters and optimizer slots, 3x the
 * parameters for Adam) allocates no copy of it.
 */
export async function writeSafetensors(
  path: string,
  tensors: ReadonlyMap<string, Float32Tensor>,
  metadata: Readonly<Record<string, string>> = {},
  options: AtomicWriteOptions = {},
): Promise<void> {
  const header = safetensorsHeader(tensors, metadata);
  await writeAtomic(
    path,
    async (handle) => {
      // writeFile on an open handle continues at the current position and loops over short writes.
      await handle.writeFile(header);
      for (const t of tensors.values())
        await handle.writeFile(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    },
    options,
  );
}

/** The file's first bytes: the header length and the JSON header, padded so the data is 8-byte aligned. */
function safetensorsHeader(
  tensors: ReadonlyMap<string, Float32Tensor>,
  metadata: Readonly<Record<string, string>>,
): Buffer {
  if (!LITTLE_ENDIAN_HOST)
    throw new Error('writing safetensors needs a little-endian host (the data is written as is)');
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, t] of tensors) {
    header[name] = {
      dtype: 'F32',
      shape: [...t.dims],
      data_offsets: [offset, offset + t.data.byteLength],
    };
    offset += t.data.byteLength;
  }
  // Pad with spaces, as the reference writer does.
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const text = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + text.length);
  out.writeBigUInt64LE(BigInt(text.length), 0);
  text.copy(out, 8);
  return out;
}

/** Reads every tensor and the `__metadata__` strings of a safetensors file. */
export async function readSafetensors(
  path: string,
): Promise<{ tensors: Map<string, Float32Tensor>; metadata: Record<string, string> }> {
  const file = await SafetensorsFile.open(path);
  try {
    const tensors = new Map<string, Float32Tensor>();
    for (const name of file.entries.keys()) tensors.set(name, await file.read(name));
    return { tensors, metadata: file.metadata };
  } finally {
    await file.close();
  }
}
