/**
 * The search space from train flags, as `vggkit sweep` parses them (src/cli/sweep.ts over the one
 * train flag table): ranges, lists, `|` alternatives for values that hold commas, log and integer
 * dimensions, a --config `search` object, and errors that name the flag exactly as `vggkit train`
 * would.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseSearch } from '../../src/cli/actions/sweep.js';
import { makeSpace, trialConfig } from '../../src/sweep/space.js';
import type { Dimension } from '../../src/sweep/types.js';
import { DEFAULT_CONFIG } from '../../src/train/config.js';
import { UsageError } from '../../src/util/errors.js';

async function dims(flags: Record<string, unknown>): Promise<Dimension[]> {
  return (await parseSearch(flags)).dimensions;
}

async function dim(attribute: string, text: string): Promise<Dimension | undefined> {
  return (await dims({ [attribute]: text }))[0];
}

test('ranges: lr is log-uniform, dropout linear, dense stays an integer; aliases name the dimension', async () => {
  assert.deepEqual(await dim('lr', '1e-5..1e-2'), {
    kind: 'float',
    name: 'lr',
    path: 'lr',
    low: 1e-5,
    high: 1e-2,
    log: true,
  });
  assert.deepEqual(await dim('dropout', '0.2..0.6'), {
    kind: 'float',
    name: 'dropout',
    path: 'dropout',
    low: 0.2,
    high: 0.6,
    log: false,
  });
  assert.deepEqual(await dim('dense', '64..512'), {
    kind: 'int',
    name: 'dense',
    path: 'dense',
    low: 64,
    high: 512,
    log: false,
  });
  assert.equal((await dim('stageLrFactor', '1..2'))?.kind, 'float');
  assert.deepEqual(await dim('minLr', '1e-7..1e-5'), {
    kind: 'float',
    name: 'min-lr',
    path: 'reduceLr.minLr',
    low: 1e-7,
    high: 1e-5,
    log: true,
  });
  assert.deepEqual((await dim('reduceLrMinLr', '1e-7..1e-5'))?.name, 'reduce-lr-min-lr');
});

test('lists: commas for plain values, | for stages and augment (their values hold commas)', async () => {
  assert.deepEqual(await dim('optimizer', 'adam,sgd'), {
    kind: 'categorical',
    name: 'optimizer',
    path: 'optimizer',
    choices: ['adam', 'sgd'],
  });
  assert.deepEqual(await dim('batchSize', '16,32,64'), {
    kind: 'categorical',
    name: 'batch-size',
    path: 'batchSize',
    choices: [16, 32, 64],
  });
  assert.deepEqual(await dim('stages', 'head:10|head:5,block5:5'), {
    kind: 'categorical',
    name: 'stages',
    path: 'stages',
    choices: ['head:10', 'head:5,block5:5'],
  });
  // One stages (or augment) value with commas is a fixed setting, not a search.
  const fixed = await parseSearch({
    stages: 'head:5,block5:5',
    augment: 'flip,rotate',
    lr: '1e-3',
  });
  assert.deepEqual(fixed.dimensions, []);
  assert.deepEqual(fixed.base.stages, [
    { name: 'head', epochs: 5 },
    { name: 'block5', epochs: 5 },
  ]);
  assert.deepEqual(fixed.base.augment, ['flip', 'rotate']);
  assert.equal(fixed.base.lr, 1e-3);
  assert.equal((await dim('augment', 'none|flip,zoom'))?.kind, 'categorical');
  assert.deepEqual(await dim('nesterov', 'true,false'), {
    kind: 'categorical',
    name: 'nesterov',
    path: 'nesterov',
    choices: [true, false],
  });
  assert.equal((await parseSearch({ nesterov: true })).base.nesterov, true);
});

test('every value is validated as train validates it, naming the flag, before anything runs', async () => {
  const fails = async (flags: Record<string, unknown>, pattern: RegExp): Promise<void> => {
    await assert.rejects(
      parseSearch(flags),
      (e: unknown) => e instanceof UsageError && pattern.test(e.message),
    );
  };
  await fails({ dropout: '0.2..1.5' }, /^--dropout: expected a number in \[0, 1\), received 1\.5/);
  await fails(
    { optimizer: 'adam,rmsprop' },
    /^--optimizer: expected one of adam, adamw, sgd, received "rmsprop"/,
  );
  await fails({ stages: 'head:10|block5:5,head:3' }, /^--stages: .*head cannot follow block5/);
  await fails({ weightDecay: '0..1e-3' }, /^--weight-decay: expected a range above 0/);
  await fails({ lr: '1e-2..1e-5' }, /^--lr: expected a range lo\.\.hi with lo < hi/);
  await fails({ batchSize: '16,x' }, /^--batch-size: expected a number, received "x"/);
  await fails({ batchSize: '0,32' }, /^--batch-size: expected a whole number >= 1, received 0/);
  await fails({ dense: '16.5..64' }, /^--dense: expected a whole number >= 1, received 16\.5/);
  await fails({ minLr: '1e-7,-1' }, /^--min-lr: expected a number >= 0, received -1/);
  await fails(
    { optimizer: 'adam..sgd' },
    /^--optimizer: expected one of adam, adamw, sgd, received "adam\.\.sgd"/,
  );
  assert.throws(
    () =>
      makeSpace([
        { kind: 'categorical', name: 'min-lr', path: 'reduceLr.minLr', choices: [1, 2] },
        { kind: 'categorical', name: 'reduce-lr-min-lr', path: 'reduceLr.minLr', choices: [1, 2] },
      ]),
    /searched twice/,
  );
});

test('a --config search object takes the same ranges and lists, by flag or config key', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vggkit-space-'));
  try {
    const file = join(dir, 'cfg.json');
    await writeFile(
      file,
      JSON.stringify({
        epochs: 4,
        search: {
          lr: '1e-4..1e-2',
          batchSize: [16, 32],
          stages: [[{ name: 'head', epochs: 4 }], 'head:2,block5:2'],
          dropout: { low: 0.1, high: 0.5 },
          'reduceLr.minLr': [1e-7, 1e-6],
        },
      }),
    );
    const { base, dimensions } = await parseSearch({ config: file });
    assert.equal(base.epochs, 4);
    assert.deepEqual(
      dimensions.map((d) => [d.name, d.path, d.kind]),
      [
        ['lr', 'lr', 'float'],
        ['batch-size', 'batchSize', 'categorical'],
        ['stages', 'stages', 'categorical'],
        ['dropout', 'dropout', 'float'],
        ['reduce-lr-min-lr', 'reduceLr.minLr', 'categorical'],
      ],
    );
    await writeFile(file, JSON.stringify({ search: { dropout: [0.1, 2] } }));
    await assert.rejects(
      parseSearch({ config: file }),
      /cfg\.json: search\.dropout: expected a number in \[0, 1\), received 2/,
    );
    await writeFile(file, JSON.stringify({ search: { learningRate: [0.1, 0.2] } }));
    await assert.rejects(
      parseSearch({ config: file }),
      /cfg\.json: search: unknown setting "learningRate"/,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a trial config applies its values over the base, nested settings included', () => {
  const space = makeSpace([
    { kind: 'float', name: 'lr', path: 'lr', low: 1e-4, high: 1e-2, log: true },
    { kind: 'categorical', name: 'batch-size', path: 'batchSize', choices: [16, 32] },
    { kind: 'categorical', name: 'min-lr', path: 'reduceLr.minLr', choices: [1e-7, 1e-6] },
    { kind: 'categorical', name: 'stages', path: 'stages', choices: ['head:3,block5:2', 'head:5'] },
    { kind: 'categorical', name: 'nesterov', path: 'nesterov', choices: [true, false] },
  ]);
  const config = trialConfig(DEFAULT_CONFIG, space, {
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
});
