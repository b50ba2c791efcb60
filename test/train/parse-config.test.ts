import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_CONFIG } from '../../src/train/config.js';
import {
  configFromFlags,
  parseStages,
  parseTrainConfig,
  TRAIN_FLAGS,
} from '../../src/train/parse-config.js';
import { UsageError } from '../../src/util/errors.js';
import { suggestSimilar } from '../../src/util/suggest.js';

function usage(pattern: RegExp): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof UsageError, `expected a UsageError, got ${String(e)}`);
    assert.equal(e.code, 'USAGE');
    assert.equal(e.exitCode, 2);
    assert.match(e.message, pattern);
    return true;
  };
}

test('an empty config is the seed recipe; keys merge over the defaults, nested objects key by key', () => {
  assert.deepEqual(parseTrainConfig({}, 'c.json'), DEFAULT_CONFIG);
  const c = parseTrainConfig(
    { lr: 0.001, optimizer: 'sgd', reduceLr: { patience: 5 }, preprocess: null },
    'c.json',
  );
  assert.equal(c.lr, 0.001);
  assert.equal(c.optimizer, 'sgd');
  assert.equal(c.reduceLr.patience, 5);
  assert.equal(c.reduceLr.factor, 0.2);
  assert.equal(c.reduceLr.minLr, 1e-6);
  assert.equal(c.preprocess, undefined);
  assert.equal(DEFAULT_CONFIG.reduceLr.patience, 3, 'defaults are not mutated');
});

test('the effective config written as JSON parses back to itself', () => {
  const c = parseTrainConfig(
    { stages: 'head:2,block5:3', augment: ['flip', 'zoom'], val: 'v', preprocess: 'torch' },
    'c.json',
  );
  assert.deepEqual(parseTrainConfig(JSON.parse(JSON.stringify(c)), 'config.json'), c);
});

test('unknown keys are rejected with a suggestion, at top level and nested', () => {
  assert.throws(
    () => parseTrainConfig({ batch_size: 8 }, 'c.json'),
    usage(/^c\.json: unknown key "batch_size" \(did you mean "batchSize"\?\)/),
  );
  assert.throws(
    () => parseTrainConfig({ lrr: 1 }, 'c.json'),
    usage(/unknown key "lrr" \(did you mean "lr"\?\)/),
  );
  assert.throws(
    () => parseTrainConfig({ reduceLr: { patiance: 2 } }, 'c.json'),
    usage(/^c\.json: reduceLr: unknown key "patiance" \(did you mean "patience"\?\)/),
  );
  assert.throws(
    () => parseTrainConfig({ reduceLr: { min_delta: 0.1 } }, 'c.json'),
    usage(/did you mean "minDelta"/),
  );
  assert.throws(
    () => parseTrainConfig({ totallyDifferent: 1 }, 'c.json'),
    usage(/unknown key "totallyDifferent"; expected one of arch, /),
  );
  assert.throws(
    () => parseTrainConfig([], 'c.json'),
    usage(/c\.json: expected a JSON object of training settings, received an array/),
  );
});

