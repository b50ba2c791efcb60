/**
 * `vggkit evaluate <model> <dir>`: accuracy, loss, per-class precision/recall/F1 and the confusion
 * matrix of a trained model folder on a folder of class sub-folders (rows: true class, columns:
 * predicted class). The report is also written to evaluation.json in the model folder (the
 * dashboard's run page shows it).
 */
import type { Command } from 'commander';
import { addPrecisionOptions, type PrecisionFlags } from './common.js';
import { lazyAction } from './run-command.js';

export interface EvaluateFlags extends PrecisionFlags {
  readonly kerasWeights?: string;
  readonly batchSize?: string;
  readonly json?: boolean;
}

export function registerEvaluate(program: Command): void {
  addPrecisionOptions(
    program
      .command('evaluate')
      .description('measure a trained model folder on images in class sub-folders')
      .argument(
        '<model>',
        'model folder written by vggkit train, or your Keras model (.keras, model.save .h5, TF.js model.json, model.to_json() JSON with --keras-weights)',
      )
      .argument('<dir>', "images, one sub-folder per class (names as the model's classes)")
      .option(
        '--keras-weights <file.h5>',
        'with a model.to_json() JSON as <model> (the architecture only): the .h5 model.save_weights wrote, loaded as model.load_weights does',
      )
      .option('--batch-size <n>', 'images per forward pass', '16')
      .option('--json', 'print the report as JSON on stdout'),
  ).action(lazyAction(async () => (await import('./actions/evaluate.js')).evaluate));
}
