/** `vggkit summary`: the Keras-style layer table of a VGG configuration. */
import type { Command } from 'commander';
import { parseArch, type Pooling, type VggOptions } from '../model/architectures.js';
import { modelLayers } from '../model/head.js';
import { renderSummary, summarize } from '../model/summary.js';
import { oneOf, UsageError } from '../util/errors.js';
import { parseInteger, printJson } from './common.js';
import { runCommand } from './run-command.js';

interface SummaryFlags {
  readonly arch: string;
  readonly includeTop?: boolean;
  readonly inputSize?: string;
  readonly pooling: string;
  readonly json?: boolean;
}

export function registerSummary(program: Command): void {
  program
    .command('summary')
    .description('print the layers of a VGG network: output shapes, parameter counts, totals')
    .option('--arch <name>', 'vgg11, vgg13, vgg16 or vgg19', 'vgg16')
    .option('--include-top', 'include fc1, fc2 and predictions (input fixed at 224)')
    .option('--input-size <n>', 'square input size in pixels (>= 32; 224 with the top)')
    .option(
      '--pooling <kind>',
      'global pooling after block5 without the top: none, avg, max',
      'none',
    )
    .option('--json', 'print the summary as JSON')
    .action(
      runCommand(async (flags: SummaryFlags) => {
        const size = parseInteger('--input-size', flags.inputSize, 224, 32);
        const options: VggOptions = {
          arch: parseArch(flags.arch),
          includeTop: flags.includeTop === true,
          inputSize: [size, size],
          pooling: oneOf<Pooling>('--pooling', ['none', 'avg', 'max'], flags.pooling),
          classes: 1000,
        };
        let summary;
        try {
          summary = summarize(options.arch, modelLayers(options));
        } catch (error) {
          if (error instanceof RangeError)
            throw new UsageError('INVALID_OPTION', `--input-size: ${error.message}`);
          throw error;
        }
        if (flags.json === true) printJson(summary);
        else process.stdout.write(renderSummary(summary));
      }),
    );
}
