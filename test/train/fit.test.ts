/**
 * fineTune() end to end on generated shape images (3 classes, 32x32, random-init weights): it
 * learns, frozen layers stay bit-identical to their initial values in the written weights.h5,
 * ReduceLROnPlateau lowers the rate on a plateau, and evaluateModel agrees with the trainer's own
 * validation numbers (two independent paths: the training graph's evaluation vs the inference
 * graph in model.onnx).
 */
import type { TrainConfigInput } from '../../src/train/config-schema.js';
import assert from 'node:assert/strict';
import { copyFile, cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { evaluateModel, fineTune, VggkitError } from '../../src/index.js';
import sharp from 'sharp';
import { chartSpecs } from '../../src/report/chart-spec.js';
import { PREDICTIONS_FILE, TOP_LOSSES, type PredictionsFile } from '../../src/train/predictions.js';
import {
  EVENTS_FILE,
  parseEventLine,
  type EventRecord,
} from '../../src/train/callbacks/events-log.js';
import type { ArchName, VggOptions } from '../../src/model/architectures.js';
import { headLayers, modelLayers, type HeadSpec } from '../../src/model/head.js';
import { initWeights } from '../../src/model/init.js';
import { readKerasWeights } from '../../src/model/keras-h5.js';
import { readSafetensors } from '../../src/model/safetensors.js';
import { loadWeights } from '../../src/model/load-weights.js';
import type { WeightMap } from '../../src/model/weight-map.js';
import { vggLayers } from '../../src/model/architectures.js';
import { Random } from '../../src/util/random.js';
import { writeShapesDataset } from '../helpers/shapes.js';

let dir = '';
let train = '';
let val = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vggkit-fit-'));
  train = join(dir, 'train');
  val = join(dir, 'val');
  await writeShapesDataset(train, { perClass: 12, size: 32, seed: 1 });
  await writeShapesDataset(val, { perClass: 10, size: 32, seed: 2 });
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function run(name: string, config: Record<string, unknown>): ReturnType<typeof fineTune> {
  return fineTune({
    data: train,
    out: join(dir, name),
    cacheDir: join(dir, 'cache'),
    config: { weights: 'none', inputSize: 32, val, ...config },
  });
}

function layersOf(
  arch: ArchName,
  head: HeadSpec,
): { options: VggOptions; all: ReturnType<typeof modelLayers> } {
  const options: VggOptions = {
    arch,
    includeTop: false,
    inputSize: [32, 32],
    pooling: 'none',
    classes: head.classes,
  };
  return { options, all: modelLayers(options, head) };
}

/** Keys whose tensors differ in at least one bit between `a` and `b`. */
function changedKeys(a: WeightMap, b: WeightMap, keys: readonly string[]): string[] {
  return keys.filter((key) => {
    const x = a.get(key)?.data;
    const y = b.get(key)?.data;
    assert.ok(x !== undefined && y !== undefined, `missing ${key}`);
    assert.equal(x.length, y.length, key);
    return !Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(
      Buffer.from(y.buffer, y.byteOffset, y.byteLength),
    );
  });
}

// A randomly initialised VGG16 shrinks activations through 13 Glorot/ReLU layers (block5_pool
// features have std ~0.02 at 32x32) and learns these images slowly and seed-dependently; VGG11
// (8 convs) keeps them ~10x larger and learns reliably within 8 epochs. Batch 4 gives 9 steps per
// epoch, Adam at 3e-3 with a small avg-pooled head (64 units, no dropout) converges fast.
test('fineTune learns the shapes: loss falls, validation accuracy far above chance; evaluateModel agrees', async () => {
  const result = await run('learn', {
    arch: 'vgg11',
    epochs: 8,
    batchSize: 4,
    lr: 3e-3,
    head: 'avg',
    dense: 64,
    dropout: 0,
    seed: 1,
  });
  const first = result.history[0];
  const last = result.history[result.history.length - 1];
  assert.ok(first !== undefined && last !== undefined);
  assert.equal(result.history.length, 8);
  assert.ok(last.loss < 0.6 * first.loss, `training loss ${first.loss} -> ${last.loss}`);
  assert.ok(
    (last.val_loss as number) < 0.6 * (first.val_loss as number),
    `val_loss ${first.val_loss} -> ${last.val_loss}`,
  );
  assert.ok(
    (last.val_accuracy as number) >= 0.8,
    `val_accuracy ${last.val_accuracy} (chance is 1/3)`,
  );

  const report = await evaluateModel({ model: result.modelDir, data: val });
  assert.deepEqual(report.classNames, ['circle', 'square', 'triangle']);
  assert.equal(report.accuracy, last.val_accuracy);
  assert.ok(
    Math.abs(report.loss - (last.val_loss as number)) < 1e-5,
    `evaluate loss ${report.loss} vs val_loss ${last.val_loss}`,
  );
  assert.equal(
    report.confusionMatrix.flat().reduce((a, b) => a + b, 0),
    30,
  );
  assert.deepEqual(report.skipped, []);

  // predictions.json: the same model on the same validation images, with its worst mistakes.
  const predictions = JSON.parse(
    await readFile(join(result.modelDir, PREDICTIONS_FILE), 'utf8'),
  ) as PredictionsFile;
  assert.equal(predictions.accuracy, report.accuracy);
  assert.deepEqual(predictions.confusionMatrix, report.confusionMatrix);
  assert.equal(predictions.images, 30);
  assert.equal(predictions.topLosses.length, TOP_LOSSES);
  const losses = predictions.topLosses.map((t) => t.loss);
  assert.deepEqual(
    losses,
    [...losses].sort((a, b) => b - a),
    'worst first',
  );
  for (const t of predictions.topLosses) {
    assert.ok(t.file.startsWith(val), t.file);
    assert.ok(Math.abs(t.loss + Math.log(t.trueProbability)) < 1e-6);
    const thumb = await sharp(join(result.modelDir, t.thumbnail as string)).metadata();
    assert.ok(thumb.width <= 96 && thumb.height <= 96);
  }

  // history.json carries the class names (the doctor's chance level) and one record per epoch.
  const history = JSON.parse(await readFile(join(result.modelDir, 'history.json'), 'utf8')) as {
    classNames: string[];
    epochs: { epoch: number; loss: number; stage: string }[];
  };
  assert.deepEqual(history.classNames, ['circle', 'square', 'triangle']);
  assert.deepEqual(
    history.epochs.map((e) => [e.epoch, e.loss, e.stage]),
    result.history.map((h, i) => [i, h.loss, 'head']),
  );

  // events.jsonl: who trained (this process), every batch and epoch in order, and the end.
  const events = (await readFile(join(result.modelDir, EVENTS_FILE), 'utf8'))
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => parseEventLine(line));
  assert.ok(events.every((e) => e !== undefined));
  const records = events as EventRecord[];
  const start = records[0];
  assert.ok(start?.type === 'fit_start');
  assert.equal(start.pid, process.pid);
  assert.equal(start.host, hostname());
  assert.deepEqual(start.classNames, ['circle', 'square', 'triangle']);
  const epochEnds = records.filter((e) => e.type === 'epoch_end');
  assert.deepEqual(
    epochEnds.map((e) => e.logs),
    result.history,
  );
  const batches = records.filter((e) => e.type === 'batch_end');
  assert.equal(batches.length, 8 * 9, '36 images in batches of 4, 8 epochs');
  assert.ok(batches.every((b) => Number.isFinite(b.batchLoss) && b.batch >= 1 && b.batch <= 9));
  assert.deepEqual(records[records.length - 1], {
    ...records[records.length - 1],
    type: 'fit_end',
    epochsCompleted: 8,
    stopped: null,
  });
  assert.ok(records.every((e, i) => i === 0 || e.time >= (records[i - 1] as EventRecord).time));
});

