/**
 * The 1000 ImageNet classes in output order, from Keras' imagenet_class_index.json (the index
 * `decode_predictions` uses): WordNet id and Keras' short label per predictions column.
 */
import index from './imagenet-classes.json' with { type: 'json' };

export interface ClassName {
  /** WordNet id (e.g. n02123045); absent for classes a user trained. */
  readonly id?: string;
  readonly label: string;
}

export const IMAGENET_CLASSES: readonly ClassName[] = Array.from({ length: 1000 }, (_, i) => {
  const entry = (index as Record<string, readonly string[]>)[String(i)];
  if (entry === undefined) throw new Error(`imagenet-classes.json has no entry ${i}`);
  return { id: String(entry[0]), label: String(entry[1]) };
});
