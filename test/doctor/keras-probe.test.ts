/**
 * `vggkit doctor --keras MODEL data/ --probe`: the probes start from the Keras model's own weights
 * (its base and its trained head) with the setup it was compiled with (optimizer, rate, the blocks
 * it trains). The model, written by the Keras fixture writer at full VGG16 shape at 32x32, has
 * zero weights except its output bias: every image then gets softmax(bias), so the initial loss
 * has an exact oracle, and every ReLU of the base is dead — neither holds for a fresh head or for
 * any other weights. The same model as `model.to_json()` plus `save_weights` (`--keras-weights`)
 * probes from the same weights and head (with vggkit's default optimizer: to_json keeps no compile).
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildContext } from '../../src/doctor/inputs.js';
import { runDoctor } from '../../src/doctor/run.js';
import { DEFAULT_CONFIG } from '../../src/train/config.js';
import { writeShapesDataset } from '../helpers/shapes.js';
import { rejectsWith } from '../helpers/errors.js';
import {
  example2,
  writeKerasH5,
  writeKerasJson,
  writeKerasZip,
  type CompileDef,
  type ModelDef,
} from '../model/keras/writer.js';
import { tempDir } from './fixtures.js';

const BIAS = [5, 0, 0];
const SGD: CompileDef['optimizer'] = {
  className: 'SGD',
  config: { name: 'SGD', learning_rate: 0.003, momentum: 0.9, nesterov: false },
};

let dir = '';
let model = '';
let json = '';
let weights = '';
let data = '';
before(async () => {
  dir = await tempDir('doctor-keras-probe-');
  const example = example2({ classes: 3, size: 32, trainableFrom: 5 });
  const def: ModelDef = {
    ...example,
    compile: { ...(example.compile as CompileDef), optimizer: SGD },
    layers: example.layers.map((l) =>
      l.name === 'dense_1'
        ? {
            ...l,
            weights: l.weights?.map((w) =>
              w.name === 'bias' ? { ...w, data: Float32Array.from(BIAS) } : w,
            ),
          }
        : l,
    ),
  };
  await writeKerasZip((model = join(dir, 'model.keras')), def);
  await writeKerasJson((json = join(dir, 'model.json')), def);
  await writeKerasH5((weights = join(dir, 'weights.h5')), def, { weightsOnly: true });
  data = join(dir, 'data');
  await writeShapesDataset(data, { perClass: 6, size: 32, seed: 1 });
});
after(() => rm(dir, { recursive: true, force: true }));

test('doctor --keras MODEL data --probe probes the model with its own weights, head and compile setup', async () => {
  await probesOwnWeights(model, undefined);
});

test('doctor --keras model.json --keras-weights weights.h5 --probe probes the same', async () => {
  await probesOwnWeights(json, weights);
});

test('doctor --keras model.json --probe without --keras-weights names the flag', async () => {
  await rejectsWith(
    buildContext({ keras: json, dataDir: data, probe: true, offline: true }),
    'KERAS_NO_WEIGHTS',
    /model\.json: is an architecture only .*--keras-weights/,
  );
});

async function probesOwnWeights(model: string, kerasWeights: string | undefined): Promise<void> {
  const lines: string[] = [];
  const ctx = await buildContext({
    keras: model,
    ...(kerasWeights === undefined ? {} : { kerasWeights }),
    dataDir: data,
    probe: true,
    probeImages: 12,
    offline: true,
    cacheDir: join(dir, 'cache'),
    log: (line) => lines.push(line),
  });
  const probes = ctx.probes;
  assert.ok(probes !== undefined, lines.join('\n'));
  // The setup the model was compiled and frozen with: SGD at 0.003, block5 and the head trainable.
  // model.to_json() keeps no compile setup: vggkit's defaults stand in for it.
  const compiled = kerasWeights === undefined;
  assert.equal(probes.optimizer, compiled ? 'sgd' : DEFAULT_CONFIG.optimizer);
  assert.equal(probes.stage.lr, compiled ? 0.003 : DEFAULT_CONFIG.lr);
  assert.deepEqual([probes.stage.name, probes.stage.trainableBlocks], ['block5', 1]);
  assert.equal(probes.headFrom, model);
  // Its own head: every image scores softmax(BIAS); 4 images per class in a stratified sample of 12.
  const z = BIAS.reduce((sum, b) => sum + Math.exp(b), 0);
  const expected = BIAS.reduce((sum, b) => sum - Math.log(Math.exp(b) / z), 0) / BIAS.length;
  assert.equal(probes.sampleSize, 12);
  assert.ok(
    Math.abs(probes.initialLoss - expected) < 1e-4,
    `initial loss ${probes.initialLoss}, softmax(bias) gives ${expected}`,
  );
  // Its own base: zero kernels and biases leave every ReLU of every conv layer silent.
  assert.equal(probes.deadRelu.layers.length, 13);
  for (const layer of probes.deadRelu.layers) assert.equal(layer.dead, layer.channels, layer.layer);

  const findings = (await runDoctor(ctx)).findings;
  const ids = findings.map((f) => f.id);
  const initial = findings.find((f) => f.id === 'initial-loss-off');
  assert.ok(initial !== undefined, ids.join());
  assert.match(
    initial.explanation,
    new RegExp(`${basename(model).replace('.', '\\.')}'s own head`),
  );
  assert.doesNotMatch(initial.explanation, /fresh head/);
  assert.ok(ids.includes('dead-relu'), ids.join());
}
