/**
 * On-disk cache of a frozen prefix's outputs, so 20 epochs over a frozen base cost one forward pass.
 *
 * An entry is keyed by the image file's content hash and lives under a "producer" folder whose name
 * hashes everything that determines the features: the weights' identity, the preprocessing
 * contract, the layer the network is cut at and, for an int8 prefix, its calibration. Change any of
 * them and every lookup misses.
 *
 * Layout: `<cacheDir>/features/<producerHash>/<aa>/<fileHash>.f32` where `aa` is the first two hex
 * digits of the file hash. Each entry is
 *   magic "VGGF" | u32 version | u32 rank | u32 dims[rank] | 32-byte sha256 of the data | float32 data
 * (little-endian: the data is the Float32Array's own bytes, and every platform onnxruntime-node ships
 * for is little-endian). An entry whose header, dims, length or checksum does not match is treated as a
 * miss and overwritten by the next `put`, never returned.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic.js';
import { sizeOf } from '../util/tensor.js';

const MAGIC = 0x46474756; // "VGGF" read as a little-endian u32
const VERSION = 1;
const DIGEST_BYTES = 32;

/** What determines a prefix's output for a given image. */
export interface FeatureProducer {
  /**
   * Changes whenever the weights do (recipe.ts `weightsIdentity`): the architecture plus the
   * weights' origin (registry tag and URL, or the random init and its seed), or for a local file
   * its path, size and modification time.
   */
  readonly weightsId: string;
  /** The preprocessing contract, as JSON-serialisable data. */
  readonly contract: unknown;
  /** Keras name of the last layer of the frozen prefix, e.g. `block5_pool`. */
  readonly layer: string;
  /**
   * Set when the prefix runs in int8: the calibration's key (src/engine/int8/prepare.ts), which
   * hashes its scales' inputs. Absent for fp32, so fp32 entries keep the keys they always had.
   */
  readonly int8?: string;
}

/** JSON with object keys sorted, so equal producers hash equally whatever their key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) =>
            a < b ? -1 : a > b ? 1 : 0,
          ),
        )
      : v,
  );
}

export function producerHash(producer: FeatureProducer): string {
  const identity = canonicalJson({
    weightsId: producer.weightsId,
    contract: producer.contract,
    layer: producer.layer,
    ...(producer.int8 === undefined ? {} : { int8: producer.int8 }),
  });
  return createHash('sha256').update(identity).digest('hex');
}

/** sha256 of a file's bytes, streamed so large images do not sit in memory twice. */
export async function hashFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export class FeatureCache {
  readonly dir: string;
  readonly dims: readonly number[];
  private readonly size: number;
  private readonly producer: FeatureProducer;
  private described = false;

  private readonly details: Readonly<Record<string, unknown>>;

  /**
   * `dims` is the shape of one image's features (e.g. [7, 7, 512]); entries of any other shape are
   * misses. `details` go into producer.json without keying anything (e.g. the int8 guard's figures).
   */
  constructor(
    cacheDir: string,
    producer: FeatureProducer,
    dims: readonly number[],
    details: Readonly<Record<string, unknown>> = {},
  ) {
    this.producer = producer;
    this.details = details;
    this.dir = join(cacheDir, 'features', producerHash(producer));
    this.dims = [...dims];
    this.size = sizeOf(dims);
  }

  pathFor(fileHash: string): string {
    if (!/^[0-9a-f]{64}$/.test(fileHash))
      throw new RangeError(`expected a sha256 hex digest, received ${JSON.stringify(fileHash)}`);
    return join(this.dir, fileHash.slice(0, 2), `${fileHash}.f32`);
  }

  async get(fileHash: string): Promise<Float32Array | undefined> {
    const bytes = await readFile(this.pathFor(fileHash)).catch(() => undefined);
    return bytes === undefined ? undefined : this.decode(bytes);
  }

  async put(fileHash: string, data: Float32Array): Promise<void> {
    if (data.length !== this.size) {
      throw new RangeError(
        `feature cache expects ${this.size} values for shape [${this.dims.join(', ')}], received ${data.length}`,
      );
    }
    const path = this.pathFor(fileHash);
    await mkdir(join(this.dir, fileHash.slice(0, 2)), { recursive: true });
    await this.describe();
    await writeFileAtomic(path, this.encode(data));
  }

  private headerBytes(): number {
    return 12 + 4 * this.dims.length + DIGEST_BYTES;
  }

  private encode(data: Float32Array): Buffer {
    const payload = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const out = Buffer.alloc(this.headerBytes() + payload.length);
    out.writeUInt32LE(MAGIC, 0);
    out.writeUInt32LE(VERSION, 4);
    out.writeUInt32LE(this.dims.length, 8);
    this.dims.forEach((d, i) => out.writeUInt32LE(d, 12 + 4 * i));
    createHash('sha256')
      .update(payload)
      .digest()
      .copy(out, 12 + 4 * this.dims.length);
    payload.copy(out, this.headerBytes());
    return out;
  }

  private decode(bytes: Buffer): Float32Array | undefined {
    const header = this.headerBytes();
    if (bytes.length !== header + 4 * this.size) return undefined;
    if (
      bytes.readUInt32LE(0) !== MAGIC ||
      bytes.readUInt32LE(4) !== VERSION ||
      bytes.readUInt32LE(8) !== this.dims.length
    )
      return undefined;
    if (this.dims.some((d, i) => bytes.readUInt32LE(12 + 4 * i) !== d)) return undefined;
    const payload = bytes.subarray(header);
    const digest = bytes.subarray(header - DIGEST_BYTES, header);
    if (!createHash('sha256').update(payload).digest().equals(digest)) return undefined;
    // Copy into a fresh, aligned buffer: a Buffer's byteOffset need not be a multiple of 4.
    const out = new Float32Array(this.size);
    new Uint8Array(out.buffer).set(payload);
    return out;
  }

  /** A `producer.json` beside the entries says what produced them, for people and `vggkit doctor`. */
  private async describe(): Promise<void> {
    if (this.described) return;
    await mkdir(this.dir, { recursive: true });
    await writeJsonAtomic(join(this.dir, 'producer.json'), {
      ...this.producer,
      dims: this.dims,
      ...this.details,
    });
    this.described = true;
  }
}
