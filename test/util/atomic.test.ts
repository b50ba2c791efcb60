import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, open, readdir, readFile, writeFile } from 'node:fs/promises';
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

test('writeFileAtomic fsyncs the file and its directory unless durable is false', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vggkit-atomic-'));
  const probe = await open(join(dir, 'probe'), 'w');
  const handles = Object.getPrototypeOf(probe) as { sync: () => Promise<void> };
  await probe.close();
  const sync = handles.sync;
  let syncs = 0;
  handles.sync = function (this: unknown) {
    syncs++;
    return sync.call(this);
  };
  try {
    await writeFileAtomic(join(dir, 'durable.bin'), 'a');
    assert.equal(syncs, 2, 'the file, then the directory holding its new name');
    syncs = 0;
    await writeFileAtomic(join(dir, 'renamed.bin'), 'b', { durable: false });
    assert.equal(syncs, 0);
  } finally {
    handles.sync = sync;
  }
  // Still whole or absent, never partial: the content arrives by rename, no temporary is left.
  assert.equal(await readFile(join(dir, 'renamed.bin'), 'utf8'), 'b');
  assert.deepEqual((await readdir(dir)).sort(), ['durable.bin', 'probe', 'renamed.bin']);
});
