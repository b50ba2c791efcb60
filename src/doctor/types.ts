/**
 * The doctor's vocabulary.
 *
 * Design
 * - A `Finding` is one diagnosed problem: a stable `id` (scripts and CI match on it), a severity,
 *   a one-line title, a one- or two-sentence explanation, `evidence` (numbers and example files,
 *   JSON-serialisable) and a `fix` (a sentence, optionally a `TrainConfig` patch that
 *   `--fix-config` applies, optionally the CLI flag that does the same).
 * - A `Check` is a small pure object `{ ids, family, run(ctx) }`. It declares every id it can
 *   emit (so the tests can enumerate them) and returns zero or more findings. A check whose inputs
 *   are absent from the context returns `[]` — it never guesses the missing input.
 * - Checks live one family per file under `checks/`; `checks/index.ts` lists the families
 *   explicitly. Adding a check is adding one object to its family's array; nothing registers
 *   itself as an import side effect.
 * - `DoctorContext` holds whatever the user gave: a data scan (from `scan.ts`), the effective
 *   training config (and the raw one the user wrote, for `--fix-config`), a parsed history, the
 *   statistics of a user batch, model metadata, and the expected preprocessing contract. Probe
 *   results (probe.ts) and image features (image-features.ts, for `suspected-mislabel`) are filled
 *   only when asked for (`--probe`, `--features`); the static checks never read them.
 * - Thresholds are named constants in the family file that uses them, each with a one-line reason.
 *   The quality bar is "no false alarms": a clean dataset, a sound config and a healthy history
 *   must produce no warning or error, so each threshold errs on the side of staying quiet.
 */
import type { PreprocessContract } from '../image/contract.js';
import type { KerasAnalysis } from '../model/keras/analyse.js';
import type { KerasModel } from '../model/keras/model.js';
import type { TrainConfig } from '../train/config.js';
import type { BatchStats } from './batch-stats.js';
import type { FixLoopResult } from './fix-loop/types.js';
import type { TrainingHistory } from './history.js';
import type { ProbeResults } from './probe-results.js';
import type { DataScan } from './scan.js';

export type Severity = 'error' | 'warning' | 'info';
export const SEVERITIES: readonly Severity[] = ['error', 'warning', 'info'];

export type Family = 'preprocessing' | 'data' | 'config' | 'keras' | 'dynamics' | 'probe' | 'fix';

/**
 * Where a fix's values come from, weakest first: `rule` (a constant or a factor of the configured
 * value: advice), `probe` (measured on a sample of the user's data: the LR range test), `sweep`
 * (candidate fixes trained on the user's data by the fix loop, fix-loop/). When findings disagree
 * about a setting, the strongest basis decides (combine.ts).
 */
export type FixBasis = 'rule' | 'probe' | 'sweep';
export const FIX_BASES: readonly FixBasis[] = ['rule', 'probe', 'sweep'];

/** A setting whose value a finding proposed but another finding's stronger (or more important) fix decides. */
export interface Deferral {
  /** The top-level config key (`lr`, `stages`, `reduceLr` …). */
  readonly setting: string;
  /** The id of the finding whose fix decides it. */
  readonly to: string;
  /** The value that finding sets (JSON), or undefined when it only speaks about the setting. */
  readonly value: unknown;
  readonly basis: FixBasis;
  /** What this finding's own rule would have set (absent when it gave no value). */
  readonly instead?: unknown;
}

/** A deep-partial config patch: nested sections (reduceLr, earlyStopping, schedule) may be partial too. */
export type ConfigPatch = {
  [K in keyof TrainConfig]?: TrainConfig[K] extends readonly unknown[]
    ? TrainConfig[K]
    : TrainConfig[K] extends object
      ? Partial<TrainConfig[K]>
      : TrainConfig[K];
};

export interface Fix {
  readonly summary: string;
  /** Applied by `--fix-config`; a key set to `undefined` removes that key (back to the default). */
  readonly config?: ConfigPatch;
  /** The equivalent `vggkit train` flag(s), for people who do not use a config file. */
  readonly flag?: string;
  /** The `vggkit sweep` command that would measure the answer on the data (sweep-commands.ts). */
  readonly measure?: string;
  /** Where the values come from; absent means `rule`. */
  readonly basis?: FixBasis;
  /** Settings this fix leaves to another finding's fix (set by combine.ts). */
  readonly deferred?: readonly Deferral[];
  /** The line of Keras code to change, for findings about the user's own Keras model. */
  readonly keras?: string;
}

export interface Finding {
  readonly id: string;
  readonly severity: Severity;
  readonly title: string;
  readonly explanation: string;
  readonly evidence: Record<string, unknown>;
  readonly fix: Fix;
  /** Set by the runner from the check that produced the finding; used for ordering. */
  readonly family?: Family;
}

/** What a vggkit model folder says about itself (filled from its metadata when `--model` is given). */
export interface ModelInfo {
  readonly classes?: readonly string[];
  readonly contract?: PreprocessContract;
  readonly inputSize?: readonly [number, number];
  /** The model measured on the data folder (when `--model` comes with a data folder). */
  readonly evaluation?: ModelEvaluation;
}

export interface ModelEvaluation {
  readonly images: number;
  readonly accuracy: number;
  /** Class name -> recall (images of the class predicted as it). */
  readonly perClassRecall: Readonly<Record<string, number>>;
}

/** The user's own Keras model (`--keras`), analysed once (src/model/keras/analyse.ts). */
export interface KerasInfo {
  readonly model: KerasModel;
  readonly analysis: KerasAnalysis;
  /** The contract its VGG base's weights expect (Keras ImageNet VGG: caffe). */
  readonly contract: PreprocessContract;
}

export interface DoctorContext {
  readonly scan?: DataScan;
  /** The config merged over DEFAULT_CONFIG. */
  readonly config?: TrainConfig;
  /** The JSON the user wrote (partial), which `--fix-config` patches. */
  readonly rawConfig?: Record<string, unknown>;
  /** The `--config` file it came from, for the commands the report suggests. */
  readonly configFile?: string;
  /**
   * With `--keras` and no `--config`: the setup the model was compiled with as a vggkit config
   * (keras-config.ts; its weights are the model file when vggkit can run it), which the probes and
   * the fix loop start from. Not `config`: the config checks judge what the user wrote for vggkit.
   */
  readonly kerasConfig?: TrainConfig;
  readonly history?: TrainingHistory;
  /** The class count the user gave (`--classes`), used only when nothing else shows it. */
  readonly classes?: number;
  readonly batch?: BatchStats;
  readonly model?: ModelInfo;
  readonly keras?: KerasInfo;
  /** The preprocessing the weights expect (from --expect, --weights, the model or the config). */
  readonly contract?: PreprocessContract;
  /** Filled by the fix loop (fix-loop/run.ts, `--fix-config` or `--verify` with data); absent otherwise. */
  readonly fixLoop?: FixLoopResult;
  /** Filled by the probe runner (probe.ts, `--probe`); absent in static runs. */
  readonly probes?: ProbeResults;
  /** Per-image feature vectors for neighbour-based checks; absent in static runs. */
  readonly features?: ReadonlyMap<string, Float32Array>;
  /** The weights (tag, file or `none`) the features were computed with. */
  readonly featuresWeights?: string;
}

export interface Check {
  /** Every finding id this check can emit. */
  readonly ids: readonly string[];
  readonly family: Family;
  run(ctx: DoctorContext): Finding[] | Promise<Finding[]>;
}
