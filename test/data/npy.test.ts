import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseNpy, readNpy, writeNpyFloat32 } from '../../src/data/npy.js';
import { VggkitError } from '../../src/util/errors.js';

/** Builds a .npy by hand from the spec, independently of the module under test. */
function handMade(version: 1 | 2, descr: string, shape: string, payload: Buffer): Buffer {
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }\n`;
  const lenBytes = version === 1 ? 2 : 4;
  const len = Buffer.alloc(lenBytes);
  if (version === 1) len.writeUInt16LE(dict.length);
  else len.writeUInt32LE(dict.length);
  return Buffer.concat([
    Buffer.from([0x93]),
    Buffer.from('NUMPY'),
    Buffer.from([version, 0]),
    len,
    Buffer.from(dict, 'latin1'),
    payload,
  ]);
}

test('reads v1 float32, v2 float64 and uint8 arrays in C order', () => {
  const f32 = Buffer.alloc(4 * 6);
  [1.5, -2, 3, 4, 5, 6.25].forEach((v, i) => f32.writeFloatLE(v, i * 4));
  const a = parseNpy(handMade(1, '<f4', '(2, 3)', f32));
  assert.deepEqual(a.dims, [2, 3]);
  assert.equal(a.dtype, 'float32');
  assert.deepEqual(Array.from(a.data), [1.5, -2, 3, 4, 5, 6.25]);

  const f64 = Buffer.alloc(8 * 2);
  f64.writeDoubleLE(0.1, 0);
  f64.writeDoubleLE(-1e300, 8);
  const b = parseNpy(handMade(2, '<f8', '(2,)', f64));
  assert.deepEqual(b.dims, [2]);
  assert.deepEqual(Array.from(b.data), [0.1, -1e300]);

  const c = parseNpy(handMade(1, '|u1', '(1, 2, 2)', Buffer.from([0, 127, 200, 255])));
  assert.deepEqual(c.dims, [1, 2, 2]);
  assert.deepEqual(Array.from(c.data), [0, 127, 200, 255]);
});

test('rejects unsupported dtypes, fortran order and truncated data with the file named', () => {
  assert.throws(
    () => parseNpy(handMade(1, '<i8', '(1,)', Buffer.alloc(8)), 'x.npy'),
    (e: unknown) => e instanceof VggkitError && /x\.npy.*'<i8'/.test(e.message),
  );
  const fortran = Buffer.from(
    handMade(1, '<f4', '(1,)', Buffer.alloc(4)).toString('latin1').replace('False', 'True '),
    'latin1',
  );
  assert.throws(() => parseNpy(fortran, 'f.npy'), /fortran_order/);
  assert.throws(
    () => parseNpy(handMade(1, '<f4', '(4,)', Buffer.alloc(8)), 't.npy'),
    /t\.npy.*truncated/,
  );
  assert.throws(() => parseNpy(Buffer.from('not numpy at all'), 'n.npy'), /n\.npy.*magic/);
});

test('writeNpyFloat32 writes a 64-byte aligned v1 header that round-trips', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'npy-'));
  const file = join(dir, 'a.npy');
  const data = new Float32Array([0, 1, -2.5, 3.25, 1e-8, 7]);
  await writeNpyFloat32(file, [3, 2], data);
  const bytes = await readFile(file);
  const headerLen = bytes.readUInt16LE(8);
  assert.equal((10 + headerLen) % 64, 0);
  assert.equal(bytes[10 + headerLen - 1], 0x0a);
  assert.equal(
    bytes
      .subarray(10, 10 + headerLen)
      .toString('latin1')
      .includes("'shape': (3, 2)"),
    true,
  );
  for (let i = 0; i < data.length; i++)
    assert.equal(bytes.readFloatLE(10 + headerLen + i * 4), data[i]);
  const back = await readNpy(file);
  assert.deepEqual(back.dims, [3, 2]);
  assert.deepEqual(Array.from(back.data), Array.from(data));
});

test('numpy itself reads what we write and we read what it writes (skipped without numpy)', async (t) => {
  try {
    execFileSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' });
  } catch {
    t.skip('python3 numpy not available');
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'npy-'));
  await writeNpyFloat32(join(dir, 'ours.npy'), [2, 2, 1], new Float32Array([1, 2, 3, 4.5]));
  const script = `import numpy as np\na=np.load('${dir}/ours.npy')\nprint(a.shape, a.dtype, a.ravel().tolist())\nnp.save('${dir}/theirs.npy', np.arange(6, dtype=np.float64).reshape(3,2)/4)`;
  const out = execFileSync('python3', ['-c', script]).toString().trim();
  assert.equal(out, '(2, 2, 1) float32 [1.0, 2.0, 3.0, 4.5]');
  const theirs = await readNpy(join(dir, 'theirs.npy'));
  assert.deepEqual(theirs.dims, [3, 2]);
  assert.deepEqual(Array.from(theirs.data), [0, 0.25, 0.5, 0.75, 1, 1.25]);
});
