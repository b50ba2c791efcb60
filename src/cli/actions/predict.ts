/**
 * What `vggkit predict` does (declared in ../predict.ts). A one-image predict on a model folder is
 * mostly start-up, so the fp32 path loads only what it runs (ORT, sharp) and reuses ORT's saved
 * optimised graph; weights files, graph building and int8 are imported when asked for.
 */
import { listImageFiles } from '../../data/files.js';
import { inferBatches } from '../../engine/inference.js';
import type { Int8Report } from '../../engine/int8/prepare.js';
import { sessionForModelFile } from '../../engine/optimized-model.js';
import { Session } from '../../engine/session.js';
import type { PreprocessContract } from '../../image/contract.js';
import type { SkippedFile } from '../../image/index.js';
import { type LayerSpec, parseArch } from '../../model/architectures.js';
import { defaultCacheDir } from '../../model/download.js';
import type { Network } from '../../model/folder-network.js';
import { modelLayers } from '../../model/head.js';
import { type ClassName, IMAGENET_CLASSES } from '../../model/imagenet-classes.js';
import { isModelFolder, readModelFolder } from '../../model/model-folder.js';
import { parsePrecision } from '../../model/precision.js';
import { VggkitError } from '../../util/errors.js';
import { applyContractFlags, parseInteger, printJson } from '../common.js';
import type { PredictFlags } from '../predict.js';

interface Model {
  /**
   * The fp32 graph as stored (a model folder's, with its file for ORT's cached optimised graph)
   * or built (a Keras model's), run as is when fp32 is asked for.
   */
  readonly stored?: { readonly file?: string; readonly model: Uint8Array };
  /** The network, for another precision (a model folder's weights.h5 is read only then). */
  readonly network: () => Promise<Network>;
  readonly contract: PreprocessContract;
  readonly classes: readonly ClassName[];
  readonly source: string;
}

export interface Prediction {
  readonly index: number;
  readonly id?: string;
  readonly label: string;
  readonly probability: number;
}

export async function predict(paths: string[], flags: PredictFlags): Promise<void> {
  const top = parseInteger('--top', flags.top, 5);
  const batchSize = parseInteger('--batch-size', flags.batchSize, 8);
  const model = await openModel(flags);
  const contract = applyContractFlags(model.contract, flags);
  const files = await listImageFiles(paths);
  if (files.length === 0)
    throw new VggkitError('NO_IMAGES', `${paths.join(', ')}: expected image files, found none`);

  let int8: Int8Report | undefined;
  let session: Session;
  if (
    model.stored !== undefined &&
    parsePrecision('--precision', flags.precision ?? 'fp32') === 'fp32'
  ) {
    session =
      model.stored.file === undefined
        ? await Session.create(model.stored.model)
        : (
            await sessionForModelFile(model.stored.file, {
              cacheDir: defaultCacheDir(),
              model: model.stored.model,
            })
          ).session;
  } else {
    const { commandGraph } = await import('./precision.js');
    const network = { ...(await model.network()), contract };
    const layers = modelLayers(network.options, network.head);
    const built = await commandGraph(network, (layers.at(-1) as LayerSpec).name, files, flags);
    int8 = built.int8;
    session = await Session.create(built.graph);
  }
  const results: { file: string; top: Prediction[] }[] = [];
  const skipped: SkippedFile[] = [];
  try {
    for await (const batch of inferBatches(session, files, contract, { batchSize })) {
      skipped.push(...batch.skipped);
      const width = batch.output.dims[1] ?? 0;
      batch.files.forEach((file, row) => {
        const scores = batch.output.data.subarray(row * width, (row + 1) * width);
        results.push({
          file,
          top: topK(classProbabilities(scores, model.classes.length), model.classes, top),
        });
      });
    }
  } finally {
    await session.release();
  }

  if (flags.json === true) {
    printJson({
      weights: model.source,
      contract,
      precision: int8?.precision ?? 'fp32',
      ...(int8 === undefined ? {} : { int8 }),
      predictions: results,
      skipped: skipped.map(({ file, code, reason }) => ({ file, code, reason })),
    });
  } else {
    for (const { file, top: best } of results) {
      process.stdout.write(`${file}\n`);
      for (const p of best)
        process.stdout.write(
          `  ${p.probability.toFixed(4)}  ${p.label}${p.id === undefined ? '' : ` (${p.id})`}\n`,
        );
    }
  }
  for (const s of skipped) process.stderr.write(`vggkit: skipped ${s.file}: ${s.reason}\n`);
  const broken = results.filter((r) => r.top.some((p) => !Number.isFinite(p.probability)));
  if (broken.length > 0)
    process.stderr.write(
      `vggkit: warning: the model produced NaN or infinite probabilities for ${broken.length} of ${results.length} images (e.g. ${broken[0]?.file}): the weights are damaged, or the inputs are far outside what they expect (check --preprocess; try vggkit doctor)\n`,
    );
}

