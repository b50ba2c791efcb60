/**
 * Inputs named on the command line that cannot be read exit 2 in every command that takes them,
 * with one stderr line naming the file and the problem and no stack trace, and under --json the
 * error's code: apart from the doctor's 1 for "found a problem in your fine-tune" and from other
 * failures. A corrupt image among readable ones is still skipped with a warning, not fatal.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCli, type CliRun } from '../helpers/cli.js';
import { writeFakeImage } from '../helpers/images.js';
import { writeShapeImage, writeShapesDataset } from '../helpers/shapes.js';
import { example2, writeKerasJson, writeKerasZip } from '../model/keras/writer.js';
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
  // The file itself, or for a folder the file in it that is missing (a model folder's model.onnx).
  assert.ok(error.file?.startsWith(expected.file), `${error.file} is ${expected.file}`);
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

test('model files: --keras, --weights FILE, --keras-weights and a model folder that cannot be read exit 2 naming the file', async () => {
  const def = example2({ classes: 3, widths: [[4], [4], [8], [8], [8]], size: 32 });
  const whole = join(dir, 'whole.keras');
  await writeKerasZip(whole, def);
  const cut = join(dir, 'cut.keras');
  const bytes = await readFile(whole);
  await writeFile(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
  const noConfig = join(dir, 'noconfig.keras');
  await writeKerasZip(noConfig, def, { omit: 'config.json' });
  const text = join(dir, 'text.keras');
  await writeFile(text, 'not a model\n');
  const architecture = join(dir, 'arch.json');
  await writeKerasJson(architecture, def);
  const notH5 = join(dir, 'weights.h5');
  await writeFile(notH5, 'these are not HDF5 weights\n');
  const notSafetensors = join(dir, 'weights.safetensors');
  await writeFile(notSafetensors, Buffer.from([1, 2, 3]));
  const image = join(good, 'circle');

  assertUnreadable(await vggkit('doctor', '--keras', join(dir, 'none.keras'), '--json'), {
    file: join(dir, 'none.keras'),
    problem: /none\.keras: no such Keras model file/,
    code: 'NOT_FOUND',
  });
  assertUnreadable(await vggkit('doctor', '--keras', cut, '--json'), {
    file: cut,
    problem: /cut\.keras: not a readable \.keras archive .*truncated/,
    code: 'KERAS_FORMAT',
  });
  assertUnreadable(await vggkit('doctor', '--keras', noConfig), {
    file: noConfig,
    problem: /noconfig\.keras: a \.keras archive must hold config\.json/,
  });
  assertUnreadable(await vggkit('doctor', '--keras', text), {
    file: text,
    problem: /text\.keras: expected a Keras model .*received a file that is none of these/,
  });
  assertUnreadable(
    await vggkit('doctor', '--keras', architecture, '--keras-weights', notH5, '--json'),
    { file: notH5, problem: /weights\.h5: not a readable HDF5 file/, code: 'WEIGHTS_CORRUPT' },
  );
  assertUnreadable(
    await vggkit('predict', image, '--weights', architecture, '--keras-weights', join(dir, 'w.h5')),
    { file: join(dir, 'w.h5'), problem: /w\.h5: no such weights file/ },
  );
  assertUnreadable(await vggkit('predict', image, '--weights', cut, '--json'), {
    file: cut,
    problem: /not a readable \.keras archive/,
    code: 'KERAS_FORMAT',
  });
  assertUnreadable(
    await vggkit('train', good, ...SMALL.slice(2), '--weights', notH5, '--out', join(dir, 't3')),
    { file: notH5, problem: /weights\.h5: not a readable HDF5 file/ },
  );
  assertUnreadable(
    await vggkit('extract', image, '--weights', notSafetensors, '--input-size', '32', '--json'),
    {
      file: notSafetensors,
      problem: /weights\.safetensors: .*damaged or truncated/,
      code: 'WEIGHTS_CORRUPT',
    },
  );
  assertUnreadable(await vggkit('evaluate', join(dir, 'no-model'), good, '--json'), {
    file: join(dir, 'no-model'),
    problem: /no-model: expected a vggkit model folder containing model\.onnx, found none/,
    code: 'NOT_FOUND',
  });
});
