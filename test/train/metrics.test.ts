import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  accuracy,
  confusionMatrix,
  crossEntropy,
  evaluationReport,
  predictedClasses,
} from '../../src/train/metrics.js';
import { tensor } from '../../src/util/tensor.js';

/*
 * Six samples, three classes (cat, dog, fox). Predicted (argmax) vs true:
 *   0: true cat, pred cat   1: true cat, pred dog   2: true dog, pred dog
 *   3: true dog, pred dog   4: true fox, pred cat   5: true cat, pred cat
 * Confusion (rows true, cols predicted): cat [2,1,0], dog [0,2,0], fox [1,0,0].
 * cat: precision 2/3 (col 2+0+1), recall 2/3 (row 3), f1 2/3, support 3
 * dog: precision 2/3 (col 1+2+0), recall 2/2 = 1, f1 = 2*(2/3)*1/(2/3+1) = 0.8, support 2
 * fox: precision 0/0 -> 0, recall 0/1 = 0, f1 0, support 1
 * accuracy 4/6.
 */
const probs = tensor(
  [6, 3],
  Float32Array.from([
    0.5, 0.25, 0.25, 0.25, 0.5, 0.25, 0.125, 0.75, 0.125, 0.25, 0.5, 0.25, 0.5, 0.25, 0.25, 1, 0, 0,
  ]),
);
const labels = [0, 0, 1, 1, 2, 0];

test('confusion matrix, accuracy and per-class precision/recall/F1 computed by hand', () => {
  assert.deepEqual(confusionMatrix(probs, labels), [
    [2, 1, 0],
    [0, 2, 0],
    [1, 0, 0],
  ]);
  assert.equal(accuracy(probs, labels), 4 / 6);
  const report = evaluationReport(probs, labels, ['cat', 'dog', 'fox']);
  assert.deepEqual(Object.keys(report).sort(), [
    'accuracy',
    'classNames',
    'confusionMatrix',
    'loss',
    'perClass',
  ]);
  const [cat, dog, fox] = report.perClass;
  assert.deepEqual(cat, { name: 'cat', precision: 2 / 3, recall: 2 / 3, f1: 2 / 3, support: 3 });
  assert.equal(dog?.precision, 2 / 3);
  assert.equal(dog?.recall, 1);
  assert.ok(Math.abs((dog?.f1 ?? 0) - 0.8) < 1e-12);
  assert.deepEqual(fox, { name: 'fox', precision: 0, recall: 0, f1: 0, support: 1 });
});

test('loss is the mean of -log p(true class), clipped at 1e-7 as Keras does', () => {
  // p(true): 0.5, 0.25, 0.75, 0.5, 0.25, 1 -> clipped to 1 - 1e-7.
  const expected =
    -(
      Math.log(0.5) +
      Math.log(0.25) +
      Math.log(0.75) +
      Math.log(0.5) +
      Math.log(0.25) +
      Math.log(1 - 1e-7)
    ) / 6;
  assert.ok(Math.abs(crossEntropy(probs, labels) - expected) < 1e-12);
  const zero = tensor([1, 2], Float32Array.from([1, 0]));
  assert.ok(
    Math.abs(crossEntropy(zero, [1]) - -Math.log(1e-7)) < 1e-9,
    'a zero probability costs -log(1e-7), not Infinity',
  );
});

test('argmax ties go to the first class; bad shapes and labels are refused', () => {
  assert.deepEqual(
    [...predictedClasses(tensor([2, 3], Float32Array.from([0.4, 0.4, 0.2, 0.2, 0.4, 0.4])))],
    [0, 1],
  );
  assert.throws(() => accuracy(probs, [0, 1]), /expected 6 labels, received 2/);
  assert.throws(
    () => accuracy(probs, [0, 0, 1, 1, 3, 0]),
    /label 4 is 3, expected an integer in \[0, 3\)/,
  );
  assert.throws(
    () => evaluationReport(probs, labels, ['a', 'b']),
    /expected 3 class names, received 2/,
  );
});
