/**
 * `npm run demo`: the main job on the bundled sample (samples/fashion: 4 Fashion-MNIST classes x
 * 30 grayscale 28x28 images, which also exercises the grayscale path).
 * Fine-tunes VGG16 with the seed article's recipe using ImageNet weights when they can be
 * downloaded; on a machine without network it says so in one line and continues from a random
 * initialisation with a smaller input, so every step still runs for real: summary, train,
 * evaluate, predict and doctor (with an HTML report).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const cli = join(root, 'src', 'cli', 'main.ts');
const sample = join(root, 'samples', 'fashion');
const out = join(root, 'runs', 'demo');

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

const imagenet = vggkit(
  ['train', sample, '--weights', 'imagenet', '--epochs', '5', '--batch-size', '16', '--out', out],
  { allowFailure: true },
);
if (imagenet !== 0) {
  process.stderr.write(
    'demo: ImageNet weights are not available here; continuing with --weights none (random initialisation, 64x64 input, higher learning rate)\n',
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
vggkit(['evaluate', out, sample]);
vggkit([
  'predict',
  '--weights',
  out,
  join(sample, 'bag', '105.png'),
  join(sample, 'trouser', '128.png'),
]);
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