test('bad values name the key, the expectation and what was received', () => {
  assert.throws(
    () => parseTrainConfig({ optimizer: 'rmsprop' }, 'c.json'),
    usage(/^c\.json: optimizer: expected one of adam, adamw, sgd, received "rmsprop"$/),
  );
  assert.throws(
    () => parseTrainConfig({ reduceLr: { mode: 'minimum' } }, 'c.json'),
    usage(/^c\.json: reduceLr\.mode: expected one of min, max, auto, received "minimum"$/),
  );
  assert.throws(
    () => parseTrainConfig({ reduceLr: { factor: 1 } }, 'c.json'),
    usage(/reduceLr\.factor: expected a number in \(0, 1\), received 1/),
  );
  assert.throws(
    () => parseTrainConfig({ lr: -1 }, 'c.json'),
    usage(/c\.json: lr: expected a number > 0, received -1/),
  );
  assert.throws(
    () => parseTrainConfig({ lr: '0.1' }, 'c.json'),
    usage(/lr: expected a number > 0, received "0\.1"/),
  );
  assert.throws(
    () => parseTrainConfig({ dropout: 1 }, 'c.json'),
    usage(/dropout: expected a number in \[0, 1\), received 1/),
  );
  assert.throws(
    () => parseTrainConfig({ batchSize: 2.5 }, 'c.json'),
    usage(/batchSize: expected a whole number >= 1, received 2\.5/),
  );
  assert.throws(
    () => parseTrainConfig({ inputSize: 16 }, 'c.json'),
    usage(/inputSize: expected a whole number >= 32, received 16/),
  );
  assert.throws(
    () => parseTrainConfig({ augment: ['flip', 'mixup'] }, 'c.json'),
    usage(/augment: expected one of flip, rotate, zoom, brightness, contrast, received "mixup"/),
  );
  assert.throws(
    () => parseTrainConfig({ terminateOnNan: 'yes' }, 'c.json'),
    usage(/terminateOnNan: expected true or false, received "yes"/),
  );
  assert.throws(
    () => parseTrainConfig({ stages: [{ name: 'head', epochs: 2, lr: 1 }] }, 'c.json'),
    usage(/stages: unknown key "lr"/),
  );
  assert.throws(
    () => parseTrainConfig({ stages: [{ name: 'head', epochs: '2' }] }, 'c.json'),
    usage(/c\.json: stages: expected a whole number of epochs > 0 for stage head, received "2"/),
  );
});

test('parseStages: valid specs, downward order, positive whole epochs', () => {
  assert.deepEqual(parseStages('head:10,block5:5,block4:5'), [
    { name: 'head', epochs: 10 },
    { name: 'block5', epochs: 5 },
    { name: 'block4', epochs: 5 },
  ]);
  assert.deepEqual(parseStages(' head : 3 , block3:1'), [
    { name: 'head', epochs: 3 },
    { name: 'block3', epochs: 1 },
  ]);
  assert.deepEqual(parseStages(''), []);
  assert.throws(
    () => parseStages('block4:5,block5:5'),
    usage(/--stages: expected stages that unfreeze downward .*block5 cannot follow block4/),
  );
  assert.throws(() => parseStages('head:5,head:5'), usage(/head cannot follow head/));
  assert.throws(
    () => parseStages('head:0'),
    usage(/--stages: expected a whole number of epochs > 0 for stage head, received 0/),
  );
  assert.throws(() => parseStages('head:x'), usage(/epochs > 0 for stage head, received "x"/));
  assert.throws(
    () => parseStages('block6:2'),
    usage(
      /expected stage names from head, block5, block4, block3, block2, block1, received "block6"/,
    ),
  );
  assert.throws(() => parseStages('head10'), usage(/name:epochs pairs/));
});

