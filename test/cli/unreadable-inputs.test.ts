/**
 * Inputs named on the command line that cannot be read exit 2 in every command that takes them,
 * with one stderr line naming the file and the problem and no stack trace, and under --json the
 * error's code: apart from the doctor's 1 for "found a problem in your fine-tune" and from other
 * failures. A corrupt image among readable ones is still skipped with a warning, not fatal.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCli, type CliRun } from '../helpers/cli.js';
import { writeFakeImage } from '../helpers/images.js';
import { writeShapeImage, writeShapesDataset } from '../helpers/shapes.js';
import type { ErrorCode } from '../../src/util/errors.js';
import { Random } from '../../src/util/random.js';

let dir = '';

function vggkit(...args: string[]): Promise<CliRun> {
  return runCli(join(dir, 'home'), args);
}

const SMALL = [
  '--weights',
  'none',
  '--arch',
  'vgg11',
  '--input-size',
  '32',
  '--head',
  'avg',
  '--dense',
  '16',
  '--dropout',
  '0',
  '--batch-size',
  '4',
  '--epochs',
  '1',
];

/** Exit 2, the file and the problem on stderr, no stack trace; with --json, `code` and `file`. */
function assertUnreadable(
  run: CliRun,
  expected: { file: string; problem: RegExp; code?: ErrorCode },
): void {
  const output = `${run.stdout}\n${run.stderr}`;
  assert.equal(run.code, 2, output);
  assert.ok(run.stderr.includes(`vggkit: ${expected.file}`), `names ${expected.file}: ${output}`);
  assert.match(run.stderr, expected.problem);
  assert.doesNotMatch(output, /\n\s+at /, 'no stack trace');
  if (expected.code === undefined) return;
  const last = run.stdout.trim().split('\n').at(-1) ?? '';
  const { error } = JSON.parse(last) as { error: { code: string; file?: string } };
  assert.equal(error.code, expected.code);
  assert.equal(error.file, expected.file);
}

let missing = '';
let aFile = '';
let noClasses = '';
let noImages = '';
let allCorrupt = '';
let good = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vggkit-unreadable-'));
  missing = join(dir, 'nope');
  aFile = join(dir, 'notes.txt');
  await writeFile(aFile, 'not a folder\n');
  // Images but no class folder: they belong to no class.
  noClasses = join(dir, 'flat');
  await mkdir(noClasses);
  await writeShapeImage(join(noClasses, 'a.png'), 'circle', 32, new Random(1));
  good = join(dir, 'good');
  await writeShapesDataset(good, { perClass: 2, size: 32, seed: 2 });
  noImages = join(dir, 'hollow');
  await mkdir(join(noImages, 'cats'), { recursive: true });
  await mkdir(join(noImages, 'dogs'));
  await writeFile(join(noImages, 'cats', 'readme.txt'), 'no images here\n');
  allCorrupt = join(dir, 'corrupt');
  for (const c of ['cats', 'dogs']) {
    await mkdir(join(allCorrupt, c), { recursive: true });
    for (const i of [1, 2, 3]) await writeFakeImage(join(allCorrupt, c, `${i}.png`));
  }
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('data folder: missing, a file, no class folders, no images or none that decodes exit 2 in doctor, train, evaluate, predict, extract and sweep', async () => {
  assertUnreadable(await vggkit('doctor', missing, '--json'), {
    file: missing,
    problem: /nope: no such directory/,
    code: 'NOT_FOUND',
  });
  assertUnreadable(await vggkit('doctor', aFile), {
    file: aFile,
    problem: /notes\.txt: expected a folder with one sub-folder per class, received a file/,
  });
  assertUnreadable(await vggkit('doctor', noClasses, '--json'), {
    file: noClasses,
    problem:
      /flat: expected one sub-folder per class, found no class folder \(1 image\(s\) lie in the folder itself\)/,
    code: 'TOO_FEW_CLASSES',
  });
  assertUnreadable(await vggkit('doctor', good, '--val', noImages), {
    file: noImages,
    problem: /hollow: expected image files in the class folders \(cats, dogs\), found none/,
  });
  assertUnreadable(await vggkit('train', noImages, ...SMALL, '--out', join(dir, 't1'), '--json'), {
    file: noImages,
    problem: /found none/,
    code: 'NO_IMAGES',
  });
  assertUnreadable(
    await vggkit('train', allCorrupt, ...SMALL, '--out', join(dir, 't2'), '--json'),
    {
      file: allCorrupt,
      problem: /corrupt: no training image could be read/,
      code: 'NO_TRAINING_IMAGES',
    },
  );
  assertUnreadable(await vggkit('evaluate', join(dir, 'no-model'), aFile, '--json'), {
    file: aFile,
    problem: /received a file/,
    code: 'NOT_A_DIRECTORY',
  });
  assertUnreadable(await vggkit('predict', noImages, '--weights', 'none', '--json'), {
    file: noImages,
    problem: /hollow: expected image files, found none/,
    code: 'NO_IMAGES',
  });
  assertUnreadable(await vggkit('extract', missing, '--weights', 'none', '--json'), {
    file: missing,
    problem: /nope: no such file or directory/,
    code: 'NOT_FOUND',
  });
  assertUnreadable(
    await vggkit('sweep', noClasses, ...SMALL, '--dropout', '0,0.1', '--out', join(dir, 's')),
    { file: noClasses, problem: /found no class folder/ },
  );
});

