/**
 * `vggkit predict`: top-k classes per image, from with-top weights (ImageNet class names) or from
 * a vggkit model folder (its own class names and contract, read from the model's metadata).
 */
import type { Command } from 'commander';
import {
  addImageOptions,
  addPrecisionOptions,
  type CommonFlags,
  type PrecisionFlags,
} from './common.js';
import { lazyAction } from './run-command.js';

export interface PredictFlags extends CommonFlags, PrecisionFlags {
  readonly weights: string;
  readonly kerasWeights?: string;
  readonly arch: string;
  readonly top?: string;
  readonly batchSize?: string;
}

export function registerPredict(program: Command): void {
  addImageOptions(
    addPrecisionOptions(
      program
        .command('predict')
        .description('classify images: the top classes per image')
        .argument('<paths...>', 'image files and directories (walked recursively)')
        .option(
          '--weights <tag|file|dir>',
          'with-top weights (tag or .h5/.hdf5/.safetensors file), a vggkit model folder, or your Keras model (.keras, model.save .h5, TF.js model.json)',
          'imagenet-top',
        )
        .option(
          '--keras-weights <file.h5>',
          'with --weights MODEL.json (model.to_json(), the architecture only): the .h5 model.save_weights wrote, loaded as model.load_weights does',
        )
        .option('--arch <name>', 'architecture of the weights', 'vgg16')
        .option('--top <k>', 'classes to show per image', '5')
        .option('--batch-size <n>', 'images per forward pass', '8'),
    ),
  ).action(lazyAction(async () => (await import('./actions/predict.js')).predict));
}
