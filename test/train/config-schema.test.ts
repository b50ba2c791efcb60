import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_CONFIG } from '../../src/train/config.js';
import {
  applySettings,
  parseTrainConfig,
  SETTINGS,
  settingValue,
  validateSetting,
} from '../../src/train/config-schema.js';
import { ERROR_CODES } from '../../src/util/error-codes.js';
import { parseStages } from '../../src/train/stages.js';
import { configFromFlags } from '../../src/cli/train-flags.js';
import type { UsageCode } from '../../src/util/error-codes.js';
import { UsageError } from '../../src/util/errors.js';
import { suggestSimilar } from '../../src/util/suggest.js';

function usage(pattern: RegExp, code: UsageCode = 'INVALID_OPTION'): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof UsageError, `expected a UsageError, got ${String(e)}`);
    assert.equal(e.code, code);
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
    usage(
      /^c\.json: unknown key "batch_size" \(did you mean "batchSize"\?\)/,
      'UNKNOWN_CONFIG_KEY',
    ),
  );
  assert.throws(
    () => parseTrainConfig({ lrr: 1 }, 'c.json'),
    usage(/unknown key "lrr" \(did you mean "lr"\?\)/, 'UNKNOWN_CONFIG_KEY'),
  );
  assert.throws(
    () => parseTrainConfig({ reduceLr: { patiance: 2 } }, 'c.json'),
    usage(
      /^c\.json: reduceLr: unknown key "patiance" \(did you mean "patience"\?\)/,
      'UNKNOWN_CONFIG_KEY',
    ),
  );
  assert.throws(
    () => parseTrainConfig({ reduceLr: { min_delta: 0.1 } }, 'c.json'),
    usage(/did you mean "minDelta"/, 'UNKNOWN_CONFIG_KEY'),
  );
  assert.throws(
    () => parseTrainConfig({ totallyDifferent: 1 }, 'c.json'),
    usage(/unknown key "totallyDifferent"; expected one of arch, /, 'UNKNOWN_CONFIG_KEY'),
  );
  assert.throws(
    () => parseTrainConfig([], 'c.json'),
    usage(
      /c\.json: expected a JSON object of training settings, received an array/,
      'CONFIG_FORMAT',
    ),
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
    usage(/stages: unknown key "lr"/, 'UNKNOWN_CONFIG_KEY'),
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
    usage(
      /^c\.json: epochs: expected 15, the sum of the stages' epochs \(c\.json: stages\), received 20$/,
      'CONFLICTING_OPTIONS',
    ),
  );
  assert.equal(
    configFromFlags({ stages: 'head:2,block5:2' }, parseTrainConfig({ epochs: 30 }, 'c.json'))
      .epochs,
    4,
  );
});

test('SETTINGS lists every leaf of the config once, with its default reachable by path', () => {
  const leaves = Object.entries(DEFAULT_CONFIG).flatMap(([key, value]) =>
    value !== null && typeof value === 'object' && !Array.isArray(value)
      ? Object.keys(value).map((sub) => `${key}.${sub}`)
      : [key],
  );
  assert.deepEqual(
    SETTINGS.map((s) => s.path),
    leaves,
  );
  assert.equal(settingValue('reduceLr.minLr'), 1e-6);
  assert.equal(settingValue('lr', parseTrainConfig({ lr: 0.5 }, 'c')), 0.5);
});

test('validateSetting checks one value for one path under the name the caller gives', () => {
  assert.equal(validateSetting('schedule.gamma', 0.5, '--gamma'), 0.5);
  assert.throws(
    () => validateSetting('schedule.gamma', -1, 'trial 3: schedule.gamma'),
    usage(/^trial 3: schedule\.gamma: expected a number > 0, received -1$/),
  );
});

test('applySettings merges sections key by key and reconciles epochs with stages', () => {
  const c = applySettings(DEFAULT_CONFIG, [
    { path: 'reduceLr.factor', value: 0.5, name: 'a' },
    { path: 'stages', value: 'head:1,block5:2', name: 'b' },
  ]);
  assert.deepEqual(c.reduceLr, { ...DEFAULT_CONFIG.reduceLr, factor: 0.5 });
  assert.equal(c.epochs, 3);
  assert.throws(
    () =>
      applySettings(DEFAULT_CONFIG, [
        { path: 'stages', value: 'head:1', name: 'trial: stages' },
        { path: 'epochs', value: 4, name: 'trial: epochs' },
      ]),
    usage(
      /^trial: epochs: expected 1, the sum of the stages' epochs \(trial: stages\)/,
      'CONFLICTING_OPTIONS',
    ),
  );
});

test('error codes are one closed list without duplicates', () => {
  assert.equal(new Set(ERROR_CODES).size, ERROR_CODES.length);
  assert.ok(!(ERROR_CODES as readonly string[]).includes('USAGE'));
});

test('suggestSimilar: close typos only', () => {
  assert.equal(suggestSimilar('epoch', ['epochs', 'lr']), 'epochs');
  assert.equal(suggestSimilar('optimiser', ['optimizer', 'momentum']), 'optimizer');
  assert.equal(suggestSimilar('xyz', ['epochs', 'lr']), undefined);
});
