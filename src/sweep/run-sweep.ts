/**
 * The coordinator: `runSweep()` fills the shared feature cache, then asks the sampler for trials,
 * dispatches their jobs to an executor (at most `slots` at once), tells the study each outcome,
 * and rewrites sweep.json after every change. When every trial is done it writes
 * best-config.json, the best trial's model and the report. `resume` reattaches to a sweep folder
 * whose coordinator died: its own sweep.json gives the space and the records; completed and
 * pruned trials are never re-run, the others continue from their checkpoints.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CHECKPOINT_FILE } from '../train/checkpoint.js';
import type { TrainConfig } from '../train/config.js';
import { fineTune } from '../train/fit.js';
import { frozenRandomWarning } from '../train/stages.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic.js';
import { UsageError, VggkitError } from '../util/errors.js';
import { fillFeatureCache, type CacheFill } from './cache-fill.js';
import { InProcessExecutor, localExecutor } from './executors/local.js';
import type { TrialExecutor } from './executors/types.js';
import type { Monitor } from './monitor.js';
import {
  BEST_CONFIG_FILE,
  readSweepFile,
  SWEEP_FORMAT,
  trialDir,
  writeSweepFile,
  type SweepFile,
  type TrialRecord,
} from './results.js';
import { createSampler, type SamplerName } from './samplers/index.js';
import { createScheduler, DEFAULT_ASHA, type SchedulerName } from './schedulers/index.js';
import type { AshaOptions } from './schedulers/asha.js';
import { renderSweepReport } from './report.js';
import { trialConfig } from './space.js';
import { Study } from './study.js';
import type { SearchSpace, TrialJob, TrialOutcome } from './types.js';
import { WorkerContext } from './worker-context.js';

export interface SweepSettings {
  readonly data: string;
  readonly base: TrainConfig;
  readonly space: SearchSpace;
  readonly sampler: SamplerName;
  readonly trials: number;
  readonly scheduler: SchedulerName;
  readonly asha?: AshaOptions;
  readonly monitor: Monitor;
}

export interface SweepOptions {
  /** What to search; ignored (read from sweep.json) when resuming. */
  readonly settings?: SweepSettings;
  readonly out: string;
  readonly resume?: boolean;
  /** Local worker processes (1: in-process); ignored when `executor` is given. */
  readonly parallel?: number;
  /** Where jobs run; default the local pool of `parallel` workers. */
  readonly executor?: TrialExecutor;
  readonly cacheDir: string;
  readonly offline?: boolean;
  readonly log?: (line: string) => void;
  /** A trial reached a final state (completed, pruned, failed). */
  readonly onTrialEnd?: (trial: TrialRecord, done: number, total: number, monitor: string) => void;
  /** A job was dispatched or came back. */
  readonly onProgress?: (trials: readonly TrialRecord[], planned: number) => void;
  readonly onFeatureProgress?: (done: number, total: number) => void;
}

export interface SweepResult {
  readonly out: string;
  readonly sweep: SweepFile;
  readonly best: TrialRecord | undefined;
  readonly bestConfig: TrainConfig | undefined;
}

function isFinal(r: TrialRecord): boolean {
  return r.status === 'completed' || r.status === 'pruned' || r.status === 'failed';
}

async function settingsFor(
  options: SweepOptions,
  out: string,
): Promise<{ settings: SweepSettings; previous: SweepFile | undefined }> {
  const previous = await readSweepFile(out);
  if (options.resume === true) {
    if (previous === undefined)
      throw new VggkitError(
        'NOT_FOUND',
        `${join(out, 'sweep.json')}: --resume needs the sweep's sweep.json, found none`,
        {
          file: out,
          exitCode: 2,
        },
      );
    return {
      previous,
      settings: {
        data: previous.data,
        base: previous.base,
        space: { dimensions: previous.space },
        sampler: previous.sampler.name as SamplerName,
        trials: previous.trialsPlanned,
        scheduler: previous.scheduler.name as SchedulerName,
        asha: {
          minEpochs: previous.scheduler.minEpochs ?? DEFAULT_ASHA.minEpochs,
          reductionFactor: previous.scheduler.reductionFactor ?? DEFAULT_ASHA.reductionFactor,
        },
        monitor: previous.monitor as Monitor,
      },
    };
  }
  if (previous !== undefined)
    throw new UsageError(
      'CONFLICTING_OPTIONS',
      `--out ${out}: already holds a sweep (sweep.json); continue it with --resume, or choose another --out`,
    );
  if (options.settings === undefined)
    throw new TypeError('runSweep: expected settings for a new sweep');
  return { previous: undefined, settings: options.settings };
}

