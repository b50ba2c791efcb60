/**
 * The candidate fixes the loop trains: the user's config, the config with every rule's fix
 * applied, and variations of the latter on each setting the findings touch, each at learning rates
 * its own LR range test suggests (and the first of each optimizer at its usual rates too). The rate is always measured: a batch size, optimizer or label
 * smoothing that changes also moves the rate that works, so a structural fix at the old rate would
 * be judged unfairly.
 */
import { parseTrainConfig } from '../../train/config-schema.js';
import type { StageSpec, TrainConfig } from '../../train/config.js';
import { batchForData } from '../checks/config.js';
import { describePatch, SGD_ONLY_SETTINGS } from '../fix-settings.js';
import type { ConfigPatch } from '../types.js';
import type { Candidate, LrTest } from './types.js';

/** The settings the loop measures when a finding touches them (the learning rate always). */
export const MEASURED_SETTINGS = [
  'lr',
  'optimizer',
  'momentum',
  'batchSize',
  'stages',
  'stageLrFactor',
  'dropout',
  'labelSmoothing',
  'classWeights',
  'inputSize',
] as const satisfies readonly (keyof TrainConfig)[];
export type MeasuredSetting = (typeof MEASURED_SETTINGS)[number];

/** Smallest batch tried: below 8 images a batch's gradient is mostly noise and steps are slow per image. */
export const MIN_BATCH = 8;
/** Configurations (apart from the rate) the loop compares at most: each costs an LR range test and up to three short runs. */
export const MAX_CONFIGURATIONS = 6;
/** Two rates count as one when within this factor: the LR range test resolves ~1.6x (5 steps per decade). */
export const SAME_RATE_FACTOR = 1.5;

/** Two positive rates the LR range test cannot tell apart (within SAME_RATE_FACTOR). */
export function sameRate(a: number, b: number): boolean {
  return a > 0 && b > 0 && Math.max(a / b, b / a) < SAME_RATE_FACTOR;
}
/**
 * Rates tried beside the LR range test's for the first configuration of each optimizer: the
 * usual fine-tuning rates (Adam: the seed article's 1e-4 and Keras' default 1e-3; SGD with
 * momentum: 1e-3 and 1e-2, Keras' fine-tuning guide and the common ImageNet-transfer choice).
 * The range test runs 48 steps on a 16-image batch; on a hard task (many classes, weak features)
 * the loss barely falls in that time and its suggestions are noise, while a few epochs at a
 * usual rate still show which settings learn.
 */
export const USUAL_RATES: Readonly<Record<TrainConfig['optimizer'], readonly number[]>> = {
  adam: [1e-4, 1e-3],
  adamw: [1e-4, 1e-3],
  sgd: [1e-3, 1e-2],
};

interface Alternatives {
  readonly base: TrainConfig;
  readonly rules: TrainConfig;
  readonly trainImages: number;
}

/**
 * Values tried besides the user's and the rules': the seed article's choices (Adam; SGD with
 * momentum 0.9; dropout 0.5; no smoothing, or the usual 0.1; a 10x lower rate per unfreezing),
 * the default batch size and the neighbours of a rule's batch size or stages.
 */
const ALTERNATIVES: Readonly<
  Record<Exclude<MeasuredSetting, 'lr'>, (a: Alternatives) => unknown[]>
