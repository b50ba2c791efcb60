import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { FROM_SCRATCH_MIN_IMAGES, headParameters } from '../../src/doctor/checks/config.js';
import { parseHistory } from '../../src/doctor/history.js';
import { runDoctor } from '../../src/doctor/run.js';
import { scanDataset, type DataScan } from '../../src/doctor/scan.js';
import type { DoctorContext, Finding } from '../../src/doctor/types.js';
import { DEFAULT_CONFIG, type TrainConfig } from '../../src/train/config.js';
import { cleanDataset, kerasCsv, tempDir } from './fixtures.js';

/** Sound for 24 images of 64x64 in two classes. */
const SOUND: TrainConfig = {
  ...DEFAULT_CONFIG,
  inputSize: 64,
  head: 'avg',
  dense: 64,
  batchSize: 8,
};

let scan: DataScan;
before(async () => {
  scan = await scanDataset(await cleanDataset(await tempDir()));
});

async function findings(ctx: DoctorContext): Promise<Finding[]> {
  return [...(await runDoctor(ctx)).findings];
}

async function fires(id: string, ctx: DoctorContext): Promise<Finding> {
  const all = await findings(ctx);
  const found = all.find((f) => f.id === id);
  assert.ok(found, `expected ${id}, got ${all.map((f) => f.id).join(', ') || 'nothing'}`);
  return found;
}

async function quiet(id: string, ctx: DoctorContext): Promise<void> {
  const found = (await findings(ctx)).find((f) => f.id === id);
  assert.equal(found, undefined, `${id} fired on the healthy twin: ${found?.title}`);
}

test('lr-too-high / lr-too-low against the optimizer family', async () => {
  const high = await fires('lr-too-high', { scan, config: { ...SOUND, lr: 0.01 } });
  assert.deepEqual(high.fix.config, { lr: 1e-4 });
  assert.equal(
    (await fires('lr-too-high', { scan, config: { ...SOUND, lr: 0.1 } })).severity,
    'error',
  );
  await quiet('lr-too-high', { scan, config: { ...SOUND, lr: 1e-3 } });
  await quiet('lr-too-high', { scan, config: { ...SOUND, optimizer: 'sgd', lr: 0.01 } });
  await fires('lr-too-low', { scan, config: { ...SOUND, lr: 1e-8 } });
  await quiet('lr-too-low', { scan, config: { ...SOUND, lr: 1e-5 } });
});

test('unfrozen-with-high-lr: block5 at 1e-3 with Adam; silent once the stage factor brings it to 1e-4', async () => {
  const stages = [
    { name: 'head', epochs: 5 },
    { name: 'block5', epochs: 5 },
  ];
  const finding = await fires('unfrozen-with-high-lr', {
    scan,
    config: { ...SOUND, lr: 1e-3, stages, stageLrFactor: 1, epochs: 10 },
  });
  assert.deepEqual(finding.fix.config, { stageLrFactor: 0.1 });
  await quiet('unfrozen-with-high-lr', {
    scan,
    config: { ...SOUND, lr: 1e-3, stages, stageLrFactor: 0.1, epochs: 10 },
  });
  const fromStart = await fires('unfrozen-with-high-lr', {
    scan,
    config: { ...SOUND, lr: 1e-3, stages: [{ name: 'block5', epochs: 10 }], epochs: 10 },
  });
  assert.equal(fromStart.fix.config?.stages?.[0]?.name, 'head');
});

test('too-much-frozen: frozen base and a training accuracy stalled at 62%; silent when block5 is unfrozen', async () => {
  const stalled = parseHistory(
    kerasCsv(
      Array.from({ length: 10 }, (_, i) => ({
        loss: 0.66 - 0.02 * Math.exp(-i),
        accuracy: 0.62,
        val_loss: 0.67,
        val_accuracy: 0.6,
      })),
    ),
    'h.csv',
  );
  const finding = await fires('too-much-frozen', { scan, config: SOUND, history: stalled });
  assert.deepEqual(
    finding.fix.config?.stages?.map((s) => s.name),
    ['head', 'block5'],
  );
  await quiet('too-much-frozen', {
    scan,
    config: {
      ...SOUND,
      stages: [
        { name: 'head', epochs: 10 },
        { name: 'block5', epochs: 10 },
      ],
      epochs: 20,
    },
    history: stalled,
  });
  // Healthy twin: same config, a history that fits.
  const fitting = parseHistory(
    kerasCsv(
      Array.from({ length: 10 }, (_, i) => ({
        loss: 0.1 + 0.5 * Math.exp(-i / 2),
        accuracy: 0.96 - 0.4 * Math.exp(-i / 2),
      })),
    ),
    'h.csv',
  );
  await quiet('too-much-frozen', { scan, config: SOUND, history: fitting });
});

