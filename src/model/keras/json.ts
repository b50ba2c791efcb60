/**
 * Architecture-only JSON files:
 * - `model.to_json()`: `{class_name, config, keras_version, backend}` (keras/src/models/model.py
 *   `to_json`; tf.keras `Model.to_json` adds `keras_version` and `backend` beside the config);
 * - TF.js layers `model.json` (tfjs-converter `keras_h5_conversion.py` / `write_artifacts`):
 *   `{format: "layers-model", generatedBy, convertedBy, modelTopology, weightsManifest}` where
 *   `modelTopology` is `{keras_version, backend, model_config, training_config}` (or, from older
 *   converters, the model config itself) and `weightsManifest` lists shard files and, per weight,
 *   `{name: "block1_conv1/kernel", shape, dtype, quantization?}` in shard order. The shards are
 *   read when they sit beside model.json; uint8/uint16 quantized weights decode as
 *   `min + scale * q`, float16 ones as IEEE half precision (tfjs-converter `quantization.py`).
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { VggkitError } from '../../util/errors.js';
import { tensor } from '../../util/tensor.js';
import { parseJson, parseModelConfig } from './config.js';
import type { ReadOptions } from './h5.js';
import {
  layerPath,
  leafLayers,
  type KerasLayer,
  type KerasModel,
  type KerasVariable,
  type KerasVariableInfo,
} from './model.js';
import { parseTrainingConfig } from './training.js';

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The leaf layer a `layer/variable` weight name belongs to (the innermost named component). */
export function ownerByName(layers: readonly KerasLayer[], raw: string): KerasLayer | undefined {
  const parts = raw.replace(/:\d+$/, '').split('/');
  const leaves = leafLayers(layers);
  for (let i = parts.length - 2; i >= 0; i--) {
    const found = leaves.find((layer) => layer.name === parts[i]);
    if (found !== undefined) return found;
  }
  return undefined;
}

interface ManifestWeight {
  readonly name: string;
  readonly shape: number[];
  readonly dtype: string;
  readonly quantization?: { dtype: string; min?: number; scale?: number };
}

interface ManifestGroup {
  readonly paths: string[];
  readonly weights: ManifestWeight[];
}

function manifest(value: unknown, file: string): ManifestGroup[] {
  if (!Array.isArray(value)) return [];
  return value.map((group) => {
    if (!isObject(group) || !Array.isArray(group['paths']) || !Array.isArray(group['weights']))
      throw new VggkitError(
        'KERAS_FORMAT',
        `${file}: weightsManifest: expected groups of {paths, weights}, received ${JSON.stringify(group).slice(0, 120)}`,
        { file },
      );
    return group as unknown as ManifestGroup;
  });
}

const BYTES: Readonly<Record<string, number>> = {
  float32: 4,
  int32: 4,
  uint8: 1,
  uint16: 2,
  float16: 2,
};

/** IEEE 754 half precision (tfjs-converter --quantize_float16 stores weights so). */
function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction === 0 ? sign * Infinity : Number.NaN;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

function decodeWeight(
  weight: ManifestWeight,
  bytes: Buffer,
  offset: number,
  file: string,
): Float32Array {
  const count = weight.shape.reduce((a, b) => a * b, 1);
  const q = weight.quantization;
  const stored = q?.dtype ?? weight.dtype;
  if (stored === 'float32') {
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = bytes.readFloatLE(offset + 4 * i);
    return out;
  }
  if (stored === 'float16') {
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = halfToFloat(bytes.readUInt16LE(offset + 2 * i));
    return out;
  }
  if (
    (stored === 'uint8' || stored === 'uint16') &&
    q?.min !== undefined &&
    q.scale !== undefined
  ) {
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) {
      const v = stored === 'uint8' ? (bytes[offset + i] ?? 0) : bytes.readUInt16LE(offset + 2 * i);
      out[i] = q.min + q.scale * v;
    }
    return out;
  }
  throw new VggkitError(
    'KERAS_FORMAT',
    `${file}: weight ${weight.name}: expected float32, float16, or uint8/uint16 quantization with min and scale, received ${stored}`,
    { file },
  );
}

