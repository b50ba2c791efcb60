/**
 * RGB pixels -> the float CHW tensor a network expects, driven only by the contract's numbers:
 * output channel c takes source channel `channelOrder[c]` and maps a pixel p to
 * `(p * scale - mean[c]) / std[c]`. With the numbers of `numericsFor(mode)` this is exactly Keras'
 * `imagenet_utils.preprocess_input`: caffe (BGR, minus the BGR mean, no scaling), torch (/255 then
 * ImageNet mean/std, RGB), tf (/127.5 - 1), none (raw 0..255).
 */
import type { PreprocessContract } from './contract.js';
import type { RgbImage } from './decode.js';

export type PreprocessNumerics = Pick<
  PreprocessContract,
  'channelOrder' | 'scale' | 'mean' | 'std' | 'inputSize'
>;

/**
 * Writes 3*H*W floats at `out[offset…]` (allocating `out` when absent) and returns `out`.
 * Pixels are 8-bit, so each channel's mapping is a 256-entry table computed in float64 with the
 * formula above: the loop is a lookup per value and rounds once, like the reference would.
 */
export function preprocess(
  image: RgbImage,
  contract: PreprocessNumerics,
  out?: Float32Array,
  offset = 0,
): Float32Array {
  const [height, width] = contract.inputSize;
  if (image.width !== width || image.height !== height) {
    throw new RangeError(
      `preprocess: expected a ${width}x${height} image (the contract's input size), received ${image.width}x${image.height}`,
    );
  }
  const plane = width * height;
  const target = out ?? new Float32Array(3 * plane);
  if (offset < 0 || offset + 3 * plane > target.length) {
    throw new RangeError(
      `preprocess: ${3 * plane} values at offset ${offset} do not fit an output of length ${target.length}`,
    );
  }
  const data = image.data;
  for (let c = 0; c < 3; c++) {
    const source = contract.channelOrder === 'bgr' ? 2 - c : c;
    const table = channelTable(contract.scale, contract.mean[c], contract.std[c]);
    const base = offset + c * plane;
    for (let i = 0, j = source; i < plane; i++, j += 3) target[base + i] = table[data[j]];
  }
  return target;
}

function channelTable(scale: number, mean: number, std: number): Float32Array {
  const table = new Float32Array(256);
  for (let p = 0; p < 256; p++) table[p] = (p * scale - mean) / std;
  return table;
}
