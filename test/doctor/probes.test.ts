import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeKerasWeights } from '../../src/model/keras-h5.js';
import { loadWeights } from '../../src/model/load-weights.js';
import { vggLayers } from '../../src/model/architectures.js';
import { biasKey, kernelKey, type WeightMap } from '../../src/model/weight-map.js';
import { suggestions } from '../../src/doctor/lr-suggestions.js';
import { runProbes } from '../../src/doctor/probe.js';
import type { ProbeResults } from '../../src/doctor/probe-results.js';
import { runDoctor } from '../../src/doctor/run.js';
import { scanDataset, type DataScan } from '../../src/doctor/scan.js';
import type { Finding } from '../../src/doctor/types.js';
import { parseTrainConfig } from '../../src/train/config-schema.js';
import type { Float32Tensor } from '../../src/util/tensor.js';
import { tempDir } from './fixtures.js';
import { colourDataset } from './probe-fixtures.js';

let root = '';
let scan: DataScan;

before(async () => {
  root = await tempDir('probes-');
  process.env.VGGKIT_HOME = join(root, 'home');
  scan = await scanDataset(await colourDataset(join(root, 'data'), 12));
});

async function probe(
  config: Record<string, unknown>,
): Promise<{ results: ProbeResults; findings: Finding[] }> {
  const parsed = parseTrainConfig({ weights: 'none', inputSize: 32, ...config }, 'test config');
  const results = await runProbes({
    scan,
    config: parsed,
    cacheDir: join(root, 'cache'),
    images: 36,
  });
  const report = await runDoctor({ scan, config: parsed, probes: results });
  return { results, findings: report.findings.filter((f) => f.family === 'probe') };
}

const ids = (findings: readonly Finding[]): string[] => findings.map((f) => f.id);

/** Random-init VGG16 base weights at 32x32 with `edit` applied, written as a Keras .h5 file. */
async function brokenWeights(name: string, edit: (w: WeightMap) => void): Promise<string> {
  const { weights } = await loadWeights({
    arch: 'vgg16',
    weights: 'none',
    includeTop: false,
    inputSize: 32,
    seed: 1337,
  });
  edit(weights);
  const file = join(root, `${name}.h5`);
  const layers = vggLayers({
    arch: 'vgg16',
    includeTop: false,
    inputSize: [32, 32],
    pooling: 'none',
    classes: 0,
  });
  await writeKerasWeights(
    file,
    layers.map((l) => ({
      name: l.name,
      weights:
        l.kind === 'conv'
          ? [
              { name: 'kernel', tensor: weights.get(kernelKey(l.name)) as Float32Tensor },
              { name: 'bias', tensor: weights.get(biasKey(l.name)) as Float32Tensor },
            ]
          : [],
    })),
  );
  return file;
}

test('a healthy config at a usable rate: every probe quiet, LR suggestion finite, gradient norms finite and positive', async () => {
  const { results, findings } = await probe({ lr: 1e-3 });
  assert.deepEqual(ids(findings), []);
  assert.ok(
    Math.abs(results.initialLoss - Math.log(3)) < 0.1,
    `initial loss ${results.initialLoss} near ln 3`,
  );
  assert.ok(Number.isFinite(results.lrRange.suggestion) && results.lrRange.suggestion > 0);
  assert.ok(
    results.lrRange.lrs.every((lr, i) => i === 0 || lr > (results.lrRange.lrs[i - 1] as number)),
  );
  assert.deepEqual(
    results.gradients.layers.map((l) => l.layer),
    ['block5_conv1', 'block5_conv2', 'block5_conv3', 'dense', 'dense_1'],
  );
  for (const l of results.gradients.layers)
    assert.ok(Number.isFinite(l.norm) && l.norm > 0, `${l.layer} norm ${l.norm}`);
  assert.equal(results.deadRelu.layers.length, 13);
  assert.equal(results.forgetting, undefined);
});

test('a learning rate of 1e-9 cannot overfit one batch', async () => {
  const { results, findings } = await probe({ lr: 1e-9 });
  const hit = findings.find((f) => f.id === 'cannot-overfit-batch');
  assert.ok(hit, `got ${ids(findings).join(', ')}`);
  assert.ok(Math.abs(results.overfit.endLoss - results.overfit.startLoss) < 1e-3);
});

test('the probes are deterministic for a seed', async () => {
  const a = await probe({ lr: 1e-3 });
  const b = await probe({ lr: 1e-3 });
  assert.deepEqual(a.results, b.results);
});

