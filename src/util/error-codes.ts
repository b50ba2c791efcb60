/**
 * Every code a VggkitError can carry, in one closed list: scripts match on these strings, so a
 * code is never renamed, and a new failure gets a new code here (with a line saying when it is
 * raised) rather than a string literal at the throw site. Grouped by who raises them; the groups
 * are the owner modules' vocabularies (`ImageErrorCode` is the decoder's, `UsageCode` the one
 * `UsageError` accepts).
 */

/** Why an image file could not be turned into pixels (src/image/decode.ts raises them). */
export const IMAGE_ERROR_CODES = [
  /** The file has zero bytes. */
  'EMPTY_FILE',
  /** The bytes are not an image format libvips can read (text, HTML, an unsupported codec). */
  'NOT_AN_IMAGE',
  /** The file stops before the image data ends (an interrupted download or copy). */
  'TRUNCATED',
  /** The header parses but the image data is damaged, and the file is not merely short. */
  'CORRUPT',
  /** The header declares more pixels than the configured limit (decompression-bomb guard). */
  'PIXEL_LIMIT',
  /** Missing, a directory, or not readable by this process. */
  'UNREADABLE',
] as const;
export type ImageErrorCode = (typeof IMAGE_ERROR_CODES)[number];

/** What the person asked for cannot be done as asked: exit code 2, raised as UsageError. */
export const USAGE_CODES = [
  /** A flag or config key has a value outside what it accepts (wrong type, range or name). */
  'INVALID_OPTION',
  /** A config file or object has a key that is no training setting. */
  'UNKNOWN_CONFIG_KEY',
  /** An option needs another one, or an input, that was not given (`--resume` without `--out`). */
  'MISSING_OPTION',
  /** Two options contradict each other (`--expect` with `--weights`, epochs against stages). */
  'CONFLICTING_OPTIONS',
  /** An option does not fit the data (binary cross-entropy on three classes, val_loss without a validation set). */
  'OPTION_DATA_CONFLICT',
  /** A `--config` file is not a JSON object. */
  'CONFIG_FORMAT',
  /** `--weights` names no registry tag, `none`, or a weights file vggkit reads. */
  'UNKNOWN_WEIGHTS',
  /** `--layer` names no layer of the network. */
  'UNKNOWN_LAYER',
  /** `--batch-size` needs more memory than the machine has available for the trainable blocks. */
  'BATCH_TOO_LARGE',
] as const;
export type UsageCode = (typeof USAGE_CODES)[number];

/** Files and folders: missing, unlistable, or of the wrong kind. */
export const FILE_ERROR_CODES = [
  /** A file or folder the command needs does not exist or cannot be read. */
  'NOT_FOUND',
  /** A path that must be a folder is a file. */
  'NOT_A_DIRECTORY',
  /** A folder exists but cannot be listed (permissions). */
  'UNREADABLE_FOLDER',
] as const;

/** Data sets: class folders and the images in them. */
export const DATA_ERROR_CODES = [
  /** Fewer than two class folders with images. */
  'TOO_FEW_CLASSES',
  /** Validation or evaluation folders name classes the training set or the model does not have. */
  'CLASS_MISMATCH',
  /** A folder or list of files holds no image at all. */
  'NO_IMAGES',
  /** Every training image failed to decode. */
  'NO_TRAINING_IMAGES',
  /** Every validation image failed to decode. */
  'NO_VALIDATION_IMAGES',
  /** An image the doctor's probes need failed to decode. */
  'CORRUPT_IMAGE',
] as const;

/** Weights files, the registry and downloads. */
export const WEIGHTS_ERROR_CODES = [
  /** A local weights file does not exist. */
  'WEIGHTS_NOT_FOUND',
  /** The file is not in the layout its extension promises (Keras HDF5, torchvision safetensors). */
  'WEIGHTS_FORMAT',
  /** The file is damaged or truncated. */
  'WEIGHTS_CORRUPT',
  /** A layer's arrays have other shapes than the architecture needs. */
  'WEIGHTS_SHAPE',
  /** A layer the architecture needs has no weights in the file. */
  'WEIGHTS_MISSING_LAYER',
  /** The classifier top was asked for, but the file holds only the convolutional base. */
  'WEIGHTS_NO_TOP',
  /** `--offline` and the weights are not in the cache. */
  'OFFLINE',
  /** The weights download failed (network, HTTP status, size). */
  'DOWNLOAD_FAILED',
  /** The downloaded bytes do not have the registry's checksum. */
  'CHECKSUM_MISMATCH',
] as const;

