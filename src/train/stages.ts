/**
 * Progressive unfreezing stages (the seed's section 3): `head:10,block5:5,block4:5` trains the head
 * alone for 10 epochs, then block5 and the head for 5, then block4 and above for 5. Each stage must
 * unfreeze more than the one before it, so the names go strictly downward.
 */
import type { StageSpec } from './config.js';
import { invalidOption } from '../util/errors.js';

export const STAGE_NAMES = ['head', 'block5', 'block4', 'block3', 'block2', 'block1'] as const;

/** 0 for `head` … 5 for `block1`: how many conv blocks are trainable in the stage. */
export function unfrozenBlocks(stage: StageSpec): number {
  return (STAGE_NAMES as readonly string[]).indexOf(stage.name);
}

/**
 * Conv blocks that stay frozen through every stage while the base starts from random weights
 * (`weights: none`): freezing keeps weights as they are, which only helps when they are pretrained,
 * so these blocks compute fixed random features for the whole run. 0 when the weights are
 * pretrained or every block trains by the last stage.
 */
export function frozenRandomBlocks(config: {
  readonly weights: string;
  readonly stages: readonly StageSpec[];
}): number {
  if (config.weights !== 'none') return 0;
  const deepest = Math.max(0, ...config.stages.map(unfrozenBlocks));
  return STAGE_NAMES.length - 1 - deepest;
}

/** The warning train and sweep print before training on frozen random blocks; undefined when there are none. */
export function frozenRandomWarning(
  config: Parameters<typeof frozenRandomBlocks>[0],
): string | undefined {
  const frozen = frozenRandomBlocks(config);
  if (frozen === 0) return undefined;
  const which =
    frozen === STAGE_NAMES.length - 1
      ? 'the whole base stays frozen'
      : `blocks 1-${frozen} stay frozen`;
  return `warning: --weights none starts the base from random weights, and ${which}: frozen random filters give fixed random features. Start from pretrained weights, or train every block (--stages block1:N)`;
}

/** Checks names, epochs and order; `name` is the option being checked (`--stages`, `config.json: stages`). */
export function validateStages(stages: readonly StageSpec[], name: string): StageSpec[] {
  let previous = -1;
  for (const stage of stages) {
    const depth = (STAGE_NAMES as readonly string[]).indexOf(stage.name);
    if (depth < 0)
      throw invalidOption(name, `stage names from ${STAGE_NAMES.join(', ')}`, stage.name);
    if (!Number.isInteger(stage.epochs) || stage.epochs < 1) {
      throw invalidOption(
        name,
        `a whole number of epochs > 0 for stage ${stage.name}`,
        stage.epochs,
      );
    }
    if (depth <= previous) {
      throw invalidOption(
        name,
        `stages that unfreeze downward (head, block5, block4 … block1), each after the one above it; ${stage.name} cannot follow ${STAGE_NAMES[previous]}`,
        stage.name,
      );
    }
    previous = depth;
  }
  return stages.map((s) => ({ name: s.name, epochs: s.epochs }));
}

/** Parses `head:10,block5:5,block4:5`; an empty string means no stages. */
export function parseStages(spec: string, name = '--stages'): StageSpec[] {
  if (spec.trim() === '') return [];
  const stages = spec.split(',').map((part) => {
    const match = /^\s*([a-z0-9]+)\s*:\s*(\S+)\s*$/i.exec(part);
    if (match === null)
      throw invalidOption(name, 'comma-separated name:epochs pairs such as head:10,block5:5', spec);
    const stageName = (match[1] as string).toLowerCase();
    const epochs = match[2] as string;
    if (!/^\d+$/.test(epochs))
      throw invalidOption(name, `a whole number of epochs > 0 for stage ${stageName}`, epochs);
    return { name: stageName, epochs: Number(epochs) };
  });
  return validateStages(stages, name);
}