> = {
  optimizer: () => ['adam'],
  momentum: ({ rules }) => (rules.optimizer === 'sgd' ? [0.9] : []),
  // The default batch (or the data's, when smaller: batchForData) always, since the usual rates
  // are tuned at it; then half the rules' batch.
  batchSize: ({ rules, trainImages }) => {
    const half = Math.floor(rules.batchSize / 2);
    return [batchForData(trainImages), ...(half >= MIN_BATCH && half < trainImages ? [half] : [])];
  },
  stages: ({ rules }) => (rules.stages.length > 0 ? [[]] : []),
  stageLrFactor: () => [0.1, 0.01],
  dropout: () => [0.5, 0.2],
  labelSmoothing: () => [0, 0.1],
  classWeights: () => ['none', 'balanced'],
  inputSize: () => [],
};

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** `config` with one top-level setting replaced, validated; the run lasts its stages, or the user's epochs without stages. */
function withSetting(
  config: TrainConfig,
  setting: string,
  value: unknown,
  base: TrainConfig,
): TrainConfig {
  const next: Record<string, unknown> = { ...config, [setting]: value };
  // Momentum means nothing to Adam: leave it as the user had it rather than list a change that does nothing.
  if (setting === 'optimizer' && value !== 'sgd')
    for (const k of SGD_ONLY_SETTINGS) next[k] = base[k as keyof TrainConfig];
  const budget = base.epochs;
  const stages = next.stages as readonly StageSpec[];
  next.epochs = stages.length === 0 ? budget : stages.reduce((n, s) => n + s.epochs, 0);
  return parseTrainConfig(next, 'fix candidate');
}

/** The settings of `config` that differ from `base`, as a patch (the keys `val` and `epochs` of a stage change follow). */
export function changesFrom(base: TrainConfig, config: TrainConfig): ConfigPatch {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(config) as (keyof TrainConfig)[])
    if (!same(config[key], base[key])) out[key] = config[key];
  return out as ConfigPatch;
}

export interface Configuration {
  readonly config: TrainConfig;
  readonly origin: 'yours' | 'rules' | 'measured';
}

/**
 * The configurations to compare, apart from the rate: the rules' config, then each touched
 * setting's other values on top of it, then the user's own settings; at most MAX_CONFIGURATIONS,
 * duplicates (ignoring the rate) dropped.
 */
export function configurations(
  base: TrainConfig,
  rules: TrainConfig,
  settings: readonly string[],
  trainImages: number,
): Configuration[] {
  const out: Configuration[] = [];
  const seen = new Set<string>();
  const add = (config: TrainConfig, origin: Configuration['origin']): void => {
    const key = JSON.stringify({ ...config, lr: 0 });
    if (seen.has(key) || out.length >= MAX_CONFIGURATIONS) return;
    seen.add(key);
    out.push({ config, origin });
  };
  add(rules, 'rules');
  for (const setting of settings) {
    if (setting === 'lr' || !(setting in ALTERNATIVES)) continue;
    const alternatives = ALTERNATIVES[setting as Exclude<MeasuredSetting, 'lr'>]({
      base,
      rules,
      trainImages,
    });
    const values = [base[setting as keyof TrainConfig], ...alternatives];
    for (const value of values)
      if (!same(value, rules[setting as keyof TrainConfig]))
        add(withSetting(rules, setting, value, base), 'measured');
  }
  add(base, 'yours');
  return out;
}

/** Where a candidate's rate comes from, for its label. */
type RateSource = 'yours' | 'rule' | 'usual' | 'minimum' | 'valley';

const RATE_LABELS: Readonly<Record<RateSource, string>> = {
  yours: 'your rate',
  rule: "the rule's rate",
  usual: 'a usual rate',
  minimum: 'LR range test: minimum/10',
  valley: 'LR range test: valley',
};

function label(base: TrainConfig, config: TrainConfig, rate: RateSource): string {
  const { lr, ...others } = changesFrom(base, config) as Record<string, unknown>;
  const parts = [
    ...(lr === undefined
      ? []
      : [`lr ${Number((lr as number).toPrecision(2))} (${RATE_LABELS[rate]})`]),
    ...(Object.keys(others).length === 0 ? [] : [describePatch(others as ConfigPatch)]),
  ];
  return parts.length === 0 ? 'your config' : parts.join(', ');
}

/**
 * Every configuration at its own rate and at the rates its LR range test suggests (rates within
 * SAME_RATE_FACTOR of one already listed are dropped); the user's config first.
 */
