/**
 * Preprocessing family: does what the network is fed match what its weights expect? From a user's
 * batch (`ctx.batch`, see batch-stats.ts) and from the config's overrides. Every comparison is
 * against the contract: correct caffe input spans about -124..152, so there is no fixed "inputs
 * must lie in [-1, 1]" rule here.
 */
import { makeContract, type PreprocessContract } from '../../image/contract.js';
import { readable } from '../context.js';
import type { ImageRecord } from '../scan.js';
import type { BatchStats } from '../batch-stats.js';
import type { Check, DoctorContext, Finding } from '../types.js';

/** Fraction of the dataset stored as grayscale above which replicated batch channels are expected, not a bug. */
export const GRAY_DATASET_FRACTION = 0.5;
/** Largest channel difference in a thumbnail that still counts as grey content (JPEG chroma noise). */
export const GRAY_CONTENT_TOLERANCE = 4;

/** Stored as grey, or stored as RGB with identical channels (Fashion-MNIST, X-rays saved as RGB). */
function looksGray(r: ImageRecord): boolean {
  if (r.space === 'b-w' || r.space === 'grey16' || (r.channels ?? 3) <= 2) return true;
  const t = r.thumb;
  if (t === undefined) return false;
  for (let i = 0; i < t.length; i += 3)
    if (
      Math.abs(t[i] - t[i + 1]) > GRAY_CONTENT_TOLERANCE ||
      Math.abs(t[i + 1] - t[i + 2]) > GRAY_CONTENT_TOLERANCE
    )
      return false;
  return true;
}

/** The weights' contract: given (--expect, --weights, model, config weights) or Keras ImageNet's. */
export function expectedContract(ctx: DoctorContext): PreprocessContract {
  return ctx.model?.contract ?? ctx.contract ?? makeContract({ mode: 'caffe', inputSize: 224 });
}

function describe(contract: PreprocessContract): string {
  return `${contract.mode} (${contract.channelOrder.toUpperCase()}, scale ${contract.scale === 1 ? '1' : `1/${Math.round((1 / contract.scale) * 10) / 10}`}, mean [${contract.mean.join(', ')}], std [${contract.std.join(', ')}])`;
}

function statsEvidence(batch: BatchStats): Record<string, unknown> {
  const round = (x: number): number => Number(x.toPrecision(4));
  return {
    file: batch.file,
    shape: batch.dims,
    layout: batch.layout,
    perChannel: batch.channelStats.map((s) => ({
      min: round(s.min),
      max: round(s.max),
      mean: round(s.mean),
      std: round(s.std),
    })),
  };
}

