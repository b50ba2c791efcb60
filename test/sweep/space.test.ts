/**
 * The search space from train flags: ranges, lists, `|` alternatives for values that hold commas,
 * log and integer dimensions, and errors that name the flag exactly as `vggkit train` would.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_CONFIG } from '../../src/train/config.js';
import { TRAIN_FLAGS } from '../../src/train/parse-config.js';
import {
  findFlag,
  parseFlagDimension,
  parseSearchObject,
  trialConfig,
} from '../../src/sweep/space.js';
import { UsageError } from '../../src/util/errors.js';

function dim(flag: string, text: string): ReturnType<typeof parseFlagDimension> {
  return parseFlagDimension(findFlag(flag, 'test'), text, DEFAULT_CONFIG);
}

test('ranges: lr is log-uniform, dropout linear, dense and batch size stay integers', () => {
  assert.deepEqual(dim('lr', '1e-5..1e-2'), {
    kind: 'float',
    name: 'lr',
    low: 1e-5,
    high: 1e-2,
    log: true,
  });
  assert.deepEqual(dim('dropout', '0.2..0.6'), {
    kind: 'float',
    name: 'dropout',
    low: 0.2,
    high: 0.6,
    log: false,
  });
  assert.deepEqual(dim('dense', '64..512'), {
    kind: 'int',
    name: 'dense',
    low: 64,
    high: 512,
    log: false,
  });
  // Whole endpoints on a flag that accepts fractions stay a float range.
  assert.deepEqual(dim('stage-lr-factor', '1..2')?.kind, 'float');
  assert.deepEqual(dim('min-lr', '1e-7..1e-5'), {
    kind: 'float',
    name: 'min-lr',
    low: 1e-7,
    high: 1e-5,
    log: true,
  });
});

test('lists: commas for plain values, | for stages and augment (their values hold commas)', () => {
  assert.deepEqual(dim('optimizer', 'adam,sgd'), {
    kind: 'categorical',
    name: 'optimizer',
    choices: ['adam', 'sgd'],
  });
  assert.deepEqual(dim('batch-size', '16,32,64'), {
    kind: 'categorical',
    name: 'batch-size',
    choices: [16, 32, 64],
  });
  assert.deepEqual(dim('stages', 'head:10|head:5,block5:5'), {
    kind: 'categorical',
    name: 'stages',
    choices: ['head:10', 'head:5,block5:5'],
  });
  // A single stages value with commas is not a search.
  assert.equal(dim('stages', 'head:5,block5:5'), undefined);
  assert.equal(dim('augment', 'flip,rotate'), undefined);
  assert.deepEqual(dim('augment', 'none|flip,zoom')?.kind, 'categorical');
  assert.deepEqual(dim('nesterov', 'true,false'), {
    kind: 'categorical',
    name: 'nesterov',
    choices: [true, false],
  });
  assert.equal(dim('lr', '1e-3'), undefined);
});

test('every value is validated as train validates it, naming the flag', () => {
  assert.throws(
    () => dim('dropout', '0.2..1.5'),
    (e: unknown) =>
      e instanceof UsageError && /--dropout: expected a number in \[0, 1\)/.test(e.message),
  );
  assert.throws(
    () => dim('optimizer', 'adam,rmsprop'),
    /--optimizer: expected one of adam, adamw, sgd, received "rmsprop"/,
  );
  assert.throws(
    () => dim('stages', 'head:10|block5:5,head:3'),
    /--stages: .*head cannot follow block5/,
  );
  assert.throws(() => dim('weight-decay', '0..1e-3'), /--weight-decay: expected a range above 0/);
  assert.throws(() => dim('lr', '1e-2..1e-5'), /--lr: expected a range lo\.\.hi with lo < hi/);
  assert.throws(() => dim('batch-size', '16,x'), /--batch-size: expected a number, received "x"/);
  // A range on a text flag is one (invalid) value: `vggkit train`'s own check reports it.
  assert.equal(dim('optimizer', 'adam..sgd'), undefined);
  assert.throws(
    () => dim('batch-size', '0,32'),
    /--batch-size: expected a whole number >= 1, received 0/,
  );
  assert.throws(() => findFlag('learning-rate', 'search'), /unknown setting "learning-rate"/);
});

test('a --config search object takes the same ranges and lists, by flag or config key', () => {
  const dims = parseSearchObject(
    {
      lr: '1e-4..1e-2',
      batchSize: [16, 32],
      stages: [[{ name: 'head', epochs: 4 }], 'head:2,block5:2'],
      dropout: { low: 0.1, high: 0.5 },
    },
    DEFAULT_CONFIG,
    'cfg.json',
  );
  assert.deepEqual(
    dims.map((d) => [d.name, d.kind]),
    [
      ['lr', 'float'],
      ['batch-size', 'categorical'],
      ['stages', 'categorical'],
      ['dropout', 'float'],
    ],
  );
  assert.throws(
    () => parseSearchObject({ dropout: [0.1, 2] }, DEFAULT_CONFIG, 'cfg.json'),
    /cfg\.json: search\.dropout: expected a number in \[0, 1\)/,
  );
});

test('a trial config applies its values over the base, nested flags included', () => {
  const config = trialConfig(DEFAULT_CONFIG, {
    lr: 3e-4,
    'batch-size': 16,
    'min-lr': 1e-7,
    stages: 'head:3,block5:2',
    nesterov: true,
  });
  assert.equal(config.lr, 3e-4);
  assert.equal(config.batchSize, 16);
  assert.equal(config.reduceLr.minLr, 1e-7);
  assert.equal(config.reduceLr.factor, DEFAULT_CONFIG.reduceLr.factor);
  assert.equal(config.epochs, 5);
  assert.equal(config.nesterov, true);
  assert.ok(TRAIN_FLAGS.length > 40);
});
