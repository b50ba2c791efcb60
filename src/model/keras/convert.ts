/**
 * A user's Keras VGG-family model -> a vggkit model: VggOptions (the base's widths, the input
 * size, the top when fc1/fc2 were kept), a HeadSpec, the weights in vggkit's canonical layout
 * (weight-map.ts: Keras names and layouts, so only the head is renamed: its hidden Dense becomes
 * `dense`, its output `dense_1`, a kept top's last Dense `predictions`), and the preprocessing
 * contract. The model's own preprocessing decides the contract: none inside -> the base weights'
 * contract is assumed (caffe for Keras' VGG weights, said in `assumption`); exactly one known mode
 * -> that mode; anything else -> raw pixels plus an `inputTransform` the graph applies itself.
 * The head may have several hidden Dense(relu) layers (`dense`, `dense_1`, … then the output) and
 * BatchNormalization / Activation layers, folded into its Dense layers (head-chain.ts). What
 * vggkit has no form for (an unknown layer, a LeakyReLU, BatchNormalization in the base) is a
 * KERAS_UNSUPPORTED error naming the layer and its class.
 */
import { makeContract, type PreprocessContract } from '../../image/contract.js';
import { VggkitError } from '../../util/errors.js';
import { tensor } from '../../util/tensor.js';
import { ARCHITECTURES, type VggOptions } from '../architectures.js';
import { headDenseNames, type HeadSpec } from '../head.js';
import { biasKey, kernelKey, type WeightMap } from '../weight-map.js';
import { analyse, type AffineMap, type KerasAnalysis } from './analyse.js';
import { headChain, type ChainDense } from './head-chain.js';
import { layerPath, leafLayers, unknownLayers, type KerasModel } from './model.js';
import { modeOf } from './preprocessing.js';

export interface KerasVggModel {
  readonly options: VggOptions;
  readonly head?: HeadSpec;
  readonly weights: WeightMap;
  readonly contract: PreprocessContract;
  /** The model's own preprocessing when it is none of vggkit's modes (the contract is then `none`). */
  readonly inputTransform?: AffineMap;
  /** Set when the contract is assumed rather than read from the model: what was assumed and how to override it. */
  readonly assumption?: string;
  /** Output units: one per class, or 1 for a sigmoid over two classes. */
  readonly outputs: number;
  /** The Keras layer names of the head as vggkit renamed them (vggkit name -> Keras path). */
  readonly renamed: Readonly<Record<string, string>>;
}

function unsupported(model: KerasModel, why: string): VggkitError {
  return new VggkitError(
    'KERAS_UNSUPPORTED',
    `${model.file}: cannot run this model in vggkit: ${why}`,
    {
      file: model.file,
    },
  );
}

/** What to do about an architecture with no weights depends on where it came from. */
function noWeights(model: KerasModel): VggkitError {
  const what =
    model.format === 'keras-json'
      ? 'is an architecture only (model.to_json() writes no weights)'
      : model.format === 'tfjs-layers'
        ? 'has no weight shards beside it (its weightsManifest names none, or they are missing)'
        : 'holds no weights';
  return new VggkitError(
    'KERAS_NO_WEIGHTS',
    `${model.file}: ${what}; give the weights model.save_weights wrote with --keras-weights FILE.h5`,
    { file: model.file },
  );
}

function layerWeights(model: KerasModel, path: string, into: WeightMap, as: string): void {
  const vars = model.weights?.get(path);
  const kernel = vars?.find((v) => v.name === 'kernel') ?? vars?.[0];
  const bias = vars?.find((v) => v.name === 'bias') ?? vars?.[1];
  if (kernel === undefined || bias === undefined) {
    throw new VggkitError(
      'WEIGHTS_MISSING_LAYER',
      `${model.weightsFile ?? model.file}: expected a kernel and a bias for layer ${path}, found ${vars === undefined ? 'no weights' : vars.map((v) => v.name).join(', ')}`,
      { file: model.weightsFile ?? model.file },
    );
  }
  into.set(kernelKey(as), tensor(kernel.tensor.dims, kernel.tensor.data));
  into.set(biasKey(as), tensor(bias.tensor.dims, bias.tensor.data));
}

function setWeights(into: WeightMap, as: string, dense: ChainDense): void {
  into.set(kernelKey(as), dense.kernel);
  into.set(biasKey(as), dense.bias);
}

function inputSizeOf(model: KerasModel): readonly [number, number] {
  const [, h, w] = model.inputShape ?? [];
  return typeof h === 'number' && typeof w === 'number' ? [h, w] : [224, 224];
}

