/**
 * The fix loop's run (see types.ts for its shape): LR range tests for each configuration to
 * compare, every candidate trained for a few epochs on the shared feature cache, the best one
 * chosen when it beats the user's config, and with `verify` the chosen fix and the user's config
 * trained for the user's whole epoch budget. Run folders live in a temporary folder that is removed
 * afterwards; only the feature cache (under `cacheDir`) stays, as after any training.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadFolderDataset } from '../../data/dataset.js';
import { trainCandidates, type CandidateResult } from '../../sweep/candidates.js';
import { parseTrainConfig } from '../../train/config-schema.js';
import type { TrainConfig } from '../../train/config.js';
import { SGD_MIN_MOMENTUM } from '../checks/config.js';
import { fixSettings } from '../fix-settings.js';
import { applyFixes } from '../fix-config.js';
import { runLrRangeTest } from '../probe.js';
import type { ProbeResults } from '../probe-results.js';
import type { DataScan } from '../scan.js';
import type { Finding } from '../types.js';
import {
  candidates,
  changesFrom,
  configurations,
  MEASURED_SETTINGS,
  shortenedToFraction,
} from './candidates.js';
import { beats, compareScores, scoreRun } from './score.js';
import type { Candidate, FixLoopResult, LrTest, RunOutcome, TriedCandidate } from './types.js';

/**
 * The short comparison's length: a third of the user's budget, at least 2 and at most 5 epochs:
 * enough to see which candidates learn at all (ASHA's first rungs make the same bet), and a
 * 100-epoch budget does not turn the doctor into a full sweep. Every candidate trains that same
 * share of its own budget (candidates.ts `shortenedToFraction`; equal epochs when only the batch
 * differs), not the same optimizer steps. The fix that gets written trains the user's epochs, so
 * the question is which config is best after that many epochs, and a batch twice as large really
 * gets half the steps in them. Equal steps asked another question and favoured large batches: a
 * large batch got several times the epochs of its real run's share, while a small one got its
 * share. On 300 images batch 128 (3 steps an epoch) won the short comparison at equal steps, then
 * over the 10-epoch budget (30 steps) reached 29% validation accuracy where batch 32 reaches 43%
 * (bench/fix.ts, Fashion-MNIST, weights none; checks/config.ts `batchForData`). At equal shares a
 * batch larger than the data (one step an epoch) is judged on the steps it would really take.
 */
export const SHORT_EPOCHS_FRACTION = 1 / 3;
export const MIN_SHORT_EPOCHS = 2;
export const MAX_SHORT_EPOCHS = 5;

export interface FixLoopOptions {
  readonly scan: DataScan;
  /** The user's config merged over the defaults. */
  readonly config: TrainConfig;
  /** The JSON the user wrote, which the rules patch. */
  readonly rawConfig: Readonly<Record<string, unknown>>;
  /** The report's findings before anything was measured by the loop. */
  readonly findings: readonly Finding[];
  readonly cacheDir: string;
  readonly offline?: boolean;
  /** Train the chosen fix and the user's config for the full budget and compare. */
  readonly verify?: boolean;
  /** `--probe`'s results: its LR range test is reused for the user's own configuration. */
  readonly probes?: ProbeResults;
  /** Local worker processes for the candidates (1: in this process). */
  readonly parallel?: number;
  readonly log?: (line: string) => void;
  /** Each finished candidate (then each verification run), for progress. */
  readonly onCandidate?: (done: number, total: number, label: string) => void;
}

export function shortEpochs(budget: number): number {
  return Math.min(
    budget,
    Math.max(
      MIN_SHORT_EPOCHS,
      Math.min(MAX_SHORT_EPOCHS, Math.ceil(budget * SHORT_EPOCHS_FRACTION)),
    ),
  );
}

/**
 * Findings whose fix names no setting though their usual cause is the rate: a run stuck at chance
 * (checks/dynamics.ts, checks/probes.ts: "a learning rate far too high or too low"; its fix is to
 * run an LR range test, which the loop does).
 */
export const RATE_CAUSED_FINDINGS: ReadonlySet<string> = new Set(['stuck-at-chance']);

/** Whether a finding is about the rate: its fix sets or names lr (or deferred it), or the rate is its usual cause. */
function aboutRate(f: Finding): boolean {
  return (
    fixSettings(f.fix).includes('lr') ||
    (f.fix.deferred ?? []).some((d) => d.setting === 'lr') ||
    RATE_CAUSED_FINDINGS.has(f.id)
  );
}

/**
 * The measured settings the findings touch, the rate first; empty when no finding proposes a
 * change. With SGD, a finding about the rate (diverging, not learning, a rate out of range) also
 * touches the optimizer, and below SGD_MIN_MOMENTUM the momentum: SGD's workable rates depend on
 * its momentum (plain SGD moves ~10x less at the same rate) and are narrower than Adam's, so a
 * rate that is wrong with SGD is as often fixed by Adam (the seed article's fix) or momentum 0.9
 * as by another SGD rate, and the loop should try them (candidates.ts ALTERNATIVES).
 */
