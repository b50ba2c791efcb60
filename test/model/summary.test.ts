/** Parameter counts against the figures Keras' documentation publishes for its VGG models. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { VggOptions } from '../../src/model/architectures.js';
import { modelLayers } from '../../src/model/head.js';
import { renderSummary, summarize } from '../../src/model/summary.js';

const base: VggOptions = {
  arch: 'vgg16',
  includeTop: false,
  inputSize: [224, 224],
  pooling: 'none',
  classes: 1000,
};

test('VGG16 without the top has 14,714,688 parameters, with it 138,357,544 (Keras model.summary)', () => {
  assert.equal(summarize('vgg16', modelLayers(base)).totalParams, 14_714_688);
  assert.equal(
    summarize('vgg16', modelLayers({ ...base, includeTop: true })).totalParams,
    138_357_544,
  );
});

test('VGG19 with the top has 143,667,240 parameters (Keras applications table)', () => {
  assert.equal(
    summarize('vgg19', modelLayers({ ...base, arch: 'vgg19', includeTop: true })).totalParams,
    143_667_240,
  );
});

test('the table lists every layer with its Keras type and shape, and the totals', () => {
  const text = renderSummary(summarize('vgg16', modelLayers({ ...base, pooling: 'avg' })));
  assert.match(text, /block1_conv1 \(Conv2D\)\s+\(None, 224, 224, 64\)\s+1,792\s+Y/);
  assert.match(text, /block5_pool \(MaxPooling2D\)\s+\(None, 7, 7, 512\)\s+0/);
  assert.match(text, /global_average_pooling2d \(GlobalAveragePooling2D\)\s+\(None, 512\)\s+0/);
  assert.match(text, /Total params: 14,714,688\n/);
});

test('frozen layers count as non-trainable', () => {
  const summary = summarize('vgg16', modelLayers(base), (name) => name.startsWith('block5'));
  // block5: three 3x3 512->512 convs with biases.
  assert.equal(summary.trainableParams, 3 * (3 * 3 * 512 * 512 + 512));
  assert.equal(summary.nonTrainableParams, 14_714_688 - summary.trainableParams);
});
