/**
 * Writes the bundled sample `samples/fashion/`: 30 images each of four Fashion-MNIST classes
 * (t-shirt, trouser, sneaker, bag) from its test set — real grayscale 28x28 photos (MIT licence,
 * Zalando Research), small enough to commit. Needs Debian's dataset-fashion-mnist to regenerate;
 * the output is committed, so nothing else needs it:
 *   node --import tsx scripts/make-sample.ts
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  FASHION_MNIST_DIR,
  fashionMnistAvailable,
  writeFashionMnist,
} from '../bench/fashion-mnist.js';

const OUT = join(import.meta.dirname, '..', 'samples', 'fashion');
if (!(await fashionMnistAvailable())) {
  console.error(
    `make-sample: ${FASHION_MNIST_DIR} not found; install it with: apt-get install dataset-fashion-mnist`,
  );
  process.exit(1);
}
await rm(OUT, { recursive: true, force: true });
const written = await writeFashionMnist(OUT, [0, 1, 7, 8], 30, 't10k');
console.log(`wrote ${written} images to ${OUT}`);