test('freezing freezes: head stage leaves every base weight bit-identical; a block5 stage changes block5 only', async () => {
  const head: HeadSpec = { kind: 'flatten', dense: 16, classes: 3, activation: 'softmax' };
  const common = {
    arch: 'vgg11',
    batchSize: 8,
    lr: 1e-2,
    dense: 16,
    seed: 5,
    reduceLr: { enabled: false },
  };
  const { all } = layersOf('vgg11', head);
  const initial = (
    await loadWeights({ arch: 'vgg11', weights: 'none', includeTop: false, inputSize: 32, seed: 5 })
  ).weights;
  const base = vggLayers({
    arch: 'vgg11',
    includeTop: false,
    inputSize: [32, 32],
    pooling: 'none',
    classes: 3,
  });
  for (const [key, t] of initWeights(headLayers(base, head), new Random(5))) initial.set(key, t);
  const keys = [...initial.keys()];
  const headKeys = keys.filter((k) => !k.startsWith('block'));
  const blockKeys = (b: number): string[] => keys.filter((k) => k.startsWith(`block${b}_`));
  assert.ok(headKeys.length === 4 && blockKeys(5).length === 4 && blockKeys(4).length === 4);

  const headOnly = await run('frozen-head', { ...common, epochs: 2 });
  const written = await readKerasWeights(join(headOnly.modelDir, 'weights.h5'), all);
  assert.deepEqual(changedKeys(initial, written, keys).sort(), [...headKeys].sort());

  const block5 = await run('frozen-block5', { ...common, stages: 'head:1,block5:1' });
  const written5 = await readKerasWeights(join(block5.modelDir, 'weights.h5'), all);
  const changed = changedKeys(initial, written5, keys);
  assert.deepEqual(changed.sort(), [...headKeys, ...blockKeys(5)].sort());
  assert.deepEqual(
    [1, 2, 3, 4].flatMap(blockKeys).filter((k) => changed.includes(k)),
    [],
  );

  // EarlyStopping's restore reaches across stages: a block5 stage that diverges (1000x the rate)
  // is stopped, and the restored best epoch (in the head stage) brings block5 back to its initial values.
  const diverged = await run('restore-across-stages', {
    ...common,
    lr: 1e-3,
    stages: 'head:2,block5:4',
    stageLrFactor: 1000,
    earlyStopping: { enabled: true, monitor: 'val_loss', patience: 1, restoreBestWeights: true },
  });
  assert.equal(diverged.stoppedBy, 'early_stopping');
  const restored = await readKerasWeights(join(diverged.modelDir, 'weights.h5'), all);
  assert.deepEqual(changedKeys(initial, restored, keys).sort(), [...headKeys].sort());
  // report.html plots the run: three charts with one point per epoch run, the block5 stage change
  // marked between epochs 2 and 3 on each, the early stop named.
  const report = await readFile(join(diverged.modelDir, 'report.html'), 'utf8');
  const specs = chartSpecs(report);
  assert.deepEqual(
    specs.map((s) => s.title),
    ['Loss per epoch', 'Accuracy per epoch', 'Learning rate per epoch'],
  );
  for (const spec of specs) {
    assert.ok(spec.kind === 'line');
    assert.deepEqual(
      spec.x,
      diverged.history.map((_, i) => i + 1),
    );
    for (const s of spec.series) assert.equal(s.values.length, diverged.history.length, s.label);
    assert.ok(
      spec.markers?.some((m) => m.x === 2.5 && m.label === 'stage block5'),
      JSON.stringify(spec.markers),
    );
  }
  assert.match(report, /Stopped early by <code>early_stopping<\/code>/);
});

