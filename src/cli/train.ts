/**
 * `vggkit train <dir>`: fineTune() with the seed's recipe as defaults, every hyperparameter a flag
 * or a `--config` JSON key (flags win over the file). Progress and notes go to stderr: a bar while
 * features are extracted, a per-batch bar with rate and ETA, one line per epoch with every metric
 * and the learning rate. With `--json` the last line on stdout is one JSON object with the result.
 */
import type { Command } from 'commander';
import { lazyAction } from './run-command.js';
import { registerTrainFlags } from './train-flags.js';

export interface TrainFlags extends Readonly<Record<string, unknown>> {
  readonly out?: string;
  readonly resume?: boolean;
  readonly config?: string;
  readonly json?: boolean;
  readonly offline?: boolean;
}

export function registerTrain(program: Command): void {
  const command = program
    .command('train')
    .description(
      "fine-tune a VGG classifier on a folder with one sub-folder per class (the seed article's recipe by default)",
    )
    .argument('<dir>', 'training images, one sub-folder per class');
  // Every training setting is a flag, from the one table sweep, lr-find and the doctor use too.
  registerTrainFlags(command);
  command
    .option('--out <dir>', 'model folder to write (default: a new folder under runs/)')
    .option(
      '--resume',
      "continue the run in --out from its last completed epoch (uses the run's own config.json)",
    )
    .option(
      '--config <file>',
      'JSON file of training settings (same keys as config.json); flags override it',
    )
    .option('--offline', 'never use the network; weights must already be in the cache')
    .option('--json', 'print the result as one JSON object, the last line on stdout')
    .action(lazyAction(async () => (await import('./actions/train.js')).train));
}
