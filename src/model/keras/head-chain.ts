/**
 * A Keras head as the Dense layers vggkit runs: BatchNormalization folded into them, Activation
 * layers given to the Dense before them, Dropout (and the other regularisers) dropped, since all
 * of them are fixed functions at inference.
 *
 * BatchNormalization at inference (keras/src/layers/normalization/batch_normalization.py
 * `call(training=False)`) is per feature `y = s * x + t` with
 * `s = gamma / sqrt(moving_variance + epsilon)` and `t = beta - moving_mean * s` (no gamma when
 * `scale=False`: 1; no beta when `center=False`: 0). On a Dense's output before its activation
 * (Dense → BN → ReLU) it folds into that Dense: `W[:, j] *= s[j]`, `b = b * s + t`. Anywhere else
 * (right after Flatten, or after an activated Dense) it is the next Dense's input affine:
 * `W[i, :] *= s[i]`, `b += t @ W`. Either way the graph keeps vggkit's plain Dense chain, and the
 * arithmetic is float64 rounded once.
 */
import { VggkitError } from '../../util/errors.js';
import { tensor, type Float32Tensor } from '../../util/tensor.js';
import { activationOf, type HeadLayer } from './analyse.js';
import type { KerasModel, KerasVariable } from './model.js';

export interface ChainDense {
  /** The Keras Dense this is (its weights may hold folded BatchNormalization). */
  readonly layer: HeadLayer;
  readonly units: number;
  /** After any Activation layer that follows it: relu, softmax, sigmoid, linear, …. */
  readonly activation: string;
  /** [in, out], Keras layout. */
  readonly kernel: Float32Tensor;
  readonly bias: Float32Tensor;
}

interface Affine {
  readonly scale: Float64Array;
  readonly shift: Float64Array;
}

interface Building {
  readonly layer: HeadLayer;
  readonly kernel: Float64Array;
  readonly bias: Float64Array;
  readonly inputs: number;
  readonly units: number;
  activation: string;
}

function variables(model: KerasModel, path: string): readonly KerasVariable[] {
  return model.weights?.get(path) ?? [];
}

function missing(model: KerasModel, path: string, what: string): VggkitError {
  const file = model.weightsFile ?? model.file;
  const found = variables(model, path);
  return new VggkitError(
    'WEIGHTS_MISSING_LAYER',
    `${file}: expected ${what} for layer ${path}, found ${found.length === 0 ? 'no weights' : found.map((v) => `${v.name} [${v.tensor.dims.join(', ')}]`).join(', ')}`,
    { file },
  );
}

function denseWeights(model: KerasModel, layer: HeadLayer): Building {
  const vars = variables(model, layer.path);
  const kernel = vars.find((v) => v.name === 'kernel') ?? vars[0];
  const bias = vars.find((v) => v.name === 'bias') ?? vars[1];
  const [inputs, units] = kernel?.tensor.dims ?? [];
  if (
    kernel === undefined ||
    bias === undefined ||
    inputs === undefined ||
    units === undefined ||
    bias.tensor.data.length !== units
  )
    throw missing(model, layer.path, 'a kernel [in, units] and a bias [units]');
  return {
    layer,
    kernel: Float64Array.from(kernel.tensor.data),
    bias: Float64Array.from(bias.tensor.data),
    inputs,
    units,
    activation: layer.activation ?? 'linear',
  };
}

/** The layer's inference affine, from its config (epsilon, center, scale) and variables. */
function batchNorm(model: KerasModel, layer: HeadLayer, fail: (why: string) => Error): Affine {
  const config = layer.config;
  const axis = config['axis'];
  const axes = Array.isArray(axis) ? axis : [axis ?? -1];
  // On [batch, features] the feature axis is -1 (Keras 3, tf.keras before build) or 1 (after).
  if (axes.length !== 1 || (axes[0] !== -1 && axes[0] !== 1))
    throw fail(
      `layer ${layer.path} (BatchNormalization) normalises axis ${JSON.stringify(axis)}; in a head vggkit folds only the feature axis (-1)`,
    );
  const epsilon = typeof config['epsilon'] === 'number' ? config['epsilon'] : 1e-3;
  const scaled = config['scale'] !== false;
  const centered = config['center'] !== false;
  // Keras' order when the file names none (saving_lib's vars/0, vars/1, …).
  const roles = [
    ...(scaled ? ['gamma'] : []),
    ...(centered ? ['beta'] : []),
    'moving_mean',
    'moving_variance',
  ];
  const vars = variables(model, layer.path);
  const named = vars.every((v) => roles.includes(v.name));
  const get = (role: string): Float32Array | undefined =>
    (named ? vars.find((v) => v.name === role) : vars[roles.indexOf(role)])?.tensor.data;
  const mean = get('moving_mean');
  const variance = get('moving_variance');
  const gamma = scaled ? get('gamma') : undefined;
  const beta = centered ? get('beta') : undefined;
  const n = mean?.length ?? 0;
  if (
    vars.length !== roles.length ||
    mean === undefined ||
    variance?.length !== n ||
    (scaled && gamma?.length !== n) ||
    (centered && beta?.length !== n)
  )
    throw missing(model, layer.path, `BatchNormalization variables ${roles.join(', ')}`);
  const scale = new Float64Array(n);
  const shift = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    scale[j] = (gamma?.[j] ?? 1) / Math.sqrt((variance[j] as number) + epsilon);
    shift[j] = (beta?.[j] ?? 0) - (mean[j] as number) * (scale[j] as number);
  }
  return { scale, shift };
}

