/**
 * The mean loss and accuracy over images seen in batches, written once for the fit loop's running
 * means, its validation pass and the doctor's probes. A TrainStep reports each batch's mean loss;
 * weighting it by the batch's size makes the mean over images, whatever the last batch's size
 * (Keras' running means and `evaluate` do the same).
 */
import type { Float32Tensor } from '../util/tensor.js';

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

/** What evaluating needs of a TrainStep: the loss and right answers of one batch, no update. */
export interface Evaluator {
  evaluate(x: Float32Tensor, y: Float32Tensor): Promise<{ loss: number; correct: number }>;
}

/** Mean loss and accuracy of `step` over `items`, `batchSize` at a time, in order. */
export async function evaluateInBatches<T>(
  step: Evaluator,
  items: readonly T[],
  batchSize: number,
  toBatch: (items: readonly T[]) => Promise<LabeledBatch>,
): Promise<{ loss: number; accuracy: number }> {
  const mean = new BatchMean();
  for (let i = 0; i < items.length; i += batchSize) {
    const slice = items.slice(i, i + batchSize);
    const { x, y } = await toBatch(slice);
    const result = await step.evaluate(x, y);
    mean.add(result.loss, result.correct, slice.length);
  }
  return { loss: mean.loss, accuracy: mean.accuracy };
}