test('forgetting-after-unfreeze: a 30x stage rate wrecks held-out accuracy, a 0.1x one does not', async () => {
  const stages = [
    { name: 'head', epochs: 1 },
    { name: 'block5', epochs: 1 },
  ];
  const broken = await probe({ lr: 1e-3, stages, stageLrFactor: 30 });
  assert.ok(
    ids(broken.findings).includes('forgetting-after-unfreeze'),
    `got ${ids(broken.findings).join(', ')}`,
  );
  const healthy = await probe({ lr: 1e-3, stages, stageLrFactor: 0.1 });
  assert.ok(healthy.results.forgetting !== undefined);
  assert.ok(
    !ids(healthy.findings).includes('forgetting-after-unfreeze'),
    `got ${ids(healthy.findings).join(', ')}`,
  );
});

test('dead ReLUs and vanishing gradients: a hugely negative block1_conv1 bias silences the whole base', async () => {
  const file = await brokenWeights('dead', (w) => {
    (w.get(biasKey('block1_conv1')) as { data: Float32Array }).data.fill(-1e3);
  });
  const { results, findings } = await probe({ lr: 1e-3, weights: file });
  assert.ok(ids(findings).includes('dead-relu'), `got ${ids(findings).join(', ')}`);
  assert.ok(ids(findings).includes('vanishing-gradients'), `got ${ids(findings).join(', ')}`);
  assert.ok(results.deadRelu.layers.every((l) => l.dead === l.channels));
});

test('initial-loss-off and exploding gradients: block1_conv1 kernels scaled up 1e6 blow up the features', async () => {
  const file = await brokenWeights('huge', (w) => {
    const k = w.get(kernelKey('block1_conv1')) as { data: Float32Array };
    k.data.forEach((v, i) => (k.data[i] = v * 1e6));
  });
  const { results, findings } = await probe({ lr: 1e-3, weights: file });
  assert.ok(
    ids(findings).includes('initial-loss-off'),
    `got ${ids(findings).join(', ')} (initial loss ${results.initialLoss})`,
  );
  assert.ok(ids(findings).includes('exploding-gradients'), `got ${ids(findings).join(', ')}`);
});

test('suggestions: lr_min is the rate of the lowest loss over 10, steepest where the loss falls fastest per decade', () => {
  const lrs = [1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1];
  const losses = [1.1, 1.05, 0.7, 0.5, 0.6, 3];
  const s = suggestions(lrs, losses);
  assert.equal(s.minimum, 1e-3);
  assert.equal(s.steepest, 1e-3);
  assert.equal(s.suggestion, s.minimum);
  assert.ok(Number.isNaN(suggestions([], []).suggestion));
});

function withLrRange(lr: number, suggestion: number): ProbeResults {
  return {
    classes: 3,
    sampleSize: 36,
    stage: { name: 'head', trainableBlocks: 0, lr },
    optimizer: 'adam',
    initialLoss: Math.log(3),
    overfit: { images: 16, steps: 30, lr, startLoss: 1.1, endLoss: 0.5 },
    lrRange: {
      lrs: [1e-7, 1],
      losses: [1.1, 0.9],
      minimum: suggestion,
      steepest: suggestion,
      suggestion,
      stoppedEarly: false,
    },
    gradients: { images: 16, trainableBlocks: 1, layers: [] },
    deadRelu: { images: 16, layers: [] },
  };
}

test('lr-too-high / lr-too-low from the LR range test, quiet within the factors; beyond the static limits too, one finding with the measured fix', async () => {
  const config = parseTrainConfig({ lr: 1e-3 }, 'test');
  const run = async (lr: number, suggestion: number): Promise<string[]> =>
    ids(
      (
        await runDoctor({ config: { ...config, lr }, probes: withLrRange(lr, suggestion) })
      ).findings.filter((f) => f.family === 'probe'),
    );
  assert.deepEqual(await run(1e-3, 1e-5), ['lr-too-high']);
  assert.deepEqual(await run(2e-6, 1e-2), ['lr-too-low']);
  assert.deepEqual(await run(1e-4, 1e-3), []);
  assert.deepEqual(await run(1e-3, 1e-3), []);
  // 1 is beyond Adam's static limit as well: the rule's finding and the measured one are one, with the measured rate.
  assert.deepEqual(await run(1, 1e-3), ['lr-too-high']);
  const { findings } = await runDoctor({
    config: { ...config, lr: 1 },
    probes: withLrRange(1, 1e-3),
  });
  const high = findings.filter((f) => f.id === 'lr-too-high');
  assert.equal(high.length, 1);
  assert.deepEqual(
    [high[0]?.fix.config, high[0]?.fix.basis, high[0]?.severity],
    [{ lr: 1e-3 }, 'probe', 'error'],
  );
});
