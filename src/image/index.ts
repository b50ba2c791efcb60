/** The image pipeline's public surface: import from here, not from the individual files. */
export {
  INTERPOLATIONS,
  PREPROCESS_MODES,
  RESIZE_MODES,
  makeContract,
  numericsFor,
  resolveContract,
  type ChannelOrder,
  type ContractOverride,
  type Interpolation,
  type ModeNumerics,
  type PreprocessContract,
  type PreprocessMode,
  type ResizeMode,
  type ResolvedContract,
  type Triple,
} from './contract.js';
export { IMAGE_ERROR_CODES, ImageError, isImageError, type ImageErrorCode } from './errors.js';
export {
  DEFAULT_BACKGROUND,
  DEFAULT_PIXEL_LIMIT,
  decodeImage,
  inspectImage,
  type DecodeOptions,
  type ImageInfo,
  type RgbImage,
} from './decode.js';
export {
  SHARP_KERNELS,
  centerCropResizeSize,
  planResize,
  resizeImage,
  type ResizePlan,
  type ResizeSpec,
} from './resize.js';
export { preprocess, type PreprocessNumerics } from './preprocess.js';
export {
  loadBatch,
  loadImage,
  loadImageTensor,
  streamBatches,
  type Batch,
  type BatchOptions,
  type SkippedFile,
  type StreamOptions,
} from './pipeline.js';
export { DEFAULT_AUGMENT_PARAMS, augmentImage, type AugmentParams } from './augment.js';
export { THUMB_SIZE, thumbnailJpeg } from './thumbnail.js';
