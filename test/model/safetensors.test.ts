import { strict as assert } from 'node:assert';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readSafetensors, writeSafetensors } from '../../src/model/safetensors.js';
import type { Float32Tensor } from '../../src/util/tensor.js';

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

  it('lays the file out as the safetensors spec says', async () => {
    const file = join(dir, 'a.safetensors');
    await writeSafetensors(file, tensors, metadata, { durable: false });
    assert.deepEqual(await readdir(dir), ['a.safetensors'], 'no temporary file left behind');
    // Read by the spec, not by vggkit's reader: u64 LE header length, a JSON header padded with
    // spaces, then each tensor's little-endian bytes at its data_offsets.
    const bytes = await readFile(file);
    const headerLength = Number(bytes.readBigUInt64LE(0));
    const text = bytes.subarray(8, 8 + headerLength).toString('utf8');
    assert.match(text, /^\{.*\} *$/s);
    const header = JSON.parse(text) as Record<string, unknown>;
    assert.deepEqual(header.__metadata__, metadata);
    const data = bytes.subarray(8 + headerLength);
    let offset = 0;
    for (const [name, t] of tensors) {
      assert.deepEqual(header[name], {
        dtype: 'F32',
        shape: [...t.dims],
        data_offsets: [offset, offset + t.data.byteLength],
      });
      const expected = Buffer.alloc(t.data.byteLength);
      t.data.forEach((v, i) => expected.writeFloatLE(v, 4 * i));
      assert.deepEqual(data.subarray(offset, offset + t.data.byteLength), expected, name);
      offset += t.data.byteLength;
    }
    assert.equal(data.length, offset, 'nothing after the last tensor');
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