test('stages set the epoch count; a contradicting explicit epochs is an error', () => {
  assert.equal(parseTrainConfig({ stages: 'head:10,block5:5' }, 'c.json').epochs, 15);
  assert.equal(parseTrainConfig({ stages: 'head:10,block5:5', epochs: 15 }, 'c.json').epochs, 15);
  assert.throws(
    () => parseTrainConfig({ stages: 'head:10,block5:5', epochs: 20 }, 'c.json'),
    usage(/c\.json: epochs: expected 15, the sum of the stages' epochs/),
  );
  assert.equal(
    configFromFlags({ stages: 'head:2,block5:2' }, parseTrainConfig({ epochs: 30 }, 'c.json'))
      .epochs,
    4,
  );
});

test('configFromFlags maps every listed flag and wins over the config file', () => {
  const file = parseTrainConfig({ lr: 0.01, epochs: 3, dense: 64 }, 'c.json');
  const c = configFromFlags(
    {
      epochs: '7',
      batchSize: '16',
      lr: '3e-4',
      optimizer: 'sgd',
      momentum: '0.8',
      epsilon: '1e-8',
      head: 'avg',
      dense: '128',
      dropout: '0.25',
      valSplit: '0.1',
      val: 'valdir',
      seed: '5',
      stageLrFactor: '0.5',
      augment: 'flip,zoom',
      weights: 'none',
      inputSize: '64',
      arch: 'vgg11',
      out: 'ignored-by-config',
      json: true,
    },
    file,
  );
  assert.deepEqual(
    [
      c.epochs,
      c.batchSize,
      c.lr,
      c.optimizer,
      c.momentum,
      c.epsilon,
      c.head,
      c.dense,
      c.dropout,
      c.valSplit,
      c.val,
      c.seed,
      c.stageLrFactor,
      c.augment,
      c.weights,
      c.inputSize,
      c.arch,
    ],
    [
      7,
      16,
      3e-4,
      'sgd',
      0.8,
      1e-8,
      'avg',
      128,
      0.25,
      0.1,
      'valdir',
      5,
      0.5,
      ['flip', 'zoom'],
      'none',
      64,
      'vgg11',
    ],
  );
  assert.deepEqual(configFromFlags({}, file), file);
  // Every setting of the config, nested ones included, is reachable by exactly one flag.
  const settings = Object.entries(DEFAULT_CONFIG).flatMap(([key, value]) =>
    value !== null && typeof value === 'object' && !Array.isArray(value)
      ? Object.keys(value).map((sub) => `${key}.${sub}`)
      : [key],
  );
  const covered = TRAIN_FLAGS.map((f) => (f.sub === undefined ? f.key : `${f.key}.${f.sub}`));
  assert.deepEqual([...covered].sort(), [...settings].sort());
});

test('nested and boolean flags merge into their sections over the config file', () => {
  const file = parseTrainConfig(
    { reduceLr: { patience: 7 }, earlyStopping: { enabled: true } },
    'c.json',
  );
  const c = configFromFlags(
    {
      reduceLrFactor: '0.5',
      minLr: '1e-7',
      earlyStopping: false,
      schedule: 'cosine',
      nesterov: true,
      preprocess: 'torch',
    },
    file,
  );
  assert.deepEqual(c.reduceLr, {
    ...DEFAULT_CONFIG.reduceLr,
    patience: 7,
    factor: 0.5,
    minLr: 1e-7,
  });
  assert.equal(c.earlyStopping.enabled, false);
  assert.equal(c.schedule.name, 'cosine');
  assert.equal(c.nesterov, true);
  assert.equal(c.preprocess, 'torch');
  assert.throws(
    () => configFromFlags({ reduceLrFactor: '2' }),
    usage(/^--reduce-lr\.factor: expected a number in \(0, 1\), received 2$/),
  );
  assert.throws(
    () => configFromFlags({ schedule: 'linear' }),
    usage(/^--schedule\.name: expected one of none, step, cosine, one-cycle, received "linear"$/),
  );
});

test('flag errors name the flag', () => {
  assert.throws(
    () => configFromFlags({ lr: 'fast' }),
    usage(/^--lr: expected a number, received "fast"$/),
  );
  assert.throws(
    () => configFromFlags({ batchSize: '0' }),
    usage(/^--batch-size: expected a whole number >= 1, received 0$/),
  );
  assert.throws(
    () => configFromFlags({ optimizer: 'Adam' }),
    usage(/^--optimizer: expected one of adam, adamw, sgd, received "Adam"$/),
  );
  assert.throws(() => configFromFlags({ stages: 'block5:1,head:1' }), usage(/^--stages: /));
  assert.throws(
    () => configFromFlags({ epochs: '9', stages: 'head:2' }),
    usage(/^--epochs: expected 2, the sum of the stages' epochs \(--stages\)/),
  );
  assert.throws(
    () => configFromFlags({ augment: 'flip,blur' }),
    usage(/^--augment: expected one of .*received "blur"/),
  );
  assert.throws(
    () => configFromFlags({ arch: 'vgg17' }),
    usage(/^--arch: expected one of vgg11, vgg13, vgg16, vgg19, received "vgg17"$/),
  );
});

test('suggestSimilar: close typos only', () => {
  assert.equal(suggestSimilar('epoch', ['epochs', 'lr']), 'epochs');
  assert.equal(suggestSimilar('optimiser', ['optimizer', 'momentum']), 'optimizer');
  assert.equal(suggestSimilar('xyz', ['epochs', 'lr']), undefined);
});
