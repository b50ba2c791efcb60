/**
 * Published weights, one row per source (after timm's PretrainedCfg): where the file lives, how to
 * verify it, how it is laid out, and the preprocessing contract it was trained with. A new source
 * is one row; nothing else in vggkit switches on tags. What a `--weights` value is (a tag, a file,
 * a model folder) is decided in weights-source.ts, which looks tags up here.
 */
import { makeContract, type PreprocessContract } from '../image/contract.js';
import type { ArchName } from './architectures.js';

export type WeightsLayout = 'keras-h5' | 'torchvision-safetensors';

export interface Checksum {
  readonly algorithm: 'md5' | 'sha256';
  readonly hex: string;
}

export interface WeightsEntry {
  readonly tag: string;
  readonly arch: ArchName;
  readonly url: string;
  readonly checksum: Checksum;
  /** Name of the file in the cache directory. */
  readonly fileName: string;
  readonly layout: WeightsLayout;
  /** Whether the file holds fc1, fc2 and predictions as well as the convolutional base. */
  readonly includesTop: boolean;
  /** The contract at the size the weights were trained at. */
  readonly contract: PreprocessContract;
  readonly classes: number;
  readonly license: string;
}

const KERAS_FOLDER = 'https://storage.googleapis.com/tensorflow/keras-applications/vgg16';
// Keras ported these from the Oxford VGG release (Creative Commons Attribution).
const KERAS_LICENSE = 'CC-BY-4.0 (Oxford VGG weights, ported by Keras)';
const kerasContract = makeContract({
  mode: 'caffe',
  inputSize: 224,
  resize: 'stretch',
  interpolation: 'bilinear',
});

export const WEIGHTS: readonly WeightsEntry[] = [
  {
    tag: 'imagenet',
    arch: 'vgg16',
    url: `${KERAS_FOLDER}/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5`,
    checksum: { algorithm: 'md5', hex: '6d6bbae143d832006294945121d1f1fc' },
    fileName: 'vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5',
    layout: 'keras-h5',
    includesTop: false,
    contract: kerasContract,
    classes: 1000,
    license: KERAS_LICENSE,
  },
  {
    tag: 'imagenet-top',
    arch: 'vgg16',
    url: `${KERAS_FOLDER}/vgg16_weights_tf_dim_ordering_tf_kernels.h5`,
    checksum: { algorithm: 'md5', hex: '64373286793e3c8b2b4e3219cbf3544b' },
    fileName: 'vgg16_weights_tf_dim_ordering_tf_kernels.h5',
    layout: 'keras-h5',
    includesTop: true,
    contract: kerasContract,
    classes: 1000,
    license: KERAS_LICENSE,
  },
  {
    // torchvision's IMAGENET1K_V1 weights as timm republished them in safetensors. timm renamed the
    // classifier (classifier.0/3/6 -> pre_logits.fc1/pre_logits.fc2/head.fc, fc1/fc2 reshaped to
    // convolutions); the torchvision reader accepts both spellings. Pinned to the commit whose
    // LFS sha256 is published on the hub.
    tag: 'tv_in1k',
    arch: 'vgg16',
    url: 'https://huggingface.co/timm/vgg16.tv_in1k/resolve/3394518cba29aee1ea82a49d971be90d2dd1dab7/model.safetensors',
    checksum: {
      algorithm: 'sha256',
      hex: '57b026918159a6bf9faf8405c3a551903768e7138989d9c6224a14227203fad8',
    },
    fileName: 'vgg16.tv_in1k.safetensors',
    layout: 'torchvision-safetensors',
    includesTop: true,
    // torchvision: Resize(256) + CenterCrop(224), bilinear (timm crop_pct 0.875).
    contract: makeContract({
      mode: 'torch',
      inputSize: 224,
      resize: 'center-crop',
      interpolation: 'bilinear',
    }),
    classes: 1000,
    license: 'BSD-3-Clause (torchvision)',
  },
];
