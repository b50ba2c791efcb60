/** What `vggkit sweep` does (declared in ../sweep.ts). */
import { join } from 'node:path';
import { defaultCacheDir } from '../../model/download.js';
import { createProgress, PassProgress, type Progress } from '../../report/progress.js';
import { DEFAULT_PARALLEL } from '../../sweep/defaults.js';
import { QueueExecutor } from '../../sweep/executors/bullmq.js';
import { parseMonitor } from '../../sweep/monitor.js';
import type { TrialRecord } from '../../sweep/results.js';
import { runSweep, type SweepSettings } from '../../sweep/run-sweep.js';
import { defaultSampler, parseSamplerName } from '../../sweep/samplers/index.js';
import { summarize } from '../../sweep/summary.js';
import { DEFAULT_ASHA, parseSchedulerName } from '../../sweep/schedulers/index.js';
import {
  formatNumber,
  formatParams,
  isSearchText,
  makeSpace,
  parseDimensionJson,
  parseDimensionText,
} from '../../sweep/space.js';
import type { Dimension } from '../../sweep/types.js';
import { readConfigJson } from '../../train/config-file.js';
import { parseTrainConfig } from '../../train/config-schema.js';
import { DEFAULT_CONFIG, type TrainConfig } from '../../train/config.js';
import { invalidOption, UsageError } from '../../util/errors.js';
import { didYouMean } from '../../util/suggest.js';
import { parseInteger } from '../common.js';
import type { SweepFlags } from '../sweep.js';
import { configFromFlags, flagAttribute, TRAIN_FLAGS, type TrainFlag } from '../train-flags.js';

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

export async function sweep(dir: string, flags: SweepFlags): Promise<number> {
  const json = flags.json === true;
  if (flags.resume === true && flags.out === undefined)
    throw new UsageError(
      'MISSING_OPTION',
      '--resume: expected --out DIR naming the sweep to continue, received none',
    );
  const out = flags.out ?? join('runs', `sweep-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  const parallel = parseInteger(
    '--parallel',
    flags.parallel,
    flags.queue === undefined ? DEFAULT_PARALLEL : 4,
  );
  let settings: SweepSettings | undefined;
  const display = new SweepDisplay(json);
  if (flags.resume !== true) {
    const findLr = flags.lr === 'find';
    const { base, dimensions } = await parseSearch(findLr ? { ...flags, lr: undefined } : flags);
    if (findLr) {
      if (dimensions.some((d) => d.path === 'lr'))
        throw new UsageError(
          'CONFLICTING_OPTIONS',
          `--lr find: ${flags.config as string} also searches lr in its search object; give one of them`,
        );
      const { lrDimensionFromRangeTest } = await import('./lr-find.js');
      dimensions.push(
        await lrDimensionFromRangeTest(dir, base, {
          offline: flags.offline === true,
          json,
          log: (line) => display.line(line),
        }),
      );
    }
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
      onFeatureProgress: (done, total) => display.featureProgress(done, total),
      onProgress: (trials, planned) => display.trials(trials, planned),
      onTrialEnd: (trial, done, total, monitor) => display.trial(trial, done, total, monitor),
    });
    display.stop();
    const best = result.best;
    // The report's plain-language findings: the best trial, what won, what ASHA pruned, failures.
    for (const sentence of summarize(result.sweep)) display.line(sentence);
    if (best !== undefined)
      display.line(
        `to train the best config: vggkit train ${dir} --config ${join(result.out, 'best-config.json')}`,
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
}

/**
 * Progress on stderr: the feature fill's bar, then one overall bar of finished trials (its ETA
 * from their rate) with one line per finished trial printed above it.
 */
class SweepDisplay {
  private readonly features: PassProgress;
  private trialBar: Progress | undefined;

  constructor(private readonly json: boolean) {
    this.features = new PassProgress({ unit: 'img', json });
  }

  featureProgress(done: number, total: number): void {
    this.features.update('features', done, total);
  }

  /** A job was dispatched or came back: the overall bar's count and what is running. */
  trials(trials: readonly TrialRecord[], planned: number): void {
    const finished = trials.filter(
      (t) => t.status === 'completed' || t.status === 'pruned' || t.status === 'failed',
    ).length;
    const running = trials.filter((t) => t.status === 'running').length;
    this.trialBar ??= createProgress({
      label: 'trials',
      total: planned,
      unit: 'trial',
      json: this.json,
    });
    this.trialBar.update(finished, `${running} running`);
  }

  trial(trial: TrialRecord, done: number, total: number, monitor: string): void {
    const value = Number.isNaN(trial.value)
      ? 'no finite value'
      : `${monitor} ${formatNumber(trial.value)} (epoch ${trial.bestEpoch + 1})`;
    const status =
      trial.status === 'completed'
        ? `${trial.epochs} epochs`
        : trial.status === 'pruned'
          ? `pruned after ${trial.epochs}`
          : `failed: ${trial.error?.message ?? ''}`;
    const text = `[${done}/${total}] ${trial.id} ${formatParams(trial.params)}: ${value}, ${status}${trial.stoppedBy === undefined ? '' : ` (stopped by ${trial.stoppedBy})`}, ${trial.seconds.toFixed(1)}s`;
    if (this.trialBar === undefined) this.line(text);
    else this.trialBar.log(text);
  }

  line(text: string): void {
    this.stop();
    process.stderr.write(`${text}\n`);
  }

  stop(): void {
    this.features.stop();
    this.trialBar?.stop();
    this.trialBar = undefined;
  }
}
