/**
 * A classifier opened from `--weights`: a registry tag with the top (ImageNet classes), a weights
 * file holding the top, or a vggkit model folder (its own classes and contract, from the model's
 * metadata). `predict` gives the top classes per image. What `vggkit predict` runs; the library
 * exports it.
 */
import { listImageFiles } from '../data/files.js';
import { inferBatches } from '../engine/inference.js';
import { Session } from '../engine/session.js';
import { resolveContract, type PreprocessContract } from '../image/contract.js';
import type { SkippedFile } from '../image/index.js';
import type { ArchName } from '../model/architectures.js';
import { IMAGENET_CLASSES, type ClassName } from '../model/imagenet-classes.js';
import { loadWeights } from '../model/load-weights.js';
import { buildVggInference } from '../model/vgg-graph.js';
import { resolveWeightsSource } from '../model/weights-source.js';
import { VggkitError } from '../util/errors.js';
import { classProbabilities } from './probabilities.js';

export type { ClassName } from '../model/imagenet-classes.js';

/** The user's overrides of a weights' preprocessing contract (`--preprocess` …), unchecked text. */
export interface ContractOverrides {
  readonly preprocess?: string | undefined;
  readonly resize?: string | undefined;
  readonly interpolation?: string | undefined;
}

export interface OpenClassifierOptions {
  /** A registry tag with the top (default `imagenet-top`), a weights file, or a model folder. */
  readonly weights?: string;
  /** Architecture of the weights (a model folder records its own); default vgg16. */
  readonly arch?: ArchName;
  /** Overrides of the weights' contract (each contradiction is one line of `warnings`). */
  readonly contract?: ContractOverrides;
  readonly offline?: boolean;
  /** Weights cache; default `$VGGKIT_HOME` or ~/.cache/vggkit. */
  readonly cacheDir?: string;
  readonly onDownloadProgress?: (received: number, total: number | undefined) => void;
}

export interface Prediction {
  /** Output column. */
  readonly index: number;
  /** WordNet id, for ImageNet classes. */
  readonly id?: string;
  readonly label: string;
  readonly probability: number;
}

export interface PredictOptions {
  /** Classes per image, best first; default 5. */
  readonly top?: number;
  /** Images per forward pass; default 8. */
  readonly batchSize?: number;
}

export interface Predictions {
  readonly predictions: readonly { readonly file: string; readonly top: readonly Prediction[] }[];
  /** Files that could not be decoded. */
  readonly skipped: readonly SkippedFile[];
}

export interface Classifier {
  /** Where the weights came from (registry tag and URL, file, model folder). */
  readonly source: string;
  /** The contract images are fed with, overrides applied. */
  readonly contract: PreprocessContract;
  readonly classes: readonly ClassName[];
  /** The convention the contract rests on when the weights record none (and it is not overridden). */
  readonly assumption: string | undefined;
  /** Other lines a person should see about the model (a Keras file keeps no class names …). */
  readonly notes: readonly string[];
  /** One line per override that contradicts the weights' contract. */
  readonly warnings: readonly string[];
  /** Top classes of every image in `paths` (files and folders, walked). */
  predict(paths: readonly string[], options?: PredictOptions): Promise<Predictions>;
  release(): Promise<void>;
}

export async function openClassifier(options: OpenClassifierOptions = {}): Promise<Classifier> {
  const weights = options.weights ?? 'imagenet-top';
  const arch = options.arch ?? 'vgg16';
  const opened = await openGraph(weights, arch, options);
  const overrides = options.contract ?? {};
  const { contract, warnings } = resolveContract(opened.contract, overrides);
  const session = await Session.create(opened.graph);
  return {
    source: opened.source,
    contract,
    classes: opened.classes,
    assumption: overrides.preprocess === undefined ? opened.assumption : undefined,
    notes: opened.notes,
    warnings,
    predict: (paths, predictOptions = {}) =>
      predictWith(session, contract, opened.classes, paths, predictOptions),
    release: () => session.release(),
  };
}

interface OpenedGraph {
  readonly graph: Uint8Array;
  readonly contract: PreprocessContract;
  readonly classes: readonly ClassName[];
  readonly source: string;
  readonly assumption?: string | undefined;
  readonly notes: readonly string[];
}

async function openGraph(
  weights: string,
  arch: ArchName,
  options: OpenClassifierOptions,
): Promise<OpenedGraph> {
  const source = await resolveWeightsSource(arch, weights);
  if (source.open !== undefined) {
    // A model that runs as it is: a model folder, a user's Keras model.
    const { folder, notes } = await source.open();
    return {
      graph: folder.model,
      contract: folder.metadata.contract,
      classes: folder.metadata.classNames.map((label) => ({ label })),
      source: folder.file,
      notes,
    };
  }
  const loaded = await loadWeights({
    arch,
    weights,
    includeTop: true,
    inputSize: 224,
    classes: IMAGENET_CLASSES.length,
    offline: options.offline === true,
    ...(options.cacheDir === undefined ? {} : { cacheDir: options.cacheDir }),
    ...(options.onDownloadProgress === undefined ? {} : { onProgress: options.onDownloadProgress }),
  });
  const graph = buildVggInference({
    options: {
      arch,
      includeTop: true,
      inputSize: [224, 224],
      pooling: 'none',
      classes: IMAGENET_CLASSES.length,
    },
    weights: loaded.weights,
  });
  return {
    graph,
    contract: loaded.contract,
    classes: IMAGENET_CLASSES,
    source: loaded.source,
    assumption: loaded.assumption,
    notes: [],
  };
}

async function predictWith(
  session: Session,
  contract: PreprocessContract,
  classes: readonly ClassName[],
  paths: readonly string[],
  options: PredictOptions,
): Promise<Predictions> {
  const files = await listImageFiles(paths);
  if (files.length === 0)
    throw new VggkitError('NO_IMAGES', `${paths.join(', ')}: expected image files, found none`);
  const predictions: { file: string; top: Prediction[] }[] = [];
  const skipped: SkippedFile[] = [];
  const batchSize = options.batchSize ?? 8;
  for await (const batch of inferBatches(session, files, contract, { batchSize })) {
    skipped.push(...batch.skipped);
    const width = batch.output.dims[1] ?? 0;
    batch.files.forEach((file, row) => {
      const scores = batch.output.data.subarray(row * width, (row + 1) * width);
      predictions.push({
        file,
        top: topK(classProbabilities(scores, classes.length), classes, options.top ?? 5),
      });
    });
  }
  return { predictions, skipped };
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
