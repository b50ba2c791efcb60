import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import sharp from 'sharp';
import {
  loadFolderDataset,
  scanClassFolders,
  stratifiedSplit,
  type LabeledFile,
} from '../../src/data/dataset.js';
import { listImageFiles, readFolder } from '../../src/data/files.js';
import { VggkitError } from '../../src/util/errors.js';

async function png(path: string, red: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await sharp({
    create: { width: 4, height: 4, channels: 3, background: { r: red, g: 10, b: 20 } },
  })
    .png()
    .toFile(path);
}

/** A dataset folder: `counts[name]` PNGs per class, named `img00.png` … */
async function makeDataset(root: string, counts: Record<string, number>): Promise<void> {
  for (const [name, count] of Object.entries(counts)) {
    await mkdir(join(root, name), { recursive: true });
    for (let i = 0; i < count; i++)
      await png(join(root, name, `img${String(i).padStart(2, '0')}.png`), i * 10);
  }
}

test('scanClassFolders: sorted classes, labels by folder, empty classes, stray files, corrupt files still listed', async () => {
  const root = await mkdtemp(join(tmpdir(), 'vggkit-ds-'));
  await makeDataset(root, { dogs: 2, cats: 3, birds: 0 });
  await writeFile(join(root, 'cats', 'broken.jpg'), 'not a jpeg');
  await writeFile(join(root, 'cats', 'notes.txt'), 'ignored');
  await png(join(root, 'cats', 'nested', 'deep.png'), 5);
  await png(join(root, 'loose.png'), 1);
  await mkdir(join(root, '.hidden'));

  const scan = await scanClassFolders(root);
  assert.deepEqual(scan.classNames, ['birds', 'cats', 'dogs']);
  assert.deepEqual(scan.emptyClasses, ['birds']);
  assert.deepEqual(scan.strayFiles, [join(root, 'loose.png')]);
  const listed = scan.items.map((i) => [i.label, i.file.slice(root.length + 1)]);
  assert.deepEqual(listed, [
    [1, 'cats/broken.jpg'],
    [1, 'cats/img00.png'],
    [1, 'cats/img01.png'],
    [1, 'cats/img02.png'],
    [1, 'cats/nested/deep.png'],
    [2, 'dogs/img00.png'],
    [2, 'dogs/img01.png'],
  ]);
});

test('scanClassFolders: a missing folder and a file are clear errors', async () => {
  const root = await mkdtemp(join(tmpdir(), 'vggkit-ds-'));
  await assert.rejects(
    scanClassFolders(join(root, 'nope')),
    (e: unknown) =>
      e instanceof VggkitError && e.code === 'NOT_FOUND' && e.message.includes('nope'),
  );
  await png(join(root, 'one.png'), 0);
  await assert.rejects(
    scanClassFolders(join(root, 'one.png')),
    (e: unknown) => e instanceof VggkitError && e.code === 'NOT_A_DIRECTORY',
  );
});

function items(counts: number[]): LabeledFile[] {
  return counts.flatMap((count, label) =>
    Array.from({ length: count }, (_, i) => ({ file: `c${label}/f${i}`, label })),
  );
}

test('stratifiedSplit: per-class proportions, at least one val image per class with >= 2 images, never all', () => {
  const all = items([10, 5, 2, 1, 3]);
  const { train, val } = stratifiedSplit(all, 0.2, 7);
  const count = (list: LabeledFile[], label: number): number =>
    list.filter((i) => i.label === label).length;
  // round(10*.2)=2, round(5*.2)=1, round(2*.2)=0 -> raised to 1, 1 image -> none, round(3*.2)=1.
  assert.deepEqual(
    [0, 1, 2, 3, 4].map((l) => count(val, l)),
    [2, 1, 1, 0, 1],
  );
  assert.deepEqual(
    [0, 1, 2, 3, 4].map((l) => count(train, l)),
    [8, 4, 1, 1, 2],
  );
  assert.equal(new Set([...train, ...val].map((i) => i.file)).size, all.length);
  // A split of 0.9 still keeps one training image in each class.
  const high = stratifiedSplit(items([4, 2]), 0.9, 1);
  assert.deepEqual([count(high.train, 0), count(high.train, 1)], [1, 1]);
  assert.equal(stratifiedSplit(all, 0, 1).val.length, 0);
});

