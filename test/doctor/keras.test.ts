/**
 * The Keras model family on files in the layouts Keras writes (test/model/keras/writer.ts): every
 * finding fires on its broken model and its healthy twin produces no warning or error at all.
 * Models are narrow-width VGG16s at 32x32 (the shapes do not matter to these checks), alternating
 * between the .keras and legacy .h5 writers; the article's Example 2 is written at full VGG16
 * shape, in both formats, and must come out clean.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { copyFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ADAM_LIMITS } from '../../src/doctor/checks/config.js';
import { KERAS_CHECKS } from '../../src/doctor/checks/keras.js';
import { applyFixes } from '../../src/doctor/fix-config.js';
import { loadWeights } from '../../src/model/load-weights.js';
import { buildContext, type DoctorInputs } from '../../src/doctor/inputs.js';
import { runDoctor } from '../../src/doctor/run.js';
import type { Finding } from '../../src/doctor/types.js';
import { VggkitError } from '../../src/util/errors.js';
import {
  dense,
  example2,
  flatten,
  globalAvg,
  input,
  maxPool,
  conv,
  rescaling,
  type CompileDef,
  type LayerDef,
  type ModelDef,
  writeKerasH5,
  writeKerasJson,
  writeKerasZip,
} from '../model/keras/writer.js';
import { cleanDataset, kerasCsv, tempDir } from './fixtures.js';

const NARROW = [[4], [4], [8], [8], [8]] as const;
const REAL = join(import.meta.dirname, '..', '..', '..', 'shared', 'real-world', 'models');

let dir: string;
let twoClasses: string;
let threeClasses: string;
before(async () => {
  dir = await tempDir('doctor-keras-');
  twoClasses = await cleanDataset(join(dir, 'data2'), { perClass: 10, size: 32 });
  threeClasses = await cleanDataset(join(dir, 'data3'), {
    classes: ['a', 'b', 'c'],
    perClass: 8,
    size: 32,
    seed: 40,
  });
});
after(() => rm(dir, { recursive: true, force: true }));

const adam = (lr: number): CompileDef['optimizer'] => ({
  className: 'Adam',
  config: {
    name: 'Adam',
    learning_rate: lr,
    beta_1: 0.9,
    beta_2: 0.999,
    epsilon: 1e-7,
    amsgrad: false,
  },
});

/** Example 2 at 32x32 with narrow blocks: healthy. */
function healthy(classes = 2): ModelDef {
  return example2({ classes, widths: NARROW, size: 32 });
}

/** `def` with its last layer replaced and/or its compile settings changed. */
function variant(
  def: ModelDef,
  change: {
    out?: LayerDef;
    compile?: Partial<CompileDef>;
    optimizerSlotsFor?: ModelDef['optimizerSlotsFor'];
  },
): ModelDef {
  const layers = change.out === undefined ? def.layers : [...def.layers.slice(0, -1), change.out];
  return {
    ...def,
    layers,
    ...(def.compile === undefined ? {} : { compile: { ...def.compile, ...change.compile } }),
    ...(change.optimizerSlotsFor === undefined
      ? {}
      : { optimizerSlotsFor: change.optimizerSlotsFor }),
  };
}

type Format = 'keras' | 'h5' | 'json';
let counter = 0;

async function examine(
  def: ModelDef,
  format: Format,
  extra: Partial<DoctorInputs> = {},
): Promise<Finding[]> {
  const file = join(dir, `m${counter++}.${format}`);
  if (format === 'keras') await writeKerasZip(file, def);
  else if (format === 'h5') await writeKerasH5(file, def);
  else await writeKerasJson(file, def);
  const report = await runDoctor(await buildContext({ keras: file, ...extra }));
  return [...report.findings];
}

function problems(findings: readonly Finding[]): string[] {
  return findings
    .filter((f) => f.severity !== 'info')
    .map((f) => `${f.severity}:${f.id}: ${f.title}`);
}

async function firesAndTwin(
  id: string,
  broken: ModelDef,
  twin: ModelDef,
  format: Format,
  extra: Partial<DoctorInputs> = {},
): Promise<Finding> {
  const found = await examine(broken, format, extra);
  const finding = found.find((f) => f.id === id);
  assert.ok(finding, `expected ${id}, got ${found.map((f) => f.id).join(', ') || 'nothing'}`);
  assert.ok(
    finding.fix.keras !== undefined || finding.severity === 'info',
    `${id} carries the Keras line to change`,
  );
  // Issue #8 §2: the Keras line and the vggkit flag, so either user knows what to change.
  for (const f of found.filter((x) => x.family === 'keras')) {
    assert.ok(f.fix.keras !== undefined, `${f.id} (${f.title}) carries the Keras line`);
    assert.ok(f.fix.flag !== undefined, `${f.id} (${f.title}) carries the vggkit flag`);
  }
  // Other families judge the data and the log given alongside; the twin's model must be clean.
  const clean = (await examine(twin, format, extra)).filter((f) => f.family === 'keras');
  assert.deepEqual(problems(clean), [], `the healthy twin of ${id} is clean`);
  assert.equal(
    clean.find((f) => f.id === id),
    undefined,
  );
  return finding;
}

