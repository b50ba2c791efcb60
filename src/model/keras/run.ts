/**
 * Running a user's Keras model inside vggkit: a Keras file becomes what a vggkit model folder
 * is in memory (model-folder.ts `LoadedModelFolder`: an ONNX inference graph with the contract,
 * class names and head in its metadata), so `predict`, `evaluate` and the doctor's model
 * evaluation use it exactly as they use a run folder. Keras files do not store class names: the
 * caller gives them (a data folder's sorted class folders, which is the order Keras'
 * `image_dataset_from_directory` / `flow_from_directory` assign), else they are `class 0`, ….
 */
import { extname } from 'node:path';
import { stat } from 'node:fs/promises';
import { VggkitError } from '../../util/errors.js';
import { modelMetadata, type LoadedModelFolder } from '../model-folder.js';
import { buildVggInference } from '../vgg-graph.js';
import { analyse } from './analyse.js';
import { kerasToVgg, type KerasVggModel } from './convert.js';
import { isKerasModelH5 } from './h5.js';
import { readKerasModelWithWeights } from './read.js';

/** Whether `path` names a Keras model file (.keras, .json, or an .h5 saved with model.save). */
export async function isKerasModelPath(path: string): Promise<boolean> {
  const info = await stat(path).catch(() => undefined);
  if (info?.isFile() !== true) return false;
  const ext = extname(path).toLowerCase();
  if (ext === '.keras' || ext === '.json') return true;
  if (ext === '.h5' || ext === '.hdf5') return isKerasModelH5(path);
  return false;
}

export interface OpenKerasOptions {
  /** `--keras-weights`: a save_weights .h5 for an architecture-only JSON. */
  readonly kerasWeights?: string | undefined;
  /** Class names in output order; default `class 0`, `class 1`, …. */
  readonly classNames?: readonly string[];
}

export interface OpenedKerasModel {
  readonly folder: LoadedModelFolder;
  readonly converted: KerasVggModel;
}

/** The Keras model in `file`, with `kerasWeights` loaded into it when given, as a vggkit model. */
export async function convertKerasFile(
  file: string,
  kerasWeights?: string,
): Promise<KerasVggModel> {
  const model = await readKerasModelWithWeights(file, kerasWeights, { withWeights: true });
  return kerasToVgg(model, analyse(model));
}

/**
 * What vggkit runs in place of the user's model: an ONNX graph with the contract, class names
 * and head in its metadata, as a run folder holds it.
 */
export async function openKerasModel(
  file: string,
  options: OpenKerasOptions = {},
): Promise<OpenedKerasModel> {
  return runnableKerasModel(
    file,
    await convertKerasFile(file, options.kerasWeights),
    options.classNames,
  );
}

/** A converted Keras model as a model folder in memory, its outputs named `classNames`. */
export function runnableKerasModel(
  file: string,
  converted: KerasVggModel,
  names?: readonly string[],
): OpenedKerasModel {
  const classes = converted.outputs === 1 ? 2 : converted.outputs;
  const classNames = names ?? Array.from({ length: classes }, (_, i) => `class ${i}`);
  if (classNames.length !== classes) {
    throw new VggkitError(
      'CLASS_MISMATCH',
      `${file}: the model has ${converted.outputs} output unit(s) (${classes} classes); the data has ${classNames.length} class folders (${classNames.join(', ')})`,
      { file },
    );
  }
  const graph = buildVggInference({
    options: converted.options,
    weights: converted.weights,
    ...(converted.head === undefined ? {} : { head: converted.head }),
    ...(converted.inputTransform === undefined ? {} : { inputTransform: converted.inputTransform }),
    metadata: modelMetadata({
      contract: converted.contract,
      classNames,
      inputSize: converted.options.inputSize as [number, number],
      arch: converted.options.arch,
      ...(converted.head === undefined ? {} : { head: converted.head }),
    }),
  });
  return {
    converted,
    folder: {
      file,
      model: graph,
      metadata: {
        contract: converted.contract,
        classNames,
        inputSize: [converted.options.inputSize[0], converted.options.inputSize[1]],
        arch: converted.options.arch,
        ...(converted.head === undefined ? {} : { head: converted.head }),
      },
    },
  };
}
