/**
 * NumPy .npy files (format versions 1, 2 and 3, C order): enough to read a batch a user saved
 * with `np.save` and to write the features `vggkit extract` produces.
 * Spec: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
 */
import { readFile } from 'node:fs/promises';
import { NpyRowWriter } from './npy-writer.js';
import { unreadableInput, type VggkitError } from '../util/errors.js';
import { sizeOf } from '../util/tensor.js';

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

export type NpyDtype = 'float32' | 'float64' | 'uint8';

export interface NpyArray {
  readonly dims: readonly number[];
  readonly dtype: NpyDtype;
  readonly data: Float32Array | Float64Array | Uint8Array;
}

const DESCRS: Record<string, NpyDtype> = {
  '<f4': 'float32',
  '<f8': 'float64',
  '|u1': 'uint8',
  '<u1': 'uint8',
};

function npyError(file: string, message: string): VggkitError {
  return unreadableInput('BAD_NPY', `${file}: ${message}`, { file });
}

export function parseNpy(bytes: Uint8Array, file = '<buffer>'): NpyArray {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 10 || !buf.subarray(0, 6).equals(MAGIC))
    throw npyError(file, 'expected a NumPy .npy file (magic \\x93NUMPY), received something else');
  const major = buf[6];
  if (major !== 1 && major !== 2 && major !== 3)
    throw npyError(file, `expected .npy format version 1, 2 or 3, received ${major}`);
  const headerLength = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const headerStart = major === 1 ? 10 : 12;
  const dataStart = headerStart + headerLength;
  if (dataStart > buf.length)
    throw npyError(file, `header claims ${headerLength} bytes but the file has ${buf.length}`);
  const header = buf.toString(major === 3 ? 'utf8' : 'latin1', headerStart, dataStart);
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined)
    throw npyError(file, `unreadable header ${JSON.stringify(header.trim())}`);
  const dtype = DESCRS[descr];
  if (dtype === undefined)
    throw npyError(
      file,
      `expected dtype float32, float64 or uint8 (little-endian), received '${descr}'`,
    );
  if (fortran === 'True')
    throw npyError(
      file,
      'expected C order, received fortran_order=True (save with np.ascontiguousarray)',
    );
  const dims = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  if (dims.some((d) => !Number.isInteger(d) || d < 0))
    throw npyError(file, `bad shape (${shapeText})`);
  const count = sizeOf(dims);
  const itemSize = dtype === 'float64' ? 8 : dtype === 'float32' ? 4 : 1;
  const byteLength = count * itemSize;
  if (buf.length - dataStart < byteLength) {
    throw npyError(
      file,
      `expected ${byteLength} data bytes for shape (${dims.join(', ')}), received ${buf.length - dataStart} (truncated?)`,
    );
  }
  // Copy into a fresh, aligned buffer: the data offset need not be a multiple of the item size.
  const raw = new Uint8Array(byteLength);
  raw.set(buf.subarray(dataStart, dataStart + byteLength));
  const data =
    dtype === 'float64'
      ? new Float64Array(raw.buffer)
      : dtype === 'float32'
        ? new Float32Array(raw.buffer)
        : raw;
  return { dims, dtype, data };
}

export async function readNpy(file: string): Promise<NpyArray> {
  const bytes = await readFile(file).catch((cause: unknown) => {
    throw unreadableInput('NOT_FOUND', `${file}: cannot read (${(cause as Error).message})`, {
      file,
      cause,
    });
  });
  return parseNpy(bytes, file);
}

/** Writes a whole float32 array as .npy, through the same writer `extract` streams rows with. */
export async function writeNpyFloat32(
  file: string,
  dims: readonly number[],
  data: Float32Array,
): Promise<void> {
  if (dims.length === 0 || sizeOf(dims) !== data.length)
    throw new RangeError(
      `npy: shape (${dims.join(', ')}) needs ${sizeOf(dims)} values, received ${data.length}`,
    );
  const writer = await NpyRowWriter.create(file, dims.slice(1));
  try {
    await writer.append(data);
    await writer.close();
  } catch (error) {
    await writer.abort();
    throw error;
  }
}
