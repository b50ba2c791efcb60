/**
 * A network as the graph builders take it — architecture options, optional head, weights and the
 * preprocessing contract — and how to get one from a model folder `vggkit train` wrote: base +
 * head rebuilt from its weights.h5 and metadata, so any layer can be cut and any precision built.
 */
import { join } from 'node:path';
import type { PreprocessContract } from '../image/contract.js';
import { VggkitError } from '../util/errors.js';
import type { VggOptions } from './architectures.js';
import { type HeadSpec, modelLayers } from './head.js';
import { readKerasWeights } from './keras-h5.js';
import { type LoadedModelFolder, readModelFolder } from './model-folder.js';
import type { KerasVggModel } from './keras/convert.js';
import type { WeightMap } from './weight-map.js';

export interface Network {
  readonly options: VggOptions;
  readonly head?: HeadSpec;
  readonly weights: WeightMap;
  readonly contract: PreprocessContract;
  /** Where it came from, for messages and reports. */
  readonly source: string;
}

export async function folderNetwork(dir: string, loaded?: LoadedModelFolder): Promise<Network> {
  const { metadata, file } = loaded ?? (await readModelFolder(dir));
  const head = metadata.head;
  if (head === undefined)
    throw new VggkitError(
      'MODEL_METADATA',
      `${file}: expected a head description (vggkit.head) in the metadata, found none; retrain the model with this version`,
      { file },
    );
  const options: VggOptions = {
    arch: metadata.arch,
    includeTop: false,
    inputSize: metadata.inputSize,
    pooling: 'none',
    classes: head.classes,
  };
  const weights = await readKerasWeights(join(dir, 'weights.h5'), modelLayers(options, head));
  return { options, head, weights, contract: metadata.contract, source: `model folder ${dir}` };
}

/**
 * A user's Keras model (src/model/keras/) as a network. One that preprocesses its own input with
 * a transform none of vggkit's contracts express runs in fp32 only: int8's input scale is the
 * contract's range.
 */
export function kerasNetwork(converted: KerasVggModel, file: string): Network {
  if (converted.inputTransform !== undefined)
    throw new VggkitError(
      'KERAS_UNSUPPORTED',
      `${file}: --precision int8: the model preprocesses its own input in a way none of vggkit's contracts express, which int8 cannot quantize; run it with --precision fp32`,
      { file },
    );
  return {
    options: converted.options,
    ...(converted.head === undefined ? {} : { head: converted.head }),
    weights: converted.weights,
    contract: converted.contract,
    source: file,
  };
}