export function candidates(
  base: TrainConfig,
  configs: readonly Configuration[],
  tests: readonly LrTest[],
): Candidate[] {
  const out: Candidate[] = [{ label: 'your config', origin: 'yours', changes: {}, config: base }];
  const seen = new Set<string>([JSON.stringify(base)]);
  const optimizers = new Set<string>();
  configs.forEach(({ config, origin }, i) => {
    const test = tests[i];
    const first = !optimizers.has(config.optimizer);
    optimizers.add(config.optimizer);
    const rates: { lr: number; source: RateSource }[] = [
      { lr: config.lr, source: config.lr === base.lr ? 'yours' : 'rule' },
      ...(test === undefined
        ? []
        : [
            { lr: test.minimum, source: 'minimum' as const },
            { lr: test.valley, source: 'valley' as const },
          ]),
      ...(first
        ? USUAL_RATES[config.optimizer].map((lr) => ({ lr, source: 'usual' as const }))
        : []),
    ];
    const kept: number[] = [];
    for (const { lr, source } of rates) {
      if (!Number.isFinite(lr) || lr <= 0) continue;
      const rounded = Number(lr.toPrecision(2));
      if (kept.some((k) => sameRate(k, rounded))) continue;
      kept.push(rounded);
      const candidate = { ...config, lr: rounded };
      const key = JSON.stringify(candidate);
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({
        label: label(base, candidate, source),
        origin: source === 'minimum' || source === 'valley' ? 'measured' : origin,
        changes: changesFrom(base, candidate),
        config: candidate,
      });
    }
  });
  return out;
}

/**
 * `total` epochs split over stages of `epochs` in proportion, each at least one (more stages than
 * epochs: one each, the only way every unfreezing is still measured). Largest remainder, not
 * per-stage rounding: rounding head:5,block5:5 to 3 epochs gives 2+2 = 4, a longer run than the
 * other candidates' share. Ties go to the earlier stage.
 */
export function apportion(epochs: readonly number[], total: number): number[] {
  const sum = epochs.reduce((n, e) => n + e, 0);
  const quota = epochs.map((e) => (e * total) / sum);
  const out = quota.map((q) => Math.max(1, Math.floor(q)));
  const left = (i: number): number => (quota[i] as number) - (out[i] as number);
  const order = (pick: (a: number, b: number) => boolean): number => {
    let best = -1;
    out.forEach((_, i) => {
      if (best === -1 || pick(left(i), left(best))) best = i;
    });
    return best;
  };
  let assigned = out.reduce((n, e) => n + e, 0);
  while (assigned < total) {
    const i = order((a, b) => a > b);
    out[i] = (out[i] as number) + 1;
    assigned++;
  }
  while (assigned > Math.max(total, epochs.length)) {
    // Only stages above one epoch give one back (the floor of one comes first).
    let i = -1;
    out.forEach((e, j) => {
      if (e > 1 && (i === -1 || left(j) < left(i))) i = j;
    });
    out[i] = (out[i] as number) - 1;
    assigned--;
  }
  return out;
}

/**
 * `config` cut to `epochs` for the short comparison: a single stage trains `epochs`, progressive
 * stages keep their proportions (each at least one epoch, together `epochs`: `apportion`), so an
 * unfreezing is measured too. Never longer than the config's own budget.
 */
export function shortened(config: TrainConfig, epochs: number): TrainConfig {
  if (config.stages.length === 0) return { ...config, epochs: Math.min(epochs, config.epochs) };
  const total = Math.min(epochs, config.epochs);
  const split = apportion(
    config.stages.map((s) => s.epochs),
    total,
  );
  const stages = config.stages.map((s, i) => ({ name: s.name, epochs: split[i] as number }));
  return { ...config, stages, epochs: stages.reduce((n, s) => n + s.epochs, 0) };
}

/**
 * `config` cut to `fraction` of its own budget for the short comparison (at least one epoch): the
 * written fix trains its whole budget, so every candidate's short run stands for the same share
 * of the run it would really get (run.ts SHORT_EPOCHS_FRACTION says why not equal steps).
 */
export function shortenedToFraction(config: TrainConfig, fraction: number): TrainConfig {
  return shortened(config, Math.max(1, Math.round(config.epochs * fraction)));
}
