/**
 * vggkit's public library API, the package's only entry point (package.json "exports"). Everything
 * else under src/ is internal and may change between versions.
 */
export { fineTune, type FineTuneOptions, type FineTuneResult } from './train/fit.js';
export { evaluateModel, type EvaluateOptions, type EvaluationResult } from './train/evaluate.js';
export type { ClassMetrics, EvaluationReport } from './train/metrics.js';
export {
  DEFAULT_CONFIG,
  type AugmentName,
  type EarlyStoppingConfig,
  type HeadKind,
  type LossName,
  type OptimizerName,
  type ReduceLrConfig,
  type ScheduleConfig,
  type ScheduleName,
  type StageSpec,
  type TrainConfig,
} from './train/config.js';
export { parseTrainConfig } from './train/config-schema.js';
export {
  StopTraining,
  type BatchEndEvent,
  type Callback,
  type EpochEndEvent,
  type EpochLogs,
  type EpochStartEvent,
  type FitEndEvent,
  type FitStartEvent,
  type StageStartEvent,
  type TrainingControl,
  type TrainingEvent,
} from './train/events.js';
export type { PreprocessContract } from './image/contract.js';
export type { SkippedFile } from './image/index.js';
export type { WeightMap } from './model/weight-map.js';
export type { Float32Tensor } from './util/tensor.js';
export { UsageError, VggkitError } from './util/errors.js';
