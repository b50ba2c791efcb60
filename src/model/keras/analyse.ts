/**
 * What a KerasModel is, in the terms the doctor and the converter need: its output (units,
 * activation), its VGG base if it has one (keras.applications names: `blockN_convM`,
 * `blockN_pool`, `fc1`, `fc2`, `predictions`), the head on top of it, and the preprocessing the
 * model applies to its own input, folded into one per-channel affine map of the raw RGB pixels.
 * Computed once here so the checks and the converter can never read the same model differently.
 */
import { ARCHITECTURES, type ArchName } from '../architectures.js';
import {
  layerPath,
  layerRole,
  leafLayers,
  outputLeaf,
  type KerasLayer,
  type KerasModel,
} from './model.js';

export interface OutputInfo {
  readonly layer: string;
  /** Units of the last Dense (or filters of a conv output); undefined when unknown. */
  readonly units?: number;
  /** `softmax`, `sigmoid`, `linear`, `relu`, … ; undefined when the output is not understood. */
  readonly activation?: string;
}

export interface HeadLayer {
  readonly name: string;
  /** Where its weights are keyed (`layerPath`). */
  readonly path: string;
  readonly kind: 'flatten' | 'avg' | 'max' | 'dense' | 'dropout' | 'other';
  readonly className: string;
  /** The layer's config as written (BatchNormalization's epsilon, ReLU's slope, …). */
  readonly config: Readonly<Record<string, unknown>>;
  readonly units?: number;
  readonly activation?: string;
  readonly rate?: number;
  readonly trainable: boolean;
}

export interface VggBase {
  /** The table row whose widths match, or undefined for a custom-width VGG-family base. */
  readonly arch?: ArchName;
  /** The closest row by depth (conv layers per block): what vggkit builds it as. */
  readonly family: ArchName;
  readonly widths: readonly (readonly number[])[];
  /** Blocks (1-5) with at least one trainable conv layer. */
  readonly trainableBlocks: readonly number[];
  /** include_top=True layers still in the model (`fc1`, `fc2`, `predictions`). */
  readonly top: readonly string[];
  /** Global pooling inside the base (`pooling='avg'`): the layer's kind. */
  readonly pooling?: 'avg' | 'max';
  /** The layers after the base (and after fc1/fc2 when kept), dropouts included. */
  readonly head: readonly HeadLayer[];
  /** The nested model holding the base (`vgg16`), when it is one. */
  readonly nestedIn?: string;
}

/** y[c] = scale[c] * x[source[c]] + offset[c], x the raw 0..255 RGB pixel. */
export interface AffineMap {
  readonly source: readonly [number, number, number];
  readonly scale: readonly [number, number, number];
  readonly offset: readonly [number, number, number];
}

export interface InModelPreprocessing {
  /** The layers before the first conv that change pixel values, in order. */
  readonly layers: readonly string[];
  /** Undefined when a layer's effect is not understood (a Lambda, an unknown op). */
  readonly map?: AffineMap;
  /** The layer that could not be understood. */
  readonly opaque?: string;
}

export interface KerasAnalysis {
  readonly output?: OutputInfo;
  readonly vgg?: VggBase;
  readonly preprocessing: InModelPreprocessing;
}

const CONV = /^block(\d)_conv(\d)$/;

export function activationOf(layer: Pick<KerasLayer, 'config' | 'className'>): string | undefined {
  const value = layer.config['activation'];
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null) {
    const name = (value as Record<string, unknown>)['class_name'];
    const config = (value as Record<string, unknown>)['config'];
    if (name === 'function' && typeof config === 'string') return config;
    if (typeof name === 'string') return name.toLowerCase();
  }
  if (layer.className === 'Softmax') return 'softmax';
  if (layer.className === 'TFOpLambda') {
    const fn = String(layer.config['function'] ?? '');
    if (fn.endsWith('softmax')) return 'softmax';
    if (fn.endsWith('sigmoid')) return 'sigmoid';
  }
  return value === undefined ? undefined : String(value);
}

function numberOf(value: unknown): number | undefined {
  return typeof value === 'number' ? value : undefined;
}

