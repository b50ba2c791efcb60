/**
 * A .npy file written row by row, for outputs too large to hold in memory (`vggkit extract` over a
 * big folder). The header is written with a fixed, generous length first, rows are appended as
 * they arrive, and `close` rewrites the header with the final row count — same length, so no data
 * moves. The file is written under a temporary name and renamed when complete, so an interrupted
 * run never leaves a valid-looking `features.npy` with missing rows.
 */
import { type FileHandle, open, rename, rm } from 'node:fs/promises';
import { sizeOf } from '../util/tensor.js';

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY
/** Magic, version and header length take 10 bytes; 128 keeps the data 64-byte aligned as numpy does. */
const HEADER_BYTES = 128;

function header(dims: readonly number[]): Buffer {
  const shape = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`;
  const textLength = HEADER_BYTES - 10;
  if (dict.length + 1 > textLength)
    throw new RangeError(
      `npy: shape (${dims.join(', ')}) does not fit a ${HEADER_BYTES}-byte header`,
    );
  const out = Buffer.alloc(HEADER_BYTES, 0x20);
  MAGIC.copy(out, 0);
  out[6] = 1;
  out[7] = 0;
  out.writeUInt16LE(textLength, 8);
  out.write(dict, 10, 'latin1');
  out[HEADER_BYTES - 1] = 0x0a;
  return out;
}

export class NpyRowWriter {
  private count = 0;
  private position = HEADER_BYTES;

  private constructor(
    readonly file: string,
    private readonly temp: string,
    private readonly rowShape: readonly number[],
    private readonly handle: FileHandle,
  ) {}

  /** Starts `file` (float32, shape [rows, ...rowShape]); nothing appears under `file` until `close`. */
  static async create(file: string, rowShape: readonly number[]): Promise<NpyRowWriter> {
    const temp = `${file}.partial`;
    const handle = await open(temp, 'w');
    await handle.write(header([0, ...rowShape]), 0, HEADER_BYTES, 0);
    return new NpyRowWriter(file, temp, rowShape, handle);
  }

  get rows(): number {
    return this.count;
  }

  /** Appends whole rows; `data.length` must be a multiple of the row size. */
  async append(data: Float32Array): Promise<void> {
    const rowSize = sizeOf(this.rowShape);
    if (data.length % rowSize !== 0)
      throw new RangeError(`npy: ${data.length} values are not whole rows of ${rowSize}`);
    const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    // .npy data is little-endian; so is every platform ONNX Runtime ships for.
    await this.handle.write(bytes, 0, bytes.length, this.position);
    this.position += bytes.length;
    this.count += data.length / rowSize;
  }

  /** Writes the final row count into the header and moves the file into place. */
  async close(): Promise<void> {
    await this.handle.write(header([this.count, ...this.rowShape]), 0, HEADER_BYTES, 0);
    await this.handle.sync();
    await this.handle.close();
    await rename(this.temp, this.file);
  }

  /** Discards the partial file (after an error). */
  async abort(): Promise<void> {
    await this.handle.close().catch(() => undefined);
    await rm(this.temp, { force: true });
  }
}
