/**
 * What the probe runner (probe.ts) measures and the probe checks (checks/probes.ts) judge. Plain,
 * JSON-serialisable data so findings can quote it as evidence and tests can build it by hand.
 */

/**
 * Default sample: enough images per class for a stable mean loss, few enough to stay within
 * seconds. Here, not in probe.ts, so the CLI can show it without loading the probe runner.
 */
export const DEFAULT_PROBE_IMAGES = 64;

export interface LossAccuracy {
  readonly loss: number;
  readonly accuracy: number;
}

export interface OverfitProbe {
  readonly images: number;
  readonly steps: number;
  readonly lr: number;
  readonly startLoss: number;
  readonly endLoss: number;
}

/** What the LR range test's suggestions (probe.ts `suggestions`) read the curve as: its level at the start, its lowest point past the head, and whether that fall is material. */
export interface LrRangeVerdict {
  /** Median smoothed loss over the head (the rates that move nothing). */
  readonly start: number;
  /** Lowest smoothed loss past the head, and its rate. */
  readonly lowest: number;
  readonly lowestLr: number;
  /** (start - lowest) / start. */
  readonly fall: number;
  /** Whether the curve supports a suggestion: enough points past the head and fall >= LR_MIN_FALL. */
  readonly conclusive: boolean;
}

export interface LrRangeProbe {
  /** Learning rate of each recorded step (NaN/infinite losses dropped). */
  readonly lrs: readonly number[];
  /** Bias-corrected exponentially smoothed loss at each recorded step. */
  readonly losses: readonly number[];
  /** fastai's lr_min: the rate of the lowest smoothed loss, divided by 10 (NaN, like every suggestion, when `verdict` is not conclusive). */
  readonly minimum: number;
  /** The rate where the smoothed loss falls fastest per decade of learning rate. */
  readonly steepest: number;
  /** fastai's valley: a rate a little past the middle of the longest falling stretch of the loss (set by every test run; optional for results built by hand). */
  readonly valley?: number;
  /** What the lr checks compare the configured rate against (= minimum). */
  readonly suggestion: number;
  /** How the curve reads: its start, lowest point and fall (absent for an empty curve or results built by hand). */
  readonly verdict?: LrRangeVerdict;
  /** Whether the sweep stopped because the smoothed loss exceeded 4x its best. */
  readonly stoppedEarly: boolean;
}

export interface GradientLayer {
  readonly layer: string;
  /** `blockN` or `head`: the learning-rate group the layer belongs to. */
  readonly group: string;
  /** L2 norm of the gradient of the layer's kernel and bias together. */
  readonly norm: number;
  /** Root mean square of the gradient (norm / sqrt(parameters)): comparable across layer sizes. */
  readonly rms: number;
}

export interface GradientProbe {
  readonly images: number;
  readonly trainableBlocks: number;
  readonly layers: readonly GradientLayer[];
}

export interface DeadReluLayer {
  readonly layer: string;
  readonly channels: number;
  /** Channels whose output is zero at every position of every sampled image. */
  readonly dead: number;
}

export interface DeadReluProbe {
  readonly images: number;
  readonly layers: readonly DeadReluLayer[];
}

export interface ForgettingProbe {
  readonly stage: string;
  readonly stageLr: number;
  readonly heldOut: number;
  readonly before: LossAccuracy;
  readonly after: LossAccuracy;
}

export interface ProbeResults {
  readonly classes: number;
  readonly sampleSize: number;
  /** The first stage's name, trainable blocks and learning rate. */
  readonly stage: { readonly name: string; readonly trainableBlocks: number; readonly lr: number };
  readonly optimizer: string;
  /** The weights file whose own (trained) head the probes start from; absent: a fresh head. */
  readonly headFrom?: string;
  /** Mean loss over the sample at initialisation (dropout off). */
  readonly initialLoss: number;
  readonly overfit: OverfitProbe;
  readonly lrRange: LrRangeProbe;
  readonly gradients: GradientProbe;
  readonly deadRelu: DeadReluProbe;
  /** Present when the config's stages unfreeze blocks. */
  readonly forgetting?: ForgettingProbe;
}
