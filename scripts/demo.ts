/**
 * `npm run demo`: the main job on the bundled sample (samples/fashion: 4 Fashion-MNIST classes x
 * 30 grayscale 28x28 images, which also exercises the grayscale path).
 * Fine-tunes VGG16 with the seed article's recipe using ImageNet weights when they can be
 * downloaded; on a machine without network it says so in one line and continues from a random
 * initialisation with a smaller input, so every step still runs for real: summary, train,
 * evaluate, predict and doctor (with an HTML report).
 *
 * A fifth of each class is held out before training (runs/demo-data/test), so evaluate and predict
 * report on images the model never saw, neither in training nor in its validation split.
 */
import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const cli = join(root, 'src', 'cli', 'main.ts');
const bundled = join(root, 'samples', 'fashion');
const data = join(root, 'runs', 'demo-data');
const sample = join(data, 'train');
const heldOut = join(data, 'test');
const out = join(root, 'runs', 'demo');

/** Every fifth image of each class (in name order) to `test/`, the rest to `train/`. */
async function holdOut(): Promise<number> {
  await rm(data, { recursive: true, force: true });
  let held = 0;
  for (const name of (await readdir(bundled)).sort()) {
    const files = (await readdir(join(bundled, name))).sort();
    for (const split of [sample, heldOut]) await mkdir(join(split, name), { recursive: true });
    for (const [i, file] of files.entries()) {
      const test = i % 5 === 4;
      held += test ? 1 : 0;
      await copyFile(join(bundled, name, file), join(test ? heldOut : sample, name, file));
    }
  }
  return held;
}

function vggkit(args: readonly string[], options: { allowFailure?: boolean } = {}): number {
  process.stderr.write(`\n$ vggkit ${args.join(' ')}\n`);
  const result = spawnSync(process.execPath, ['--import', 'tsx', cli, ...args], {
    cwd: root,
    stdio: 'inherit',
  });
  const code = result.status ?? 1;
  if (code !== 0 && options.allowFailure !== true) {
    process.stderr.write(`demo: vggkit ${args[0]} failed with exit code ${code}\n`);
    process.exit(code);
  }
  return code;
}

vggkit(['summary', '--arch', 'vgg16']);
const held = await holdOut();
process.stderr.write(
  `\ndemo: ${held} images of ${bundled} held out in ${heldOut}; training (and its validation split) uses the rest\n`,
);

const imagenet = vggkit(
  ['train', sample, '--weights', 'imagenet', '--epochs', '5', '--batch-size', '16', '--out', out],
  { allowFailure: true },
);
if (imagenet !== 0) {
  process.stderr.write(
    'demo: ImageNet weights are not available here; continuing with --weights none (random initialisation, 64x64 input, higher learning rate). The base stays frozen as in the recipe, so train and the doctor warn about frozen random filters (random-base-frozen)\n',
  );
  vggkit([
    'train',
    sample,
    '--weights',
    'none',
    '--input-size',
    '64',
    '--epochs',
    '12',
    '--lr',
    '5e-4',
    '--batch-size',
    '16',
    '--out',
    out,
  ]);
}
vggkit(['evaluate', out, heldOut]);
const [bag, trouser] = await Promise.all(
  ['bag', 'trouser'].map(async (name) =>
    join(heldOut, name, (await readdir(join(heldOut, name))).sort()[0] as string),
  ),
);
vggkit(['predict', '--weights', out, bag as string, trouser as string]);
// The doctor exits 1 when it finds an error-level problem; that is its answer, not a demo failure.
vggkit(
  [
    'doctor',
    sample,
    '--history',
    join(out, 'history.json'),
    '--config',
    join(out, 'config.json'),
    '--html',
    join(out, 'doctor.html'),
  ],
  { allowFailure: true },
);
process.stderr.write(
  `\ndemo: model folder ${out} (model.onnx, weights.h5, history.csv), doctor report ${join(out, 'doctor.html')}\n`,
);