function foldIntoOutput(dense: Building, bn: Affine): void {
  for (let j = 0; j < dense.units; j++) {
    const s = bn.scale[j] as number;
    for (let i = 0; i < dense.inputs; i++) dense.kernel[i * dense.units + j] *= s;
    dense.bias[j] = (dense.bias[j] as number) * s + (bn.shift[j] as number);
  }
}

function foldIntoInput(dense: Building, bn: Affine): void {
  for (let i = 0; i < dense.inputs; i++) {
    const s = bn.scale[i] as number;
    const t = bn.shift[i] as number;
    for (let j = 0; j < dense.units; j++) {
      const w = dense.kernel[i * dense.units + j] as number;
      dense.bias[j] = (dense.bias[j] as number) + t * w;
      dense.kernel[i * dense.units + j] = w * s;
    }
  }
}

function compose(first: Affine, then: Affine): Affine {
  return {
    scale: first.scale.map((s, i) => s * (then.scale[i] as number)),
    shift: first.shift.map((t, i) => t * (then.scale[i] as number) + (then.shift[i] as number)),
  };
}

/** The activation an Activation-like layer applies, or undefined when it is none vggkit folds. */
function standaloneActivation(layer: HeadLayer): string | undefined {
  const config = layer.config;
  if (layer.className === 'Activation') return activationOf(layer);
  if (layer.className === 'Softmax') return 'softmax';
  if (layer.className === 'ReLU') {
    const plain =
      (config['max_value'] ?? null) === null &&
      (config['negative_slope'] ?? 0) === 0 &&
      (config['threshold'] ?? 0) === 0;
    return plain ? 'relu' : undefined;
  }
  return undefined;
}

/**
 * The Dense layers of `head` (analyse.ts `vggBase(...).head`) with everything between them
 * folded in; `fail` names what cannot be folded.
 */
export function headChain(
  model: KerasModel,
  head: readonly HeadLayer[],
  fail: (why: string) => Error,
): ChainDense[] {
  const chain: Building[] = [];
  let pending: Affine | undefined;
  let pooled = false;
  for (const layer of head) {
    const current = chain.at(-1);
    if (layer.kind === 'flatten' || layer.kind === 'avg' || layer.kind === 'max') {
      pooled = true;
      continue;
    }
    if (layer.kind === 'dropout') continue;
    if (layer.kind === 'dense') {
      const dense = denseWeights(model, layer);
      if (pending !== undefined) {
        if (pending.scale.length !== dense.inputs)
          throw fail(
            `the BatchNormalization before ${layer.path} has ${pending.scale.length} features, the Dense takes ${dense.inputs}`,
          );
        foldIntoInput(dense, pending);
        pending = undefined;
      }
      chain.push(dense);
      continue;
    }
    if (layer.className === 'BatchNormalization') {
      if (!pooled)
        throw fail(
          `layer ${layer.path} (BatchNormalization) sits before Flatten/pooling; vggkit folds BatchNormalization only on the head's feature vectors`,
        );
      const bn = batchNorm(model, layer, fail);
      if (pending === undefined && current !== undefined && current.activation === 'linear') {
        if (bn.scale.length !== current.units)
          throw fail(
            `layer ${layer.path} (BatchNormalization) has ${bn.scale.length} features after ${current.layer.path} with ${current.units} units`,
          );
        foldIntoOutput(current, bn);
      } else pending = pending === undefined ? bn : compose(pending, bn);
      continue;
    }
    const activation = standaloneActivation(layer);
    if (
      activation !== undefined &&
      current !== undefined &&
      current.activation === 'linear' &&
      pending === undefined
    ) {
      current.activation = activation;
      continue;
    }
    throw fail(
      activation === undefined
        ? `head layer ${layer.path} (${layer.className}) is none of Flatten, pooling, Dense, BatchNormalization, Activation, ReLU, Softmax or Dropout`
        : `head layer ${layer.path} (${layer.className}) applies ${activation} where vggkit expects none (it follows ${current === undefined ? 'no Dense' : pending === undefined ? `${current.layer.path}, already ${current.activation}` : 'a BatchNormalization of an activated Dense'})`,
    );
  }
  if (pending !== undefined)
    throw fail(
      'a BatchNormalization after the output layer is applied to its probabilities; vggkit cannot run that',
    );
  return chain.map((d) => ({
    layer: d.layer,
    units: d.units,
    activation: d.activation,
    kernel: tensor([d.inputs, d.units], Float32Array.from(d.kernel)),
    bias: tensor([d.units], Float32Array.from(d.bias)),
  }));
}
