/**
 * The Keras code that does what a vggkit setting does, so a finding about a Keras model can say
 * the line to change as well as the flag. One owner: the Keras checks (checks/keras.ts) and the
 * fix loop's measured fix (checks/fix.ts) write their lines here.
 */
import type { TrainConfig } from '../train/config.js';
import type { ConfigPatch } from './types.js';

const OPTIMIZER_CLASSES: Readonly<Record<string, string>> = {
  adam: 'Adam',
  adamw: 'AdamW',
  sgd: 'SGD',
  rmsprop: 'RMSprop',
  nadam: 'Nadam',
  adamax: 'Adamax',
  lion: 'Lion',
};

/** `optimizer=keras.optimizers.Adam(learning_rate=…)`; SGD with its momentum (default 0.9, the article's). */
export function optimizerLine(name: string, lr: number, momentum = 0.9): string {
  const cls = OPTIMIZER_CLASSES[name] ?? name;
  return `optimizer=keras.optimizers.${cls}(learning_rate=${lr}${name === 'sgd' ? `, momentum=${momentum}` : ''})`;
}

/**
 * The Keras lines for a config patch over `setup`, one per setting Keras spells differently; the
 * settings with no one-line Keras equivalent (stages, class weights, input size) are left to the
 * vggkit flag beside them. Undefined when none applies.
 */
export function kerasLinesFor(patch: ConfigPatch, setup: TrainConfig): string | undefined {
  const lines: string[] = [];
  if (patch.lr !== undefined || patch.optimizer !== undefined || patch.momentum !== undefined)
    lines.push(
      `model.compile(${optimizerLine(
        patch.optimizer ?? setup.optimizer,
        patch.lr ?? setup.lr,
        patch.momentum ?? setup.momentum,
      )}, ...)`,
    );
  if (patch.labelSmoothing !== undefined)
    lines.push(
      `loss=keras.losses.CategoricalCrossentropy(label_smoothing=${patch.labelSmoothing})`,
    );
  if (patch.dropout !== undefined) lines.push(`x = layers.Dropout(${patch.dropout})(x)`);
  if (patch.batchSize !== undefined) lines.push(`model.fit(..., batch_size=${patch.batchSize})`);
  return lines.length === 0 ? undefined : lines.join('\n');
}
