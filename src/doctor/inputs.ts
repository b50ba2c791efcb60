/** Turns the doctor's file arguments into a DoctorContext: scan, config, history, batch, expected contract. */
import { readNpy } from '../data/npy.js';
import { makeContract, PREPROCESS_MODES, type PreprocessContract } from '../image/contract.js';
import type { ArchName } from '../model/architectures.js';
import { contractAt, resolveWeightsSource } from '../model/weights-source.js';
import type { TrainConfig } from '../train/config.js';
import { readTrainConfigFile } from '../train/config-file.js';
import { invalidOption, oneOf, UsageError, VggkitError } from '../util/errors.js';
import { batchStats } from './batch-stats.js';
import { readHistories } from './history.js';
import { scanDataset, type ScanOptions } from './scan.js';
import type { DoctorContext, KerasInfo, ModelEvaluation, ModelInfo } from './types.js';
import { analyse } from '../model/keras/analyse.js';
import { readKerasModelWithWeights } from '../model/keras/read.js';
import { openKerasModel, type OpenedKerasModel } from '../model/keras/run.js';
import { parseTrainConfig } from '../train/config-schema.js';
import { configFromKeras } from './keras-config.js';
import { defaultCacheDir } from '../model/download.js';
import { readModelFolder, type LoadedModelFolder } from '../model/model-folder.js';
import { DEFAULT_CONFIG } from '../train/config.js';
import { imageFeatures } from './image-features.js';
import { evaluateOnScan } from './model-eval.js';
import { runProbes } from './probe.js';
import type { DataScan } from './scan.js';
import { classCountWithout } from './context.js';

export interface DoctorInputs {
  readonly dataDir?: string;
  readonly val?: string;
  readonly config?: string;
  /** One training log, or several in order (phase 1 then phase 2 of a fine-tune). */
  readonly history?: string | readonly string[];
  /** The class count, for the chance level when no data folder, model or class-naming log gives it. */
  readonly classes?: number;
  readonly batch?: string;
  /** A preprocess mode the batch should follow (caffe, torch, tf, none). */
  readonly expect?: string;
  /** A weights tag or file whose contract the batch should follow. */
  readonly weights?: string;
  /** A vggkit model folder: its metadata joins the context, and it is evaluated on the data folder. */
  readonly model?: string;
  /** The user's own Keras model (.keras, .h5, to_json JSON, TF.js model.json), judged statically. */
  readonly keras?: string;
  /** `--keras-weights`: the weights of `keras` (model.save_weights .h5 for a to_json JSON). */
  readonly kerasWeights?: string;
  /** Run the dynamic probes on a sample of the data (needs dataDir). */
  readonly probe?: boolean;
  /**
   * The fix loop will measure fixes on this context (`--fix-config` or `--verify` with data): a
   * Keras model is then converted, as for the probes, so the loop trains from its own weights.
   */
  readonly measure?: boolean;
  /** Sample size of the probes; default DEFAULT_PROBE_IMAGES. */
  readonly probeImages?: number;
  /** Compute image features (for suspected-mislabel) without the probes. */
  readonly features?: boolean;
  /** Weights and feature cache; default `$VGGKIT_HOME` or ~/.cache/vggkit. */
  readonly cacheDir?: string;
  readonly offline?: boolean;
  readonly onScanProgress?: ScanOptions['onProgress'];
  /** One-line progress notes of the probes. */
  readonly log?: (line: string) => void;
}

/** The contract `weights` imply at `inputSize` (a model folder keeps its own), and its assumption. */
async function contractForWeights(
  arch: ArchName,
  weights: string,
  inputSize: number,
  log: ((line: string) => void) | undefined,
): Promise<PreprocessContract> {
  const source = await resolveWeightsSource(arch, weights);
  if (source.assumption !== undefined) log?.(source.assumption);
  return contractAt(source, inputSize);
}

