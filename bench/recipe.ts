/**
 * Issue 3 bench (a): the seed recipe end to end — VGG16 at 224, base frozen, Flatten-Dense256-
 * Dropout-Dense head, Adam 1e-4, batch 32, N epochs — `fineTune()` (decode, one cached pass of the
 * base, head training, validation, model folder) against a plain PyTorch loop that runs the frozen
 * base on every batch of every epoch as Keras' fit does, on the same images in the same run.
 * Images: Fashion-MNIST (grayscale 28x28, upscaled to 224: the grayscale path) when Debian's
 * dataset-fashion-mnist is installed, else generated shapes. Weights are random (`none`): speed
 * does not depend on their values, and ImageNet weights are not reachable here.
 *
 *   node --import tsx bench/recipe.ts [--images 64] [--epochs 20] [--no-torch] [--json]
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { fineTune } from '../src/train/fit.js';
import { fashionMnistAvailable, writeFashionMnist } from './fashion-mnist.js';
import { describeMachine, machineInfo } from './machine.js';

const { values: args } = parseArgs({
  options: {
    images: { type: 'string', default: '64' },
    epochs: { type: 'string', default: '20' },
    'no-torch': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const images = Number(args.images);
const epochs = Number(args.epochs);
const CLASSES = 4;

const work = await mkdtemp(join(tmpdir(), 'vggkit-recipe-'));
const data = join(work, 'data');
let source: string;
if (await fashionMnistAvailable()) {
  await writeFashionMnist(data, [0, 1, 7, 8], Math.ceil(images / CLASSES));
  source = 'Fashion-MNIST (grayscale 28x28)';
} else {
  for (let c = 0; c < CLASSES; c++) {
    await mkdir(join(data, `class${c}`), { recursive: true });
    for (let i = 0; i < Math.ceil(images / CLASSES); i++) {
      const shade = (c * 60 + i * 3) % 256;
      await sharp({
        create: {
          width: 96,
          height: 96,
          channels: 3,
          background: { r: shade, g: 255 - shade, b: (i * 17) % 256 },
        },
      })
        .png()
        .toFile(join(data, `class${c}`, `${i}.png`));
    }
  }
  source = 'generated 96x96 colour images (dataset-fashion-mnist not installed)';
}

const started = performance.now();
const run = await fineTune({
  data,
  out: join(work, 'run'),
  cacheDir: join(work, 'cache'),
  config: { weights: 'none', epochs, batchSize: 32, valSplit: 0.2 },
});
const vggkitSeconds = (performance.now() - started) / 1000;

let torchSeconds: number | undefined;
if (
  !args['no-torch'] &&
  spawnSync('/usr/bin/python3', ['-c', 'import torch, torchvision'], { stdio: 'ignore' }).status ===
    0
) {
  // PyTorch trains on all N images per epoch: the same base forward work as Keras' fit over an
  // 80/20 split with validation (0.8 N training + 0.2 N validation images per epoch).
  const script = fileURLToPath(new URL('./recipe_torch.py', import.meta.url));
  const result = spawnSync('/usr/bin/python3', [script, data, String(epochs), '32'], {
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`PyTorch recipe failed: ${result.stderr}`);
  torchSeconds = (
    JSON.parse(result.stdout.trim().split('\n').pop() as string) as { total_seconds: number }
  ).total_seconds;
}
await rm(work, { recursive: true, force: true });

const report = {
  machine: machineInfo(),
  images,
  epochs,
  source,
  vggkitSeconds,
  finalValAccuracy: run.history[run.history.length - 1]?.val_accuracy,
  torchSeconds,
  speedup: torchSeconds === undefined ? undefined : torchSeconds / vggkitSeconds,
};
if (args.json) console.log(JSON.stringify(report));
else {
  console.log(describeMachine());
  console.log(
    `seed recipe, ${images} images (${source}), ${epochs} epochs, VGG16 at 224, batch 32`,
  );
  console.log(`  vggkit fineTune (decode + cached base + head):  ${vggkitSeconds.toFixed(1)} s`);
  if (torchSeconds !== undefined) {
    console.log(`  PyTorch loop (base every epoch, pre-decoded):  ${torchSeconds.toFixed(1)} s`);
    console.log(`  speedup: ${(torchSeconds / vggkitSeconds).toFixed(1)}x (target >= 10x)`);
  }
}
