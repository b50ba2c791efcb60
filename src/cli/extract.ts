/**
 * `vggkit extract`: features of one layer for every image, streamed to `features.npy` (one row per
 * image, the layer output flattened in NHWC order, as Keras' `predict` would give it) with
 * `index.json` naming each row's file, the skipped files, the contract used and the precision
 * (with `--precision int8`, the calibration and the guard's figures).
 */
import type { Command } from 'commander';
import {
  addImageOptions,
  addPrecisionOptions,
  type CommonFlags,
  type PrecisionFlags,
} from './common.js';
import { lazyAction } from './run-command.js';

export interface ExtractFlags extends CommonFlags, PrecisionFlags {
  readonly weights: string;
  readonly arch: string;
  readonly layer?: string;
  readonly pooling: string;
  readonly includeTop?: boolean;
  readonly inputSize?: string;
  readonly out: string;
  readonly batchSize?: string;
  readonly queue?: string;
  readonly parallel?: string;
}

export function registerExtract(program: Command): void {
  addImageOptions(
    addPrecisionOptions(
      program
        .command('extract')
        .description("write one layer's features for every image to features.npy, with index.json")
        .argument(
          '<paths...>',
          'image files and directories (walked recursively; non-image files ignored)',
        )
        .option(
          '--weights <tag|file>',
          "weights tag, .h5/.hdf5 (Keras layout) or .safetensors (torchvision layout) file, 'none', or a model folder from vggkit train",
          'imagenet',
        )
        .option('--arch <name>', 'vgg11, vgg13, vgg16 or vgg19', 'vgg16')
        .option('--layer <name>', "Keras layer name (default: the network's last layer)")
        .option(
          '--pooling <kind>',
          'global pooling after block5 without the top: none, avg, max',
          'none',
        )
        .option(
          '--include-top',
          'build fc1, fc2 and predictions (implied by --layer fc1|fc2|predictions|flatten)',
        )
        .option('--input-size <n>', 'square input size without the top (>= 32)')
        .option('--out <dir>', 'output directory', '.')
        .option('--batch-size <n>', 'images per forward pass', '16')
        .option(
          '--queue <url>',
          'compute a frozen-base layer (block1_pool … block5_pool) on the `vggkit worker`s of this Redis (redis://host:port/db), shard by shard, into the shared feature cache',
        )
        .option('--parallel <n>', 'with --queue: shards in flight at once', '4'),
    ),
  ).action(lazyAction(async () => (await import('./actions/extract.js')).extract));
}
