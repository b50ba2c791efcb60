/**
 * The user's own Keras model, as one typed description whatever file it came from.
 *
 * Design
 * - One reader per format (h5.ts: legacy full-model `.h5`; zip.ts: Keras 3 `.keras`; json.ts:
 *   `model.to_json()` and TF.js layers `model.json`), each producing a `KerasModel`; read.ts picks
 *   the reader from the file's content. config.ts turns any Keras model config (Keras 2.0 list
 *   Sequential to Keras 3 Functional) into `KerasLayer`s; training.ts the training config.
 * - Nothing is guessed: a layer keeps its class name and raw config; classes vggkit does not
 *   understand are listed by `unknownLayers`, and the checks that would need them say so.
 * - `trainable` is the effective flag: a layer trains only if it and every model enclosing it
 *   are trainable (Keras' `trainable_weights` are empty under a frozen parent).
 * - Weights, when the file has them, are keyed by the layer's path (`vgg16/block1_conv1`, or
 *   `dense_1` at the top level), each a list of named variables in Keras order.
 */
import type { Float32Tensor } from '../../util/tensor.js';

export type KerasFormat = 'keras-zip' | 'keras-h5' | 'keras-json' | 'tfjs-layers';

export interface KerasLayer {
  readonly className: string;
  /** Keras 3's `module` (`keras.layers`, `keras.src.ops.numpy` for traced ops), when written. */
  readonly module?: string;
  readonly name: string;
  /** The layer's config as written (nested models: without their `layers`). */
  readonly config: Readonly<Record<string, unknown>>;
  /** Effective: the layer's own flag and every enclosing model's. */
  readonly trainable: boolean;
  /** Names of the layers feeding this one (Functional inbound nodes; the previous layer in a Sequential). */
  readonly inbound: readonly string[];
  /** Keyword arguments of the call (traced TF ops keep their constants here: `bias`, `y`, `slice_spec`). */
  readonly callArgs: readonly unknown[];
  /** Names of the enclosing models, outermost first (empty at the top level). */
  readonly parents: readonly string[];
  /** A nested model's own layers, in the order its config lists them. */
  readonly layers?: readonly KerasLayer[];
  /** A nested Functional's output layer name. */
  readonly output?: string;
}

export interface KerasLoss {
  /** Snake-case Keras name (`categorical_crossentropy`), or the class name when it is custom. */
  readonly name: string;
  readonly fromLogits?: boolean;
  readonly labelSmoothing?: number;
}

export interface KerasOptimizer {
  /** Lower-case class name without registry prefixes (`Custom>Adam` -> `adam`). */
  readonly name: string;
  readonly className: string;
  /** `learning_rate`, or `lr` in Keras 2.0-2.2 files; undefined when it is a schedule object. */
  readonly learningRate?: number;
  /** A LearningRateSchedule's class name, when the rate is one. */
  readonly schedule?: string;
  readonly momentum?: number;
  readonly config: Readonly<Record<string, unknown>>;
}

export interface KerasTraining {
  /** Absent when the loss is missing; several outputs keep the first output's loss. */
  readonly loss?: KerasLoss;
  readonly optimizer?: KerasOptimizer;
  /** Metric names as written (`accuracy`, `acc`, `binary_accuracy`, `AUC`…). */
  readonly metrics: readonly string[];
}

export interface KerasVariable {
  /** The variable's name within its layer: `kernel`, `bias`, `gamma`, `moving_mean`, or `0`, `1`… when the file does not say. */
  readonly name: string;
  readonly tensor: Float32Tensor;
}

/** Layer path (`vgg16/block1_conv1`) -> its variables in Keras order. */
export type KerasWeights = ReadonlyMap<string, readonly KerasVariable[]>;

/** What the file says about a layer's variables without reading their values. */
export interface KerasVariableInfo {
  readonly name: string;
  readonly shape: readonly number[];
}

/** One file layout's reading of its layers' variables, by layer path: their shapes, and their values when read. */
export interface LayerVariables {
  readonly info: Map<string, KerasVariableInfo[]>;
  readonly values: Map<string, KerasVariable[]>;
}

export interface OptimizerState {
  /** Per slot variable: its name when the file records one, and its shape. */
  readonly slots: readonly { readonly name: string; readonly shape: readonly number[] }[];
}

