import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../../src/util/atomic.js';

test('writeFileAtomic replaces the file and leaves no temporary behind', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vggkit-atomic-'));
  const path = join(dir, 'a.txt');
  await writeFile(path, 'old');
  await writeFileAtomic(path, 'new contents');
  assert.equal(await readFile(path, 'utf8'), 'new contents');
  assert.deepEqual(await readdir(dir), ['a.txt']);
});

test('writeFileAtomic removes its temporary file when the rename fails', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vggkit-atomic-'));
  // A non-empty directory at the target path makes rename fail after the temp file was written.
  const target = join(dir, 'taken');
  await mkdir(target);
  await writeFile(join(target, 'inside'), 'x');
  await assert.rejects(writeFileAtomic(target, 'data'));
  assert.deepEqual((await readdir(dir)).sort(), ['taken']);
});

test('writeJsonAtomic writes parseable JSON with a trailing newline', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vggkit-atomic-'));
  const path = join(dir, 'c.json');
  await writeJsonAtomic(path, { a: 1, b: [2, 3] });
  const text = await readFile(path, 'utf8');
  assert.ok(text.endsWith('\n'));
  assert.deepEqual(JSON.parse(text), { a: 1, b: [2, 3] });
});
