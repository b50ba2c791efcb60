/**
 * The mean loss and accuracy over images seen in batches, written once for the fit loop's running
 * means, its validation pass and the doctor's probes. A TrainStep reports each batch's mean loss;
 * weighting it by the batch's size makes the mean over images, whatever the last batch's size
 * (Keras' running means and `evaluate` do the same).
 */
import { concatRows, type Float32Tensor } from '../util/tensor.js';

export class BatchMean {
  private lossSum = 0;
  private correctSum = 0;
  private seen = 0;

  /** One batch of `images` with mean loss `loss` and `correct` right answers. */
  add(loss: number, correct: number, images: number): void {
    this.lossSum += loss * images;
    this.correctSum += correct;
    this.seen += images;
  }

  get images(): number {
    return this.seen;
  }

  get loss(): number {
    return this.lossSum / this.seen;
  }

  get accuracy(): number {
    return this.correctSum / this.seen;
  }
}

export interface LabeledBatch {
  readonly x: Float32Tensor;
  readonly y: Float32Tensor;
}

/**
 * What evaluating needs of a TrainStep: the loss, right answers and the head's outputs
 * ([n, outputs]) of one batch, no update.
 */
export interface Evaluator {
  evaluate(
    x: Float32Tensor,
    y: Float32Tensor,
  ): Promise<{ loss: number; correct: number; probabilities: Float32Tensor }>;
}

export interface Evaluation {
  readonly loss: number;
  readonly accuracy: number;
  /** The head's outputs for every item, in order ([items, outputs]). */
  readonly outputs: Float32Tensor;
}

/** Mean loss and accuracy of `step` over `items`, `batchSize` at a time, in order, and its outputs. */
export async function evaluateInBatches<T>(
  step: Evaluator,
  items: readonly T[],
  batchSize: number,
  toBatch: (items: readonly T[]) => Promise<LabeledBatch>,
): Promise<Evaluation> {
  const mean = new BatchMean();
  const outputs: Float32Array[] = [];
  let width = 0;
  for (let i = 0; i < items.length; i += batchSize) {
    const slice = items.slice(i, i + batchSize);
    const { x, y } = await toBatch(slice);
    const result = await step.evaluate(x, y);
    mean.add(result.loss, result.correct, slice.length);
    width = result.probabilities.dims[1] ?? 0;
    outputs.push(result.probabilities.data.slice(0, slice.length * width));
  }
  return { loss: mean.loss, accuracy: mean.accuracy, outputs: concatRows(outputs, width) };
}
