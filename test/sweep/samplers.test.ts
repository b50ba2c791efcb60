/**
 * Samplers: grid enumerates exactly; random and TPE are reproducible per seed; TPE's Parzen
 * estimators are proper densities (numerical integration as the oracle) and TPE finds a better
 * region than random search on the same budget.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GridSampler } from '../../src/sweep/samplers/grid.js';
import { RandomSampler } from '../../src/sweep/samplers/random.js';
import { ParzenEstimator } from '../../src/sweep/samplers/parzen.js';
import { TpeSampler } from '../../src/sweep/samplers/tpe.js';
import { createSampler } from '../../src/sweep/samplers/index.js';
import type {
  Dimension,
  Observation,
  Params,
  Sampler,
  SearchSpace,
} from '../../src/sweep/types.js';
import { Random } from '../../src/util/random.js';

const lists: SearchSpace = {
  dimensions: [
    { kind: 'categorical', name: 'optimizer', path: 'optimizer', choices: ['adam', 'sgd'] },
    { kind: 'categorical', name: 'batch-size', path: 'batchSize', choices: [16, 32, 64] },
    { kind: 'categorical', name: 'nesterov', path: 'nesterov', choices: [true, false] },
  ],
};

const mixed: SearchSpace = {
  dimensions: [
    { kind: 'float', name: 'lr', path: 'lr', low: 1e-5, high: 1e-1, log: true },
    { kind: 'float', name: 'dropout', path: 'dropout', low: 0, high: 0.8, log: false },
    { kind: 'int', name: 'dense', path: 'dense', low: 16, high: 512, log: false },
    { kind: 'categorical', name: 'optimizer', path: 'optimizer', choices: ['adam', 'sgd'] },
  ],
};

test('grid: every combination exactly once, in a seeded order', () => {
  const grid = new GridSampler(lists, 7);
  assert.equal(grid.capacity, 12);
  const seen = Array.from({ length: 12 }, (_, i) => JSON.stringify(grid.ask(i, [])));
  assert.equal(new Set(seen).size, 12);
  const expected = ['adam', 'sgd'].flatMap((o) =>
    [16, 32, 64].flatMap((b) =>
      [true, false].map((n) => JSON.stringify({ optimizer: o, 'batch-size': b, nesterov: n })),
    ),
  );
  assert.deepEqual([...seen].sort(), [...expected].sort());
  assert.deepEqual(
    Array.from({ length: 12 }, (_, i) => JSON.stringify(new GridSampler(lists, 7).ask(i, []))),
    seen,
  );
  assert.notDeepEqual(
    Array.from({ length: 12 }, (_, i) => JSON.stringify(new GridSampler(lists, 8).ask(i, []))),
    seen,
  );
  assert.throws(() => grid.ask(12, []), RangeError);
  assert.throws(() => createSampler('grid', mixed, 1, 'min'), /--sampler grid: .*a range for --lr/);
});

test('random: the same seed gives the same trials, within bounds, integers whole, log ranges log-uniform', () => {
  const a = new RandomSampler(mixed, 42);
  const b = new RandomSampler(mixed, 42);
  const c = new RandomSampler(mixed, 43);
  const trials = Array.from({ length: 400 }, (_, i) => a.ask(i, []));
  // Trial k depends on the seed and k only: asking out of order gives the same values.
  assert.deepEqual(b.ask(17, []), trials[17]);
  assert.notDeepEqual(c.ask(17, []), trials[17]);
  for (const p of trials) {
    assert.ok((p.lr as number) >= 1e-5 && (p.lr as number) <= 1e-1);
    assert.ok(Number.isInteger(p.dense) && (p.dense as number) >= 16 && (p.dense as number) <= 512);
  }
  const belowMidDecade = trials.filter((p) => (p.lr as number) < 1e-3).length;
  assert.ok(
    belowMidDecade > 160 && belowMidDecade < 240,
    `log-uniform: ${belowMidDecade}/400 below 1e-3`,
  );
  assert.deepEqual(new Set(trials.map((p) => p.optimizer)), new Set(['adam', 'sgd']));
});

function integrate(f: (x: number) => number, low: number, high: number, n = 20000): number {
  const h = (high - low) / n;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += f(low + (i + 0.5) * h);
  return sum * h;
}

test('Parzen estimators are proper densities: they integrate (or sum) to 1', () => {
  const lr: Dimension = { kind: 'float', name: 'lr', path: 'lr', low: 1e-5, high: 1e-1, log: true };
  const lrEst = new ParzenEstimator(lr, [1e-4, 3e-4, 5e-2], [1, 1, 1]);
  // The density is over log(lr): integrate in that space.
  const massLog = integrate(
    (u) => Math.exp(lrEst.logPdf([Math.exp(u)])[0] as number),
    Math.log(1e-5),
    Math.log(1e-1),
  );
  assert.ok(Math.abs(massLog - 1) < 1e-3, `log-space mass ${massLog}`);
  const dropout: Dimension = {
    kind: 'float',
    name: 'dropout',
    path: 'dropout',
    low: 0,
    high: 0.8,
    log: false,
  };
  const dEst = new ParzenEstimator(dropout, [0.1, 0.11, 0.7], [1, 1, 1]);
  const mass = integrate((x) => Math.exp(dEst.logPdf([x])[0] as number), 0, 0.8);
  assert.ok(Math.abs(mass - 1) < 1e-3, `mass ${mass}`);
  const dense: Dimension = {
    kind: 'int',
    name: 'dense',
    path: 'dense',
    low: 16,
    high: 64,
    log: false,
  };
  const iEst = new ParzenEstimator(dense, [20, 60], [1, 1]);
  let total = 0;
  for (let x = 16; x <= 64; x++) total += Math.exp(iEst.logPdf([x])[0] as number);
  assert.ok(Math.abs(total - 1) < 1e-9, `int mass ${total}`);
  const opt: Dimension = {
    kind: 'categorical',
    name: 'optimizer',
    path: 'optimizer',
    choices: ['adam', 'sgd', 'adamw'],
  };
  const cEst = new ParzenEstimator(opt, ['adam', 'adam'], [1, 1]);
  const probs = ['adam', 'sgd', 'adamw'].map((c) => Math.exp(cEst.logPdf([c])[0] as number));
  assert.ok(Math.abs(probs.reduce((a, b) => a + b) - 1) < 1e-12);
  // Two adam kernels of 1 + 1/3 and a uniform prior: adam gets (2 * (1+1/3)/2 + 1/3) / 3 of the mass.
  assert.ok(Math.abs((probs[0] as number) - (2 * ((1 + 1 / 3) / 2) + 1 / 3) / 3) < 1e-12);
  // Samples stay inside the bounds, integers whole.
  const samples = iEst.sample(new Random(3), 500);
  assert.ok(
    samples.every((s) => Number.isInteger(s) && (s as number) >= 16 && (s as number) <= 64),
  );
});

/** A stand-in objective with its optimum at lr 1e-3 with adam and dropout 0.3. */
function objective(p: Params): number {
  return (
    (Math.log10(p.lr as number) + 3) ** 2 +
    (p.optimizer === 'sgd' ? 1 : 0) +
    4 * ((p.dropout as number) - 0.3) ** 2
  );
}

