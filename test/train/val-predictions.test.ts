/**
 * predictions.json comes from the final model's own validation pass (the head on the cached
 * features), not from a second run of the network: it must say exactly what the written model
 * folder predicts for the same images (predict's path, openClassifier), also when EarlyStopping
 * put back an earlier epoch, and a run resumed with nothing left to train (a sweep's winner) must
 * write it without opening any ONNX session.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, mock, test } from 'node:test';
import { Session } from '../../src/engine/session.js';
import { openClassifier } from '../../src/inference/classify.js';
import { fineTune } from '../../src/train/fit.js';
import { PREDICTIONS_FILE, TOP_LOSSES, type PredictionsFile } from '../../src/train/predictions.js';
import { writeShapesDataset } from '../helpers/shapes.js';

let dir = '';
let train = '';
let val = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vggkit-val-predictions-'));
  train = join(dir, 'train');
  val = join(dir, 'val');
  await writeShapesDataset(train, { perClass: 8, size: 32, seed: 3 });
  await writeShapesDataset(val, { perClass: 7, size: 32, seed: 4 });
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const config = {
  weights: 'none',
  inputSize: 32,
  epochs: 4,
  batchSize: 8,
  lr: 0.01,
  earlyStopping: { enabled: true, patience: 10, restoreBestWeights: true },
};

async function readPredictions(modelDir: string): Promise<PredictionsFile> {
  return JSON.parse(await readFile(join(modelDir, PREDICTIONS_FILE), 'utf8')) as PredictionsFile;
}

/** predictions.json against what the model folder predicts for every validation image. */
async function assertMatchesModelFolder(modelDir: string): Promise<PredictionsFile> {
  const predictions = await readPredictions(modelDir);
  const classifier = await openClassifier({ weights: modelDir });
  try {
    const { predictions: rows, skipped } = await classifier.predict([val], { top: 3 });
    assert.deepEqual(skipped, []);
    assert.equal(predictions.images, rows.length);
    const probabilities = new Map(
      rows.map((r) => [r.file, new Map(r.top.map((p) => [p.label, p.probability]))]),
    );
    // The confusion matrix from the folder's own predictions (true class = the image's folder).
    const names = predictions.classNames;
    const matrix = names.map(() => names.map(() => 0));
    for (const r of rows) {
      const truth = names.findIndex((n) => r.file.includes(`/${n}/`));
      (matrix[truth] as number[])[names.indexOf(r.top[0]?.label as string)] += 1;
    }
    assert.deepEqual(predictions.confusionMatrix, matrix);
    assert.equal(predictions.topLosses.length, Math.min(TOP_LOSSES, rows.length));
    for (const t of predictions.topLosses) {
      const p = probabilities.get(t.file);
      assert.ok(p !== undefined, t.file);
      const close = (a: number, b: number): boolean => Math.abs(a - b) < 1e-4;
      assert.ok(close(p.get(names[t.predicted] as string) as number, t.probability), t.file);
      assert.ok(close(p.get(names[t.label] as string) as number, t.trueProbability), t.file);
      assert.ok((await stat(join(modelDir, t.thumbnail as string))).size > 0);
    }
  } finally {
    await classifier.release();
  }
  return predictions;
}

test('predictions.json is what the trained model folder predicts, EarlyStopping restore included', async () => {
  const result = await fineTune({
    data: train,
    out: join(dir, 'run'),
    cacheDir: join(dir, 'cache'),
    config: { ...config, val },
  });
  const predictions = await assertMatchesModelFolder(result.modelDir);
  // The final model is EarlyStopping's best epoch: its validation loss is predictions.json's.
  const losses = result.history.map((h) => h.val_loss as number);
  const best = losses.indexOf(Math.min(...losses));
  assert.ok(
    best < losses.length - 1,
    `an earlier epoch is restored (val_loss ${losses.join(', ')})`,
  );
  assert.ok(
    Math.abs(predictions.loss - (losses[best] as number)) < 1e-5,
    `predictions loss ${predictions.loss}, val_loss by epoch ${losses.join(', ')}`,
  );
});

test('a run resumed with nothing left to train (a sweep winner) opens no session for predictions.json', async () => {
  const out = join(dir, 'paused');
  const options = {
    data: train,
    out,
    cacheDir: join(dir, 'cache'),
    config: { ...config, val },
  };
  const paused = await fineTune({ ...options, pauseAt: config.epochs });
  assert.equal(paused.paused, true);
  await assert.rejects(stat(join(out, PREDICTIONS_FILE)));
  const created = mock.method(Session, 'create');
  try {
    const finished = await fineTune({ ...options, resume: true });
    assert.equal(finished.paused, false);
    assert.equal(created.mock.callCount(), 0, 'no base, head or model session on resume');
  } finally {
    created.mock.restore();
  }
  await assertMatchesModelFolder(out);
});