export function outputInfo(model: KerasModel): OutputInfo | undefined {
  const leaves = leafLayers(model.layers);
  const last = outputLeaf(model.layers, model.output);
  if (last === undefined) return undefined;
  let activation = activationOf(last);
  let index = leaves.indexOf(last);
  // An Activation/Softmax/Dropout after the Dense: the units are the Dense's.
  let units = numberOf(last.config['units']) ?? numberOf(last.config['filters']);
  while (units === undefined && index > 0) {
    const role = layerRole(leaves[index]?.className ?? '');
    if (role !== 'activation' && role !== 'regularisation' && role !== 'op') break;
    index--;
    const before = leaves[index] as KerasLayer;
    units = numberOf(before.config['units']);
    if (units !== undefined && (activation === undefined || activation === 'linear'))
      activation = activationOf(before) ?? activation;
  }
  return {
    layer: last.name,
    ...(units === undefined ? {} : { units }),
    ...(activation === undefined ? {} : { activation }),
  };
}

function headLayer(layer: KerasLayer): HeadLayer {
  const role = layerRole(layer.className);
  const base = {
    name: layer.name,
    path: layerPath(layer),
    className: layer.className,
    config: layer.config,
    trainable: layer.trainable,
  };
  if (role === 'flatten') return { ...base, kind: 'flatten' };
  if (role === 'globalPool')
    return { ...base, kind: layer.className.includes('Max') ? 'max' : 'avg' };
  if (role === 'dense') {
    const units = numberOf(layer.config['units']);
    const activation = activationOf(layer);
    return {
      ...base,
      kind: 'dense',
      ...(units === undefined ? {} : { units }),
      ...(activation === undefined ? {} : { activation }),
    };
  }
  if (role === 'regularisation') {
    const rate = numberOf(layer.config['rate']);
    return { ...base, kind: 'dropout', ...(rate === undefined ? {} : { rate }) };
  }
  return { ...base, kind: 'other' };
}

function familyFor(depths: readonly number[]): ArchName {
  let best: ArchName = 'vgg16';
  let distance = Infinity;
  for (const [name, row] of Object.entries(ARCHITECTURES)) {
    const d = row.reduce((sum, block, i) => sum + Math.abs(block.length - (depths[i] ?? 0)), 0);
    if (d < distance) {
      distance = d;
      best = name as ArchName;
    }
  }
  return best;
}

export function vggBase(model: KerasModel): VggBase | undefined {
  const leaves = leafLayers(model.layers);
  const convs = leaves.filter((l) => CONV.test(l.name) && layerRole(l.className) === 'conv');
  if (convs.length < 5) return undefined;
  const widths: number[][] = [];
  const trainable = new Set<number>();
  for (const layer of convs) {
    const [, block] = CONV.exec(layer.name) as RegExpExecArray;
    const b = Number(block);
    (widths[b - 1] ??= []).push(numberOf(layer.config['filters']) ?? 0);
    if (layer.trainable) trainable.add(b);
  }
  if (widths.length !== 5 || widths.some((w) => w === undefined)) return undefined;
  const arch = (Object.keys(ARCHITECTURES) as ArchName[]).find((name) => {
    const row = ARCHITECTURES[name];
    return row.every(
      (block, i) =>
        block.length === widths[i]?.length && block.every((w, j) => w === widths[i]?.[j]),
    );
  });
  const pool = leaves.findIndex((l) => l.name === 'block5_pool');
  const lastConv = leaves.indexOf(convs.at(-1) as KerasLayer);
  let rest = leaves.slice((pool >= 0 ? pool : lastConv) + 1);
  const top = rest.filter((l) => ['fc1', 'fc2', 'predictions'].includes(l.name)).map((l) => l.name);
  let pooling: 'avg' | 'max' | undefined;
  const container = convs[0]?.parents.at(-1);
  // keras.applications' own layers after the convs: flatten + top, or pooling='avg'|'max'.
  const inBase = (l: KerasLayer): boolean =>
    container !== undefined && l.parents.at(-1) === container;
  if (container !== undefined) {
    const pooled = rest.find((l) => inBase(l) && layerRole(l.className) === 'globalPool');
    if (pooled !== undefined) pooling = pooled.className.includes('Max') ? 'max' : 'avg';
  }
  const afterTop =
    top.length === 0 ? rest : rest.slice(rest.findIndex((l) => l.name === top.at(-1)) + 1);
  rest = afterTop.filter((l) => layerRole(l.className) !== 'input');
  return {
    ...(arch === undefined ? {} : { arch }),
    family: arch ?? familyFor(widths.map((w) => w.length)),
    widths,
    trainableBlocks: [...trainable].sort(),
    top,
    ...(pooling === undefined ? {} : { pooling }),
    head: rest.map(headLayer),
    ...(container === undefined ? {} : { nestedIn: container }),
  };
}

