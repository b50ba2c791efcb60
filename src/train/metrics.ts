/**
 * Classification metrics from predicted probabilities ([n, classes], rows summing to 1) and integer
 * labels. Conventions follow scikit-learn: confusion rows are true classes and columns predicted
 * ones; a precision or recall whose denominator is 0 is reported as 0 (sklearn's zero_division=0).
 * The loss is categorical cross-entropy with Keras' clipping of probabilities to [1e-7, 1 - 1e-7].
 */
import type { Float32Tensor } from '../util/tensor.js';

const KERAS_EPSILON = 1e-7;

export interface ClassMetrics {
  readonly name: string;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  /** Number of samples whose true class this is. */
  readonly support: number;
}

export interface EvaluationReport {
  readonly accuracy: number;
  readonly loss: number;
  readonly perClass: ClassMetrics[];
  readonly confusionMatrix: number[][];
  readonly classNames: string[];
}

function checkShapes(
  probabilities: Float32Tensor,
  labels: ArrayLike<number>,
): { n: number; k: number } {
  const [n, k] = probabilities.dims;
  if (probabilities.dims.length !== 2 || n === undefined || k === undefined) {
    throw new RangeError(
      `expected probabilities of shape [n, classes], received [${probabilities.dims.join(', ')}]`,
    );
  }
  if (labels.length !== n) throw new RangeError(`expected ${n} labels, received ${labels.length}`);
  for (let i = 0; i < n; i++) {
    const label = labels[i] as number;
    if (!Number.isInteger(label) || label < 0 || label >= k)
      throw new RangeError(`label ${i} is ${label}, expected an integer in [0, ${k})`);
  }
  return { n, k };
}

/** Index of the largest probability per row; ties go to the first, as numpy's argmax. */
export function predictedClasses(probabilities: Float32Tensor): Int32Array {
  const [n = 0, k = 0] = probabilities.dims;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < k; j++)
      if ((probabilities.data[i * k + j] as number) > (probabilities.data[i * k + best] as number))
        best = j;
    out[i] = best;
  }
  return out;
}

export function accuracy(probabilities: Float32Tensor, labels: ArrayLike<number>): number {
  const { n } = checkShapes(probabilities, labels);
  const predicted = predictedClasses(probabilities);
  let correct = 0;
  for (let i = 0; i < n; i++) if (predicted[i] === labels[i]) correct++;
  return n === 0 ? 0 : correct / n;
}

export function crossEntropy(probabilities: Float32Tensor, labels: ArrayLike<number>): number {
  const { n, k } = checkShapes(probabilities, labels);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const p = probabilities.data[i * k + (labels[i] as number)] as number;
    total -= Math.log(Math.min(1 - KERAS_EPSILON, Math.max(KERAS_EPSILON, p)));
  }
  return n === 0 ? 0 : total / n;
}

export function confusionMatrix(
  probabilities: Float32Tensor,
  labels: ArrayLike<number>,
): number[][] {
  const { n, k } = checkShapes(probabilities, labels);
  const matrix = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const predicted = predictedClasses(probabilities);
  for (let i = 0; i < n; i++)
    (matrix[labels[i] as number] as number[])[predicted[i] as number] += 1;
  return matrix;
}

export function perClassMetrics(
  matrix: readonly (readonly number[])[],
  classNames: readonly string[],
): ClassMetrics[] {
  return classNames.map((name, c) => {
    const tp = matrix[c]?.[c] ?? 0;
    const support = (matrix[c] ?? []).reduce((a, b) => a + b, 0);
    const predicted = matrix.reduce((sum, row) => sum + (row[c] ?? 0), 0);
    const precision = predicted === 0 ? 0 : tp / predicted;
    const recall = support === 0 ? 0 : tp / support;
    const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    return { name, precision, recall, f1, support };
  });
}

export function evaluationReport(
  probabilities: Float32Tensor,
  labels: ArrayLike<number>,
  classNames: readonly string[],
): EvaluationReport {
  const { k } = checkShapes(probabilities, labels);
  if (classNames.length !== k)
    throw new RangeError(`expected ${k} class names, received ${classNames.length}`);
  const matrix = confusionMatrix(probabilities, labels);
  return {
    accuracy: accuracy(probabilities, labels),
    loss: crossEntropy(probabilities, labels),
    perClass: perClassMetrics(matrix, classNames),
    confusionMatrix: matrix,
    classNames: [...classNames],
  };
}