async function openModel(flags: PredictFlags): Promise<Model> {
  if (await isModelFolder(flags.weights)) {
    const folder = await readModelFolder(flags.weights);
    return {
      stored: { file: folder.file, model: folder.model },
      network: async () =>
        (await import('../../model/folder-network.js')).folderNetwork(flags.weights, folder),
      contract: folder.metadata.contract,
      classes: folder.metadata.classNames.map((label) => ({ label })),
      source: folder.file,
    };
  }
  // A Keras file's reader (and h5wasm) loads only when --weights is a file.
  const keras = await import('../../model/keras/run.js');
  if (await keras.isKerasModelPath(flags.weights)) {
    const { folder, converted } = await keras.openKerasModel(flags.weights);
    if (converted.assumption !== undefined && flags.json !== true)
      process.stderr.write(`vggkit: ${converted.assumption}\n`);
    if (flags.json !== true)
      process.stderr.write(
        'vggkit: a Keras model file holds no class names: classes are numbered in the order of the sorted class folders it was trained on\n',
      );
    return {
      stored: { model: folder.model },
      network: async () =>
        (await import('../../model/folder-network.js')).kerasNetwork(converted, flags.weights),
      contract: folder.metadata.contract,
      classes: folder.metadata.classNames.map((label) => ({ label })),
      source: folder.file,
    };
  }
  const arch = parseArch(flags.arch);
  const { loadWeightsWithProgress } = await import('./load-weights.js');
  const loaded = await loadWeightsWithProgress(
    {
      arch,
      weights: flags.weights,
      includeTop: true,
      inputSize: 224,
      classes: IMAGENET_CLASSES.length,
      offline: flags.offline === true,
    },
    flags.json === true,
  );
  const network: Network = {
    options: {
      arch,
      includeTop: true,
      inputSize: [224, 224],
      pooling: 'none',
      classes: IMAGENET_CLASSES.length,
    },
    weights: loaded.weights,
    contract: loaded.contract,
    source: loaded.source,
  };
  return {
    network: () => Promise.resolve(network),
    contract: loaded.contract,
    classes: IMAGENET_CLASSES,
    source: loaded.source,
  };
}

/**
 * One probability per class. A binary cross-entropy model has a single sigmoid output, the
 * probability of the second class; the first class gets the rest.
 */
function classProbabilities(scores: Float32Array, classCount: number): Float32Array {
  if (scores.length === 1 && classCount === 2)
    return Float32Array.of(1 - (scores[0] as number), scores[0] as number);
  return scores;
}

/** The k highest scores, best first; ties keep the lower class index first. */
export function topK(scores: Float32Array, classes: readonly ClassName[], k: number): Prediction[] {
  const order = Array.from(scores.keys()).sort(
    (a, b) => (scores[b] as number) - (scores[a] as number) || a - b,
  );
  return order.slice(0, k).map((index) => {
    const name = classes[index] ?? { label: `class ${index}` };
    return {
      index,
      ...(name.id === undefined ? {} : { id: name.id }),
      label: name.label,
      probability: scores[index] as number,
    };
  });
}