test('ReduceLROnPlateau lowers the rate by its factor when val_loss cannot improve', async () => {
  // At lr 1e-9 no update can move val_loss by minDelta (1e-4): every epoch after the first is a
  // plateau, so with patience 1 Keras' rule cuts the rate after each of them.
  const result = await run('plateau', {
    epochs: 4,
    batchSize: 8,
    lr: 1e-9,
    head: 'avg',
    dense: 16,
    seed: 3,
    reduceLr: {
      enabled: true,
      monitor: 'val_loss',
      factor: 0.5,
      patience: 1,
      minDelta: 1e-4,
      cooldown: 0,
      minLr: 0,
    },
  });
  const losses = result.history.map((h) => h.val_loss as number);
  for (const loss of losses)
    assert.ok(
      Math.abs(loss - (losses[0] as number)) < 1e-4,
      `val_loss moved: ${losses.join(', ')}`,
    );
  const lrs = result.history.map((h) => h.lr);
  const expected = [1e-9, 1e-9, 0.5e-9, 0.25e-9];
  lrs.forEach((lr, i) =>
    assert.ok(
      Math.abs(lr - (expected[i] as number)) <= 1e-6 * (expected[i] as number),
      `lr ${lrs.join(', ')}`,
    ),
  );
});

test('evaluateModel names a data folder the model does not know; model classes missing from the data are fine', async () => {
  const result = await run('eval-classes', {
    epochs: 1,
    batchSize: 16,
    head: 'avg',
    dense: 8,
    seed: 2,
  });
  await writeShapesDataset(join(dir, 'pool'), { perClass: 3, size: 32, seed: 4 });
  const partial = join(dir, 'partial');
  for (const name of ['circle', 'hexagon']) {
    await mkdir(join(partial, name), { recursive: true });
    await copyFile(join(dir, 'pool', 'circle', 'circle_00.png'), join(partial, name, 'a.png'));
  }
  await assert.rejects(
    evaluateModel({ model: result.modelDir, data: partial }),
    (error: unknown) => {
      assert.ok(error instanceof VggkitError);
      assert.equal(error.code, 'CLASS_MISMATCH');
      assert.match(error.message, /hexagon/);
      return true;
    },
  );

  const onlyCircles = join(dir, 'circles-only');
  await mkdir(join(onlyCircles, 'circle'), { recursive: true });
  for (let i = 0; i < 3; i++)
    await copyFile(
      join(dir, 'pool', 'circle', `circle_0${i}.png`),
      join(onlyCircles, 'circle', `c${i}.png`),
    );
  await writeFile(join(onlyCircles, 'circle', 'broken.png'), 'not a PNG at all');
  const report = await evaluateModel({ model: result.modelDir, data: onlyCircles });
  assert.deepEqual(report.classNames, ['circle', 'square', 'triangle']);
  assert.equal(report.confusionMatrix.length, 3);
  assert.deepEqual(
    report.confusionMatrix[0]?.reduce((a, b) => a + b, 0),
    3,
  );
  assert.deepEqual(report.confusionMatrix.slice(1).flat(), [0, 0, 0, 0, 0, 0]);
  assert.deepEqual(
    report.skipped.map((s) => s.file),
    [join(onlyCircles, 'circle', 'broken.png')],
  );
});

