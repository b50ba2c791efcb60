/**
 * The training lowering table: every layer kind has a row, each row emits its layer with the
 * declared output shape, and a kind without a row is an error naming the layer (never skipped).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BATCH, GraphBuilder, type Sym } from '../../src/graph/ir.js';
import { LAYER_KINDS, type LayerKind, type LayerSpec } from '../../src/model/architectures.js';
import { lowerLayers, TRAIN_LOWERING } from '../../src/engine/train-lowering.js';
import type { TrainHead } from '../../src/engine/train-plan.js';
import { convChoice, fixedConvLowerings, type ConvChoice } from '../../src/engine/conv-lowering.js';

const HEAD: TrainHead = {
  kind: 'flatten',
  dense: 5,
  dropout: 0.5,
  classes: 3,
  loss: 'categorical_crossentropy',
};

/** One small layer of each kind, its input shape, and the ops it must record on the tape. */
const SAMPLES: Record<LayerKind, { input: number[]; layer: LayerSpec; ops: string[] }> = {
  input: {
    input: [4, 4, 2],
    layer: { name: 'input_1', kind: 'input', outputShape: [4, 4, 2] },
    ops: [],
  },
  conv: {
    input: [4, 4, 2],
    layer: {
      name: 'block1_conv1',
      kind: 'conv',
      outputShape: [4, 4, 3],
      kernelShape: [3, 3, 2, 3],
      biasShape: [3],
      activation: 'relu',
      block: 1,
    },
    ops: ['conv3x3', 'relu'],
  },
  pool: {
    input: [4, 4, 2],
    layer: { name: 'block1_pool', kind: 'pool', outputShape: [2, 2, 2], block: 1 },
    ops: ['maxPool2x2'],
  },
  flatten: {
    input: [2, 2, 2],
    layer: { name: 'flatten', kind: 'flatten', outputShape: [8] },
    ops: ['flatten'],
  },
  dense: {
    input: [8],
    layer: {
      name: 'dense',
      kind: 'dense',
      outputShape: [5],
      kernelShape: [8, 5],
      biasShape: [5],
      activation: 'relu',
    },
    ops: ['dense', 'relu'],
  },
  dropout: {
    input: [5],
    layer: { name: 'dropout', kind: 'dropout', outputShape: [5] },
    ops: ['dropout'],
  },
  'global-avg': {
    input: [3, 3, 4],
    layer: { name: 'global_average_pooling2d', kind: 'global-avg', outputShape: [4] },
    ops: ['globalAvgPool'],
  },
  'global-max': {
    input: [3, 3, 4],
    layer: { name: 'global_max_pooling2d', kind: 'global-max', outputShape: [4] },
    ops: ['globalMaxPool'],
  },
};

/** Every conv of these tests lowered by vggkit's GEMM (NHWC, the graph input's layout). */
const gemm = (layer: LayerSpec): ConvChoice =>
  convChoice('gemm', { layer: layer.name, h: 4, w: 4, cin: 2, cout: 3, inputGrad: true }, 2);

function lowerOne(kind: LayerKind, training: boolean): { out: Sym; ops: string[] } {
  const { input, layer } = SAMPLES[kind];
  const g = new GraphBuilder();
  const x = g.input('x', [BATCH, ...input]);
  const params = new Map<string, Sym>();
  if (layer.kernelShape !== undefined)
    params.set(`${layer.name}/kernel`, g.input('k', layer.kernelShape));
  if (layer.biasShape !== undefined)
    params.set(`${layer.name}/bias`, g.input('b', layer.biasShape));
  const out = lowerLayers(
    { g, param: (key) => params.get(key) as Sym, conv: gemm, training, head: HEAD },
    x,
    [layer],
  );
  return { out, ops: g.tape.map((e) => e.op.name) };
}

test('the training lowering table has exactly one row per layer kind', () => {
  assert.deepEqual(Object.keys(TRAIN_LOWERING).sort(), [...LAYER_KINDS].sort());
});

for (const kind of LAYER_KINDS) {
  test(`layer kind ${kind} lowers to its ops with the declared output shape`, () => {
    const { out, ops } = lowerOne(kind, true);
    assert.deepEqual(ops, SAMPLES[kind].ops);
    assert.deepEqual(out.shape, [BATCH, ...SAMPLES[kind].layer.outputShape]);
  });
}

test('evaluation graphs leave dropout out; training graphs without a rate too', () => {
  assert.deepEqual(lowerOne('dropout', false).ops, []);
  const g = new GraphBuilder();
  const x = g.input('x', [BATCH, 5]);
  const out = lowerLayers(
    { g, param: () => x, conv: gemm, training: true, head: { ...HEAD, dropout: 0 } },
    x,
    [SAMPLES.dropout.layer],
  );
  assert.equal(out, x);
});

test('a layer kind without a lowering row is an error naming the layer, not a skipped layer', () => {
  const g = new GraphBuilder();
  const x = g.input('x', [BATCH, 4, 4, 2]);
  const odd = {
    name: 'block1_upsample',
    kind: 'upsample',
    outputShape: [8, 8, 2],
  } as unknown as LayerSpec;
  assert.throws(
    () => lowerLayers({ g, param: () => x, conv: gemm, training: true, head: HEAD }, x, [odd]),
    /layer block1_upsample: no training lowering for layer kind "upsample"/,
  );
});

test('an NCHW (ORT Conv) block between NHWC neighbours: one transpose in, pools in NCHW, one transpose before flatten', () => {
  const layers: LayerSpec[] = [
    { ...SAMPLES.conv.layer, name: 'block1_conv1' },
    { ...SAMPLES.conv.layer, name: 'block1_conv2', kernelShape: [3, 3, 3, 3] },
    { name: 'block1_pool', kind: 'pool', outputShape: [2, 2, 3], block: 1 },
    { name: 'flatten', kind: 'flatten', outputShape: [12] },
  ];
  const g = new GraphBuilder();
  const x = g.input('x', [BATCH, 4, 4, 2]);
  const params = new Map<string, Sym>();
  for (const l of layers.filter((l) => l.kind === 'conv')) {
    params.set(`${l.name}/kernel`, g.input(`${l.name}_k`, l.kernelShape!));
    params.set(`${l.name}/bias`, g.input(`${l.name}_b`, l.biasShape!));
  }
  const convs = fixedConvLowerings(layers, [4, 4, 2], 'ort', 2);
  const out = lowerLayers(
    {
      g,
      param: (key) => params.get(key) as Sym,
      conv: (layer) => convs.get(layer.name) as ConvChoice,
      training: true,
      head: HEAD,
    },
    x,
    layers,
  );
  assert.deepEqual(
    g.tape.map((e) => e.op.name),
    [
      'toLayout',
      'conv3x3Nchw',
      'relu',
      'conv3x3Nchw',
      'relu',
      'maxPool2x2Nchw',
      'toLayout',
      'flatten',
    ],
  );
  assert.deepEqual(out.shape, [BATCH, 12]);
});
