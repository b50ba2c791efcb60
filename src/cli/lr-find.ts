/**
 * `vggkit lr-find <dir> [train flags]`: the doctor's LR range test (src/doctor/probe.ts, fastai's
 * LR finder: an exponential ramp of the rate over a seeded sample, smoothed loss, stopped at 4x its
 * best, weights restored) as its own command. Prints the suggestions (valley, steep, minimum) and
 * the sweep that would centre on them, and writes the loss-against-rate plot. With --json the last
 * stdout line is one JSON object.
 */
import type { Command } from 'commander';
import { DEFAULT_PROBE_IMAGES } from '../doctor/probe-results.js';
import { lazyAction } from './run-command.js';
import { registerTrainFlags } from './train-flags.js';

export interface LrFindFlags extends Readonly<Record<string, unknown>> {
  readonly config?: string;
  readonly images?: string;
  readonly html?: string;
  readonly offline?: boolean;
  readonly json?: boolean;
}

export function registerLrFind(program: Command): void {
  const command = program
    .command('lr-find')
    .description(
      "the LR range test on your images (fastai's LR finder): suggests learning rates and plots the loss against the rate",
    )
    .argument('<dir>', 'training images, one sub-folder per class');
  registerTrainFlags(command);
  command
    .option('--config <file>', 'JSON train settings; flags override it')
    .option(
      '--images <n>',
      `images in the seeded, stratified sample (default ${DEFAULT_PROBE_IMAGES})`,
    )
    .option('--html <file>', 'where to write the plot', 'lr-find.html')
    .option('--offline', 'never use the network; weights must already be in the cache')
    .option('--json', 'print the result as one JSON object, the last line on stdout')
    .action(lazyAction(async () => (await import('./actions/lr-find.js')).lrFind));
}
