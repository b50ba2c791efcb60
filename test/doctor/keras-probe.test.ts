/**
 * `vggkit doctor --keras MODEL data/ --probe`: the probes start from the Keras model's own weights
 * (its base and its trained head) with the setup it was compiled with (optimizer, rate, the blocks
 * it trains). The model, written by the Keras fixture writer at full VGG16 shape at 32x32, has
 * zero weights except its output bias: every image then gets softmax(bias), so the initial loss
 * has an exact oracle, and every ReLU of the base is dead — neither holds for a fresh head or for
 * any other weights.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildContext } from '../../src/doctor/inputs.js';
import { runDoctor } from '../../src/doctor/run.js';
import { writeShapesDataset } from '../helpers/shapes.js';
import { example2, writeKerasZip, type CompileDef } from '../model/keras/writer.js';
import { tempDir } from './fixtures.js';

const BIAS = [5, 0, 0];
const SGD: CompileDef['optimizer'] = {
  className: 'SGD',
  config: { name: 'SGD', learning_rate: 0.003, momentum: 0.9, nesterov: false },
};

let dir = '';
let model = '';
let data = '';
before(async () => {
  dir = await tempDir('doctor-keras-probe-');
  const def = example2({ classes: 3, size: 32, trainableFrom: 5 });
  await writeKerasZip((model = join(dir, 'model.keras')), {
    ...def,
    compile: { ...(def.compile as CompileDef), optimizer: SGD },
    layers: def.layers.map((l) =>
      l.name === 'dense_1'
        ? {
            ...l,
            weights: l.weights?.map((w) =>
              w.name === 'bias' ? { ...w, data: Float32Array.from(BIAS) } : w,
            ),
          }
        : l,
    ),
  });
  data = join(dir, 'data');
  await writeShapesDataset(data, { perClass: 6, size: 32, seed: 1 });
});
after(() => rm(dir, { recursive: true, force: true }));

test('doctor --keras MODEL data --probe probes the model with its own weights, head and compile setup', async () => {
  const lines: string[] = [];
  const ctx = await buildContext({
    keras: model,
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
  assert.equal(probes.optimizer, 'sgd');
  assert.equal(probes.stage.lr, 0.003);
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
  assert.match(initial.explanation, /model\.keras's own head/);
  assert.doesNotMatch(initial.explanation, /fresh head/);
  assert.ok(ids.includes('dead-relu'), ids.join());
});
