/**
 * The fix loop: when the doctor has the data, the values of its fixes are measured on it instead
 * of taken from rules. Its shape:
 *
 *   candidates.ts  from the report's findings, the settings they touch (lr, optimizer and momentum,
 *                  batch size, stages, stage-lr-factor, dropout, label smoothing, class weights,
 *                  input size) and the values to try for each: the configured one, the rules' ones
 *                  and a few standard alternatives; each resulting configuration gets learning
 *                  rates from its own LR range test (probe.ts), the first of each optimizer its
 *                  usual rates too (a range test on a hard task can be noise). The user's config
 *                  is one candidate.
 *   score.ts       what "trains better" means: validation accuracy first, then validation loss
 *                  above the floor label smoothing puts under it, so candidates with different
 *                  smoothing compare fairly; and when a candidate beats the user's config.
 *   run.ts         the loop: LR range tests, every candidate trained briefly on the shared feature
 *                  cache (src/sweep/candidates.ts, the sweep's trial runner), the best chosen, and
 *                  with `--verify` the chosen fix and the user's config trained for the user's
 *                  full epoch budget and compared.
 *   ../checks/fix.ts  turns the result into findings: `measured-fix` (its config patch has basis
 *                  `sweep`, so every rule about the same settings defers to it, combine.ts) or
 *                  `no-better-fix` (nothing beat the user's config: nothing is written, and the
 *                  finding says what was tried).
 *
 * Everything here is plain JSON-serialisable data: `--json` prints it, `--html` draws it.
 */
import type { TrainConfig } from '../../train/config.js';
import type { EpochLogs } from '../../train/events.js';
import type { ConfigPatch } from '../types.js';

/** Where a candidate's values come from. */
export type CandidateOrigin = 'yours' | 'rules' | 'measured';

export interface Candidate {
  /** What a person reads in the table: `your config`, `rules`, `lr 0.013 (LR range test)` … */
  readonly label: string;
  readonly origin: CandidateOrigin;
  /** The settings that differ from the user's config (top-level keys). */
  readonly changes: ConfigPatch;
  /** The complete configuration, with the user's epoch budget. */
  readonly config: TrainConfig;
}

/** What a candidate achieved: the numbers the ranking and the report use. */
export interface Score {
  /** Best validation accuracy over the epochs (training accuracy without a validation set); NaN when none was finite. */
  readonly accuracy: number;
  /** Lowest validation loss as the share of the way from a uniform guess (1) to the target (0) left to go, comparable across label smoothing (score.ts); NaN when none was finite. */
  readonly loss: number;
  /** The raw lowest validation loss, as the logs show it. */
  readonly rawLoss: number;
  /** Epochs trained. */
  readonly epochs: number;
}

export interface TriedCandidate {
  readonly label: string;
  readonly origin: CandidateOrigin;
  readonly changes: ConfigPatch;
  readonly status: 'completed' | 'failed';
  readonly score: Score;
  readonly history: readonly EpochLogs[];
  readonly seconds: number;
  readonly error?: string;
}

/** An LR range test the loop ran for one configuration (the rates it suggested). */
export interface LrTest {
  /** The configuration it was run for, as changes from the user's config. */
  readonly changes: ConfigPatch;
  readonly minimum: number;
  readonly valley: number;
}

export interface RunOutcome {
  readonly score: Score;
  readonly history: readonly EpochLogs[];
  readonly seconds: number;
}

export interface Verification {
  /** The user's epoch budget both runs trained for. */
  readonly epochs: number;
  readonly before: RunOutcome;
  readonly after: RunOutcome;
  /** Whether the fix beat the user's config over the full budget (score.ts `beats`). */
  readonly improved: boolean;
}

export interface FixLoopResult {
  /** The settings the findings touch, which the candidates vary (lr always). */
  readonly settings: readonly string[];
  /** Epochs each candidate trained in the short comparison (run.ts `shortEpochs`; a staged candidate: the same share of its own budget). */
  readonly epochs: number;
  /** Validation images the scores are measured on (0: training metrics are used). */
  readonly validationImages: number;
  /** What every rule's fix together changes in the user's config. */
  readonly rules: ConfigPatch;
  readonly lrTests: readonly LrTest[];
  /** Every candidate in the order tried; index 0 is the user's config. */
  readonly tried: readonly TriedCandidate[];
  /** Index into `tried` of the best candidate, or undefined when nothing beat the user's config. */
  readonly chosen: number | undefined;
  /** Present when `--verify` ran. */
  readonly verification?: Verification;
  /** Seconds the whole loop took (LR range tests, candidates, verification). */
  readonly seconds: number;
}
