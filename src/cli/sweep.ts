/**
 * `vggkit sweep <dir> [train flags]`: the train flags give the base config; a numeric flag given
 * `lo..hi`, or any flag given a list (`a,b,c`; `x|y` for stages and augment, whose values hold
 * commas), becomes a search dimension. One line per finished trial on stderr with its values and
 * metric, a progress line with the ETA; with --json the last stdout line is
 * `{ "best": …, "trials": N, "out": … }`.
 */
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { defaultCacheDir } from '../model/download.js';
import { createProgress, formatDuration, type Progress } from '../report/progress.js';
import { DEFAULT_ASHA, SCHEDULER_NAMES, parseSchedulerName } from '../sweep/schedulers/index.js';
import { DEFAULT_PARALLEL } from '../sweep/executors/local.js';
import { QueueExecutor } from '../sweep/executors/bullmq.js';
import { MONITORS, parseMonitor } from '../sweep/monitor.js';
import type { TrialRecord } from '../sweep/results.js';
import { runSweep, type SweepSettings } from '../sweep/run-sweep.js';
import { defaultSampler, parseSamplerName, SAMPLER_NAMES } from '../sweep/samplers/index.js';
import {
  formatNumber,
  formatParams,
  isSearchText,
  makeSpace,
  parseDimensionJson,
  parseDimensionText,
} from '../sweep/space.js';
import type { Dimension } from '../sweep/types.js';
import { DEFAULT_CONFIG, type TrainConfig } from '../train/config.js';
import { readConfigJson } from '../train/config-file.js';
import { parseTrainConfig } from '../train/config-schema.js';
import { invalidOption, UsageError } from '../util/errors.js';
import { didYouMean } from '../util/suggest.js';
import { parseInteger } from './common.js';
import { runCommand } from './run-command.js';
import {
  configFromFlags,
  flagAttribute,
  flagDefault,
  TRAIN_FLAGS,
  type TrainFlag,
} from './train-flags.js';

