/**
 * A model folder is what vggkit's trainer writes and what predict and serve read: `model.onnx`
 * whose ONNX metadata carries everything needed to feed it correctly — the preprocessing contract
 * it was trained with, the class names in output order, the input size and the architecture. The
 * graph takes `input` [batch, 3, H, W] (preprocessed, NCHW) and returns `output`.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { readOnnxMetadata } from '../graph/onnx-metadata.js';
import {
  INTERPOLATIONS,
  makeContract,
  PREPROCESS_MODES,
  type PreprocessContract,
  RESIZE_MODES,
} from '../image/contract.js';
import { writeFileAtomic } from '../util/atomic.js';
import { unreadableInput, type VggkitError } from '../util/errors.js';
import { ARCH_NAMES, type ArchName } from './architectures.js';
import { HEAD_KINDS, type HeadKind, type HeadSpec } from './head.js';

export const MODEL_FILE = 'model.onnx';

export const METADATA_KEYS = {
  /** JSON PreprocessContract. */
  contract: 'vggkit.contract',
  /** JSON array of class names, index = output column. */
  classNames: 'vggkit.class_names',
  /** JSON [height, width]. */
  inputSize: 'vggkit.input_size',
  /** Architecture name, e.g. vgg16. */
  arch: 'vggkit.arch',
  /** Keras name of the layer the graph's `output` is (written by buildVggInference). */
  outputLayer: 'vggkit.output_layer',
  /** JSON HeadSpec of a fine-tuned model, so its weights.h5 can be rebuilt into any cut. */
  head: 'vggkit.head',
} as const;

export interface ModelMetadata {
  readonly contract: PreprocessContract;
  readonly classNames: readonly string[];
  readonly inputSize: readonly [number, number];
  readonly arch: ArchName;
  /** The head a fine-tune put on the base (absent in models written before it was recorded). */
  readonly head?: HeadSpec;
}

/** The metadata entries to pass to buildVggInference's `metadata`. */
export function modelMetadata(m: ModelMetadata): Record<string, string> {
  return {
    [METADATA_KEYS.contract]: JSON.stringify(m.contract),
    [METADATA_KEYS.classNames]: JSON.stringify(m.classNames),
    [METADATA_KEYS.inputSize]: JSON.stringify(m.inputSize),
    [METADATA_KEYS.arch]: m.arch,
    ...(m.head === undefined ? {} : { [METADATA_KEYS.head]: JSON.stringify(m.head) }),
  };
}

export function parseModelMetadata(
  props: Readonly<Record<string, string>>,
  file: string,
): ModelMetadata {
  const bad = (key: string, expected: string): VggkitError =>
    unreadableInput(
      'MODEL_METADATA',
      `${file}: metadata ${key}: expected ${expected}, received ${JSON.stringify(props[key] ?? null)}`,
      { file },
    );
  const json = (key: string, expected: string): unknown => {
    const text = props[key];
    if (text === undefined) throw bad(key, expected);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw bad(key, expected);
    }
  };
  const size = json(METADATA_KEYS.inputSize, '[height, width]');
  if (!Array.isArray(size) || size.length !== 2 || !size.every((d) => Number.isInteger(d) && d > 0))
    throw bad(METADATA_KEYS.inputSize, '[height, width]');
  const inputSize = [size[0] as number, size[1] as number] as const;
  const names = json(METADATA_KEYS.classNames, 'a JSON array of class names');
  if (!Array.isArray(names) || !names.every((n) => typeof n === 'string'))
    throw bad(METADATA_KEYS.classNames, 'a JSON array of class names');
  const arch = props[METADATA_KEYS.arch];
  if (!(ARCH_NAMES as readonly string[]).includes(arch ?? ''))
    throw bad(METADATA_KEYS.arch, `one of ${ARCH_NAMES.join(', ')}`);
  const raw = json(METADATA_KEYS.contract, 'a JSON preprocessing contract');
  const c = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const member = <T extends string>(value: unknown, allowed: readonly T[]): value is T =>
    typeof value === 'string' && (allowed as readonly string[]).includes(value);
  if (
    !member(c['mode'], PREPROCESS_MODES) ||
    !member(c['resize'], RESIZE_MODES) ||
    !member(c['interpolation'], INTERPOLATIONS)
  ) {
    throw bad(
      METADATA_KEYS.contract,
      'a JSON preprocessing contract with mode, resize and interpolation',
    );
  }
  // Rebuilt from the mode rather than trusted field by field, so numerics can never disagree with the mode.
  const contract = makeContract({
    mode: c['mode'],
    inputSize,
    resize: c['resize'],
    interpolation: c['interpolation'],
  });
  const head =
    props[METADATA_KEYS.head] === undefined
      ? undefined
      : parseHead(json(METADATA_KEYS.head, 'a JSON head description'));
  if (head === null)
    throw bad(METADATA_KEYS.head, 'a JSON head description {kind, dense, classes, activation}');
  return {
    contract,
    classNames: names as string[],
    inputSize,
    arch: arch as ArchName,
    ...(head === undefined ? {} : { head }),
  };
}

function parseHead(value: unknown): HeadSpec | null {
  if (typeof value !== 'object' || value === null) return null;
  const h = value as Record<string, unknown>;
  const positive = (n: unknown): n is number => Number.isInteger(n) && (n as number) > 0;
  const isKind = (k: unknown): k is HeadKind => (HEAD_KINDS as readonly unknown[]).includes(k);
  if (!isKind(h.kind) || !positive(h.dense) || !positive(h.classes)) return null;
  if (h.activation !== 'softmax' && h.activation !== 'sigmoid') return null;
  return { kind: h.kind, dense: h.dense, classes: h.classes, activation: h.activation };
}

export async function isModelFolder(path: string): Promise<boolean> {
  const info = await stat(join(path, MODEL_FILE)).catch(() => undefined);
  return info?.isFile() === true;
}

export interface LoadedModelFolder {
  readonly file: string;
  readonly model: Uint8Array;
  readonly metadata: ModelMetadata;
}

export async function readModelFolder(dir: string): Promise<LoadedModelFolder> {
  const file = join(dir, MODEL_FILE);
  const model = await readFile(file).catch((cause: unknown) => {
    throw unreadableInput(
      'NOT_FOUND',
      `${dir}: expected a vggkit model folder containing ${MODEL_FILE}, found none`,
      { file, cause },
    );
  });
  let props: Record<string, string>;
  try {
    props = readOnnxMetadata(model);
  } catch (cause) {
    throw unreadableInput(
      'MODEL_FORMAT',
      `${file}: not an ONNX model (${(cause as Error).message})`,
      { file, cause },
    );
  }
  return { file, model, metadata: parseModelMetadata(props, file) };
}

/** Writes `model.onnx` (bytes from buildVggInference with `modelMetadata(...)`) atomically. */
export async function writeModelFolder(dir: string, model: Uint8Array): Promise<string> {
  const file = join(dir, MODEL_FILE);
  await writeFileAtomic(file, model);
  return file;
}
