/**
 * `vggkit sweep <dir> [train flags]`: the train flags give the base config; a numeric flag given
 * `lo..hi`, or any flag given a list (`a,b,c`; `x|y` for stages and augment, whose values hold
 * commas), becomes a search dimension. One line per finished trial on stderr with its values and
 * metric, a progress line with the ETA; with --json the last stdout line is
 * `{ "best": …, "trials": N, "out": … }`.
 */
import { Option, type Command } from 'commander';
import { DEFAULT_PARALLEL } from '../sweep/defaults.js';
import { MONITORS } from '../sweep/monitor.js';
import { SAMPLER_NAMES } from '../sweep/samplers/index.js';
import { DEFAULT_ASHA, SCHEDULER_NAMES } from '../sweep/schedulers/index.js';
import { lazyAction } from './run-command.js';
import { flagAttribute, flagDefault, TRAIN_FLAGS } from './train-flags.js';

export interface SweepFlags extends Readonly<Record<string, unknown>> {
  readonly trials?: string;
  readonly sampler?: string;
  readonly scheduler: string;
  readonly minEpochs?: string;
  readonly reductionFactor?: string;
  readonly monitor: string;
  readonly mode: string;
  readonly parallel?: string;
  readonly queue?: string;
  readonly out?: string;
  readonly resume?: boolean;
  readonly config?: string;
  readonly offline?: boolean;
  readonly json?: boolean;
}

/**
 * Adds every train flag (from the one table, aliases hidden) to `command`, each taking a value,
 * a range or a list as text; a boolean flag also takes `true,false` to search both.
 */
export function addSearchableTrainFlags(command: Command): void {
  for (const f of TRAIN_FLAGS) {
    const fallback = flagDefault(f);
    const shown =
      fallback === undefined
        ? ''
        : ` (default ${Array.isArray(fallback) ? fallback.join(',') || 'none' : String(fallback)})`;
    for (const [index, spelling] of [f.flag, ...f.aliases].entries()) {
      const options =
        f.kind === 'boolean'
          ? [
              new Option(
                `${spelling} [values]`,
                `${f.help}: on, or true,false to search both${shown}`,
              ),
              new Option(`--no-${spelling.slice(2)}`, `${f.help}: off`),
            ]
          : [
              new Option(
                `${spelling} <${f.kind === 'number' || f.kind === 'integer' ? 'x|lo..hi|a,b' : f.kind === 'list' ? 'value|a|b' : 'value|a,b'}>`,
                `${f.help}${f.choices === undefined ? '' : `: ${f.choices.join(', ')}`}${shown}`,
              ),
            ];
      for (const option of options) {
        if (option.attributeName() !== flagAttribute(spelling))
          throw new TypeError(`${option.flags}: commander names it ${option.attributeName()}`);
        command.addOption(index > 0 ? option.hideHelp() : option);
      }
    }
  }
}

export function registerSweep(program: Command): void {
  const command = program
    .command('sweep')
    .description(
      'train many configurations on your images and tell which works: every train flag given as lo..hi or a,b,c is searched; the frozen base runs once per image for the whole sweep',
    )
    .argument('<dir>', 'training images, one sub-folder per class');
  addSearchableTrainFlags(command);
  command
    .option('--trials <n>', 'trials to run (default: the grid size for lists only, else 24)')
    .option(
      '--sampler <name>',
      `${SAMPLER_NAMES.join(', ')} (default: grid for lists only, tpe when --trials leaves room after its 10 random start-up trials, else random)`,
    )
    .option(
      '--scheduler <name>',
      `${SCHEDULER_NAMES.join(', ')}: asha stops weak trials at rungs of min-epochs x reduction-factor^k`,
      'none',
    )
    .option(
      '--min-epochs <n>',
      `ASHA: epochs of the first rung (default ${DEFAULT_ASHA.minEpochs})`,
    )
    .option(
      '--reduction-factor <n>',
      `ASHA: keep the top 1/n at each rung (default ${DEFAULT_ASHA.reductionFactor})`,
    )
    .option('--monitor <metric>', `what ranks trials: ${MONITORS.join(', ')}`, 'val_loss')
    .option('--mode <mode>', 'min, max, or auto (a name with acc is maximised)', 'auto')
    .option(
      '--parallel <n>',
      `local worker processes, the cores divided among them (default ${DEFAULT_PARALLEL})`,
    )
    .option(
      '--queue <url>',
      'distribute the trials over `vggkit worker`s through BullMQ on this Redis (redis://host:port/db); --parallel is then the jobs in flight (default 4)',
    )
    .option('--out <dir>', 'sweep folder to write (default: a new folder under runs/)')
    .option(
      '--resume',
      'continue the sweep in --out after an interruption (uses its own sweep.json)',
    )
    .option(
      '--config <file>',
      'JSON train settings, optionally with a "search" object of the same ranges and lists',
    )
    .option('--offline', 'never use the network; weights must already be in the cache')
    .option('--json', 'print the result as one JSON object, the last line on stdout')
    .action(lazyAction(async () => (await import('./actions/sweep.js')).sweep));
}