function runLoop(sampler: Sampler, n: number): { params: Params; value: number }[] {
  const told: Observation[] = [];
  const out: { params: Params; value: number }[] = [];
  for (let i = 0; i < n; i++) {
    const params = sampler.ask(i, told);
    const value = objective(params);
    told.push({ params, status: 'completed', epochs: 1, value });
    out.push({ params, value });
  }
  return out;
}

test('tpe: reproducible per seed, random for its start-up trials, then better than random search', () => {
  const space: SearchSpace = { dimensions: mixed.dimensions.filter((d) => d.name !== 'dense') };
  const first = runLoop(new TpeSampler(space, 5, 'min'), 40);
  const again = runLoop(new TpeSampler(space, 5, 'min'), 40);
  assert.deepEqual(again, first);
  assert.notDeepEqual(runLoop(new TpeSampler(space, 6, 'min'), 40), first);
  const random = runLoop(new RandomSampler(space, 5), 40);
  assert.deepEqual(first.slice(0, 10), random.slice(0, 10));
  const mean = (xs: { value: number }[]): number => xs.reduce((s, x) => s + x.value, 0) / xs.length;
  const tpeLate = mean(first.slice(20));
  const randomLate = mean(random.slice(20));
  assert.ok(
    tpeLate < 0.5 * randomLate,
    `TPE's last 20 trials average ${tpeLate}, random's ${randomLate}`,
  );
  // Maximising the negated objective proposes the same trials.
  const told: Observation[] = [];
  const max = new TpeSampler(space, 5, 'max');
  for (let i = 0; i < 15; i++) {
    const params = max.ask(i, told);
    assert.deepEqual(params, first[i]?.params);
    told.push({ params, status: 'completed', epochs: 1, value: -objective(params) });
  }
});
