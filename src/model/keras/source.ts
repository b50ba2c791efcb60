/**
 * A user's whole saved Keras model as a `--weights` source (the weights-source.ts entry shape):
 * `.keras`, TF.js / to_json `.json`, or an `.h5` saved with model.save (recognised by its
 * model_config attribute, so it is tried before the plain Keras weights entry). It trains on
 * from its base and, when the shapes match, its head; it opens as a runnable model for predict,
 * evaluate and the doctor. Its contract comes from its own preprocessing (convert.ts).
 */
import { resolve } from 'node:path';
import { VggkitError } from '../../util/errors.js';
import type { Float32Tensor } from '../../util/tensor.js';
import { headDenseNames } from '../head.js';
import { biasKey, kernelKey, type WeightMap } from '../weight-map.js';
import type {
  ReadRequest,
  ReadWeights,
  WeightsSource,
  WeightsSourceEntry,
} from '../weights-source.js';
import type { KerasVggModel } from './convert.js';

// The reader (h5wasm, the zip and JSON parsers, the converter) loads when a value is looked at as
// a Keras model, not when the weights sources are listed: resolving a model folder needs none of it.
const run = (): Promise<typeof import('./run.js')> => import('./run.js');

/** The base (and the top, when asked for) for the layers `vggLayers` lists, shape-checked; its head too. */
function readConverted(file: string, converted: KerasVggModel, request: ReadRequest): ReadWeights {
  if (converted.inputTransform !== undefined) {
    throw new VggkitError(
      'KERAS_UNSUPPORTED',
      `${file}: its own preprocessing layers are none of vggkit's contracts (caffe, torch, tf, none), so vggkit cannot train on from it; its VGG weights expect caffe: replace them by preprocess_input in Keras (vggkit predict and evaluate run it as it is)`,
      { file },
    );
  }
  const weights: WeightMap = new Map();
  for (const layer of request.layers) {
    if (layer.kernelShape === undefined || layer.biasShape === undefined) continue;
    for (const [key, shape] of [
      [kernelKey(layer.name), layer.kernelShape],
      [biasKey(layer.name), layer.biasShape],
    ] as const) {
      const found = converted.weights.get(key);
      if (found === undefined) {
        throw layer.kind === 'dense'
          ? new VggkitError(
              'WEIGHTS_NO_TOP',
              `${file}: has no ${layer.name} (the model was built with include_top=False); load it without the top`,
              { file },
            )
          : new VggkitError(
              'WEIGHTS_MISSING_LAYER',
              `${file}: expected layer ${layer.name}, the model has none`,
              { file },
            );
      }
      if (found.dims.length !== shape.length || found.dims.some((d, i) => d !== shape[i])) {
        throw new VggkitError(
          'WEIGHTS_SHAPE',
          `${file}: ${key}: expected shape [${shape.join(', ')}] (${request.arch} at ${request.inputSize.join('x')}), received [${found.dims.join(', ')}]`,
          { file },
        );
      }
      weights.set(key, found);
    }
  }
  const head =
    converted.head === undefined || request.includeTop
      ? undefined
      : {
          spec: converted.head,
          weights: new Map(
            headDenseNames(converted.head).flatMap((name) => [
              [kernelKey(name), converted.weights.get(kernelKey(name)) as Float32Tensor],
              [biasKey(name), converted.weights.get(biasKey(name)) as Float32Tensor],
            ]),
          ),
        };
  return { weights, origin: file, ...(head === undefined ? {} : { head }) };
}

function classNote(file: string, classNames: readonly string[] | undefined): string {
  return classNames === undefined
    ? 'a Keras model file holds no class names: classes are numbered in the order of the sorted class folders it was trained on'
    : `${file} holds no class names: output k is taken to be the k-th class folder in sorted order (${classNames.join(', ')}), as Keras' directory loaders number them`;
}

export const KERAS_MODEL_SOURCE: WeightsSourceEntry = {
  kind: 'keras-model',
  accepts:
    'your Keras model (.keras, a model.save .h5, a TF.js model.json, or a model.to_json() JSON with --keras-weights)',
  claims: async (weights) => (await run()).isKerasModelPath(weights),
  describe: async (weights, _arch, options): Promise<WeightsSource> => {
    const file = resolve(weights);
    const { convertKerasFile, runnableKerasModel } = await run();
    const kerasWeights =
      options.kerasWeights === undefined ? undefined : resolve(options.kerasWeights);
    const converted = await convertKerasFile(file, kerasWeights);
    const includesTop = converted.options.includeTop;
    return {
      kind: 'keras-model',
      weights,
      contract: converted.contract,
      fixedInputSize: false,
      includesTop,
      classes: includesTop ? converted.options.classes : undefined,
      assumption: converted.assumption,
      entry: undefined,
      read: async (request) => readConverted(file, converted, request),
      open: async (classNames) => {
        const { folder } = runnableKerasModel(weights, converted, classNames);
        return {
          folder,
          notes: [
            ...(converted.assumption === undefined ? [] : [converted.assumption]),
            classNote(weights, classNames),
          ],
          network: async () =>
            (await import('../folder-network.js')).kerasNetwork(converted, weights),
        };
      },
    };
  },
};