test('stratifiedSplit: deterministic per seed, different across seeds, input order kept', () => {
  const all = items([20, 20]);
  const a = stratifiedSplit(all, 0.25, 42);
  const b = stratifiedSplit(all, 0.25, 42);
  assert.deepEqual(a, b);
  const seeds = [1, 2, 3, 4, 5].map((s) =>
    stratifiedSplit(all, 0.25, s)
      .val.map((i) => i.file)
      .join(),
  );
  assert.ok(new Set(seeds).size > 1, 'different seeds should pick different validation files');
  const order = (list: LabeledFile[]): number[] => list.map((i) => all.indexOf(i));
  assert.deepEqual(
    order(a.val),
    [...order(a.val)].sort((x, y) => x - y),
  );
  assert.throws(
    () => stratifiedSplit(all, 1, 1),
    /valSplit: expected a number in \[0, 1\), received 1/,
  );
});

test('loadFolderDataset: split from one folder', async () => {
  const root = await mkdtemp(join(tmpdir(), 'vggkit-ds-'));
  await makeDataset(root, { a: 5, b: 5 });
  const ds = await loadFolderDataset({ dir: root, valSplit: 0.2, seed: 3 });
  assert.deepEqual(ds.classNames, ['a', 'b']);
  assert.equal(ds.train.length, 8);
  assert.deepEqual(
    ds.val.map((i) => i.label),
    [0, 1],
  );
  const again = await loadFolderDataset({ dir: root, valSplit: 0.2, seed: 3 });
  assert.deepEqual(again.val, ds.val);
});

test('loadFolderDataset: explicit val folder, and a class mismatch names missing and extra classes', async () => {
  const root = await mkdtemp(join(tmpdir(), 'vggkit-ds-'));
  await makeDataset(join(root, 'train'), { a: 2, b: 2, c: 1 });
  await makeDataset(join(root, 'val'), { a: 1, b: 1, c: 1 });
  const ds = await loadFolderDataset({
    dir: join(root, 'train'),
    val: join(root, 'val'),
    valSplit: 0.2,
    seed: 1,
  });
  assert.equal(ds.train.length, 5);
  assert.deepEqual(
    ds.val.map((i) => [i.label, basename(i.file)]),
    [
      [0, 'img00.png'],
      [1, 'img00.png'],
      [2, 'img00.png'],
    ],
  );

  await makeDataset(join(root, 'badval'), { a: 1, c: 1, zebra: 1 });
  await assert.rejects(
    loadFolderDataset({
      dir: join(root, 'train'),
      val: join(root, 'badval'),
      valSplit: 0.2,
      seed: 1,
    }),
    (e: unknown) =>
      e instanceof VggkitError &&
      e.code === 'CLASS_MISMATCH' &&
      e.file === join(root, 'badval') &&
      e.message.includes('missing b') &&
      e.message.includes('extra zebra'),
  );
});

test('loadFolderDataset: fewer than two classes is an error', async () => {
  const root = await mkdtemp(join(tmpdir(), 'vggkit-ds-'));
  await makeDataset(root, { only: 3 });
  await assert.rejects(
    loadFolderDataset({ dir: root, valSplit: 0.2, seed: 1 }),
    /expected at least 2 class sub-folders, received 1 \(only\)/,
  );
});

test('scanClassFolders and listImageFiles follow symlinked class folders and images, survive a link cycle and skip dangling links', async () => {
  const root = await mkdtemp(join(tmpdir(), 'vggkit-ds-'));
  await makeDataset(join(root, 'store'), { all: 2 });
  const data = join(root, 'data');
  await mkdir(join(data, 'cats'), { recursive: true });
  await symlink(join(root, 'store', 'all', 'img00.png'), join(data, 'cats', 'IMG_1.PNG'));
  await symlink(join(root, 'store', 'all', 'missing.png'), join(data, 'cats', 'dangling.png'));
  await symlink(join(data, 'cats'), join(data, 'cats', 'loop'));
  await symlink(join(root, 'store', 'all'), join(data, 'dogs'));

  const scan = await scanClassFolders(data);
  assert.deepEqual(scan.classNames, ['cats', 'dogs']);
  assert.deepEqual(scan.emptyClasses, []);
  assert.deepEqual(
    scan.items.map((i) => [i.label, i.file.slice(data.length + 1)]),
    [
      [0, 'cats/IMG_1.PNG'],
      [1, 'dogs/img00.png'],
      [1, 'dogs/img01.png'],
    ],
  );
  assert.deepEqual(await listImageFiles([join(data, 'cats')]), [join(data, 'cats', 'IMG_1.PNG')]);
});

test('a folder that cannot be listed is an error naming it, not a raw system error', async () => {
  const missing = join(tmpdir(), `vggkit-no-such-folder-${process.pid}`);
  await assert.rejects(readFolder(missing), (error: unknown) => {
    assert.ok(error instanceof VggkitError, String(error));
    assert.equal(error.code, 'UNREADABLE_FOLDER');
    assert.equal(error.file, missing);
    assert.match(error.message, /cannot list the folder \(ENOENT\)/);
    return true;
  });
});