export function touchedSettings(findings: readonly Finding[], config: TrainConfig): string[] {
  const touched = new Set(
    findings.flatMap((f) => [
      ...fixSettings(f.fix),
      ...(f.fix.deferred ?? []).map((d) => d.setting),
    ]),
  );
  if (findings.some(aboutRate)) {
    touched.add('lr');
    if (config.optimizer === 'sgd') {
      touched.add('optimizer');
      if (config.momentum < SGD_MIN_MOMENTUM) touched.add('momentum');
    }
  }
  if (touched.size === 0) return [];
  return MEASURED_SETTINGS.filter((s) => s === 'lr' || touched.has(s));
}

function ignoringRate(config: TrainConfig): string {
  return JSON.stringify({ ...config, lr: 0 });
}

export async function runFixLoop(options: FixLoopOptions): Promise<FixLoopResult | undefined> {
  const started = performance.now();
  const log = options.log ?? (() => undefined);
  const settings = touchedSettings(options.findings, options.config);
  if (settings.length === 0) return undefined;
  const { scan } = options;
  // The candidates validate on what the doctor was given: a --val folder, or the config's split.
  const val = options.config.val ?? scan.val?.root;
  const base: TrainConfig = { ...options.config, val };
  const rules: TrainConfig = {
    ...parseTrainConfig(applyFixes(options.rawConfig, options.findings).config, 'fixed config'),
    val,
  };
  const dataset = await loadFolderDataset({
    dir: scan.train.root,
    val,
    valSplit: base.valSplit,
    seed: base.seed,
  });
  const validation = dataset.val.length > 0;
  const classes = dataset.classNames.length;
  const configs = configurations(base, rules, settings, dataset.train.length);

  const lrTests: LrTest[] = [];
  for (const { config } of configs) {
    const reuse =
      options.probes !== undefined && ignoringRate(config) === ignoringRate(options.config);
    const range = reuse
      ? (options.probes as ProbeResults).lrRange
      : (
          await runLrRangeTest({
            scan,
            config,
            cacheDir: options.cacheDir,
            ...(options.offline === undefined ? {} : { offline: options.offline }),
          })
        ).lrRange;
    lrTests.push({
      changes: changesFrom(base, config),
      minimum: range.minimum,
      valley: range.valley ?? Number.NaN,
    });
  }
  const list = candidates(base, configs, lrTests);
  const epochs = shortEpochs(base.epochs);
  const fraction = epochs / base.epochs;
  const total = list.length + (options.verify === true ? 2 : 0);
  log(
    `fix loop: ${list.length} candidates (${configs.length} configuration(s), rates from their LR range tests), ${epochs} of your ${base.epochs} epochs each (the same share of every candidate's budget) on cached features`,
  );
  const work = await mkdtemp(join(tmpdir(), 'vggkit-fix-'));
  try {
    const score = (history: CandidateResult['history'], config: TrainConfig): RunOutcome['score'] =>
      scoreRun(history, config, classes, validation);
    let done = 0;
    const results = await trainCandidates({
      data: scan.train.root,
      candidates: list.map((c) => shortenedToFraction(c.config, fraction)),
      out: join(work, 'short'),
      cacheDir: options.cacheDir,
      ...(options.offline === undefined ? {} : { offline: options.offline }),
      ...(options.parallel === undefined ? {} : { parallel: options.parallel }),
      onResult: (i) => options.onCandidate?.(++done, total, (list[i] as Candidate).label),
    });
    const tried: TriedCandidate[] = list.map((c, i) => {
      const r = results[i] as CandidateResult;
      return {
        label: c.label,
        origin: c.origin,
        changes: c.changes,
        status: r.status,
        score: score(r.history, c.config),
        history: r.history,
        seconds: r.seconds,
        ...(r.error === undefined ? {} : { error: `${r.error.code}: ${r.error.message}` }),
      };
    });
    const images = validation ? dataset.val.length : dataset.train.length;
    const ranked = tried
      .map((t, i) => ({ t, i }))
      .sort((a, b) => compareScores(a.t.score, b.t.score) || a.i - b.i);
    const best = ranked[0] as { t: TriedCandidate; i: number };
    const yours = tried[0] as TriedCandidate;
    const chosen = best.i !== 0 && beats(best.t.score, yours.score, images) ? best.i : undefined;
    let verification: FixLoopResult['verification'];
    if (options.verify === true && chosen !== undefined) {
      log(`fix loop: verifying "${best.t.label}" against your config over ${base.epochs} epochs`);
      const fixed = list[chosen] as Candidate;
      const full = await trainCandidates({
        data: scan.train.root,
        candidates: [base, fixed.config],
        out: join(work, 'verify'),
        cacheDir: options.cacheDir,
        ...(options.offline === undefined ? {} : { offline: options.offline }),
        ...(options.parallel === undefined ? {} : { parallel: options.parallel }),
        onResult: (i) =>
          options.onCandidate?.(++done, total, i === 0 ? 'your config (full budget)' : 'the fix'),
      });
      const outcome = (r: CandidateResult, config: TrainConfig): RunOutcome => ({
        score: score(r.history, config),
        history: r.history,
        seconds: r.seconds,
      });
      const before = outcome(full[0] as CandidateResult, base);
      const after = outcome(full[1] as CandidateResult, fixed.config);
      verification = {
        epochs: base.epochs,
        before,
        after,
        improved: beats(after.score, before.score, images),
      };
    }
    return {
      settings,
      epochs,
      validationImages: validation ? dataset.val.length : 0,
      rules: changesFrom(base, rules),
      lrTests,
      tried,
      chosen,
      ...(verification === undefined ? {} : { verification }),
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