export async function buildContext(inputs: DoctorInputs): Promise<DoctorContext> {
  if (
    [inputs.dataDir, inputs.config, inputs.history, inputs.batch, inputs.model, inputs.keras].every(
      (x) => x === undefined,
    )
  ) {
    throw new UsageError(
      'MISSING_OPTION',
      'doctor: expected something to examine: a data folder, --config, --history, --batch, --model or --keras',
    );
  }
  if ((inputs.probe === true || inputs.features === true) && inputs.dataDir === undefined)
    throw new UsageError(
      'MISSING_OPTION',
      `doctor: ${inputs.probe === true ? '--probe' : '--features'} needs the training data folder`,
    );
  if (
    inputs.probeImages !== undefined &&
    (!Number.isInteger(inputs.probeImages) || inputs.probeImages < 2)
  )
    throw invalidOption('--probe-images', 'a whole number of images >= 2', inputs.probeImages);
  if (inputs.expect !== undefined && inputs.weights !== undefined)
    throw new UsageError(
      'CONFLICTING_OPTIONS',
      'doctor: give --expect MODE or --weights TAG, not both',
    );
  if (inputs.kerasWeights !== undefined && inputs.keras === undefined)
    throw new UsageError(
      'MISSING_OPTION',
      `doctor: --keras-weights ${inputs.kerasWeights} needs the model it belongs to: --keras MODEL.json`,
    );
  if (inputs.val !== undefined && inputs.dataDir === undefined)
    throw new UsageError('MISSING_OPTION', 'doctor: --val needs the training data folder too');
  if (inputs.classes !== undefined && (!Number.isInteger(inputs.classes) || inputs.classes < 2))
    throw invalidOption('--classes', 'a whole number of classes >= 2', inputs.classes);
  const loaded = inputs.config === undefined ? undefined : await readTrainConfigFile(inputs.config);
  const config = loaded?.config;
  const keras =
    inputs.keras === undefined ? undefined : await kerasInfo(inputs.keras, inputs.kerasWeights);
  const size = config?.inputSize ?? keras?.contract.inputSize[0] ?? 224;
  const arch = config?.arch ?? 'vgg16';
  let contract: PreprocessContract | undefined;
  if (inputs.expect !== undefined)
    contract = makeContract({
      mode: oneOf('--expect', PREPROCESS_MODES, inputs.expect),
      inputSize: size,
    });
  else if (keras !== undefined) contract = keras.contract;
  else if (inputs.weights !== undefined)
    contract = await contractForWeights(arch, inputs.weights, size, inputs.log);
  else if (config !== undefined && config.weights !== 'none')
    contract = await contractForWeights(
      arch,
      config.weights,
      size,
      config.preprocess === undefined ? inputs.log : undefined,
    );
  if (contract !== undefined && contract.inputSize[0] !== size)
    contract = { ...contract, inputSize: [size, size] };

  const scan =
    inputs.dataDir === undefined
      ? undefined
      : await scanDataset(inputs.dataDir, {
          ...(inputs.val === undefined ? {} : { val: inputs.val }),
          ...(inputs.onScanProgress === undefined ? {} : { onProgress: inputs.onScanProgress }),
        });
  const folder = inputs.model === undefined ? undefined : await readModelFolder(inputs.model);
  if (folder !== undefined && inputs.expect === undefined && inputs.weights === undefined)
    contract = folder.metadata.contract;
  const kerasRun =
    keras !== undefined && scan !== undefined && (inputs.probe === true || inputs.measure === true)
      ? await runnableKeras(inputs, scan, inputs.log ?? (() => undefined))
      : undefined;
  const model: ModelInfo | undefined =
    folder === undefined
      ? kerasRun === undefined
        ? undefined
        : {
            classes: kerasRun.folder.metadata.classNames,
            contract: kerasRun.folder.metadata.contract,
            inputSize: kerasRun.folder.metadata.inputSize,
            ...(scan === undefined
              ? {}
              : await evaluation(kerasRun.folder, scan, inputs.cacheDir ?? defaultCacheDir())),
          }
      : {
          classes: folder.metadata.classNames,
          contract: folder.metadata.contract,
          inputSize: folder.metadata.inputSize,
          ...(scan === undefined
            ? {}
            : await evaluation(folder, scan, inputs.cacheDir ?? defaultCacheDir())),
        };
  // Probes and the fix loop on a Keras model start from its own weights, with the setup it was
  // trained with; --fix-config patches the same setup, so what it writes is what was measured.
  const kerasRaw =
    keras !== undefined && config === undefined
      ? {
          ...configFromKeras(keras.model, keras.analysis).config,
          ...(kerasRun !== undefined && kerasRun.converted.inputTransform === undefined
            ? {
                weights: inputs.keras,
                ...(inputs.kerasWeights === undefined ? {} : { kerasWeights: inputs.kerasWeights }),
              }
            : {}),
        }
      : undefined;
  const kerasConfig =
    kerasRaw === undefined ? undefined : parseTrainConfig(kerasRaw, inputs.keras ?? 'keras model');
  const probeConfig = config ?? kerasConfig;
  const computed = scan === undefined ? {} : await dynamicInputs(inputs, scan, probeConfig);
  const historyFiles = inputs.history === undefined ? [] : [inputs.history].flat();
  const history = historyFiles.length === 0 ? undefined : await readHistories(historyFiles);
  const batch =
    inputs.batch === undefined
      ? undefined
      : batchStats(
          await readNpy(inputs.batch),
          contract ?? makeContract({ mode: 'caffe', inputSize: 224 }),
          inputs.batch,
        );
  const ctx: DoctorContext = {
    ...(scan === undefined ? {} : { scan }),
    ...(config === undefined ? {} : { config, rawConfig: loaded?.raw }),
    ...(inputs.config === undefined ? {} : { configFile: inputs.config }),
    ...(keras === undefined ? {} : { keras }),
    ...(kerasRaw === undefined || kerasConfig === undefined
      ? {}
      : { rawConfig: kerasRaw, kerasConfig }),
    ...(history === undefined ? {} : { history }),
    ...(batch === undefined ? {} : { batch }),
    ...(contract === undefined ? {} : { contract }),
    ...(model === undefined ? {} : { model }),
    ...(inputs.classes === undefined ? {} : { classes: inputs.classes }),
    ...computed,
  };
  checkClassCount(ctx);
  return ctx;
}