test('a corrupt image among readable ones is skipped with a warning, not fatal', async () => {
  const images = join(dir, 'mixed');
  await writeShapesDataset(images, { perClass: 1, size: 32, seed: 3 });
  await writeFakeImage(join(images, 'circle', 'broken.png'));
  const run = await vggkit(
    'extract',
    images,
    '--weights',
    'none',
    '--input-size',
    '32',
    '--pooling',
    'avg',
    '--out',
    join(dir, 'features.npy'),
  );
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /broken\.png/);
});

test('doctor --batch: a missing file, wrong magic, a truncated array or a non-image shape exit 2 naming the file', async () => {
  const header = (shape: string): Buffer => {
    const text = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`;
    const padded = text.padEnd(118, ' ') + '\n';
    const prefix = Buffer.from([0x93, ...Buffer.from('NUMPY'), 1, 0, padded.length, 0]);
    return Buffer.concat([prefix, Buffer.from(padded, 'latin1')]);
  };
  const notNpy = join(dir, 'image.npy');
  await writeFile(notNpy, 'PK\u0003\u0004 a zip, not an array');
  const truncated = join(dir, 'short.npy');
  await writeFile(truncated, Buffer.concat([header('(2, 8, 8, 3)'), Buffer.alloc(100)]));
  const flat = join(dir, 'flat.npy');
  await writeFile(flat, Buffer.concat([header('(10,)'), Buffer.alloc(40)]));
  const cases: { file: string; problem: RegExp; code: ErrorCode }[] = [
    { file: join(dir, 'none.npy'), problem: /none\.npy: cannot read/, code: 'NOT_FOUND' },
    { file: notNpy, problem: /image\.npy: expected a NumPy \.npy file/, code: 'BAD_NPY' },
    {
      file: truncated,
      problem: /short\.npy: expected 1536 data bytes.*truncated/,
      code: 'BAD_NPY',
    },
    { file: flat, problem: /flat\.npy: expected a batch of images/, code: 'BAD_BATCH' },
  ];
  for (const c of cases) {
    assertUnreadable(await vggkit('doctor', '--batch', c.file, '--json'), c);
  }
});

test('--config FILE: missing or not JSON exits 2 in doctor and train (the model the others follow)', async () => {
  const broken = join(dir, 'broken.json');
  await writeFile(broken, '{"lr": 0.001,');
  assertUnreadable(await vggkit('doctor', '--config', join(dir, 'none.json'), '--json'), {
    file: join(dir, 'none.json'),
    problem: /none\.json: cannot read the --config file/,
    code: 'NOT_FOUND',
  });
  assertUnreadable(await vggkit('train', allCorrupt, '--config', broken, '--json'), {
    file: broken,
    problem: /broken\.json: expected a JSON object of training settings, received invalid JSON/,
    code: 'CONFIG_FORMAT',
  });
});