test('random-base-frozen: weights none with a frozen base; the fix follows the data size; silent once every block trains or the weights are pretrained', async () => {
  const frozen = await fires('random-base-frozen', {
    scan,
    config: { ...SOUND, weights: 'none' },
  });
  assert.equal(frozen.severity, 'warning');
  assert.equal(frozen.evidence['frozenBlocks'], 5);
  // 24 images cannot train VGG from scratch: pretrained weights, which the fix loop cannot measure.
  assert.equal(frozen.fix.config, undefined);
  assert.equal(frozen.fix.flag, undefined);
  assert.match(frozen.fix.summary, /^Start from pretrained weights \(--weights imagenet\)/);
  const partly = await fires('random-base-frozen', {
    scan,
    config: {
      ...SOUND,
      weights: 'none',
      stages: [
        { name: 'head', epochs: 4 },
        { name: 'block4', epochs: 6 },
      ],
    },
  });
  assert.equal(partly.evidence['frozenBlocks'], 3);
  assert.match(partly.title, /blocks 1-3 stay frozen/);
  await quiet('random-base-frozen', {
    scan,
    config: { ...SOUND, weights: 'none', stages: [{ name: 'block1', epochs: 10 }] },
  });
  await quiet('random-base-frozen', { scan, config: SOUND });
});

test('random-base-frozen on enough images to train from scratch: every block trainable for the same epochs', async () => {
  const many: DataScan = {
    ...scan,
    records: Array.from({ length: FROM_SCRATCH_MIN_IMAGES / 0.8 }, (_, i) => ({
      ...(scan.records[i % scan.records.length] as DataScan['records'][number]),
    })),
  };
  const finding = await fires('random-base-frozen', {
    scan: many,
    config: { ...SOUND, weights: 'none', epochs: 12 },
  });
  assert.deepEqual(finding.fix.config, { stages: [{ name: 'block1', epochs: 12 }] });
  assert.equal(finding.fix.flag, '--stages block1:12');
});

test('loss-output-mismatch: binary cross-entropy with three classes, not with two', async () => {
  const three = await scanDataset(
    await cleanDataset(await tempDir(), { classes: ['a', 'b', 'c'] }),
  );
  const finding = await fires('loss-output-mismatch', {
    scan: three,
    config: { ...SOUND, loss: 'binary_crossentropy' },
  });
  assert.equal(finding.severity, 'error');
  await quiet('loss-output-mismatch', { scan, config: { ...SOUND, loss: 'binary_crossentropy' } });
});

test('class-count-mismatch: a validation folder with an extra class, or a model trained on other classes', async () => {
  const root = await tempDir();
  await cleanDataset(join(root, 'train'));
  await cleanDataset(join(root, 'val'), {
    classes: ['cats', 'dogs', 'birds'],
    perClass: 3,
    seed: 400,
  });
  await cleanDataset(join(root, 'val-ok'), { perClass: 3, seed: 400 });
  const mismatched = await scanDataset(join(root, 'train'), { val: join(root, 'val') });
  const finding = await fires('class-count-mismatch', { scan: mismatched });
  assert.deepEqual(finding.evidence.onlyInVal, ['birds']);
  await quiet('class-count-mismatch', {
    scan: await scanDataset(join(root, 'train'), { val: join(root, 'val-ok') }),
  });
  await fires('class-count-mismatch', { scan, model: { classes: ['cats', 'dogs', 'fish'] } });
  await quiet('class-count-mismatch', { scan, model: { classes: ['cats', 'dogs'] } });
});

test('batch-larger-than-dataset: batch 32 for 19 training images (24 minus a 20% split)', async () => {
  const finding = await fires('batch-larger-than-dataset', {
    scan,
    config: { ...SOUND, batchSize: 32 },
  });
  assert.equal(finding.evidence.trainImages, 19);
  assert.deepEqual(finding.fix.config, { batchSize: 8 });
  await quiet('batch-larger-than-dataset', { scan, config: { ...SOUND, batchSize: 16 } });
});

test('batch-larger-than-dataset on 136 training images suggests the default 32, not the 64 half the data gives (3 steps an epoch)', async () => {
  const many = await scanDataset(
    await cleanDataset(await tempDir(), { perClass: 85, size: 16, seed: 3 }),
  );
  const finding = await fires('batch-larger-than-dataset', {
    scan: many,
    config: { ...SOUND, batchSize: 1024 },
  });
  assert.equal(finding.evidence.trainImages, 136);
  assert.deepEqual(finding.fix.config, { batchSize: DEFAULT_CONFIG.batchSize });
});

test('head-too-large: the seed head (Flatten 7x7x512 -> Dense 256) on 19 images; GAP + Dense 64 is fine', async () => {
  // Independent count: 25088*256 + 256 (fc) + 256*2 + 2 (output) = 6,423,298.
  assert.equal(headParameters(DEFAULT_CONFIG, 2).parameters, 25088 * 256 + 256 + 256 * 2 + 2);
  const finding = await fires('head-too-large', {
    scan,
    config: { ...DEFAULT_CONFIG, batchSize: 8 },
  });
  assert.equal(finding.evidence.parameters, 6_423_298);
  assert.deepEqual(finding.fix.config, { head: 'avg' });
  await quiet('head-too-large', { scan, config: SOUND });
});
