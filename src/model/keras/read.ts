/**
 * The one entry point from a Keras model file to a KerasModel: the format is recognised by the
 * file's first bytes (a zip is `.keras`, HDF5 is a legacy `.h5`, `{` is JSON), not by its name, so
 * a renamed file still reads and a wrong one is named for what it is.
 */
import { open } from 'node:fs/promises';
import { readingInput, VggkitError } from '../../util/errors.js';
import { corrupt, isGroup, openH5 } from '../h5-file.js';
import { readKerasH5, readModelWeights, type ReadOptions } from './h5.js';
import { readKerasJson } from './json.js';
import type { KerasModel } from './model.js';
import { readKerasZip, readSavingLibWeights } from './zip.js';

export type { ReadOptions } from './h5.js';

type Kind = 'zip' | 'hdf5' | 'json' | 'unknown';

async function sniff(file: string): Promise<Kind> {
  const handle = await open(file, 'r').catch((cause: unknown) => {
    throw new VggkitError(
      'NOT_FOUND',
      `${file}: no such Keras model file (${(cause as Error).message})`,
      { file, cause },
    );
  });
  try {
    const head = Buffer.alloc(8);
    const { bytesRead } = await handle.read(head, 0, 8, 0);
    if (bytesRead >= 2 && head[0] === 0x50 && head[1] === 0x4b) return 'zip';
    if (bytesRead >= 4 && head.subarray(1, 4).toString('latin1') === 'HDF') return 'hdf5';
    const first = head.subarray(0, bytesRead).toString('utf8').trimStart()[0];
    return first === '{' || first === '[' ? 'json' : 'unknown';
  } finally {
    await handle.close();
  }
}

/**
 * Reads a `.keras`, full-model `.h5`, `model.to_json()` JSON or TF.js `model.json`: a file named
 * on the command line (`--keras`, `--weights`, evaluate's model), so a missing, truncated or
 * wrong-format file exits 2 (readingInput).
 */
export async function readKerasModel(file: string, options: ReadOptions = {}): Promise<KerasModel> {
  return readingInput(() => readKerasFile(file, options));
}

async function readKerasFile(file: string, options: ReadOptions): Promise<KerasModel> {
  const kind = await sniff(file);
  if (kind === 'zip') return readKerasZip(file, options);
  if (kind === 'hdf5') return readKerasH5(file, options);
  if (kind === 'json') return readKerasJson(file, options);
  throw new VggkitError(
    'KERAS_FORMAT',
    `${file}: expected a Keras model (.keras zip, .h5 saved with model.save, model.to_json() JSON or a TF.js model.json), received a file that is none of these`,
    { file },
  );
}

/**
 * The model in `file` with `kerasWeights` (`--keras-weights`) loaded into it when given, as Keras'
 * `model.load_weights` does: what running it (run.ts) and judging it (the doctor) both read.
 */
export async function readKerasModelWithWeights(
  file: string,
  kerasWeights: string | undefined,
  options: ReadOptions = {},
): Promise<KerasModel> {
  const model = await readKerasModel(file, options);
  return kerasWeights === undefined
    ? model
    : readingInput(() => attachWeights(model, kerasWeights, options));
}

/**
 * An architecture-only model (JSON) with weights from a separate file: a legacy `save_weights`
 * `.h5` (root `layer_names`), a Keras 3 `.weights.h5` (saving_lib layout) or a full-model `.h5`.
 */
export async function attachWeights(
  model: KerasModel,
  weightsFile: string,
  options: ReadOptions = {},
): Promise<KerasModel> {
  const h5 = await openH5(weightsFile, 'r');
  const withWeights = options.withWeights === true;
  try {
    const nested = h5.get('model_weights');
    const read =
      'layer_names' in h5.attrs || 'layer_names0' in h5.attrs
        ? readModelWeights(h5, model.layers, withWeights, weightsFile)
        : isGroup(nested)
          ? readModelWeights(nested, model.layers, withWeights, weightsFile)
          : isGroup(h5.get('layers')) || isGroup(h5.get('vars'))
            ? readSavingLibWeights(
                h5,
                model.layers,
                model.className === 'Sequential',
                withWeights,
                weightsFile,
              )
            : undefined;
    if (read === undefined) {
      throw new VggkitError(
        'WEIGHTS_FORMAT',
        `${weightsFile}: not a Keras weights file (expected layer_names, model_weights or a layers group, found none)`,
        { file: weightsFile },
      );
    }
    return {
      ...model,
      variables: read.info,
      weightsFile,
      ...(withWeights ? { weights: read.values } : {}),
    };
  } catch (error) {
    throw error instanceof VggkitError
      ? error
      : corrupt(weightsFile, 'unreadable Keras weights', error);
  } finally {
    h5.close();
  }
}