type Triple = [number, number, number];

function triple(value: unknown, fallback: number): Triple | undefined {
  if (typeof value === 'number') return [value, value, value];
  const flat = Array.isArray(value) ? (value.flat(8) as unknown[]) : [];
  if (flat.length === 3 && flat.every((v) => typeof v === 'number')) return flat as Triple;
  if (flat.length === 1 && typeof flat[0] === 'number') return [flat[0], flat[0], flat[0]];
  return value === undefined ? [fallback, fallback, fallback] : undefined;
}

/** The first call constant of a traced op (tf.keras kwargs `y`/`bias`, Keras 3 positional args). */
function constant(layer: KerasLayer, keys: readonly string[]): unknown {
  for (const arg of layer.callArgs) {
    if (typeof arg !== 'object' || arg === null) continue;
    const record = arg as Record<string, unknown>;
    for (const key of keys) if (key in record) return record[key];
    const positional = record['args'];
    if (Array.isArray(positional) && positional.length > 0) {
      const first = positional[0] as unknown;
      if (
        typeof first === 'object' &&
        first !== null &&
        (first as Record<string, unknown>)['class_name'] === '__tensor__'
      )
        return ((first as Record<string, unknown>)['config'] as Record<string, unknown>)['value'];
      return first;
    }
  }
  return undefined;
}

/** `x[..., c]` in Keras 3: the GetItem's key `[{__ellipsis__}, c]`, c in 0..2. */
function pickedChannel(layer: KerasLayer): number | undefined {
  for (const arg of layer.callArgs) {
    const positional = (arg as Record<string, unknown>)['args'];
    const key = Array.isArray(positional) ? (positional[0] as unknown) : undefined;
    const last = Array.isArray(key) ? (key.at(-1) as unknown) : key;
    if (typeof last === 'number' && last >= -3 && last <= 2) return (last + 3) % 3;
  }
  return undefined;
}

/** A slice with step -1 on the last axis (`x[..., ::-1]`): RGB<->BGR. */
function reversesChannels(layer: KerasLayer): boolean {
  return JSON.stringify(layer.callArgs).includes('"step":-1');
}

/**
 * Folds the layers before the first conv into one affine map: Rescaling (`x * scale + offset`),
 * Normalization (`(x - mean) / sqrt(variance)`), and the ops `preprocess_input` traces
 * (tf.keras: getitem `[..., ::-1]`, `nn.bias_add`, `math.truediv`/`subtract`/`multiply`/`add`;
 * Keras 3: three GetItem + Stack for the flip, Add/Subtract/Divide/Multiply with a tensor).
 */
