/**
 * What `fineTune()` takes and returns, in one typed options object (no positional overloads, no
 * globals): the data, the config as a partial TrainConfig over the seed's defaults, where to write,
 * and the hooks a caller adds (callbacks, log lines, progress, resources shared between runs).
 */
import type { FolderDataset } from '../data/dataset.js';
import type { Int8Request } from '../engine/int8/prepare.js';
import type { PreprocessContract } from '../image/contract.js';
import type { SkippedFile } from '../image/index.js';
import type { WeightMap } from '../model/weight-map.js';
import type { TrainConfigInput } from './config-schema.js';
import type { TrainConfig } from './config.js';
import type { Callback, EpochLogs } from './events.js';
import type { TrainingResources } from './resources.js';

export interface FineTuneOptions {
  /** Folder with one sub-folder per class. */
  readonly data: string;
  /** Overrides of the seed's defaults: any part of TrainConfig (the `--config` JSON's shape). */
  readonly config?: TrainConfigInput;
  /** Output folder; default `runs/<timestamp>`. */
  readonly out?: string;
  /** Continue from `out`'s checkpoint; the run's own config.json is used. */
  readonly resume?: boolean;
  /**
   * Stop after this many epochs as a pause, not an end: the checkpoint and history are written and
   * nothing else (no fit_end, no model files), and the result is `paused`; `resume` continues from
   * it exactly as an uninterrupted run would. A sweep's ASHA rungs pause here while the config
   * keeps the trial's full epoch budget, so schedules see the real budget.
   */
  readonly pauseAt?: number;
  /** Extra callbacks, run after vggkit's own; they see every training event. */
  readonly callbacks?: readonly Callback[];
  readonly offline?: boolean;
  /** Weights and feature cache; default `$VGGKIT_HOME` or ~/.cache/vggkit. */
  readonly cacheDir?: string;
  /** The conv base and feature sources; default FRESH_RESOURCES (a sweep worker shares them). */
  readonly resources?: TrainingResources;
  /** One-line notes for a person (stage changes, cache use, skipped files). */
  readonly log?: (line: string) => void;
  /** Weights download progress in bytes (only when weights are fetched). */
  readonly onDownloadProgress?: (received: number, total: number | undefined) => void;
  /** Feature-extraction progress: images done of total. */
  readonly onFeatureProgress?: (done: number, total: number) => void;
  /** With precision int8: calibration and checking progress of the frozen prefix. */
  readonly onInt8Progress?: Int8Request['onProgress'];
}

export interface FineTuneResult {
  readonly modelDir: string;
  readonly history: readonly EpochLogs[];
  readonly classNames: readonly string[];
  readonly config: TrainConfig;
  readonly contract: PreprocessContract;
  /** The training and validation files as split (skipped files included; see `skipped`). */
  readonly dataset: Pick<FolderDataset, 'train' | 'val'>;
  readonly skipped: readonly SkippedFile[];
  /** Why training ended before the last epoch, if it did. */
  readonly stoppedBy: string | undefined;
  /** True when `pauseAt` ended the call: no model was written, `resume` continues. */
  readonly paused: boolean;
  readonly weights: WeightMap;
}
