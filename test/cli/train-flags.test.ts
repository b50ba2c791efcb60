/**
 * The training flag table derived from the config schema: one flag per setting, errors that name
 * the flag as typed, aliases, and the commander registration that train, sweep and lr-find share.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import {
  configFromFlags,
  flagAttribute,
  parseFlagValue,
  registerTrainFlags,
  TRAIN_FLAGS,
  trainFlag,
  trainFlagOverrides,
} from '../../src/cli/train-flags.js';
import { DEFAULT_CONFIG } from '../../src/train/config.js';
import { parseTrainConfig } from '../../src/train/config-schema.js';
import type { UsageCode } from '../../src/util/error-codes.js';
import { UsageError } from '../../src/util/errors.js';

function usage(pattern: RegExp, code: UsageCode = 'INVALID_OPTION'): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof UsageError, `expected a UsageError, got ${String(e)}`);
    assert.equal(e.code, code);
    assert.equal(e.exitCode, 2);
    assert.match(e.message, pattern);
    return true;
  };
}

/** Parses argv the way `vggkit train` does and returns the effective config. */
function trainConfig(...argv: string[]): ReturnType<typeof configFromFlags> {
  const command = registerTrainFlags(new Command('train').exitOverride());
  command.parse(argv, { from: 'user' });
  return configFromFlags(command.opts());
}

test('flags are the kebab-case paths of the settings; a section switch or name is the section flag', () => {
  assert.equal(trainFlag('lr').flag, '--lr');
  assert.equal(trainFlag('inputSize').flag, '--input-size');
  assert.equal(trainFlag('reduceLr.enabled').flag, '--reduce-lr');
  assert.equal(trainFlag('reduceLr.minDelta').flag, '--reduce-lr-min-delta');
  assert.equal(trainFlag('reduceLr.minLr').flag, '--reduce-lr-min-lr');
  assert.deepEqual(trainFlag('reduceLr.minLr').aliases, ['--min-lr']);
  assert.equal(trainFlag('schedule.name').flag, '--schedule');
  assert.equal(trainFlag('schedule.gamma').flag, '--schedule-gamma');
  assert.equal(trainFlag('earlyStopping.enabled').flag, '--early-stopping');
  assert.deepEqual(trainFlag('optimizer').choices, ['adam', 'adamw', 'sgd']);
  assert.equal(trainFlag('batchSize').kind, 'integer');
  assert.equal(trainFlag('lr').kind, 'number');
  const spellings = TRAIN_FLAGS.flatMap((f) => [f.flag, ...f.aliases]);
  assert.equal(
    new Set(spellings.map(flagAttribute)).size,
    spellings.length,
    'no two flags collide',
  );
});

test('errors name the flag the user typed, alias or derived spelling', () => {
  // The reported bug: these named --schedule.gamma and --reduce-lr.minLr, flags that do not exist.
  assert.throws(
    () => trainConfig('--gamma', '-1'),
    usage(/^--gamma: expected a number > 0, received -1$/),
  );
  assert.throws(
    () => trainConfig('--min-lr', '-1'),
    usage(/^--min-lr: expected a number >= 0, received -1$/),
  );
  assert.throws(
    () => trainConfig('--schedule-gamma', '-1'),
    usage(/^--schedule-gamma: expected a number > 0, received -1$/),
  );
  assert.throws(
    () => trainConfig('--reduce-lr-patience', '1.5'),
    usage(/^--reduce-lr-patience: expected a whole number >= 0, received 1\.5$/),
  );
  assert.throws(
    () => trainConfig('--gamma', '0.5', '--schedule-gamma', '0.3'),
    usage(/^--schedule-gamma and --gamma: expected one of them/, 'CONFLICTING_OPTIONS'),
  );
  const c = trainConfig('--gamma', '0.5', '--min-lr', '1e-7', '--no-restore-best-weights');
  assert.equal(c.schedule.gamma, 0.5);
  assert.equal(c.reduceLr.minLr, 1e-7);
  assert.equal(c.earlyStopping.restoreBestWeights, false);
  assert.equal(trainConfig('--reduce-lr-min-lr', '1e-8').reduceLr.minLr, 1e-8);
  assert.deepEqual(
    trainFlagOverrides({ noSuchSetting: 1, reduceLr: false }).map((o) => o.name),
    ['--no-reduce-lr'],
  );
});

test('registerTrainFlags: every setting once in the help, aliases hidden, defaults shown', () => {
  const command = registerTrainFlags(new Command('train'));
  const help = command.helpInformation();
  for (const f of TRAIN_FLAGS) assert.match(help, new RegExp(`${f.flag}[ ,<]`), f.flag);
  assert.doesNotMatch(help, /^\s+--gamma /m);
  assert.match(
    help,
    /--schedule-gamma <x>\s+step schedule: decay factor \(default 0\.1; also --gamma\)/,
  );
  assert.match(help, /--optimizer <value>\s+optimizer: adam, adamw, sgd \(default adam\)/);
  const without = registerTrainFlags(new Command('x'), { except: ['weights', 'val'] });
  assert.equal(
    without.options.some((o) => o.long === '--weights' || o.long === '--val'),
    false,
  );
});

test('parseFlagValue checks one text value for one flag exactly as train does', () => {
  assert.equal(parseFlagValue(trainFlag('lr'), '3e-4'), 3e-4);
  assert.equal(parseFlagValue(trainFlag('nesterov'), 'true'), true);
  assert.deepEqual(parseFlagValue(trainFlag('augment'), 'flip,zoom'), ['flip', 'zoom']);
  assert.throws(
    () => parseFlagValue(trainFlag('schedule.gamma'), '-1', '--gamma'),
    usage(/^--gamma: expected a number > 0, received -1$/),
  );
  assert.throws(
    () => parseFlagValue(trainFlag('batchSize'), 'many'),
    usage(/^--batch-size: expected a number, received "many"$/),
  );
  assert.throws(
    () => parseFlagValue(trainFlag('nesterov'), 'yes'),
    usage(/^--nesterov: expected true or false, received "yes"$/),
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
  const covered = TRAIN_FLAGS.map((f) => f.path);
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
      reduceLrMinLr: '1e-7',
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
    usage(/^--reduce-lr-factor: expected a number in \(0, 1\), received 2$/),
  );
  assert.throws(
    () => configFromFlags({ schedule: 'linear' }),
    usage(/^--schedule: expected one of none, step, cosine, one-cycle, received "linear"$/),
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
    usage(
      /^--epochs: expected 2, the sum of the stages' epochs \(--stages\), received 9$/,
      'CONFLICTING_OPTIONS',
    ),
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