/** `--classes` is for when nothing else knows the class count; when something does, the two must agree. */
function checkClassCount(ctx: DoctorContext): void {
  if (ctx.classes === undefined) return;
  const known = classCountWithout(ctx);
  if (known !== undefined && known.count !== ctx.classes)
    throw new UsageError(
      'OPTION_DATA_CONFLICT',
      `doctor: --classes ${ctx.classes} contradicts ${known.source}, which has ${known.count} classes`,
    );
}

/**
 * The Keras model and what it is, with `--keras-weights` loaded into it as running it would
 * (read.ts `readKerasModelWithWeights`, which run.ts `convertKerasFile` uses too); only the
 * weights' names and shapes are read here, the static checks need no values.
 */
async function kerasInfo(file: string, kerasWeights: string | undefined): Promise<KerasInfo> {
  const model = await readKerasModelWithWeights(file, kerasWeights);
  const analysis = analyse(model);
  // The size images are resized to: the model's own (batch, height, width, channels) input, so a
  // 28x28 classifier's 28x28 images are not judged against 224; unknown or not an image: 224.
  const shape = model.inputShape;
  const side = shape?.length === 4 ? shape[1] : undefined;
  return {
    model,
    analysis,
    // Keras' ImageNet VGG weights are caffe-mode (keras/src/applications/vgg16.py preprocess_input).
    contract: makeContract({
      mode: 'caffe',
      inputSize: typeof side === 'number' && side > 0 ? side : 224,
    }),
  };
}

/** The Keras model converted to run, or undefined (with a line saying why) when vggkit cannot run it. */
async function runnableKeras(
  inputs: DoctorInputs,
  scan: DataScan,
  log: (line: string) => void,
): Promise<OpenedKerasModel | undefined> {
  try {
    const opened = await openKerasModel(inputs.keras as string, {
      classNames: scan.train.classes,
      kerasWeights: inputs.kerasWeights,
    });
    if (opened.converted.assumption !== undefined) log(opened.converted.assumption);
    return opened;
  } catch (error) {
    if (
      !(error instanceof VggkitError) ||
      (error.code !== 'KERAS_UNSUPPORTED' && error.code !== 'CLASS_MISMATCH')
    )
      throw error;
    log(`not evaluated: ${error.message}`);
    return undefined;
  }
}

async function evaluation(
  folder: LoadedModelFolder,
  scan: DataScan,
  cacheDir: string,
): Promise<{ evaluation?: ModelEvaluation }> {
  const result = await evaluateOnScan(folder, scan, cacheDir);
  return result === undefined ? {} : { evaluation: result };
}

/** Features and probes, only when asked for: they run the network, the static checks do not. */
async function dynamicInputs(
  inputs: DoctorInputs,
  scan: DataScan,
  config: TrainConfig | undefined,
): Promise<Pick<DoctorContext, 'features' | 'featuresWeights' | 'probes'>> {
  if (inputs.probe !== true && inputs.features !== true) return {};
  const weights = inputs.expect === undefined ? inputs.weights : undefined;
  const effective: TrainConfig = {
    ...(config ?? DEFAULT_CONFIG),
    ...(weights === undefined ? {} : { weights }),
  };
  const setup = {
    cacheDir: inputs.cacheDir ?? defaultCacheDir(),
    ...(inputs.offline === undefined ? {} : { offline: inputs.offline }),
  };
  const features = await imageFeatures(scan, effective, setup);
  if (inputs.probe !== true) return { features, featuresWeights: effective.weights };
  const probes = await runProbes({
    scan,
    config: effective,
    ...setup,
    ...(inputs.probeImages === undefined ? {} : { images: inputs.probeImages }),
    ...(inputs.log === undefined ? {} : { log: inputs.log }),
  });
  return { features, featuresWeights: effective.weights, probes };
}