interface SweepFlags extends Readonly<Record<string, unknown>> {
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

/** The train flag a `search` key names: a flag (`batch-size`, `--min-lr`) or a config path (`batchSize`). */
function flagForKey(key: string, where: string): TrainFlag {
  const bare = key.replace(/^--/, '');
  const flag = TRAIN_FLAGS.find(
    (f) => f.path === key || [f.flag, ...f.aliases].some((s) => s.slice(2) === bare),
  );
  if (flag === undefined)
    throw new UsageError(
      'UNKNOWN_CONFIG_KEY',
      `${where}: unknown setting "${key}"${didYouMean(
        bare,
        TRAIN_FLAGS.map((f) => f.flag.slice(2)),
      )}; expected a train flag such as lr, optimizer, batch-size`,
    );
  return flag;
}

/** The base config and the dimensions, from the flags and the --config file's `search` object. */
export async function parseSearch(
  flags: Readonly<Record<string, unknown>>,
): Promise<{ base: TrainConfig; dimensions: Dimension[] }> {
  let fileBase = DEFAULT_CONFIG;
  let fileSearch: Record<string, unknown> = {};
  const configFile = flags.config as string | undefined;
  if (configFile !== undefined) {
    const json = await readConfigJson(configFile);
    if (json !== null && typeof json === 'object' && !Array.isArray(json) && 'search' in json) {
      const { search, ...rest } = json as Record<string, unknown>;
      if (search === null || typeof search !== 'object' || Array.isArray(search))
        throw invalidOption(
          `${configFile}: search`,
          'an object of setting -> range or list',
          search,
        );
      fileSearch = search as Record<string, unknown>;
      fileBase = parseTrainConfig(rest, configFile);
    } else {
      fileBase = parseTrainConfig(json, configFile);
    }
  }
  const fixed: Record<string, unknown> = {};
  const searched: { flag: TrainFlag; spelling: string; text: string }[] = [];
  for (const flag of TRAIN_FLAGS) {
    for (const spelling of [flag.flag, ...flag.aliases]) {
      const raw = flags[flagAttribute(spelling)];
      if (raw === undefined) continue;
      if (typeof raw === 'string' && isSearchText(flag.path, raw))
        searched.push({ flag, spelling, text: raw });
      else fixed[flagAttribute(spelling)] = raw;
    }
  }
  const base = configFromFlags(fixed, fileBase);
  const dimensions = [
    ...searched.map(
      ({ flag, spelling, text }) =>
        parseDimensionText(flag.path, spelling.slice(2), text, base, spelling) as Dimension,
    ),
    ...Object.entries(fileSearch).map(([key, value]) => {
      const where = `${configFile as string}: search.${key}`;
      const flag = flagForKey(key, `${configFile as string}: search`);
      const name =
        key === flag.path && !key.includes('.') ? flag.flag.slice(2) : key.replace(/^--/, '');
      return parseDimensionJson(
        flag.path,
        key.includes('.') ? flag.flag.slice(2) : name,
        value,
        base,
        where,
      );
    }),
  ];
  return { base, dimensions };
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
    .action(
      runCommand(async (dir: string, flags: SweepFlags) => {
        const json = flags.json === true;
        if (flags.resume === true && flags.out === undefined)
          throw new UsageError(
            'MISSING_OPTION',
            '--resume: expected --out DIR naming the sweep to continue, received none',
          );
        const out =
          flags.out ?? join('runs', `sweep-${new Date().toISOString().replace(/[:.]/g, '-')}`);
        const parallel = parseInteger(
          '--parallel',
          flags.parallel,
          flags.queue === undefined ? DEFAULT_PARALLEL : 4,
        );
        let settings: SweepSettings | undefined;
        if (flags.resume !== true) {
          const { base, dimensions } = await parseSearch(flags);
          const space = makeSpace(dimensions);
          const trialsGiven =
            flags.trials === undefined ? undefined : parseInteger('--trials', flags.trials, 24);
          const sampler =
            flags.sampler === undefined
              ? defaultSampler(space, trialsGiven)
              : parseSamplerName(flags.sampler);
          const trials = trialsGiven ?? (sampler === 'grid' ? Number.POSITIVE_INFINITY : 24);
          settings = {
            data: dir,
            base,
            space,
            sampler,
            trials,
            scheduler: parseSchedulerName(flags.scheduler),
            asha: {
              minEpochs: parseInteger('--min-epochs', flags.minEpochs, DEFAULT_ASHA.minEpochs),
              reductionFactor: parseInteger(
                '--reduction-factor',
                flags.reductionFactor,
                DEFAULT_ASHA.reductionFactor,
                2,
              ),
            },
            monitor: parseMonitor(flags.monitor, flags.mode, base),
          };
        }
        const display = new SweepDisplay(json);
        try {
          const result = await runSweep({
            ...(settings === undefined ? {} : { settings }),
            out,
            resume: flags.resume === true,
            parallel,
            ...(flags.queue === undefined
              ? {}
              : { executor: new QueueExecutor({ url: flags.queue, slots: parallel }) }),
            cacheDir: defaultCacheDir(),
            offline: flags.offline === true,
            log: (line) => display.line(line),
            onFeatureProgress: (done, total) => display.features(done, total),
            onTrialEnd: (trial, done, total, monitor) => display.trial(trial, done, total, monitor),
          });
          display.stop();
          const best = result.best;
          display.line(
            best === undefined
              ? 'no trial completed with a finite value'
              : `best: ${best.id} ${formatParams(best.params)}: ${result.sweep.monitor.name} ${formatNumber(best.value)} (epoch ${best.bestEpoch + 1}); vggkit train ${dir} --config ${join(result.out, 'best-config.json')}`,
          );
          display.line(`sweep folder: ${result.out}`);
          if (json)
            process.stdout.write(
              `${JSON.stringify({
                best: result.sweep.best,
                trials: result.sweep.trials.length,
                out: result.out,
              })}\n`,
            );
          return best === undefined ? 1 : 0;
        } finally {
          display.stop();
        }
      }),
    );
}

/** Trial lines and progress on stderr. */
class SweepDisplay {
  private bar: Progress | undefined;
  private featureTotal = -1;
  private readonly started = performance.now();

  constructor(private readonly json: boolean) {}

  features(done: number, total: number): void {
    if (total !== this.featureTotal || this.bar === undefined) {
      this.stop();
      this.featureTotal = total;
      this.bar = createProgress({ label: 'features', total, unit: 'img', json: this.json });
    }
    this.bar.update(done);
    if (done >= total) {
      this.stop();
      this.featureTotal = -1;
    }
  }

  trial(trial: TrialRecord, done: number, total: number, monitor: string): void {
    const elapsed = (performance.now() - this.started) / 1000;
    const eta = done > 0 ? (elapsed / done) * (total - done) : Number.NaN;
    const value = Number.isNaN(trial.value)
      ? 'no finite value'
      : `${monitor} ${formatNumber(trial.value)} (epoch ${trial.bestEpoch + 1})`;
    const status =
      trial.status === 'completed'
        ? `${trial.epochs} epochs`
        : trial.status === 'pruned'
          ? `pruned after ${trial.epochs}`
          : `failed: ${trial.error?.message ?? ''}`;
    this.line(
      `[${done}/${total}] ${trial.id} ${formatParams(trial.params)}: ${value}, ${status}${trial.stoppedBy === undefined ? '' : ` (stopped by ${trial.stoppedBy})`}, ${trial.seconds.toFixed(1)}s; ETA ${formatDuration(eta)}`,
    );
  }

  line(text: string): void {
    this.stop();
    process.stderr.write(`${text}\n`);
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}