export async function runSweep(options: SweepOptions): Promise<SweepResult> {
  const log = options.log ?? (() => undefined);
  const out = resolve(options.out);
  const { settings, previous } = await settingsFor(options, out).catch(async (error: unknown) => {
    await options.executor?.close();
    throw error;
  });
  const data = resolve(settings.data);
  const offline = options.offline ?? false;
  const asha = settings.asha ?? DEFAULT_ASHA;
  const sampler = createSampler(
    settings.sampler,
    settings.space,
    settings.base.seed,
    settings.monitor.direction,
  );
  const trials = Math.min(settings.trials, sampler.capacity);
  if (trials < settings.trials)
    log(
      `the grid has ${sampler.capacity} combinations: running ${trials} trials, not ${settings.trials}`,
    );
  const scheduler = createScheduler(settings.scheduler, asha);
  const study = new Study(
    {
      sampler,
      scheduler,
      monitor: settings.monitor,
      base: settings.base,
      space: settings.space,
      trials,
    },
    previous?.trials ?? [],
  );
  await mkdir(out, { recursive: true });

  const executor = options.executor ?? localExecutor(options.parallel ?? 1);
  // In one process the coordinator's loaded base and features serve the trials directly.
  const local = executor instanceof InProcessExecutor ? executor.context : new WorkerContext();
  let cacheFilled = previous?.cacheFilled ?? 0;
  const snapshot = (finished: boolean): SweepFile => {
    const best = study.best();
    return {
      format: SWEEP_FORMAT,
      data,
      space: settings.space.dimensions,
      sampler: { name: settings.sampler, seed: settings.base.seed },
      scheduler:
        settings.scheduler === 'asha' ? { name: 'asha', ...asha } : { name: settings.scheduler },
      monitor: settings.monitor,
      trialsPlanned: trials,
      base: settings.base,
      trials: study.trials,
      best:
        best === undefined ? null : { trialId: best.id, params: best.params, value: best.value },
      cacheFilled,
      finished,
    };
  };
  let saving = Promise.resolve();
  const save = (finished = false): Promise<void> => {
    const file = snapshot(finished);
    saving = saving.then(() => writeSweepFile(out, file));
    return saving;
  };

  try {
    if (previous?.finished !== true) {
      await save();
      const fill: CacheFill = await fillFeatureCache({
        data,
        base: settings.base,
        space: settings.space,
        cacheDir: options.cacheDir,
        offline,
        resources: local.resources,
        log,
        ...(options.onFeatureProgress === undefined
          ? {}
          : { onProgress: options.onFeatureProgress }),
        ...(executor.extract === undefined ? {} : { extract: executor.extract.bind(executor) }),
      });
      cacheFilled += fill.computed;
      log(
        fill.prefixes === 0
          ? 'no frozen prefix to share (augmentation, or every block trains): each trial runs the whole network'
          : `feature cache: ${fill.images} images x ${fill.prefixes} frozen prefix${fill.prefixes === 1 ? '' : 'es'}, ${fill.computed} computed now, the rest already cached`,
      );
      const frozenRandom = frozenRandomWarning(settings.base);
      const varied = settings.space.dimensions.some(
        (d) => d.path === 'stages' || d.path === 'weights',
      );
      if (frozenRandom !== undefined && !varied)
        log(`${frozenRandom}: in every trial (random-base-frozen)`);
      log(
        `${trials} trials (${settings.sampler} sampler, ${settings.scheduler === 'asha' ? `ASHA, rungs at ${asha.minEpochs}x${asha.reductionFactor}^k epochs` : 'no pruning'}) on ${executor.description}`,
      );
      await dispatchAll(study, executor, {
        out,
        data,
        options,
        offline,
        save,
        trials,
        monitor: settings.monitor.name,
      });
    }
    const best = study.best();
    const bestConfig =
      best === undefined ? undefined : trialConfig(settings.base, settings.space, best.params);
    if (best !== undefined && bestConfig !== undefined) {
      await writeJsonAtomic(join(out, BEST_CONFIG_FILE), bestConfig);
      // The winner becomes a full model folder: its checkpoint holds every epoch, nothing retrains.
      await fineTune({
        data,
        config: bestConfig,
        out: trialDir(out, best.id),
        resume: true,
        cacheDir: options.cacheDir,
        offline,
        resources: local.resources,
      });
    }
    for (const r of study.trials)
      if (r.id !== best?.id) await rm(join(trialDir(out, r.id), CHECKPOINT_FILE), { force: true });
    await save(true);
    const sweep = snapshot(true);
    await writeFileAtomic(
      join(out, 'report.html'),
      renderSweepReport(sweep, {
        train: `vggkit train ${data} --config ${join(out, BEST_CONFIG_FILE)}`,
      }),
    );
    return { out, sweep, best, bestConfig };
  } finally {
    await executor.close();
    if (local !== (executor as { context?: WorkerContext }).context) await local.close();
  }
}

