/**
 * What a finished (or best-so-far) fine-tune leaves behind, the model folder:
 *   model.onnx   inference graph (base + head) with the contract, class names, input size and arch
 *                in its metadata, so predict/evaluate/serve can never preprocess differently;
 *   weights.h5   the same weights in Keras' HDF5 layout (layer_names/weight_names, TF2 nesting) for
 *                the equivalent Keras model (VGG16 base + Flatten/Dense/Dropout/Dense head).
 * Both are written atomically.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ArchName, VggOptions } from '../model/architectures.js';
import type { HeadSpec } from '../model/head.js';
import { modelLayers } from '../model/head.js';
import { writeKerasWeights, type KerasLayerWeights } from '../model/keras-h5.js';
import { modelMetadata, writeModelFolder } from '../model/model-folder.js';
import { buildVggInference } from '../model/vgg-graph.js';
import { biasKey, kernelKey, type WeightMap } from '../model/weight-map.js';
import type { PreprocessContract } from '../image/contract.js';

export interface ModelDescription {
  readonly arch: ArchName;
  readonly contract: PreprocessContract;
  readonly head: HeadSpec;
  readonly classNames: readonly string[];
}

export function baseOptions(description: ModelDescription): VggOptions {
  return {
    arch: description.arch,
    includeTop: false,
    inputSize: description.contract.inputSize,
    pooling: 'none',
    classes: description.head.classes,
  };
}

export async function writeModel(
  dir: string,
  description: ModelDescription,
  weights: WeightMap,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  const options = baseOptions(description);
  const onnx = buildVggInference({
    options,
    weights,
    head: description.head,
    metadata: modelMetadata({
      contract: description.contract,
      classNames: description.classNames,
      inputSize: description.contract.inputSize,
      arch: description.arch,
      head: description.head,
    }),
  });
  await writeModelFolder(dir, onnx);
  await writeKerasWeights(join(dir, 'weights.h5'), kerasLayers(options, description.head, weights));
}

function kerasLayers(options: VggOptions, head: HeadSpec, weights: WeightMap): KerasLayerWeights[] {
  return modelLayers(options, head).map((layer) => {
    if (layer.kernelShape === undefined) return { name: layer.name, weights: [] };
    const kernel = weights.get(kernelKey(layer.name));
    const bias = weights.get(biasKey(layer.name));
    if (kernel === undefined || bias === undefined)
      throw new Error(`no weights for layer ${layer.name}`);
    return {
      name: layer.name,
      weights: [
        { name: 'kernel', tensor: kernel },
        { name: 'bias', tensor: bias },
      ],
    };
  });
}
