import assert from 'node:assert/strict';
import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseNpy } from '../../src/data/npy.js';
import { NpyRowWriter } from '../../src/data/npy-writer.js';

test('rows appended in pieces read back as one [rows, features] float32 array', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vggkit-npy-'));
  try {
    const file = join(dir, 'features.npy');
    const writer = await NpyRowWriter.create(file, [3]);
    await writer.append(Float32Array.from([1, 2, 3, 4, 5, 6]));
    await assert.rejects(access(file), 'nothing under the final name before close');
    await writer.append(new Float32Array(0));
    await writer.append(Float32Array.from([7.5, -8, 9e-3]));
    await writer.close();
    const bytes = await readFile(file);
    const parsed = parseNpy(bytes, file);
    assert.deepEqual(parsed.dims, [3, 3]);
    assert.equal(parsed.dtype, 'float32');
    assert.deepEqual([...parsed.data], [1, 2, 3, 4, 5, 6, 7.5, -8, Math.fround(9e-3)]);
    // numpy's rule: the data starts on a 64-byte boundary.
    assert.equal((bytes.length - 9 * 4) % 64, 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('partial rows are refused and abort leaves no file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vggkit-npy-'));
  try {
    const file = join(dir, 'features.npy');
    const writer = await NpyRowWriter.create(file, [4]);
    await assert.rejects(writer.append(new Float32Array(6)), /not whole rows of 4/);
    await writer.abort();
    await assert.rejects(access(file));
    await assert.rejects(access(`${file}.partial`));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