export interface KerasModel {
  readonly file: string;
  readonly format: KerasFormat;
  readonly kerasVersion?: string;
  readonly backend?: string;
  /** `Sequential`, `Functional`, `Model`. */
  readonly className: string;
  readonly name: string;
  readonly layers: readonly KerasLayer[];
  /** The name of the layer whose output is the model's output (nested models resolved by `outputLeaf`). */
  readonly output?: string;
  /** [batch, height, width, channels] with nulls where unknown; undefined when the file has none. */
  readonly inputShape?: readonly (number | null)[];
  readonly training?: KerasTraining;
  /** Layer path -> variable names and shapes, whenever the file holds weights. */
  readonly variables?: ReadonlyMap<string, readonly KerasVariableInfo[]>;
  /** The values, only when the reader was asked for them (`withWeights`). */
  readonly weights?: KerasWeights;
  /** Where the weights came from (the model file itself, or a `--weights` file for JSON). */
  readonly weightsFile?: string;
  readonly optimizerState?: OptimizerState;
}

/** Classes that hold other layers. */
export const MODEL_CLASSES: readonly string[] = ['Sequential', 'Functional', 'Model'];

/**
 * Every layer class the doctor and the converter understand, by what they do. Anything else is
 * named by `unknownLayers` rather than guessed at.
 */
export const LAYER_ROLES = {
  input: ['InputLayer'],
  conv: ['Conv2D', 'Convolution2D', 'SeparableConv2D', 'DepthwiseConv2D'],
  pool: ['MaxPooling2D', 'MaxPool2D', 'AveragePooling2D', 'AvgPool2D'],
  flatten: ['Flatten'],
  globalPool: [
    'GlobalAveragePooling2D',
    'GlobalAvgPool2D',
    'GlobalMaxPooling2D',
    'GlobalMaxPool2D',
  ],
  dense: ['Dense'],
  activation: ['Activation', 'Softmax', 'ReLU', 'LeakyReLU', 'ELU', 'PReLU'],
  regularisation: [
    'Dropout',
    'SpatialDropout2D',
    'GaussianNoise',
    'GaussianDropout',
    'AlphaDropout',
    'ActivityRegularization',
  ],
  normalisation: ['BatchNormalization', 'LayerNormalization'],
  /** Active only in training: identity at inference. */
  augmentation: [
    'RandomFlip',
    'RandomRotation',
    'RandomZoom',
    'RandomContrast',
    'RandomBrightness',
    'RandomTranslation',
    'RandomCrop',
  ],
  preprocessing: ['Rescaling', 'Normalization', 'Resizing', 'CenterCrop'],
  /** Traced TF / Keras ops (tf.keras TFOpLambda, Keras 3 operations) and Lambda layers. */
  op: [
    'TFOpLambda',
    'SlicingOpLambda',
    'Lambda',
    'GetItem',
    'Stack',
    'Add',
    'Subtract',
    'Multiply',
    'Divide',
    'TrueDivide',
  ],
  shape: ['Reshape', 'Permute', 'ZeroPadding2D', 'Cropping2D', 'Concatenate'],
} as const satisfies Record<string, readonly string[]>;

export type LayerRole = keyof typeof LAYER_ROLES;

export function layerRole(className: string): LayerRole | 'model' | undefined {
  if (MODEL_CLASSES.includes(className)) return 'model';
  for (const [role, classes] of Object.entries(LAYER_ROLES))
    if ((classes as readonly string[]).includes(className)) return role as LayerRole;
  return undefined;
}

/** Every layer of the model with nested models expanded, in config order (the models themselves excluded). */
export function leafLayers(layers: readonly KerasLayer[]): KerasLayer[] {
  return layers.flatMap((layer) =>
    layer.layers === undefined ? [layer] : leafLayers(layer.layers),
  );
}

/** `vgg16/block1_conv1`: the key of a layer's weights. */
export function layerPath(layer: KerasLayer): string {
  return [...layer.parents, layer.name].join('/');
}

/** The leaf layer producing the model's output, looking through nested models. */
export function outputLeaf(
  layers: readonly KerasLayer[],
  output: string | undefined,
): KerasLayer | undefined {
  const named = output === undefined ? undefined : layers.find((layer) => layer.name === output);
  const last = named ?? layers.at(-1);
  if (last?.layers === undefined) return last;
  return outputLeaf(last.layers, last.output);
}

export interface UnknownLayer {
  readonly layer: string;
  readonly className: string;
}

export function unknownLayers(model: KerasModel): UnknownLayer[] {
  return leafLayers(model.layers)
    .filter((layer) => layerRole(layer.className) === undefined)
    .map((layer) => ({ layer: layerPath(layer), className: layer.className }));
}

/** Keras' major version (2 or 3), from the file; undefined when the file does not say. */
export function kerasMajor(model: KerasModel): number | undefined {
  const major = Number.parseInt(model.kerasVersion ?? '', 10);
  return Number.isFinite(major) ? major : undefined;
}