export function kerasToVgg(
  model: KerasModel,
  analysis: KerasAnalysis = analyse(model),
): KerasVggModel {
  const vgg = analysis.vgg;
  if (vgg === undefined)
    throw unsupported(
      model,
      'it holds no VGG base (block1_conv1 … block5_conv3 from keras.applications)',
    );
  const unknown = unknownLayers(model);
  if (unknown.length > 0)
    throw unsupported(
      model,
      `vggkit does not know layer ${unknown.map((u) => `${u.layer} (${u.className})`).join(', ')}`,
    );
  if (model.weights === undefined) throw noWeights(model);
  const leaves = leafLayers(model.layers);
  const inHead = new Set(vgg.head.map((l) => l.path));
  const odd = leaves.find(
    (l) =>
      (l.className === 'BatchNormalization' && !inHead.has(layerPath(l))) ||
      [
        'LayerNormalization',
        'Reshape',
        'Permute',
        'ZeroPadding2D',
        'Cropping2D',
        'Concatenate',
      ].includes(l.className),
  );
  if (odd !== undefined)
    throw unsupported(
      model,
      `layer ${layerPath(odd)} (${odd.className}) has no place in vggkit's VGG + head`,
    );
  const inputSize = inputSizeOf(model);
  const weights: WeightMap = new Map();
  for (const layer of leaves.filter((l) => /^block\d_conv\d$/.test(l.name)))
    layerWeights(model, layerPath(layer), weights, layer.name);
  const pathOf = (name: string): string =>
    layerPath(leaves.find((l) => l.name === name) as (typeof leaves)[number]);
  const standard = Object.values(ARCHITECTURES).some(
    (row) => JSON.stringify(row) === JSON.stringify(vgg.widths),
  );
  const base = {
    arch: vgg.family,
    inputSize,
    pooling: 'none' as const,
    ...(standard ? {} : { widths: vgg.widths }),
  };
  const denses = headChain(model, vgg.head, (why) => unsupported(model, why));
  const last = denses.at(-1);
  const activation = last?.activation;
  if (last?.units === undefined || (activation !== 'softmax' && activation !== 'sigmoid'))
    throw unsupported(
      model,
      `the output layer must be Dense with softmax or sigmoid, found ${last === undefined ? 'none' : `${last.layer.path} (${String(activation)})`}`,
    );
  const renamed: Record<string, string> = {};
  let options: VggOptions;
  let head: HeadSpec | undefined;
  if (vgg.top.includes('fc1') && vgg.top.includes('fc2')) {
    if (denses.length > 1 || activation !== 'softmax')
      throw unsupported(
        model,
        'after fc1 and fc2 vggkit expects one softmax Dense (the predictions layer)',
      );
    const fc = model.weights.get(pathOf('fc1'))?.[0]?.tensor.dims[1];
    layerWeights(model, pathOf('fc1'), weights, 'fc1');
    layerWeights(model, pathOf('fc2'), weights, 'fc2');
    setWeights(weights, 'predictions', last);
    renamed['predictions'] = last.layer.path;
    options = {
      ...base,
      includeTop: true,
      classes: last.units,
      ...(fc === undefined || fc === 4096 ? {} : { fcUnits: fc }),
    };
  } else {
    const hidden = denses.slice(0, -1);
    const kind =
      vgg.pooling ??
      vgg.head.find((l) => l.kind === 'flatten' || l.kind === 'avg' || l.kind === 'max')?.kind;
    if (kind !== 'flatten' && kind !== 'avg')
      throw unsupported(
        model,
        `vggkit heads start with Flatten or GlobalAveragePooling2D, found ${kind ?? 'neither'}`,
      );
    const first = hidden[0];
    if (first === undefined || hidden.some((h) => h.activation !== 'relu'))
      throw unsupported(
        model,
        `vggkit's head has hidden Dense(relu) layers before the output, this model has ${hidden.length === 0 ? 'none' : hidden.map((h) => `${h.layer.path} (${h.activation})`).join(', ')}`,
      );
    head = {
      kind,
      dense: first.units,
      classes: last.units,
      activation,
      ...(hidden.length > 1 ? { moreDense: hidden.slice(1).map((h) => h.units) } : {}),
    };
    const names = headDenseNames(head);
    denses.forEach((d, i) => {
      const name = names[i] as string;
      setWeights(weights, name, d);
      renamed[name] = d.layer.path;
    });
    options = { ...base, includeTop: false, classes: last.units };
  }
  const map = analysis.preprocessing.map;
  if (map === undefined)
    throw unsupported(
      model,
      `vggkit cannot tell what preprocessing layer ${analysis.preprocessing.opaque} does`,
    );
  const mode = analysis.preprocessing.layers.length === 0 ? undefined : modeOf(map);
  const contract = makeContract({
    mode: mode ?? (analysis.preprocessing.layers.length === 0 ? 'caffe' : 'none'),
    inputSize,
    resize: 'stretch',
    interpolation: 'bilinear',
  });
  return {
    options,
    ...(head === undefined ? {} : { head }),
    weights,
    contract,
    ...(mode === undefined && analysis.preprocessing.layers.length > 0
      ? { inputTransform: map }
      : {}),
    ...(analysis.preprocessing.layers.length === 0
      ? {
          assumption: `${model.file} applies no preprocessing itself: assuming its VGG weights' contract, caffe (Keras preprocess_input); --preprocess MODE overrides it`,
        }
      : {}),
    outputs: last.units,
    renamed,
  };
}
