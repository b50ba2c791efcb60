/**
 * torchvision-layout VGG weights (safetensors) converted to vggkit's canonical Keras layout.
 * torchvision numbers modules in `features` as conv, ReLU, [conv, ReLU, ...] MaxPool, so conv
 * indices are derived from the layer list, never tabulated. Conversions:
 * - conv `features.{i}.weight` OIHW -> HWIO;
 * - dense `classifier.{0,3,6}.weight` [out, in] -> [in, out];
 * - the dense layer right after Flatten also has its inputs reordered: torchvision flattens NCHW
 *   (c, h, w), Keras flattens NHWC (h, w, c); H, W, C come from the layer list.
 * timm's republished torchvision weights call the classifier `pre_logits.fc1` (a 7x7 conv, i.e.
 * [out, C, H, W], the same memory order as [out, C*H*W]), `pre_logits.fc2` ([out, in, 1, 1]) and
 * `head.fc`; both spellings are accepted.
 */
import { VggkitError } from '../util/errors.js';
import { type Float32Tensor, tensor } from '../util/tensor.js';
import type { LayerSpec } from './architectures.js';
import { SafetensorsFile } from './safetensors.js';
import { biasKey, kernelKey, type WeightMap } from './weight-map.js';

/** Source names of the k-th dense layer: torchvision's, then timm's. */
const CLASSIFIER_NAMES: readonly (readonly string[])[] = [
  ['classifier.0', 'pre_logits.fc1'],
  ['classifier.3', 'pre_logits.fc2'],
  ['classifier.6', 'head.fc'],
];

interface Source {
  readonly layer: LayerSpec;
  /** Module name candidates, e.g. ['features.0']. */
  readonly modules: readonly string[];
  /** [H, W, C] of the flattened feature map when this is the dense layer right after Flatten. */
  readonly flattenedFrom?: readonly number[];
}

export async function readTorchvisionWeights(
  file: string,
  layers: readonly LayerSpec[],
): Promise<WeightMap> {
  const sources = torchvisionSources(file, layers);
  const st = await SafetensorsFile.open(file);
  try {
    const weights: WeightMap = new Map();
    for (const source of sources) {
      const { layer } = source;
      const module = source.modules.find(
        (name) => st.entries.has(`${name}.weight`) && st.entries.has(`${name}.bias`),
      );
      if (module === undefined) throw missing(file, source);
      const weight = await st.read(`${module}.weight`);
      const bias = await st.read(`${module}.bias`);
      checkShape(file, `${module}.bias`, layer, bias.dims, [layer.biasShape as readonly number[]]);
      weights.set(
        kernelKey(layer.name),
        layer.kind === 'conv'
          ? convKernel(file, module, layer, weight)
          : denseKernel(file, module, source, weight),
      );
      weights.set(biasKey(layer.name), tensor(layer.biasShape as readonly number[], bias.data));
    }
    return weights;
  } finally {
    await st.close();
  }
}

function torchvisionSources(file: string, layers: readonly LayerSpec[]): Source[] {
  const sources: Source[] = [];
  let featureIndex = 0;
  let denseIndex = 0;
  let spatial: readonly number[] = [];
  let flattened: readonly number[] | undefined;
  for (const layer of layers) {
    if (layer.kind === 'input' || layer.kind === 'conv' || layer.kind === 'pool')
      spatial = layer.outputShape;
    if (layer.kind === 'flatten') flattened = spatial;
    if (layer.kind === 'conv') {
      sources.push({ layer, modules: [`features.${featureIndex}`] });
      featureIndex += 2; // conv, ReLU
    } else if (layer.kind === 'pool') {
      featureIndex += 1;
    } else if (layer.kind === 'dense') {
      const modules = CLASSIFIER_NAMES[denseIndex++];
      if (modules === undefined) {
        throw new VggkitError(
          'WEIGHTS_FORMAT',
          `${file}: torchvision VGG has 3 classifier layers, the model asks for a dense layer ${layer.name} beyond them`,
          { file },
        );
      }
      sources.push(
        flattened === undefined ? { layer, modules } : { layer, modules, flattenedFrom: flattened },
      );
      flattened = undefined;
    }
  }
  return sources;
}

/** OIHW -> HWIO. */
function convKernel(
  file: string,
  module: string,
  layer: LayerSpec,
  weight: Float32Tensor,
): Float32Tensor {
  const [kh, kw, cin, cout] = layer.kernelShape as [number, number, number, number];
  checkShape(file, `${module}.weight`, layer, weight.dims, [[cout, cin, kh, kw]]);
  const out = new Float32Array(weight.data.length);
  for (let o = 0; o < cout; o++)
    for (let i = 0; i < cin; i++)
      for (let h = 0; h < kh; h++)
        for (let w = 0; w < kw; w++)
          out[((h * kw + w) * cin + i) * cout + o] = weight.data[
            ((o * cin + i) * kh + h) * kw + w
          ] as number;
  return tensor([kh, kw, cin, cout], out);
}

/** [out, in] -> [in, out], with the inputs of the first dense layer reordered CHW -> HWC. */
function denseKernel(
  file: string,
  module: string,
  source: Source,
  weight: Float32Tensor,
): Float32Tensor {
  const { layer, flattenedFrom } = source;
  const [nIn, nOut] = layer.kernelShape as [number, number];
  const accepted: number[][] = [
    [nOut, nIn],
    [nOut, nIn, 1, 1],
  ];
  if (flattenedFrom !== undefined) {
    const [h, w, c] = flattenedFrom as [number, number, number];
    accepted.push([nOut, c, h, w]);
  }
  checkShape(file, `${module}.weight`, layer, weight.dims, accepted);
  const rowOf =
    flattenedFrom === undefined
      ? (k: number) => k
      : hwcToChw(flattenedFrom as [number, number, number]);
  const out = new Float32Array(weight.data.length);
  for (let k = 0; k < nIn; k++) {
    const src = rowOf(k);
    for (let o = 0; o < nOut; o++) out[k * nOut + o] = weight.data[o * nIn + src] as number;
  }
  return tensor([nIn, nOut], out);
}

/** Maps a Keras (h, w, c) flatten index to torchvision's (c, h, w) flatten index. */
function hwcToChw([height, width, channels]: [number, number, number]): (k: number) => number {
  return (k) => {
    const c = k % channels;
    const w = Math.floor(k / channels) % width;
    const h = Math.floor(k / (channels * width));
    return (c * height + h) * width + w;
  };
}

function checkShape(
  file: string,
  name: string,
  layer: LayerSpec,
  actual: readonly number[],
  accepted: readonly (readonly number[])[],
): void {
  if (
    accepted.some(
      (shape) =>
        shape.length === actual.length && shape.every((size, axis) => size === actual[axis]),
    )
  )
    return;
  const expected = accepted.map((shape) => `[${shape.join(', ')}]`).join(' or ');
  throw new VggkitError(
    'WEIGHTS_SHAPE',
    `${file}: tensor ${name} (layer ${layer.name}): expected shape ${expected}, received [${actual.join(', ')}]`,
    { file },
  );
}

function missing(file: string, source: Source): VggkitError {
  const names = source.modules.map((module) => `${module}.weight/.bias`).join(' or ');
  if (source.layer.kind === 'dense') {
    return new VggkitError(
      'WEIGHTS_NO_TOP',
      `${file}: has no ${names} for ${source.layer.name}: it holds only the convolutional base (no top); load it without includeTop`,
      { file },
    );
  }
  return new VggkitError(
    'WEIGHTS_MISSING_LAYER',
    `${file}: expected tensors ${names} for layer ${source.layer.name}, found none`,
    { file },
  );
}
