/**
 * vggkit's public library API, the package's only entry point (package.json "exports"). It offers
 * what the CLI does, typed: train (`fineTune`), evaluate (`evaluateModel`), predict
 * (`openClassifier`), extract (`extractFeatures`), the doctor (`diagnose`), the weights registry
 * and contract resolution (`WEIGHTS`, `resolveWeightsSource`, `resolveContract`), precision
 * (`PRECISIONS`: `precision` on the inference options and in TrainConfig; the int8 decision's
 * report and where it is recorded), the config schema and its closed name lists. Everything else under src/ is internal and may change between
 * versions; src/cli/ only parses flags, calls these and prints.
 */

// Training
export { fineTune, type FineTuneOptions, type FineTuneResult } from './train/fit.js';
export { FRESH_RESOURCES, type Lease, type TrainingResources } from './train/resources.js';
export {
  CLASS_WEIGHTINGS,
  DEFAULT_CONFIG,
  LOSS_NAMES,
  type AugmentName,
  type ClassWeighting,
  type EarlyStoppingConfig,
  type HeadKind,
  type LossName,
  type MonitorMode,
  type OptimizerName,
  type Precision,
  type ReduceLrConfig,
  type ScheduleConfig,
  type ScheduleName,
  type StageSpec,
  type TrainConfig,
} from './train/config.js';
export {
  applySettings,
  parseTrainConfig,
  SETTINGS,
  validateSetting,
  type SettingInfo,
  type SettingKind,
  type SettingOverride,
  type SettingType,
  type TrainConfigInput,
  type TrainSettingPath,
} from './train/config-schema.js';
export { readTrainConfigFile, type ConfigFile } from './train/config-file.js';
export { AUGMENT_NAMES } from './image/augment.js';
export { OPTIMIZER_NAMES } from './graph/optimizers/types.js';
export { HEAD_KINDS } from './model/head.js';
export { MONITOR_MODES } from './train/callbacks/monitor.js';
export { SCHEDULE_NAMES, plateauReduction } from './train/schedules.js';
export { STAGE_NAMES } from './train/stages.js';
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

// Evaluating, predicting, extracting
export { evaluateModel, type EvaluateOptions, type EvaluationResult } from './train/evaluate.js';
export type { ClassMetrics, EvaluationReport } from './train/metrics.js';
export {
  openClassifier,
  type ClassName,
  type Classifier,
  type ContractOverrides,
  type OpenClassifierOptions,
  type Prediction,
  type PredictOptions,
  type Predictions,
} from './inference/classify.js';
export { extractFeatures, type ExtractOptions, type ExtractResult } from './inference/extract.js';
export {
  EVALUATION_FILE,
  PREDICTIONS_FILE,
  type EvaluationFile,
  type MetricsFile,
} from './train/predictions.js';

// Precision: int8 for frozen layers, its calibration and accuracy guard
export {
  DEFAULT_CALIBRATION_IMAGES,
  DEFAULT_HELD_OUT_IMAGES,
  PRECISIONS,
} from './model/precision.js';
export { MIN_INT8_IMAGES, type Int8Report } from './engine/int8/prepare.js';
export { COSINE_THRESHOLD, TOP1_THRESHOLD, type GuardFigures } from './engine/int8/guard.js';
export { CALIBRATION_METHODS, type CalibrationMethod } from './engine/int8/histogram.js';
export type { Int8Kernels } from './engine/cpu.js';
export { describeInt8 } from './engine/int8/describe.js';
export {
  PRECISION_FILE,
  type PrecisionRecord,
  type StagePrecision,
} from './train/precision-record.js';

// The doctor
export {
  diagnose,
  measureDiagnosis,
  writeDiagnosisFixes,
  writeDiagnosisHtml,
  type Diagnosis,
} from './doctor/diagnose.js';
export type { DoctorInputs } from './doctor/inputs.js';
export { toJson as diagnosisJson, type DoctorReport, type DoctorSummary } from './doctor/run.js';
export type { FixResult } from './doctor/fix-config.js';
export { fixIsProven, type MeasureOptions } from './doctor/fix-loop/measure.js';
export type { FixLoopResult, TriedCandidate, Verification } from './doctor/fix-loop/types.js';
export type { ConfigPatch, Finding, Fix, Severity } from './doctor/types.js';

// Weights, contracts, architectures
export { WEIGHTS, type WeightsEntry, type WeightsLayout } from './model/registry.js';
export {
  contractAt,
  resolveWeightsSource,
  WEIGHTS_SOURCES,
  type WeightsSource,
  type WeightsSourceEntry,
} from './model/weights-source.js';
export { loadWeights, type LoadedWeights, type LoadWeightsOptions } from './model/load-weights.js';
export { readModelFolder, type ModelMetadata } from './model/model-folder.js';
export { ARCH_NAMES, type ArchName, type Pooling } from './model/architectures.js';
export {
  INTERPOLATIONS,
  makeContract,
  PREPROCESS_MODES,
  resolveContract,
  RESIZE_MODES,
  type Interpolation,
  type PreprocessContract,
  type PreprocessMode,
  type ResizeMode,
} from './image/contract.js';
export type { SkippedFile } from './image/index.js';
export type { WeightMap } from './model/weight-map.js';
export type { Float32Tensor } from './util/tensor.js';

// Errors
export { UsageError, VggkitError } from './util/errors.js';
export {
  ERROR_CODES,
  IMAGE_ERROR_CODES,
  USAGE_CODES,
  type ErrorCode,
  type ImageErrorCode,
  type UsageCode,
} from './util/error-codes.js';