const fired = new Set<string>();
function record(finding: Finding): Finding {
  fired.add(finding.id);
  return finding;
}

describe('output, loss and logits', () => {
  test('output-activation-mismatch: Dense(1, softmax); twin Dense(1, sigmoid) with binary cross-entropy', async () => {
    const bce = { loss: 'binary_crossentropy' };
    const f = await firesAndTwin(
      'output-activation-mismatch',
      variant(healthy(), { out: dense('dense_1', 256, 1, 'softmax'), compile: bce }),
      variant(healthy(), { out: dense('dense_1', 256, 1, 'sigmoid'), compile: bce }),
      'h5',
    );
    record(f);
    assert.equal(f.severity, 'error');
    assert.match(f.title, /outputs 1\.0/);
  });

  test('output-activation-mismatch: sigmoid on a 3-way single-label output with categorical cross-entropy', async () => {
    record(
      await firesAndTwin(
        'output-activation-mismatch',
        variant(healthy(3), { out: dense('dense_1', 256, 3, 'sigmoid') }),
        healthy(3),
        'keras',
      ),
    );
  });

  test('loss-output-mismatch: binary cross-entropy on a 4-way softmax; Keras up to 2.3 says its accuracy is binary', async () => {
    const broken = variant(healthy(4), { compile: { loss: 'binary_crossentropy' } });
    const f = record(await firesAndTwin('loss-output-mismatch', broken, healthy(4), 'h5'));
    // tf.keras 2.15 (the writer's .h5) and Keras 3 pick 'accuracy' from the output shape
    // (compile_utils): categorical accuracy on a 4-way softmax, no claim about binary accuracy.
    assert.doesNotMatch(f.explanation, /binary accuracy/);
    const k3 = (await examine(broken, 'keras')).find((x) => x.id === 'loss-output-mismatch');
    assert.ok(k3 !== undefined && !/binary accuracy/.test(k3.explanation));
    // Keras 2.1 picks it from the loss (training_utils): binary accuracy, (n-1)/n at chance.
    const file = join(dir, 'bce-keras21.h5');
    await writeKerasH5(file, broken, { dialect: 'keras2.1' });
    const k21 = (await runDoctor(await buildContext({ keras: file }))).findings.find(
      (x) => x.id === 'loss-output-mismatch',
    );
    assert.match(
      k21?.explanation ?? '',
      /In Keras 2\.1\.6, 'accuracy' with this loss is binary accuracy: it reports about 75%/,
    );
    // Named binary_accuracy is binary in any version.
    const named = variant(broken, { compile: { metrics: ['binary_accuracy'] } });
    const k3named = (await examine(named, 'keras')).find((x) => x.id === 'loss-output-mismatch');
    assert.match(k3named?.explanation ?? '', /Its binary_accuracy metric is binary accuracy/);
  });

  test('loss-output-mismatch: categorical cross-entropy on one unit, MSE on a softmax', async () => {
    const oneUnit = variant(healthy(), { out: dense('dense_1', 256, 1, 'sigmoid') });
    const twin = variant(oneUnit, { compile: { loss: 'binary_crossentropy' } });
    record(await firesAndTwin('loss-output-mismatch', oneUnit, twin, 'keras'));
    record(
      await firesAndTwin(
        'loss-output-mismatch',
        variant(healthy(), { compile: { loss: 'mse' } }),
        healthy(),
        'h5',
      ),
    );
  });

  test('loss-output-mismatch: categorical cross-entropy with sparse_categorical_accuracy (string and object loss); twin metrics=[accuracy]', async () => {
    const f = record(
      await firesAndTwin(
        'loss-output-mismatch',
        variant(healthy(3), { compile: { metrics: ['sparse_categorical_accuracy'] } }),
        healthy(3),
        'h5',
      ),
    );
    assert.equal(f.severity, 'error');
    assert.match(
      f.title,
      /categorical_crossentropy reads one-hot labels but sparse_categorical_accuracy/,
    );
    assert.match(f.fix.keras ?? '', /loss='sparse_categorical_crossentropy'.*label_mode='int'/);
    assert.match(f.fix.summary, /label_mode='categorical'/);
    const object = {
      className: 'CategoricalCrossentropy',
      config: { from_logits: false, label_smoothing: 0, name: 'categorical_crossentropy' },
    };
    const k3 = await examine(
      variant(healthy(3), { compile: { loss: object, metrics: ['sparse_categorical_accuracy'] } }),
      'keras',
    );
    assert.ok(k3.some((x) => x.id === 'loss-output-mismatch' && x.severity === 'error'));
    // tf.keras 2 saves 'accuracy' resolved from the label shape: integer labels gave
    // sparse_categorical_accuracy, which categorical cross-entropy cannot train on.
    const resolved = [
      [
        {
          class_name: 'MeanMetricWrapper',
          config: { name: 'accuracy', dtype: 'float32', fn: 'sparse_categorical_accuracy' },
        },
      ],
    ];
    const tfKeras = await examine(variant(healthy(3), { compile: { metrics: resolved } }), 'h5');
    assert.ok(tfKeras.some((x) => x.id === 'loss-output-mismatch' && x.severity === 'error'));
  });

  test('loss-output-mismatch: sparse cross-entropy with categorical_accuracy is a meaningless accuracy; twin sparse_categorical_accuracy', async () => {
    const sparse = { loss: 'sparse_categorical_crossentropy' };
    const f = record(
      await firesAndTwin(
        'loss-output-mismatch',
        variant(healthy(3), { compile: { ...sparse, metrics: ['categorical_accuracy'] } }),
        variant(healthy(3), { compile: { ...sparse, metrics: ['sparse_categorical_accuracy'] } }),
        'keras',
      ),
    );
    assert.equal(f.severity, 'warning');
    assert.match(f.title, /accuracy is meaningless/);
  });

  test('loss-output-mismatch from the log: a categorical_accuracy column under a sparse loss; twin sparse_categorical_accuracy column', async () => {
    const sparse = variant(healthy(3), { compile: { loss: 'sparse_categorical_crossentropy' } });
    const log = async (name: string, column: string): Promise<string> => {
      // CSVLogger's header: epoch, then the keys sorted (keras/src/callbacks/csv_logger.py).
      const keys = ['loss', column, 'val_loss', `val_${column}`].sort();
      const rows = Array.from({ length: 8 }, (_, i) => {
        const v: Record<string, number> = {
          loss: 1.0 * Math.exp(-i / 4) + 0.1,
          val_loss: 1.05 * Math.exp(-i / 4) + 0.15,
          [column]: 0.33 + 0.01 * (i % 2),
          [`val_${column}`]: 0.34,
        };
        return [i, ...keys.map((k) => v[k])].join(',');
      });
      const file = join(dir, name);
      await writeFile(file, [['epoch', ...keys].join(','), ...rows].join('\r\n') + '\r\n');
      return file;
    };
    const broken = await log('cat-acc.csv', 'categorical_accuracy');
    const found = await examine(sparse, 'h5', { history: broken, dataDir: threeClasses });
    const f = found.find((x) => x.id === 'loss-output-mismatch');
    assert.ok(f, found.map((x) => x.id).join(', '));
    assert.match(f.title, /the log's categorical_accuracy column/);
    assert.match(f.explanation, /last categorical_accuracy is 34\.0%/);
    // The meaningless accuracy (flat at chance while the loss falls) is not judged by the curve checks.
    assert.equal(
      found.find((x) => x.id === 'stuck-at-chance'),
      undefined,
      found.map((x) => `${x.id}: ${x.title}`).join('\n'),
    );
    const twin = await log('sparse-acc.csv', 'sparse_categorical_accuracy');
    const clean = await examine(sparse, 'h5', { history: twin, dataDir: threeClasses });
    assert.equal(
      clean.find((x) => x.id === 'loss-output-mismatch'),
      undefined,
    );
    // The same integer-label log beside a model compiled with categorical cross-entropy: they
    // cannot come from one setup; that log's accuracy is real, so the curve checks keep it.
    const other = await examine(healthy(3), 'keras', { history: twin, dataDir: threeClasses });
    const g = other.find((x) => x.id === 'loss-output-mismatch');
    assert.equal(g?.severity, 'warning');
    assert.match(g?.explanation ?? '', /do not come from the same setup/);
    assert.ok(other.some((x) => x.id === 'stuck-at-chance'));
  });

  test('Dense(3, softmax) with sparse_categorical_crossentropy and a 3-class data folder: no finding', async () => {
    const sparse = variant(healthy(3), { compile: { loss: 'sparse_categorical_crossentropy' } });
    for (const format of ['keras', 'h5'] as const) {
      const found = (await examine(sparse, format, { dataDir: threeClasses })).filter(
        (f) => f.family === 'keras',
      );
      assert.deepEqual(problems(found), [], format);
    }
  });

  test('output-activation-mismatch: softmax on class folders sharing images (multi-label); twin sigmoid + binary cross-entropy; one stray copy is no multi-label set', async () => {
    // 3 classes x 8 real PNGs, then 4 of class a's files copied byte for byte into b and c.
    const multi = await cleanDataset(join(dir, 'multi'), {
      classes: ['a', 'b', 'c'],
      perClass: 8,
      size: 32,
      seed: 70,
    });
    for (const [i, to] of [
      [0, 'b'],
      [1, 'b'],
      [2, 'c'],
      [3, 'c'],
    ] as const)
      await copyFile(join(multi, 'a', `a_${i}.png`), join(multi, to, `also_a_${i}.png`));
    const bce = { loss: 'binary_crossentropy' };
    const f = record(
      await firesAndTwin(
        'output-activation-mismatch',
        healthy(3),
        variant(healthy(3), { out: dense('dense_1', 256, 3, 'sigmoid'), compile: bce }),
        'keras',
        { dataDir: multi },
      ),
    );
    assert.match(f.title, /softmax output on multi-label data: 4 of 24 training images/);
    assert.match(f.explanation, /forces one class per image/);
    assert.match(f.fix.keras ?? '', /Dense\(3, activation='sigmoid'\).*binary_crossentropy/);
    // Sigmoids with categorical cross-entropy on the same folders: the loss is what to change.
    const cce = await examine(
      variant(healthy(3), { out: dense('dense_1', 256, 3, 'sigmoid') }),
      'h5',
      { dataDir: multi },
    );
    const g = cce.find((x) => x.id === 'output-activation-mismatch');
    assert.match(
      g?.title ?? '',
      /3 sigmoids on multi-label data, trained with categorical_crossentropy/,
    );
    assert.match(g?.fix.keras ?? '', /loss='binary_crossentropy'/);
    // The same softmax on folders where each image has one class: nothing to say.
    const single = (await examine(healthy(3), 'h5', { dataDir: threeClasses })).filter(
      (x) => x.family === 'keras',
    );
    assert.deepEqual(problems(single), []);
    // One image filed twice is a filing mistake (duplicate-images says so), not multi-label data.
    const stray = await cleanDataset(join(dir, 'stray'), {
      classes: ['a', 'b', 'c'],
      perClass: 8,
      size: 32,
      seed: 100,
    });
    await copyFile(join(stray, 'a', 'a_0.png'), join(stray, 'b', 'also_a_0.png'));
    const once = await examine(healthy(3), 'keras', { dataDir: stray });
    assert.equal(
      once.find((x) => x.id === 'output-activation-mismatch'),
      undefined,
    );
    assert.ok(once.some((x) => x.id === 'duplicate-images'));
  });

  test('logits-mismatch: from_logits=True on softmax; a linear output without it; twins are the consistent pairs', async () => {
    const logitsLoss = {
      className: 'CategoricalCrossentropy',
      config: { from_logits: true, label_smoothing: 0, name: 'categorical_crossentropy' },
    };
    const linear = dense('dense_1', 256, 2, 'linear');
    record(
      await firesAndTwin(
        'logits-mismatch',
        variant(healthy(), { compile: { loss: logitsLoss } }),
        healthy(),
        'keras',
      ),
    );
    record(
      await firesAndTwin(
        'logits-mismatch',
        variant(healthy(), { out: linear }),
        variant(healthy(), { out: linear, compile: { loss: logitsLoss } }),
        'h5',
      ),
    );
  });

  test('class-count-mismatch: 3 output units for 2 class folders', async () => {
    record(
      await firesAndTwin('class-count-mismatch', healthy(3), healthy(2), 'keras', {
        dataDir: twoClasses,
      }),
    );
  });
});

describe('the VGG base', () => {
  test('top-not-removed: a new head on the 1000-way predictions; fc1/fc2 kept is a warning', async () => {
    const base = healthy().layers.slice(0, 11);
    const top = [flatten('flatten'), dense('fc1', 8, 16, 'relu'), dense('fc2', 16, 16, 'relu')];
    const stacked: ModelDef = {
      ...healthy(),
      layers: [
        ...base,
        ...top,
        dense('predictions', 16, 1000, 'softmax'),
        dense('dense_1', 1000, 2, 'softmax'),
      ],
    };
    const f = record(await firesAndTwin('top-not-removed', stacked, healthy(), 'h5'));
    assert.equal(f.severity, 'error');
    const kept: ModelDef = {
      ...healthy(),
      layers: [...base, ...top, dense('dense_1', 16, 2, 'softmax')],
    };
    const warned = (await examine(kept, 'keras')).find((x) => x.id === 'top-not-removed');
    assert.equal(warned?.severity, 'warning');
  });

  const caffeKeras2: LayerDef[] = [
    {
      className: 'SlicingOpLambda',
      name: 'tf.__operators__.getitem',
      config: { function: '__operators__.getitem' },
      inbound: ['input_1'],
      callKwargs: {
        slice_spec: [{ class_name: '__ellipsis__' }, { start: null, stop: null, step: -1 }],
      },
    },
    {
      className: 'TFOpLambda',
      name: 'tf.nn.bias_add',
      config: { function: 'nn.bias_add' },
      callKwargs: { bias: [-103.939, -116.779, -123.68], data_format: 'NHWC' },
    },
  ];
  /** Keras 3's traced preprocess_input: three GetItem, a Stack, an Add of a constant tensor (imagenet_utils._preprocess_tensor_input). */
  const caffeKeras3: LayerDef[] = [
    ...[2, 1, 0].map((c, i) => ({
      className: 'GetItem',
      module: 'keras.src.ops.numpy',
      name: i === 0 ? 'get_item' : `get_item_${i}`,
      config: {},
      inbound: ['input_1'],
      callArgs: [[{ class_name: '__ellipsis__', config: {} }, c]],
    })),
    {
      className: 'Stack',
      module: 'keras.src.ops.numpy',
      name: 'stack',
      config: { axis: -1 },
      inbound: ['get_item', 'get_item_1', 'get_item_2'],
    },
    {
      className: 'Add',
      module: 'keras.src.ops.numpy',
      name: 'add',
      config: {},
      callArgs: [
        {
          class_name: '__tensor__',
          config: { value: [[[[-103.939, -116.779, -123.68]]]], dtype: 'float32' },
        },
      ],
    },
  ];
  const withPre = (pre: LayerDef[]): ModelDef => {
    const h = healthy();
    const [inputLayer, first, ...rest] = h.layers;
    return {
      ...h,
      layers: [
        inputLayer as LayerDef,
        ...pre,
        { ...(first as LayerDef), inbound: [pre.at(-1)?.name ?? 'input_1'] },
        ...rest,
      ],
    };
  };

  test('preprocess_input traced inside the model (tf.keras and Keras 3) is the caffe contract: clean', async () => {
    assert.deepEqual(problems(await examine(withPre(caffeKeras2), 'h5')), []);
    assert.deepEqual(problems(await examine(withPre(caffeKeras3), 'keras')), []);
    const none = await examine(healthy(), 'h5');
    const assumed = none.find((f) => f.id === 'preprocessing-assumed');
    assert.ok(assumed !== undefined && assumed.severity === 'info');
    // The assumption comes with the flag that overrides it and the Keras side of the contract.
    assert.match(assumed.fix.flag ?? '', /^--preprocess caffe/);
    assert.match(assumed.fix.keras ?? '', /vgg16\.preprocess_input\(images\)/);
    fired.add('preprocessing-assumed');
  });

  test('normalization-mismatch: Rescaling(1./255) in front of caffe-mode VGG weights', async () => {
    const f = record(
      await firesAndTwin(
        'normalization-mismatch',
        withPre([rescaling('rescaling', 1 / 255)]),
        withPre(caffeKeras3),
        'keras',
      ),
    );
    assert.match(f.fix.keras ?? '', /preprocess_input/);
  });

  test('double-preprocessing: Rescaling(1./255) then preprocess_input, and preprocess_input twice', async () => {
    const f = record(
      await firesAndTwin(
        'double-preprocessing',
        withPre([rescaling('rescaling', 1 / 255), ...caffeKeras2]),
        withPre(caffeKeras2),
        'h5',
      ),
    );
    assert.match(f.title, /Rescaling\(1\.\/255\), then preprocess_input/);
    const twice = [
      ...caffeKeras2,
      { ...(caffeKeras2[0] as LayerDef), name: 'tf.__operators__.getitem_1' },
      { ...(caffeKeras2[1] as LayerDef), name: 'tf.nn.bias_add_1' },
    ];
    assert.ok((await examine(withPre(twice), 'h5')).some((x) => x.id === 'double-preprocessing'));
  });

  test('channel-order-mismatch: the caffe mean subtracted without the RGB->BGR flip', async () => {
    record(
      await firesAndTwin(
        'channel-order-mismatch',
        withPre(caffeKeras2.slice(1)),
        withPre(caffeKeras2),
        'h5',
      ),
    );
  });
});

describe('optimizer and freezing', () => {
  test('lr-too-high and lr-too-low from the saved optimizer config', async () => {
    record(
      await firesAndTwin(
        'lr-too-high',
        variant(healthy(), { compile: { optimizer: adam(0.01) } }),
        healthy(),
        'keras',
      ),
    );
    record(
      await firesAndTwin(
        'lr-too-low',
        variant(healthy(), { compile: { optimizer: adam(1e-8) } }),
        healthy(),
        'h5',
      ),
    );
  });

  test('unfrozen-with-high-lr: block5 trainable at Adam 1e-3; twin at 1e-5', async () => {
    const open = example2({ classes: 2, widths: NARROW, size: 32, trainableFrom: 5 });
    const f = record(
      await firesAndTwin(
        'unfrozen-with-high-lr',
        variant(open, { compile: { optimizer: adam(1e-3) } }),
        variant(open, { compile: { optimizer: adam(1e-5) } }),
        'keras',
      ),
    );
    assert.match(f.fix.flag ?? '', /--stages head:10,block5:5/);
  });

  test('lr-too-high with unfrozen-with-high-lr: the fixed config unfreezes block5 at the rate the fixed head rate gives', async () => {
    const open = example2({ classes: 2, widths: NARROW, size: 32, trainableFrom: 5 });
    const file = join(dir, 'both-rates.keras');
    await writeKerasZip(file, variant(open, { compile: { optimizer: adam(1e-2) } }));
    const ctx = await buildContext({ keras: file });
    const { findings } = await runDoctor(ctx);
    const unfrozen = findings.find((f) => f.id === 'unfrozen-with-high-lr');
    assert.ok(findings.some((f) => f.id === 'lr-too-high'));
    assert.ok(unfrozen !== undefined);
    const fixed = applyFixes(ctx.rawConfig ?? {}, findings).config;
    const factor = fixed['stageLrFactor'] as number;
    // The factor was once taken against the saved 1e-2 while lr-too-high set lr to 1e-4:
    // block5 then trained at 1e-6, the lr-too-low boundary.
    const block5Rate = (fixed['lr'] as number) * factor;
    assert.ok(block5Rate <= ADAM_LIMITS.unfrozen * (1 + 1e-9), `block5 at ${block5Rate}`);
    assert.ok(block5Rate >= 10 * ADAM_LIMITS.low, `block5 at ${block5Rate}`);
    assert.match(unfrozen.fix.flag ?? '', new RegExp(`--stage-lr-factor ${factor}$`));
  });

  test('too-much-frozen: a frozen base whose training log stalls', async () => {
    const stalled = kerasCsv(
      Array.from({ length: 10 }, (_, i) => ({
        loss: 0.66 - 0.02 * Math.exp(-i),
        accuracy: 0.62,
        val_loss: 0.67,
        val_accuracy: 0.6,
      })),
    );
    const file = join(dir, 'history.csv');
    await writeFile(file, stalled);
    const open = example2({ classes: 2, widths: NARROW, size: 32, trainableFrom: 5 });
    record(
      await firesAndTwin(
        'too-much-frozen',
        healthy(),
        variant(open, { compile: { optimizer: adam(1e-5) } }),
        'h5',
        { history: file, dataDir: twoClasses },
      ),
    );
  });

  test('trainable-changed-after-compile: optimizer slots for the frozen base (both formats)', async () => {
    const late = { ...healthy(), optimizerSlotsFor: 'all' as const };
    const f = record(
      await firesAndTwin('trainable-changed-after-compile', late, healthy(), 'keras'),
    );
    assert.match(f.title, /marked frozen .* were trained/);
    assert.ok((await examine(late, 'h5')).some((x) => x.id === 'trainable-changed-after-compile'));
  });

  test('trainable-changed-after-compile: block5 unfrozen after compile has no optimizer slots (both formats)', async () => {
    const open = example2({ classes: 2, widths: NARROW, size: 32, trainableFrom: 5 });
    // Compiled with the head alone trainable, then block5 set trainable without compiling again.
    const late = { ...open, compiledTrainable: ['dense', 'dense_1'] };
    const lowRate = { compile: { optimizer: adam(1e-5) } };
    for (const format of ['keras', 'h5'] as const) {
      const f = await firesAndTwin(
        'trainable-changed-after-compile',
        variant(late, lowRate),
        variant(open, lowRate),
        format,
      );
      // NARROW's block5 is one conv: its kernel and bias never trained.
      assert.match(f.title, /^2 of the 6 variables marked trainable have no optimizer state/);
      assert.match(f.explanation, /trainable = True was set after model\.compile/);
      assert.match(f.fix.keras ?? '', /startswith\('block5'\)\nmodel\.compile/);
    }
  });

  test('head-too-large: Flatten over 7x7x64 into Dense(256) for 20 images; twin averages', async () => {
    const wide = [[4], [4], [8], [8], [64]] as const;
    const big = example2({ classes: 2, widths: wide, size: 224 });
    const avg = {
      ...big,
      layers: big.layers.map((l) =>
        l.name === 'flatten'
          ? globalAvg()
          : l.name === 'dense'
            ? dense('dense', 64, 256, 'relu')
            : l,
      ),
    };
    const f = record(
      await firesAndTwin('head-too-large', big, avg, 'keras', { dataDir: twoClasses }),
    );
    assert.equal(f.fix.flag, '--head avg');
  });
});

describe('what vggkit cannot judge is named', () => {
  test('an .h5 holding only weights: a VGG16 base also points to --weights, which loads it; a head alone does not', async () => {
    const file = join(dir, 'saved-weights.h5');
    // Full VGG16 widths: --weights checks the published shapes.
    await writeKerasH5(file, example2({ classes: 2, size: 32 }), { weightsOnly: true });
    const error = await buildContext({ keras: file }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(error instanceof VggkitError && error.code === 'KERAS_WEIGHTS_ONLY');
    assert.match(
      error.message,
      /--keras-weights .*saved-weights\.h5, or train from its VGG16 base with vggkit train DATA --weights .*saved-weights\.h5$/,
    );
    const loaded = await loadWeights({
      arch: 'vgg16',
      weights: file,
      includeTop: false,
      inputSize: 32,
      cacheDir: dir,
    });
    assert.deepEqual(loaded.weights.get('block5_conv3/kernel')?.dims, [3, 3, 512, 512]);
    if (!existsSync(REAL)) return;
    const top = join(REAL, 'amythpaddy_vgg16_bottleneck_top_weights_only.h5');
    const real = await buildContext({ keras: top }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(real instanceof VggkitError && real.code === 'KERAS_WEIGHTS_ONLY');
    assert.doesNotMatch(real.message, /--weights /, 'a bottleneck head holds no VGG base');
  });

  test('unknown-layer names the layer and its class; the other checks still run', async () => {
    const h = healthy();
    const odd: ModelDef = {
      ...h,
      layers: [
        ...h.layers.slice(0, -1),
        { className: 'CapsuleRouting', name: 'caps', config: {} },
        h.layers.at(-1) as LayerDef,
      ],
    };
    const found = await examine(odd, 'keras');
    const f = found.find((x) => x.id === 'unknown-layer');
    assert.ok(f !== undefined);
    assert.match(f.title, /caps \(CapsuleRouting\)/);
    record(f);
    assert.deepEqual(problems(found), []);
  });

  test('a non-VGG classifier gets the classifier checks, and a note instead of the VGG ones', async () => {
    const cnn: ModelDef = {
      className: 'Sequential',
      name: 'small_cnn',
      layers: [
        input('in', [32, 32, 3]),
        conv('conv2d', 3, 8),
        maxPool('max_pooling2d'),
        flatten('flatten'),
        dense('dense', 2048, 1, 'softmax'),
      ],
      compile: { loss: 'binary_crossentropy', optimizer: adam(1e-3), metrics: ['accuracy'] },
    };
    const found = await examine(cnn, 'h5');
    assert.ok(found.some((f) => f.id === 'output-activation-mismatch'));
    // A model trained from scratch is not "fine-tuning".
    const fast = await examine(
      { ...cnn, compile: { ...cnn.compile, optimizer: adam(0.01) } as CompileDef },
      'h5',
    );
    assert.match(
      fast.find((f) => f.id === 'lr-too-high')?.title ?? '',
      /is high for Adam training$/,
    );
    const note = found.find((f) => f.id === 'vgg-checks-skipped');
    assert.equal(note?.severity, 'info');
    record(note as Finding);
    const fixed = {
      ...cnn,
      layers: [...cnn.layers.slice(0, -1), dense('dense', 2048, 1, 'sigmoid')],
    };
    assert.deepEqual(problems(await examine(fixed, 'keras')), []);
  });

  test("the data is judged at the model's own input size: 28x28 images for a 28x28 classifier are not upscaled", async () => {
    const small: ModelDef = {
      className: 'Sequential',
      name: 'mnist_like',
      layers: [
        input('in', [28, 28, 3]),
        conv('conv2d', 3, 8),
        maxPool('max_pooling2d'),
        flatten('flatten'),
        dense('dense', 1352, 2, 'softmax'),
      ],
      compile: { loss: 'categorical_crossentropy', optimizer: adam(1e-3), metrics: ['accuracy'] },
    };
    const data = await cleanDataset(join(dir, 'data28'), { perClass: 10, size: 28, seed: 300 });
    const found = await examine(small, 'h5', { dataDir: data });
    assert.equal(
      found.find((f) => f.id === 'small-images'),
      undefined,
      found.map((f) => `${f.id}: ${f.title}`).join('\n'),
    );
  });

  test('training-config-absent: a to_json architecture says the loss and optimizer checks did not run; a compiled .h5 does not', async () => {
    const json = await examine(healthy(), 'json');
    const note = json.find((x) => x.id === 'training-config-absent');
    assert.equal(note?.severity, 'info');
    assert.match(note?.explanation ?? '', /to_json\(\) writes the architecture only/);
    record(note as Finding);
    const h5 = await examine(healthy(), 'h5');
    assert.equal(
      h5.find((x) => x.id === 'training-config-absent'),
      undefined,
    );
  });

  test('every id of the family has a fixture above', () => {
    const ids = new Set(KERAS_CHECKS.flatMap((c) => c.ids));
    assert.deepEqual(
      [...ids].filter((id) => !fired.has(id)),
      [],
    );
  });
});

describe("the article's Example 2", () => {
  test('VGG16 at full shape, frozen, Flatten-Dense(256)-Dropout-Dense(5, softmax), Adam 1e-4: no warnings or errors as .keras, .h5 and to_json', async () => {
    const def = example2({ classes: 5 });
    for (const format of ['keras', 'h5', 'json'] as const) {
      const found = await examine(def, format);
      assert.deepEqual(problems(found), [], format);
    }
    const nested = example2({ classes: 5, nested: true, widths: NARROW, size: 32 });
    assert.deepEqual(problems(await examine(nested, 'keras')), [], 'nested vgg16');
  });

  test('--fix-config reproduces the setup as a vggkit config', async () => {
    const file = join(dir, 'fix.h5');
    await writeKerasH5(
      file,
      variant(
        example2({
          classes: 4,
          trainableFrom: 5,
          widths: [
            [4, 4],
            [4, 4],
            [8, 8, 8],
            [8, 8, 8],
            [8, 8, 8],
          ],
          size: 64,
        }),
        {
          compile: { optimizer: adam(1e-3), loss: 'binary_crossentropy' },
        },
      ),
    );
    const ctx = await buildContext({ keras: file });
    assert.deepEqual(ctx.rawConfig, {
      arch: 'vgg16',
      weights: 'imagenet',
      inputSize: 64,
      head: 'flatten',
      dense: 256,
      dropout: 0.5,
      stages: [{ name: 'block5', epochs: 20 }],
      optimizer: 'adam',
      lr: 0.001,
      loss: 'binary_crossentropy',
    });
  });
});

describe('real saved models', () => {
  test(
    'every file in ../shared/real-world/models is judged, or refused with a named error',
    {
      skip: existsSync(REAL)
        ? false
        : `did not run: ${REAL} is absent (a clone without ../shared/real-world)`,
    },
    async () => {
      const judged: Record<string, string[]> = {};
      for (const name of (await readdir(REAL)).filter((f) => f !== 'README.md').sort()) {
        try {
          const report = await runDoctor(await buildContext({ keras: join(REAL, name) }));
          judged[name] = report.findings.map((f) => `${f.severity}:${f.id}`);
        } catch (error) {
          assert.ok(error instanceof VggkitError, `${name}: ${(error as Error).stack}`);
          judged[name] = [error.code];
        }
      }
      assert.deepEqual(judged['amythpaddy_vgg16_bottleneck_top_weights_only.h5'], [
        'KERAS_WEIGHTS_ONLY',
      ]);
      assert.ok(
        judged['avanish10_idc2_cnn_softmax1_bce.h5']?.includes('error:output-activation-mismatch'),
      );
      assert.ok(
        judged['noelcodes_furniture13_vgg16_includetop.json']?.includes('warning:top-not-removed'),
      );
      assert.ok(judged['helgagoit_fmnist_cnn.keras']?.includes('info:vgg-checks-skipped'));
    },
  );
});