const batchChecks: Check = {
  ids: [
    'grayscale-input',
    'double-preprocessing',
    'unscaled-input',
    'normalization-mismatch',
    'channel-order-mismatch',
    'wrong-input-size',
  ],
  family: 'preprocessing',
  run(ctx) {
    const batch = ctx.batch;
    if (batch === undefined) return [];
    const contract = expectedContract(ctx);
    const findings: Finding[] = [];
    const evidence = statsEvidence(batch);
    const expected = { expected: describe(contract) };
    if (batch.channels === 1) {
      findings.push({
        id: 'grayscale-input',
        severity: 'error',
        title: 'The batch has one channel; VGG16 takes three',
        explanation:
          'The images were loaded as grayscale. The first convolution expects RGB/BGR input, so the model either fails or sees nonsense.',
        evidence: { ...evidence, ...expected },
        fix: {
          summary:
            "Load images as RGB (PIL .convert('RGB'), color_mode='rgb', cv2.IMREAD_COLOR); vggkit does this itself.",
        },
      });
    } else if (batch.replicatedChannels) {
      const records = ctx.scan === undefined ? [] : readable(ctx.scan.records);
      const grayData =
        records.length > 0 &&
        records.filter(looksGray).length / records.length >= GRAY_DATASET_FRACTION;
      findings.push({
        id: 'grayscale-input',
        severity: grayData ? 'info' : 'warning',
        title: 'All three channels of the batch are identical: the images were fed as grayscale',
        explanation: grayData
          ? 'The dataset itself is grayscale, so replicated channels are the right input.'
          : 'If your images are in colour, the loader dropped the colour (grayscale load then channel copy), and the network loses the colour cues ImageNet features rely on.',
        evidence: { ...evidence, replicatedChannels: true },
        fix: {
          summary: grayData
            ? 'Nothing required: grey images replicated to three channels are what VGG expects.'
            : "Load images in colour (color_mode='rgb'); vggkit does this itself.",
        },
      });
    }
    const [height, width] =
      ctx.config === undefined ? contract.inputSize : [ctx.config.inputSize, ctx.config.inputSize];
    if (batch.height !== height || batch.width !== width) {
      findings.push({
        id: 'wrong-input-size',
        severity: 'warning',
        title: `The batch is ${batch.height}x${batch.width}; the model is set up for ${height}x${width}`,
        explanation:
          'Features computed at another scale than the one trained on (or configured) shift every activation; with the top (fc1) any size but 224 fails outright.',
        evidence: { ...evidence, expectedSize: [height, width] },
        fix: {
          summary: `Resize inputs to ${height}x${width} (target_size=(${height}, ${width})).`,
        },
      });
    }
    const inferred = batch.inferred;
    if (batch.channels !== 3) return findings;
    if (inferred === undefined) {
      findings.push({
        id: 'normalization-mismatch',
        severity: 'warning',
        title: 'The batch matches no known preprocessing',
        explanation: `Its value ranges cannot come from 0..255 pixels under raw, /255, tf, torch or caffe preprocessing (alone or doubled). The weights expect ${describe(contract)}.`,
        evidence: { ...evidence, ...expected },
        fix: {
          summary: `Apply exactly one preprocessing: ${contract.mode} mode (Keras preprocess_input for these weights) and nothing else.`,
        },
      });
      return findings;
    }
    const found = { ...evidence, ...expected, inferred: inferred.description };
    if (inferred.double) {
      findings.push({
        id: 'double-preprocessing',
        severity: 'error',
        title: `The batch was preprocessed twice: ${inferred.description}`,
        explanation: `Values lie in a range no single preprocessing produces. The weights expect ${contract.mode} mode alone; the extra step shrinks or shifts every input, so the pretrained features are computed on nonsense.`,
        evidence: found,
        fix: {
          summary:
            'Remove one of the two steps (typically rescale=1/255 in the data generator when preprocess_input is also used).',
        },
      });
    } else if (inferred.name === 'raw' && contract.mode !== 'none') {
      findings.push({
        id: 'unscaled-input',
        severity: 'error',
        title: 'The batch holds raw 0..255 pixels: no preprocessing was applied',
        explanation: `The weights expect ${describe(contract)}; raw pixels are off-centre (and for torch/tf mode up to ~100x too large), so activations saturate from the first layer.`,
        evidence: found,
        fix: {
          summary: `Apply ${contract.mode}-mode preprocessing (preprocess_input) before feeding the model.`,
        },
      });
    } else if (inferred.mode !== contract.mode) {
      findings.push({
        id: 'normalization-mismatch',
        severity: 'error',
        title: `The batch looks ${inferred.name}-preprocessed; the weights expect ${contract.mode}`,
        explanation: `${inferred.description} is not the ${contract.mode} contract the weights were trained with, so every input is shifted and scaled away from what the filters learned.`,
        evidence: found,
        fix: {
          summary: `Use ${contract.mode}-mode preprocessing (the preprocess_input that belongs to these weights) and only that.`,
        },
      });
    } else if (!batch.replicatedChannels && inferred.channelOrder !== contract.channelOrder) {
      findings.push({
        id: 'channel-order-mismatch',
        severity: 'warning',
        title: `Red and blue look swapped: the batch appears ${inferred.channelOrder.toUpperCase()}, the weights expect ${contract.channelOrder.toUpperCase()}`,
        explanation:
          'Undoing the preprocessing puts a much higher mean in the position that should hold blue than in the one that should hold red — typical of images read with cv2.imread (BGR) and then converted as if they were RGB. Scenes that really are bluer than red (sky, sea) can also cause this.',
        evidence: {
          ...found,
          recoveredMeansAsRGB: inferred.rawMeans.map((m) => Number(m.toFixed(1))),
        },
        fix: {
          summary:
            'Convert to RGB after cv2.imread (cv2.cvtColor(img, cv2.COLOR_BGR2RGB)) before preprocess_input.',
        },
      });
    }
    return findings;
  },
};

const configContract: Check = {
  ids: ['normalization-mismatch', 'resize-mismatch'],
  family: 'preprocessing',
  run(ctx) {
    const config = ctx.config;
    if (config === undefined || config.weights === 'none') return [];
    const contract = expectedContract(ctx);
    const findings: Finding[] = [];
    if (config.preprocess !== undefined && config.preprocess !== contract.mode) {
      findings.push({
        id: 'normalization-mismatch',
        severity: 'error',
        title: `The config forces ${config.preprocess} preprocessing; the ${config.weights} weights expect ${contract.mode}`,
        explanation:
          'Pretrained filters only work on inputs scaled the way they were trained; another mode shifts and scales every input.',
        evidence: {
          configPreprocess: config.preprocess,
          weights: config.weights,
          expected: describe(contract),
        },
        fix: {
          summary: "Remove the preprocess override so the weights' contract applies.",
          config: { preprocess: undefined },
          flag: 'drop --preprocess',
        },
      });
    }
    const resize = config.resize ?? contract.resize;
    const interpolation = config.interpolation ?? contract.interpolation;
    if (resize !== contract.resize || interpolation !== contract.interpolation) {
      findings.push({
        id: 'resize-mismatch',
        severity: 'warning',
        title: `Resizing differs from the weights' contract: ${resize}/${interpolation} instead of ${contract.resize}/${contract.interpolation}`,
        explanation:
          "Objects appear at other scales, framings or sharpness than the pretrained filters saw, and any tool that predicts with the weights' contract will disagree with training.",
        evidence: {
          config: { resize: config.resize, interpolation: config.interpolation },
          contract: { resize: contract.resize, interpolation: contract.interpolation },
        },
        fix: {
          summary: "Remove the resize/interpolation overrides so the weights' contract applies.",
          config: { resize: undefined, interpolation: undefined },
          flag: 'drop --resize/--interpolation',
        },
      });
    }
    return findings;
  },
};

export const PREPROCESSING_CHECKS: readonly Check[] = [batchChecks, configContract];