export function inModelPreprocessing(model: KerasModel): InModelPreprocessing {
  const leaves = leafLayers(model.layers);
  const first = leaves.findIndex(
    (l) =>
      layerRole(l.className) === 'conv' ||
      layerRole(l.className) === 'dense' ||
      layerRole(l.className) === 'flatten',
  );
  const before = leaves.slice(0, first < 0 ? 0 : first);
  let source: Triple = [0, 1, 2];
  let scale: Triple = [1, 1, 1];
  let offset: Triple = [0, 0, 0];
  const used: string[] = [];
  let pendingPicks: number[] = [];
  const affine = (s: Triple, o: Triple): void => {
    scale = [scale[0] * s[0], scale[1] * s[1], scale[2] * s[2]];
    offset = [offset[0] * s[0] + o[0], offset[1] * s[1] + o[1], offset[2] * s[2] + o[2]];
  };
  const permute = (order: Triple): void => {
    source = [source[order[0]], source[order[1]], source[order[2]]];
    scale = [scale[order[0]], scale[order[1]], scale[order[2]]];
    offset = [offset[order[0]], offset[order[1]], offset[order[2]]];
  };
  for (const layer of before) {
    const role = layerRole(layer.className);
    if (
      role === 'input' ||
      role === 'augmentation' ||
      layer.className === 'Resizing' ||
      layer.className === 'CenterCrop'
    )
      continue;
    if (role !== 'preprocessing' && role !== 'op' && role !== 'normalisation' && role !== 'shape')
      return { layers: used, opaque: layer.name };
    used.push(layer.name);
    const fn = String(layer.config['function'] ?? layer.className);
    if (layer.className === 'Rescaling') {
      const s = triple(layer.config['scale'], 1);
      const o = triple(layer.config['offset'], 0);
      if (s === undefined || o === undefined) return { layers: used, opaque: layer.name };
      affine(s, o);
    } else if (layer.className === 'Normalization') {
      const mean = triple(layer.config['mean'], NaN);
      const variance = triple(layer.config['variance'], NaN);
      const weights = model.weights?.get([...layer.parents, layer.name].join('/'));
      const m = mean?.every(Number.isFinite)
        ? mean
        : (triple(Array.from(weights?.[0]?.tensor.data ?? []), NaN) ?? undefined);
      const v = variance?.every(Number.isFinite)
        ? variance
        : (triple(Array.from(weights?.[1]?.tensor.data ?? []), NaN) ?? undefined);
      if (
        m === undefined ||
        v === undefined ||
        !m.every(Number.isFinite) ||
        !v.every(Number.isFinite)
      )
        return { layers: used, opaque: layer.name };
      const sd = v.map((x) => Math.max(Math.sqrt(x), 1e-7)) as Triple;
      affine([1 / sd[0], 1 / sd[1], 1 / sd[2]], [-m[0] / sd[0], -m[1] / sd[1], -m[2] / sd[2]]);
    } else if (fn.endsWith('getitem') || layer.className === 'SlicingOpLambda') {
      if (!reversesChannels(layer)) return { layers: used, opaque: layer.name };
      permute([2, 1, 0]);
    } else if (layer.className === 'GetItem') {
      const channel = pickedChannel(layer);
      if (channel === undefined) return { layers: used, opaque: layer.name };
      pendingPicks.push(channel);
    } else if (layer.className === 'Stack') {
      if (pendingPicks.length !== 3) return { layers: used, opaque: layer.name };
      permute(pendingPicks as Triple);
      pendingPicks = [];
    } else if (
      fn.endsWith('bias_add') ||
      fn.endsWith('math.add') ||
      layer.className === 'Add' ||
      fn === 'add'
    ) {
      const c = triple(constant(layer, ['bias', 'y']), NaN);
      if (c === undefined || !c.every(Number.isFinite)) return { layers: used, opaque: layer.name };
      affine([1, 1, 1], c);
    } else if (fn.endsWith('subtract') || layer.className === 'Subtract') {
      const c = triple(constant(layer, ['y']), NaN);
      if (c === undefined || !c.every(Number.isFinite)) return { layers: used, opaque: layer.name };
      affine([1, 1, 1], [-c[0], -c[1], -c[2]]);
    } else if (
      fn.endsWith('truediv') ||
      fn.endsWith('divide') ||
      layer.className === 'Divide' ||
      layer.className === 'TrueDivide'
    ) {
      const c = triple(constant(layer, ['y']), NaN);
      if (c === undefined || !c.every(Number.isFinite)) return { layers: used, opaque: layer.name };
      affine([1 / c[0], 1 / c[1], 1 / c[2]], [0, 0, 0]);
    } else if (fn.endsWith('multiply') || layer.className === 'Multiply') {
      const c = triple(constant(layer, ['y']), NaN);
      if (c === undefined || !c.every(Number.isFinite)) return { layers: used, opaque: layer.name };
      affine(c, [0, 0, 0]);
    } else {
      return { layers: used, opaque: layer.name };
    }
  }
  return { layers: used, map: { source, scale, offset } };
}

export function analyse(model: KerasModel): KerasAnalysis {
  const output = outputInfo(model);
  const vgg = vggBase(model);
  return {
    ...(output === undefined ? {} : { output }),
    ...(vgg === undefined ? {} : { vgg }),
    preprocessing: inModelPreprocessing(model),
  };
}
