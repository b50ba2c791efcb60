/**
 * The vggkit training config that reproduces a user's Keras setup: the base it fine-tunes, its
 * head (Flatten or average pooling, the hidden Dense, the dropout), its optimizer and rate, its
 * loss, and which blocks it trains. `doctor --keras MODEL --fix-config OUT` patches this with
 * every fixable finding, so "retrain it correctly" is `vggkit train DATA --config OUT`. Settings
 * vggkit cannot express (two hidden Dense layers, an optimizer it does not have) are left at
 * vggkit's defaults and listed in `dropped`.
 */
import type { KerasAnalysis } from '../model/keras/analyse.js';
import type { KerasModel } from '../model/keras/model.js';

export interface ConfigFromKeras {
  readonly config: Record<string, unknown>;
  /** What of the Keras setup the config could not carry, one line each. */
  readonly dropped: readonly string[];
}

const OPTIMIZERS = ['adam', 'adamw', 'sgd'] as const;

export function configFromKeras(model: KerasModel, analysis: KerasAnalysis): ConfigFromKeras {
  const config: Record<string, unknown> = {};
  const dropped: string[] = [];
  const vgg = analysis.vgg;
  if (vgg !== undefined) {
    config['arch'] = vgg.family;
    config['weights'] = 'imagenet';
    if (vgg.arch === undefined)
      dropped.push(
        `custom conv widths ${JSON.stringify(vgg.widths)} (vggkit trains ${vgg.family}'s)`,
      );
    const size = model.inputShape?.[1];
    if (typeof size === 'number' && size >= 32) config['inputSize'] = size;
    const pooled =
      vgg.pooling ??
      vgg.head.find((l) => l.kind === 'avg' || l.kind === 'max' || l.kind === 'flatten')?.kind;
    if (pooled === 'avg' || pooled === 'flatten') config['head'] = pooled;
    else if (pooled === 'max')
      dropped.push('global max pooling (vggkit heads use Flatten or average pooling)');
    const denses = vgg.head.filter((l) => l.kind === 'dense');
    const hidden = denses.slice(0, -1);
    if (hidden[0]?.units !== undefined) config['dense'] = hidden[0].units;
    if (hidden.length > 1)
      dropped.push(`${hidden.length} hidden Dense layers (vggkit's head has one)`);
    const rate = vgg.head.find((l) => l.kind === 'dropout')?.rate;
    if (rate !== undefined) config['dropout'] = rate;
    if (vgg.trainableBlocks.length > 0)
      config['stages'] = [{ name: `block${Math.min(...vgg.trainableBlocks)}`, epochs: 20 }];
  } else {
    dropped.push(
      `the architecture of ${model.name} (not VGG-based; vggkit trains VGG16-family models)`,
    );
  }
  const optimizer = model.training?.optimizer;
  if (optimizer !== undefined) {
    if ((OPTIMIZERS as readonly string[]).includes(optimizer.name))
      config['optimizer'] = optimizer.name;
    else dropped.push(`optimizer ${optimizer.className} (vggkit has ${OPTIMIZERS.join(', ')})`);
    // Keras stores float32 rates (1e-4 -> 9.999999747378752e-05): round to what the user wrote.
    if (optimizer.learningRate !== undefined)
      config['lr'] = Number(optimizer.learningRate.toPrecision(6));
    if (optimizer.name === 'sgd' && optimizer.momentum !== undefined)
      config['momentum'] = optimizer.momentum;
  }
  const loss = model.training?.loss?.name;
  if (loss === 'binary_crossentropy') config['loss'] = 'binary_crossentropy';
  else if (loss === 'categorical_crossentropy' || loss === 'sparse_categorical_crossentropy')
    config['loss'] = 'categorical_crossentropy';
  else if (loss !== undefined)
    dropped.push(`loss ${loss} (vggkit has categorical_crossentropy, binary_crossentropy)`);
  return { config, dropped };
}
