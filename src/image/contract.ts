/**
 * The preprocessing contract: everything that must match between the pixels a model was trained
 * on and the pixels it is fed. Weights carry one (see src/model/registry.ts), models vggkit writes
 * store one in their metadata, and `resolveContract` is the only way to override it.
 */
import { oneOf } from '../util/errors.js';

/** Keras `imagenet_utils.preprocess_input` modes, plus `none` (raw 0..255 RGB). */
export const PREPROCESS_MODES = ['caffe', 'torch', 'tf', 'none'] as const;
export type PreprocessMode = (typeof PREPROCESS_MODES)[number];

/** stretch: Keras' plain resize; center-crop: torchvision's Resize(256)+CenterCrop(224); pad: letterbox. */
export const RESIZE_MODES = ['stretch', 'center-crop', 'pad'] as const;
export type ResizeMode = (typeof RESIZE_MODES)[number];

export const INTERPOLATIONS = ['bilinear', 'nearest', 'bicubic', 'lanczos'] as const;
export type Interpolation = (typeof INTERPOLATIONS)[number];

export type ChannelOrder = 'rgb' | 'bgr';
export type Triple = readonly [number, number, number];

/**
 * `value = (pixel * scale - mean[c]) / std[c]` with pixels 0..255 taken in `channelOrder`.
 * The numeric fields are always the ones `numericsFor(mode)` gives; they are spelled out so that
 * metadata and the doctor can compare contracts without knowing mode names.
 */
export interface PreprocessContract {
  readonly mode: PreprocessMode;
  readonly channelOrder: ChannelOrder;
  readonly scale: number;
  readonly mean: Triple;
  readonly std: Triple;
  /** [height, width] fed to the network. */
  readonly inputSize: readonly [number, number];
  readonly resize: ResizeMode;
  readonly interpolation: Interpolation;
}

export interface ModeNumerics {
  readonly channelOrder: ChannelOrder;
  readonly scale: number;
  readonly mean: Triple;
  readonly std: Triple;
}

const NUMERICS: Record<PreprocessMode, ModeNumerics> = {
  // Keras caffe mode: RGB->BGR, subtract the ImageNet mean in BGR order, no scaling.
  caffe: { channelOrder: 'bgr', scale: 1, mean: [103.939, 116.779, 123.68], std: [1, 1, 1] },
  torch: {
    channelOrder: 'rgb',
    scale: 1 / 255,
    mean: [0.485, 0.456, 0.406],
    std: [0.229, 0.224, 0.225],
  },
  tf: { channelOrder: 'rgb', scale: 1 / 127.5, mean: [1, 1, 1], std: [1, 1, 1] },
  none: { channelOrder: 'rgb', scale: 1, mean: [0, 0, 0], std: [1, 1, 1] },
};

export function numericsFor(mode: PreprocessMode): ModeNumerics {
  return NUMERICS[mode];
}

export function makeContract(options: {
  mode: PreprocessMode;
  inputSize: number | readonly [number, number];
  resize?: ResizeMode;
  interpolation?: Interpolation;
}): PreprocessContract {
  const size =
    typeof options.inputSize === 'number'
      ? ([options.inputSize, options.inputSize] as const)
      : options.inputSize;
  return {
    mode: options.mode,
    ...NUMERICS[options.mode],
    inputSize: [size[0], size[1]],
    resize: options.resize ?? 'stretch',
    interpolation: options.interpolation ?? 'bilinear',
  };
}

export interface ContractOverride {
  readonly preprocess?: string;
  readonly resize?: string;
  readonly interpolation?: string;
  readonly inputSize?: number;
}

export interface ResolvedContract {
  readonly contract: PreprocessContract;
  /** One line per field where the override contradicts the weights' contract. */
  readonly warnings: string[];
}

/** Override -> weights' contract, explicitly; every contradiction is reported, never silent. */
export function resolveContract(
  base: PreprocessContract,
  override: ContractOverride,
): ResolvedContract {
  const warnings: string[] = [];
  const mode =
    override.preprocess === undefined
      ? base.mode
      : oneOf('--preprocess', PREPROCESS_MODES, override.preprocess);
  const resize =
    override.resize === undefined ? base.resize : oneOf('--resize', RESIZE_MODES, override.resize);
  const interpolation =
    override.interpolation === undefined
      ? base.interpolation
      : oneOf('--interpolation', INTERPOLATIONS, override.interpolation);
  const inputSize =
    override.inputSize === undefined
      ? base.inputSize
      : ([override.inputSize, override.inputSize] as const);
  if (mode !== base.mode)
    warnings.push(
      `--preprocess ${mode} overrides the weights' contract (${base.mode}); predictions will be wrong unless the weights were trained that way`,
    );
  if (resize !== base.resize)
    warnings.push(`--resize ${resize} differs from the weights' contract (${base.resize})`);
  if (interpolation !== base.interpolation)
    warnings.push(
      `--interpolation ${interpolation} differs from the weights' contract (${base.interpolation})`,
    );
  return { contract: makeContract({ mode, inputSize, resize, interpolation }), warnings };
}