test('augmentation runs the frozen base on every batch, says so, and is reproducible for a seed', async () => {
  const config: TrainConfigInput = {
    arch: 'vgg11',
    epochs: 2,
    batchSize: 6,
    lr: 3e-3,
    head: 'avg',
    dense: 32,
    dropout: 0,
    augment: ['flip', 'brightness'],
  };
  const lines: string[] = [];
  const first = await fineTune({
    data: train,
    out: join(dir, 'augment-1'),
    cacheDir: join(dir, 'cache'),
    config: { weights: 'none', inputSize: 32, val, ...config },
    log: (line) => lines.push(line),
  });
  assert.ok(
    lines.some((l) => /augmentation on \(flip, brightness\).*no feature cache/.test(l)),
    lines.join('\n'),
  );
  const second = await run('augment-2', config);
  assert.deepEqual(second.history, first.history);
  // Augmented batches differ from the cached unaugmented features: the training losses must too.
  const plain = await run('augment-off', { ...config, augment: [] });
  assert.notDeepEqual(
    plain.history.map((h) => h.loss),
    first.history.map((h) => h.loss),
  );
});

test('EarlyStopping stops a run that cannot improve and restores the best epoch; cosine schedule decays the rate', async () => {
  const stopped = await run('early', {
    arch: 'vgg11',
    epochs: 8,
    lr: 1e-9,
    reduceLr: { enabled: false },
    earlyStopping: {
      enabled: true,
      monitor: 'val_loss',
      patience: 1,
      minDelta: 0.01,
      restoreBestWeights: true,
    },
  });
  assert.equal(stopped.stoppedBy, 'early_stopping');
  assert.ok(stopped.history.length < 8, `ran ${stopped.history.length} epochs`);
  // The written model holds the epoch EarlyStopping kept (its snapshot), not the last epoch's weights
  // (the resume checkpoint's): nothing improved by minDelta after the first epoch.
  const head = layersOf('vgg11', {
    kind: 'flatten',
    dense: 256,
    classes: 3,
    activation: 'softmax',
  }).all;
  const final = await readKerasWeights(join(dir, 'early', 'weights.h5'), head);
  const kept = (await readSafetensors(join(dir, 'early', 'best-weights.safetensors'))).tensors;
  const last = new Map(
    [...(await readSafetensors(join(dir, 'early', 'checkpoint.safetensors'))).tensors].map(
      ([k, t]) => [k.replace(/^param\//, ''), t],
    ),
  );
  assert.deepEqual(changedKeys(final, kept, ['dense/kernel', 'dense_1/kernel']), []);
  assert.deepEqual(changedKeys(final, last, ['dense/kernel', 'dense_1/kernel']), [
    'dense/kernel',
    'dense_1/kernel',
  ]);

  const cosine = await run('cosine', {
    arch: 'vgg11',
    epochs: 4,
    lr: 1e-3,
    schedule: { name: 'cosine' },
  });
  const lrs = cosine.history.map((h) => h.lr);
  for (let i = 1; i < lrs.length; i++)
    assert.ok((lrs[i] as number) < (lrs[i - 1] as number), `lr ${lrs.join(', ')}`);
  assert.ok((lrs[0] as number) <= 1e-3);
});

test('binary cross-entropy on two classes: one sigmoid output that learns and evaluates consistently; three classes are refused', async () => {
  const two = join(dir, 'two');
  const twoVal = join(dir, 'two-val');
  for (const [from, to] of [
    [train, two],
    [val, twoVal],
  ] as const) {
    await cp(join(from, 'circle'), join(to, 'circle'), { recursive: true });
    await cp(join(from, 'square'), join(to, 'square'), { recursive: true });
  }
  const config: TrainConfigInput = {
    weights: 'none',
    inputSize: 32,
    arch: 'vgg11',
    loss: 'binary_crossentropy',
    epochs: 8,
    batchSize: 4,
    lr: 3e-3,
    head: 'avg',
    dense: 64,
    dropout: 0,
    val: twoVal,
  };
  const result = await fineTune({
    data: two,
    out: join(dir, 'binary'),
    cacheDir: join(dir, 'cache'),
    config,
  });
  const last = result.history[result.history.length - 1] as {
    val_accuracy: number;
    val_loss: number;
  };
  assert.ok(last.val_accuracy >= 0.8, `val_accuracy ${last.val_accuracy} (chance is 1/2)`);
  const report = await evaluateModel({ model: result.modelDir, data: twoVal });
  assert.equal(report.accuracy, last.val_accuracy);
  await assert.rejects(
    fineTune({
      data: train,
      out: join(dir, 'binary-3'),
      cacheDir: join(dir, 'cache'),
      config: { ...config, val },
    }),
    /binary_crossentropy: expected exactly 2 class folders, received 3/,
  );
});
