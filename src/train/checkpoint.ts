/**
 * The resume checkpoint: one safetensors file written atomically after every completed epoch, so
 * a run killed at any moment (kill -9 included) resumes from its last completed epoch and ends
 * bit-identical to an uninterrupted run. It holds the trained parameters (`param/<key>`), the
 * optimizer's slots (`opt/<slot>`) and, as JSON in the metadata, everything else the loop needs:
 * epochs completed, stage, learning rate, step count, history, callback states, dropout RNG. With
 * a validation set it also holds the last validation pass's class probabilities (`val/probabilities`,
 * its files and labels in the metadata), so a resumed run that has nothing left to train writes
 * predictions.json without running the network again.
 */
import { stat } from 'node:fs/promises';
import type { OptimizerState } from '../engine/train-step.js';
import { readSafetensors, writeSafetensors } from '../model/safetensors.js';
import type { WeightMap } from '../model/weight-map.js';
import type { AtomicWriteOptions } from '../util/atomic.js';
import { VggkitError } from '../util/errors.js';
import type { Float32Tensor } from '../util/tensor.js';
import type { EpochLogs } from './events.js';
import type { ValidationOutputs } from './predictions.js';

export const CHECKPOINT_FILE = 'checkpoint.safetensors';
const FORMAT = 'vggkit-checkpoint-1';

export interface LoopState {
  readonly epochsCompleted: number;
  /** Index of the stage the last completed epoch belonged to. */
  readonly stage: number;
  /** Base learning rate (after ReduceLROnPlateau and stage factors), before schedules. */
  readonly baseLr: number;
  /** Optimizer steps taken over the whole run, for schedules. */
  readonly globalStep: number;
  readonly history: readonly EpochLogs[];
  readonly callbacks: Readonly<Record<string, unknown>>;
  /** Set when a callback ended training early: a resumed run must not train past that point. */
  readonly stopped?: { readonly by: string; readonly message: string };
}

export interface Checkpoint {
  readonly params: WeightMap;
  readonly optimizer: OptimizerState;
  readonly loop: LoopState;
  /** The validation outputs of the parameters in `params` (absent without a validation set). */
  readonly validation?: ValidationOutputs;
}

const VALIDATION_TENSOR = 'val/probabilities';

/** Validation outputs as safetensors entries: the probabilities, files and labels as metadata. */
export function validationEntries(validation: ValidationOutputs | undefined): {
  tensors: Map<string, Float32Tensor>;
  metadata: Record<string, string>;
} {
  if (validation === undefined) return { tensors: new Map(), metadata: {} };
  return {
    tensors: new Map([[VALIDATION_TENSOR, validation.probabilities]]),
    metadata: {
      validation: JSON.stringify({ files: validation.files, labels: validation.labels }),
    },
  };
}

/** The validation outputs `validationEntries` wrote, if any; other tensors are not looked at. */
export function readValidationEntries(
  tensors: ReadonlyMap<string, Float32Tensor>,
  metadata: Readonly<Record<string, string>>,
): ValidationOutputs | undefined {
  const probabilities = tensors.get(VALIDATION_TENSOR);
  if (probabilities === undefined || metadata.validation === undefined) return undefined;
  const { files, labels } = JSON.parse(metadata.validation) as {
    files: string[];
    labels: number[];
  };
  return { files, labels, probabilities };
}

/** Whether a safetensors entry is one of `validationEntries`' rather than a parameter. */
export function isValidationEntry(name: string): boolean {
  return name === VALIDATION_TENSOR;
}

export async function saveCheckpoint(
  file: string,
  checkpoint: Checkpoint,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const tensors = new Map<string, Float32Tensor>();
  for (const [key, t] of checkpoint.params) tensors.set(`param/${key}`, t);
  for (const [key, t] of checkpoint.optimizer.slots) tensors.set(`opt/${key}`, t);
  const validation = validationEntries(checkpoint.validation);
  for (const [key, t] of validation.tensors) tensors.set(key, t);
  const metadata = {
    ...validation.metadata,
    format: FORMAT,
    loop: JSON.stringify(checkpoint.loop, (_k, v: unknown) =>
      typeof v === 'number' && !Number.isFinite(v) ? String(v) : v,
    ),
    optimizer: JSON.stringify({
      step: checkpoint.optimizer.step,
      dropoutRandomState: checkpoint.optimizer.dropoutRandomState,
    }),
  };
  await writeSafetensors(file, tensors, metadata, options);
}

export async function checkpointExists(file: string): Promise<boolean> {
  return (await stat(file).catch(() => undefined))?.isFile() === true;
}

export async function loadCheckpoint(file: string): Promise<Checkpoint> {
  const { tensors, metadata } = await readSafetensors(file);
  if (
    metadata.format !== FORMAT ||
    metadata.loop === undefined ||
    metadata.optimizer === undefined
  ) {
    throw new VggkitError(
      'CHECKPOINT_FORMAT',
      `${file}: expected a vggkit training checkpoint (${FORMAT}), found ${metadata.format ?? 'no format tag'}`,
      { file },
    );
  }
  const params: WeightMap = new Map();
  const slots = new Map<string, Float32Tensor>();
  for (const [name, t] of tensors) {
    if (name.startsWith('param/')) params.set(name.slice('param/'.length), t);
    else if (name.startsWith('opt/')) slots.set(name.slice('opt/'.length), t);
  }
  const loop = JSON.parse(metadata.loop, (_k, v: unknown) =>
    v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v,
  ) as LoopState;
  const optimizer = JSON.parse(metadata.optimizer) as { step: number; dropoutRandomState: number };
  const validation = readValidationEntries(tensors, metadata);
  return {
    params,
    optimizer: { ...optimizer, slots },
    loop,
    ...(validation === undefined ? {} : { validation }),
  };
}
