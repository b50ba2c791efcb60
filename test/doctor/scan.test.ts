/**
 * The doctor's scan and the trainer's data loading must never disagree about one tree: which
 * class folders exist, which files are images of which class, and which of them decode (by the
 * decoder's own ImageErrorCode). The tree holds what real datasets hold: symlinked class folders
 * and images, hidden files and folders, broken images, odd and upper-case extensions, files at
 * the root.
 */
import assert from 'node:assert/strict';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadFolderDataset } from '../../src/data/dataset.js';
import { scanDataset } from '../../src/doctor/scan.js';
import { runDoctor } from '../../src/doctor/run.js';
import { makeContract } from '../../src/image/contract.js';
import { loadBatch } from '../../src/image/pipeline.js';
import { cleanDataset, smooth, tempDir, writeImage } from './fixtures.js';

async function trickyTree(root: string): Promise<string> {
  const store = await cleanDataset(join(root, 'store'), {
    classes: ['dogs'],
    perClass: 3,
    seed: 5,
  });
  const data = join(root, 'data');
  await cleanDataset(data, { classes: ['cats'], perClass: 3 });
  const cats = join(data, 'cats');
  // A class folder that is a link into a store (the doctor used to miss it).
  await symlink(join(store, 'dogs'), join(data, 'dogs'));
  await symlink(join(store, 'dogs', 'dogs_0.png'), join(cats, 'linked.png'));
  await symlink(join(store, 'dogs', 'gone.png'), join(cats, 'dangling.png'));
  await writeImage(join(cats, 'UPPER.PNG'), smooth(41));
  await writeImage(join(cats, 'nested', 'deep.png'), smooth(42));
  await writeImage(join(cats, '.hidden.png'), smooth(43));
  await writeImage(join(cats, '.cache', 'thumb.png'), smooth(44));
  await writeImage(join(data, '.git', 'objects', 'x.png'), smooth(45));
  await writeImage(join(data, 'root.png'), smooth(46));
  await writeFile(join(data, 'README.md'), 'labels by hand');
  await writeFile(join(cats, 'notes.txt'), 'not an image');
  await writeFile(join(cats, 'photo.jpg.bak'), 'a backup');
  const jpeg = await smooth(47, 80, 80).jpeg().toBuffer();
  await writeFile(join(cats, 'cut.jpg'), jpeg.subarray(0, Math.floor(jpeg.length / 2)));
  await writeFile(join(cats, 'empty.png'), '');
  await writeFile(join(cats, 'text.jpg'), 'this is text, not a JPEG');
  await mkdir(join(data, 'birds'));
  await writeFile(join(data, 'birds', 'list.csv'), 'a,b');
  return data;
}

test('a symlinked class folder is a class for the doctor as for training', async () => {
  const root = await tempDir();
  const store = await cleanDataset(join(root, 'store'), { classes: ['dogs'], perClass: 12 });
  const data = await cleanDataset(join(root, 'data'), { classes: ['cats'], perClass: 12 });
  await symlink(join(store, 'dogs'), join(data, 'dogs'));
  const scan = await scanDataset(data);
  assert.deepEqual(scan.train.classes, ['cats', 'dogs']);
  assert.equal(scan.records.filter((r) => r.className === 'dogs').length, 12);
  const findings = (await runDoctor({ scan })).findings.map((f) => f.id);
  assert.ok(!findings.includes('single-class'), findings.join(', '));
});

test('the doctor scan and the trainer see the same classes, files and decode failures', async () => {
  const data = await trickyTree(await tempDir());
  const dataset = await loadFolderDataset({ dir: data, valSplit: 0, seed: 1 });
  const scan = await scanDataset(data);

  assert.deepEqual(scan.train.classes, dataset.classNames);
  assert.deepEqual(dataset.classNames, ['birds', 'cats', 'dogs']);
  const trained = dataset.train.map((i) => [dataset.classNames[i.label], i.file]);
  const scanned = scan.records
    .filter((r) => r.className !== undefined)
    .map((r) => [r.className, r.file]);
  assert.deepEqual(scanned, trained);
  const rel = (file: string): string => file.slice(data.length + 1);
  assert.deepEqual(trained.map(([, file]) => rel(file as string)).sort(), [
    'cats/UPPER.PNG',
    'cats/cats_0.png',
    'cats/cats_1.png',
    'cats/cats_2.png',
    'cats/cut.jpg',
    'cats/empty.png',
    'cats/linked.png',
    'cats/nested/deep.png',
    'cats/text.jpg',
    'dogs/dogs_0.png',
    'dogs/dogs_1.png',
    'dogs/dogs_2.png',
  ]);

  // The trainer's decoder (skipping what it cannot read) against the doctor's error codes.
  const batch = await loadBatch(
    dataset.train.map((i) => i.file),
    makeContract({ mode: 'caffe', inputSize: 32 }),
    { skipErrors: true },
  );
  const failedInTraining = batch.skipped.map((s) => [rel(s.file), s.code]);
  const failedInScan = scan.records
    .filter((r) => r.className !== undefined && r.error !== undefined)
    .map((r) => [rel(r.file), r.error?.code]);
  assert.deepEqual(failedInScan, failedInTraining);
  assert.deepEqual(failedInScan, [
    ['cats/cut.jpg', 'TRUNCATED'],
    ['cats/empty.png', 'EMPTY_FILE'],
    ['cats/text.jpg', 'NOT_AN_IMAGE'],
  ]);

  // What training ignores, the doctor lists: root files and non-image files, never hidden ones.
  assert.deepEqual(dataset.strayFiles.map(rel), ['root.png']);
  assert.deepEqual(scan.train.strayFiles.map(rel), [
    'README.md',
    'birds/list.csv',
    'cats/notes.txt',
    'cats/photo.jpg.bak',
    'root.png',
  ]);
  assert.deepEqual(dataset.emptyClasses, ['birds']);
});
