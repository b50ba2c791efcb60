import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chart, chartSpecs } from '../../src/report/chart-spec.js';
import {
  batchLossChart,
  emaSmooth,
  epochCharts,
  epochPoint,
  epochPoints,
  lrDrops,
  overlayCharts,
  smoothBatches,
} from '../../src/report/curves.js';

test('epoch charts: one value per epoch, gaps for missing or non-finite values, stages marked', () => {
  const points = [
    { epoch: 1, loss: 1, accuracy: 0.5, lr: 1e-3, stage: 'head' },
    { epoch: 2, loss: Number.NaN, accuracy: 0.6, lr: 1e-3, stage: 'head' },
    { epoch: 3, loss: 0.5, accuracy: 0.7, lr: 1e-4, stage: 'block5' },
  ];
  const [loss, accuracy, lr] = epochCharts(points, { markLrDrops: true });
  assert.deepEqual(loss?.x, [1, 2, 3]);
  assert.deepEqual(
    loss?.series.map((s) => s.label),
    ['loss'],
    'no validation series without data',
  );
  assert.deepEqual(loss?.series[0]?.values, [1, null, 0.5]);
  assert.deepEqual(accuracy?.yRange, [0, 1]);
  assert.deepEqual(
    loss?.markers?.map((m) => [m.x, m.label]),
    [
      [0.5, 'stage head'],
      [2.5, 'stage block5'],
    ],
  );
  // The drop at the stage change is the stage's factor, not ReduceLROnPlateau: not marked.
  assert.equal(lr?.yLog, true);
  assert.deepEqual(
    lr?.markers?.filter((m) => m.label.startsWith('lr')),
    [],
  );
});

test('lrDrops marks a reduction inside a stage with its factor', () => {
  const drops = lrDrops(
    [
      { epoch: 1, lr: 1e-4 },
      { epoch: 2, lr: 1e-4 },
      { epoch: 3, lr: 2e-5 },
    ],
    [{ name: 'head', firstEpoch: 1 }],
  );
  assert.deepEqual(
    drops.map((d) => [d.x, d.label]),
    [[3, 'lr ×0.2']],
  );
});

test('emaSmooth is TensorBoard’s debiased EMA: it starts at the first value and skips NaN', () => {
  const s = emaSmooth([2, 2, Number.NaN, 2], 0.6);
  assert.deepEqual(
    s.map((v) => (v === null ? null : Number(v.toFixed(12)))),
    [2, 2, null, 2],
  );
  const [a, b] = emaSmooth([1, 0], 0.5) as [number, number];
  assert.equal(a, 1);
  // (0.5*0.5*1 + 0.5*0) / (1 - 0.25) = 1/3
  assert.ok(Math.abs(b - 1 / 3) < 1e-12, String(b));
});

test('batchLossChart draws at most maxPoints, always the last batch', () => {
  const batches = smoothBatches(
    Array.from({ length: 1001 }, (_, i) => ({ x: 1 + i / 100, loss: 1 / (i + 1) })),
  );
  const spec = batchLossChart(batches, { maxPoints: 100 });
  assert.ok(spec.x.length <= 101, String(spec.x.length));
  assert.equal(spec.x[spec.x.length - 1], batches[1000]?.x);
  assert.equal(spec.series.length, 2);
});

test('overlayCharts aligns runs of different lengths on the union of their epochs', () => {
  const [valLoss] = overlayCharts([
    {
      name: 'a',
      points: [
        { epoch: 1, valLoss: 1 },
        { epoch: 2, valLoss: 0.5 },
      ],
    },
    { name: 'b', points: [{ epoch: 1, valLoss: 2 }], dashed: true },
  ]);
  assert.deepEqual(valLoss?.x, [1, 2]);
  assert.deepEqual(
    valLoss?.series.map((s) => s.values),
    [
      [1, 0.5],
      [2, null],
    ],
  );
  assert.equal(valLoss?.series[1]?.dashed, true);
});

test('chart() survives titles that would end a script element, and chartSpecs reads it back', () => {
  const [spec] = epochCharts([{ epoch: 1, loss: 1 }], { idPrefix: 'x' });
  const evil = { ...spec!, title: '</script><script>alert(1)</script>' };
  const html = chart(evil);
  assert.doesNotMatch(html.slice(html.indexOf('json">') + 6, html.lastIndexOf('</script>')), /</);
  assert.deepEqual(chartSpecs(html), [evil]);
});

test('epoch logs become points by their Keras keys; what is not a number is left out', () => {
  const history = [
    { loss: 1.2, accuracy: 0.4, val_loss: 1.5, val_accuracy: 0.3, lr: 1e-4, epoch: 0 },
    { loss: Number.NaN, accuracy: 0.5, lr: 1e-4, val_accuracy: 'n/a' },
  ];
  assert.deepEqual(epochPoints(history), [
    { epoch: 1, loss: 1.2, accuracy: 0.4, valLoss: 1.5, valAccuracy: 0.3, lr: 1e-4 },
    { epoch: 2, loss: Number.NaN, accuracy: 0.5, lr: 1e-4 },
  ]);
  assert.deepEqual(epochPoint({ loss: 0.9 }, 7, 'block5'), {
    epoch: 7,
    loss: 0.9,
    stage: 'block5',
  });
});