/** Model folders, checkpoints and the training engine. */
export const MODEL_ERROR_CODES = [
  /** model.onnx is not an ONNX model. */
  'MODEL_FORMAT',
  /** model.onnx lacks the metadata vggkit writes (contract, class names, input size). */
  'MODEL_METADATA',
  /** A resume checkpoint is not one vggkit wrote. */
  'CHECKPOINT_FORMAT',
  /** A resume checkpoint lacks optimizer state for a trainable parameter. */
  'OPTIMIZER_STATE',
  /** A tensor handed to the training step has the wrong shape. */
  'BAD_SHAPE',
] as const;

/** The user's own Keras model files (src/model/keras/). */
export const KERAS_ERROR_CODES = [
  /** The file is no Keras model vggkit can read: not a zip/HDF5/JSON, a truncated .keras, no config.json or model_config. */
  'KERAS_FORMAT',
  /** An .h5 holds only weights (model.save_weights): it belongs to --keras-weights, with the architecture elsewhere. */
  'KERAS_WEIGHTS_ONLY',
  /** An architecture without weights (model.to_json() JSON, a TF.js model.json without its shards) asked to run or train: --keras-weights gives them. */
  'KERAS_NO_WEIGHTS',
  /** A Keras model vggkit cannot run as a VGG (not VGG-based, an unknown layer, a head vggkit has no form for). */
  'KERAS_UNSUPPORTED',
] as const;

/** Files the doctor reads besides images. */
export const DOCTOR_INPUT_ERROR_CODES = [
  /** A .npy file is not a NumPy array vggkit can read. */
  'BAD_NPY',
  /** A `--batch` array is not a batch of images. */
  'BAD_BATCH',
  /** A `--history` file is no training log vggkit recognises. */
  'BAD_HISTORY',
] as const;

/** Sweeps (src/sweep/): their folders and the workers that run their trials. */
export const SWEEP_ERROR_CODES = [
  /** sweep.json is not a sweep vggkit wrote. */
  'SWEEP_FORMAT',
  /** A trial's job could not be run: its worker process died repeatedly, or the queue failed it. */
  'WORKER_FAILED',
  /** `sweep --lr find`: the LR range test's loss never fell, so there is no valley to centre on. */
  'LR_RANGE_NO_VALLEY',
] as const;

/**
 * The codes that mean an input named on the command line cannot be read as what it should be
 * (missing, wrong kind, empty, truncated, wrong format): raised through errors.ts
 * `unreadableInput`, they exit 2. A code listed here may also be raised with exit 1 where the
 * file is not one the person named (a weights file being written, a run folder's own files).
 */
export const UNREADABLE_INPUT_CODES = [
  'NOT_FOUND',
  'NOT_A_DIRECTORY',
  'UNREADABLE_FOLDER',
  'TOO_FEW_CLASSES',
  'NO_IMAGES',
  'NO_TRAINING_IMAGES',
  'NO_VALIDATION_IMAGES',
  'BAD_NPY',
  'BAD_BATCH',
  'BAD_HISTORY',
  'WEIGHTS_NOT_FOUND',
  'WEIGHTS_FORMAT',
  'WEIGHTS_CORRUPT',
  'KERAS_FORMAT',
  'KERAS_WEIGHTS_ONLY',
  'MODEL_FORMAT',
  'MODEL_METADATA',
] as const satisfies readonly ErrorCode[];
export type UnreadableInputCode = (typeof UNREADABLE_INPUT_CODES)[number];

export const ERROR_CODES = [
  ...IMAGE_ERROR_CODES,
  ...USAGE_CODES,
  ...FILE_ERROR_CODES,
  ...DATA_ERROR_CODES,
  ...WEIGHTS_ERROR_CODES,
  ...MODEL_ERROR_CODES,
  ...KERAS_ERROR_CODES,
  ...DOCTOR_INPUT_ERROR_CODES,
  ...SWEEP_ERROR_CODES,
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];