async function readShards(
  groups: readonly ManifestGroup[],
  layers: readonly KerasLayer[],
  file: string,
): Promise<Map<string, KerasVariable[]> | undefined> {
  const values = new Map<string, KerasVariable[]>();
  for (const group of groups) {
    const parts: Buffer[] = [];
    for (const path of group.paths) {
      const shard = await readFile(join(dirname(file), path)).catch(() => undefined);
      if (shard === undefined) return undefined;
      parts.push(shard);
    }
    const bytes = Buffer.concat(parts);
    let offset = 0;
    for (const weight of group.weights) {
      const count = weight.shape.reduce((a, b) => a * b, 1);
      const width = BYTES[weight.quantization?.dtype ?? weight.dtype] ?? 4;
      if (offset + count * width > bytes.length) {
        throw new VggkitError(
          'KERAS_FORMAT',
          `${file}: the weight shards end before ${weight.name} (${bytes.length} bytes, needed ${offset + count * width})`,
          { file },
        );
      }
      const owner = ownerByName(layers, weight.name);
      const key = owner === undefined ? weight.name.replace(/\/[^/]*$/, '') : layerPath(owner);
      const name = weight.name.split('/').at(-1) ?? weight.name;
      values.set(key, [
        ...(values.get(key) ?? []),
        { name, tensor: tensor(weight.shape, decodeWeight(weight, bytes, offset, file)) },
      ]);
      offset += count * width;
    }
  }
  return values;
}

export async function readKerasJson(file: string, options: ReadOptions = {}): Promise<KerasModel> {
  const text = await readFile(file, 'utf8').catch((cause: unknown) => {
    throw new VggkitError('NOT_FOUND', `${file}: cannot read (${(cause as Error).message})`, {
      file,
      cause,
    });
  });
  const json = parseJson(text, file, 'model JSON');
  if (!isObject(json)) {
    throw new VggkitError(
      'KERAS_FORMAT',
      `${file}: expected a Keras model JSON (model.to_json() or a TF.js model.json), received ${Array.isArray(json) ? 'a list' : typeof json}`,
      { file },
    );
  }
  const tfjs = isObject(json['modelTopology']);
  if (!tfjs) {
    const parsed = parseModelConfig(json, file);
    return {
      file,
      format: 'keras-json',
      ...(typeof json['keras_version'] === 'string' ? { kerasVersion: json['keras_version'] } : {}),
      ...(typeof json['backend'] === 'string' ? { backend: json['backend'] } : {}),
      className: parsed.className,
      name: parsed.name,
      layers: parsed.layers,
      ...(parsed.output === undefined ? {} : { output: parsed.output }),
      ...(parsed.inputShape === undefined ? {} : { inputShape: parsed.inputShape }),
    };
  }
  const topology = json['modelTopology'] as Json;
  const modelConfig = isObject(topology['model_config']) ? topology['model_config'] : topology;
  const parsed = parseModelConfig(modelConfig, file);
  const training = parseTrainingConfig(topology['training_config']);
  const groups = manifest(json['weightsManifest'], file);
  const variables = new Map<string, KerasVariableInfo[]>();
  for (const weight of groups.flatMap((group) => group.weights)) {
    const owner = ownerByName(parsed.layers, weight.name);
    const key = owner === undefined ? weight.name.replace(/\/[^/]*$/, '') : layerPath(owner);
    const name = weight.name.split('/').at(-1) ?? weight.name;
    variables.set(key, [...(variables.get(key) ?? []), { name, shape: weight.shape }]);
  }
  const weights =
    options.withWeights === true && groups.length > 0
      ? await readShards(groups, parsed.layers, file)
      : undefined;
  const kerasVersion =
    typeof topology['keras_version'] === 'string'
      ? topology['keras_version']
      : typeof json['generatedBy'] === 'string'
        ? json['generatedBy'].replace(/^keras v/, '')
        : undefined;
  return {
    file,
    format: 'tfjs-layers',
    ...(kerasVersion === undefined ? {} : { kerasVersion }),
    ...(typeof topology['backend'] === 'string' ? { backend: topology['backend'] } : {}),
    className: parsed.className,
    name: parsed.name,
    layers: parsed.layers,
    ...(parsed.output === undefined ? {} : { output: parsed.output }),
    ...(parsed.inputShape === undefined ? {} : { inputShape: parsed.inputShape }),
    ...(training === undefined ? {} : { training }),
    ...(variables.size === 0 ? {} : { variables }),
    ...(weights === undefined ? {} : { weights, weightsFile: file }),
  };
}