interface DispatchContext {
  readonly out: string;
  readonly data: string;
  readonly options: SweepOptions;
  readonly offline: boolean;
  readonly save: () => Promise<void>;
  readonly trials: number;
  readonly monitor: string;
}

async function dispatchAll(
  study: Study,
  executor: TrialExecutor,
  ctx: DispatchContext,
): Promise<void> {
  const inFlight = new Map<
    string,
    Promise<{ id: string; outcome?: TrialOutcome; error?: unknown }>
  >();
  const finals = (): number => study.trials.filter(isFinal).length;
  while (!study.done) {
    while (inFlight.size < executor.slots) {
      const dispatch = study.next();
      if (dispatch === undefined) break;
      const job: TrialJob = {
        kind: 'trial',
        sweepDir: ctx.out,
        trialId: dispatch.record.id,
        data: ctx.data,
        config: dispatch.config,
        stopAt: dispatch.record.stopAt,
        cacheDir: ctx.options.cacheDir,
        offline: ctx.offline,
      };
      const id = dispatch.record.id;
      inFlight.set(
        id,
        executor.run(job).then(
          (outcome) => ({ id, outcome }),
          (error: unknown) => ({ id, error }),
        ),
      );
      await ctx.save();
      ctx.options.onProgress?.(study.trials, ctx.trials);
    }
    if (inFlight.size === 0) break;
    const settled = await Promise.race(inFlight.values());
    inFlight.delete(settled.id);
    const record = study.trials.find((r) => r.id === settled.id) as TrialRecord;
    const outcome: TrialOutcome = settled.outcome ?? {
      trialId: settled.id,
      stopAt: record.stopAt,
      status: 'failed',
      history: record.history,
      startedAt: record.epochs,
      error: {
        code: 'WORKER_FAILED',
        message: settled.error instanceof Error ? settled.error.message : String(settled.error),
      },
      seconds: 0,
      worker: 'unknown',
      featuresComputed: 0,
    };
    const updated = study.tell(outcome);
    if (updated !== undefined && isFinal(updated)) {
      if (updated.status !== 'completed')
        await rm(join(trialDir(ctx.out, updated.id), CHECKPOINT_FILE), { force: true });
      ctx.options.onTrialEnd?.(updated, finals(), ctx.trials, ctx.monitor);
    }
    await ctx.save();
    ctx.options.onProgress?.(study.trials, ctx.trials);
  }
}
