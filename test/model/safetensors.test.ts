import { strict as assert } from 'node:assert';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readSafetensors, writeSafetensors } from '../../src/model/safetensors.js';
import type { Float32Tensor } from '../../src/util/tensor.js';

/**
 * The whole-buffer encoder vggkit wrote checkpoints with before they were streamed, kept as the
 * oracle: u64 LE header length, JSON header padded with spaces to 8-byte alignment, raw data.
 */
function encodeWhole(
  tensors: ReadonlyMap<string, Float32Tensor>,
  metadata: Record<string, string>,
): Buffer {
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
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([
    length,
    Buffer.from(json, 'utf8'),
    ...[...tensors.values()].map((t) =>
      Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength),
    ),
  ]);
}

describe('writeSafetensors', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vggkit-safetensors-'));
  after(() => rm(dir, { recursive: true, force: true }));
  // A view into the middle of a larger buffer (as the step's buffers may be), an empty tensor and
  // a scalar, with non-ASCII metadata so the header's byte length differs from its string length.
  const backing = new Float32Array([9, 1.5, -2, 3e-8, Infinity, 7, 9]);
  const tensors = new Map<string, Float32Tensor>([
    ['param/block1_conv1/kernel', { dims: [1, 1, 5], data: backing.subarray(1, 6) }],
    ['opt/m:dense/bias', { dims: [0], data: new Float32Array(0) }],
    ['step', { dims: [], data: new Float32Array([42]) }],
  ]);
  const metadata = { format: 'vggkit-checkpoint-1', note: 'épreuve' };

  it('writes the bytes the whole-buffer encoder produced', async () => {
    const file = join(dir, 'a.safetensors');
    await writeSafetensors(file, tensors, metadata, { durable: false });
    assert.deepEqual(await readFile(file), encodeWhole(tensors, metadata));
    assert.deepEqual(await readdir(dir), ['a.safetensors'], 'no temporary file left behind');
  });

  it('round-trips through the reader, header aligned to 8 bytes', async () => {
    const file = join(dir, 'b.safetensors');
    await writeSafetensors(file, tensors, metadata);
    const bytes = await readFile(file);
    assert.equal((8 + Number(bytes.readBigUInt64LE(0))) % 8, 0);
    const read = await readSafetensors(file);
    assert.deepEqual(read.metadata, metadata);
    assert.deepEqual([...read.tensors.keys()], [...tensors.keys()]);
    for (const [name, t] of tensors) {
      assert.deepEqual(read.tensors.get(name)?.dims, t.dims, name);
      assert.deepEqual([...(read.tensors.get(name)?.data ?? [])], [...t.data], name);
    }
  });
});
