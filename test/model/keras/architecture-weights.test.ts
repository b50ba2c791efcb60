/**
 * `model.to_json()` plus `model.save_weights('w.h5')`, the pair tf.keras users keep, run through
 * the real CLI: `predict --weights model.json --keras-weights w.h5`, `evaluate model.json data/
 * --keras-weights w.h5` and the doctor. The files are written by writer.ts in Keras' layouts (the
 * weights file as legacy_h5_format.py `save_weights_to_hdf5_group` writes it: root `layer_names`,
 * `backend`, `keras_version`, a group per layer with `weight_names`; and Keras 3's `.weights.h5`,
 * saving_lib's layout), the weights are the PyTorch
 * oracle's (make_fixtures.py), and the pixels are the oracle's, saved losslessly as PNG at the
 * model's input size; so predict must give the oracle's probabilities within 1e-4, and evaluate
 * the oracle's cross-entropy.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { modelFor, oracle, oracleCase, worstDifference } from './oracle.js';
import { DEFAULT_CONFIG } from '../../../src/train/config.js';
import { weightsIdentity } from '../../../src/train/recipe.js';
import { writeKerasH5, writeKerasJson, writeKerasWeightsH5 } from './writer.js';
import { runCli, type CliRun } from '../../helpers/cli.js';

const CASE = oracleCase('flatten_caffe');
// The case's three classes as folders: the oracle's image 0 is a cat, its image 1 a dog and a fox.
const CLASSES = ['cat', 'dog', 'fox'];
const LABELLED: readonly (readonly [number, number])[] = [
  [0, 0],
  [1, 1],
  [1, 2],
];

let dir = '';
let images: string[] = [];
let expected: Float32Array = new Float32Array();

function vggkit(...args: string[]): Promise<CliRun> {
  return runCli(join(dir, 'home'), args);
}

const file = (name: string): string => join(dir, name);

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vggkit-keras-json-'));
  for (const nested of [false, true]) {
    const def = await modelFor(CASE, nested);
    const name = nested ? 'nested' : 'flat';
    await writeKerasJson(file(`${name}.json`), def);
    await writeKerasH5(file(`${name}.weights.h5`), def, { weightsOnly: true });
    // Keras 3: save_weights takes only `.weights.h5`, in saving_lib's layout.
    if (!nested) {
      await writeKerasJson(file('keras3.json'), def, 'keras3');
      await writeKerasWeightsH5(file('keras3.weights.h5'), def);
    }
  }
  const { pixels, dims, probs } = await oracle(CASE);
  const [n, h, w] = dims as [number, number, number, number];
  expected = probs;
  const png = (i: number, path: string): Promise<unknown> =>
    sharp(Buffer.from(pixels.subarray(i * h * w * 3, (i + 1) * h * w * 3)), {
      raw: { width: w, height: h, channels: 3 },
    })
      .png()
      .toFile(path);
  images = Array.from({ length: n }, (_, i) => file(`${i}.png`));
  for (let i = 0; i < n; i++) await png(i, images[i] as string);
  for (const [i, label] of LABELLED) {
    await mkdir(file(join('data', CLASSES[label] as string)), { recursive: true });
    await png(i, file(join('data', CLASSES[label] as string, `${i}.png`)));
  }
});
after(() => rm(dir, { recursive: true, force: true }));

interface PredictJson {
  readonly predictions: {
    readonly file: string;
    readonly top: { readonly index: number; readonly probability: number }[];
  }[];
}

describe('a model.to_json() architecture with its save_weights .h5 (--keras-weights)', () => {
  for (const name of ['flat', 'nested', 'keras3']) {
    test(`predict --weights ${name}.json --keras-weights: the oracle's probabilities`, async () => {
      const run = await vggkit(
        'predict',
        '--weights',
        file(`${name}.json`),
        '--keras-weights',
        file(`${name}.weights.h5`),
        '--top',
        '3',
        '--json',
        ...images,
      );
      assert.equal(run.code, 0, run.stderr);
      const { predictions } = JSON.parse(run.stdout) as PredictJson;
      const got = new Float32Array(expected.length);
      images.forEach((image, i) => {
        const row = predictions.find((p) => p.file === image);
        assert.ok(row !== undefined, `no prediction for ${image}`);
        for (const p of row.top) got[i * 3 + p.index] = p.probability;
      });
      const worst = worstDifference(got, expected);
      assert.ok(worst < 1e-4, `max |vggkit - keras| = ${worst}`);
      // No preprocessing inside the model: the assumption is said, with its flag.
      assert.match(run.stderr, /applies no preprocessing itself: assuming .*caffe/);
    });
  }

  test('the feature cache tells the same architecture with other weights apart', async () => {
    const config = { ...DEFAULT_CONFIG, weights: file('flat.json') };
    const [a, again, b, none] = await Promise.all([
      weightsIdentity({ ...config, kerasWeights: file('flat.weights.h5') }, 'x'),
      weightsIdentity({ ...config, kerasWeights: file('flat.weights.h5') }, 'x'),
      weightsIdentity({ ...config, kerasWeights: file('keras3.weights.h5') }, 'x'),
      weightsIdentity(config, 'x'),
    ]);
    assert.equal(a, again);
    assert.notEqual(a, b);
    assert.notEqual(a, none);
  });

  test("evaluate model.json data/ --keras-weights: the oracle's cross-entropy", async () => {
    const run = await vggkit(
      'evaluate',
      file('flat.json'),
      file('data'),
      '--keras-weights',
      file('flat.weights.h5'),
      '--json',
    );
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as { loss: number; classNames: string[] };
    assert.deepEqual(report.classNames, CLASSES);
    const loss =
      LABELLED.reduce((sum, [i, label]) => sum - Math.log(expected[i * 3 + label] as number), 0) /
      LABELLED.length;
    assert.ok(Math.abs(report.loss - loss) < 1e-4, `loss ${report.loss}, keras ${loss}`);
    assert.doesNotMatch(run.stderr, /could not write/);
  });

  test('the architecture alone cannot run: the error names the file and --keras-weights', async () => {
    const predict = await vggkit('predict', '--weights', file('flat.json'), ...images);
    assert.equal(predict.code, 1);
    assert.match(
      predict.stderr,
      /flat\.json: is an architecture only \(model\.to_json\(\) writes no weights\); give the weights model\.save_weights wrote with --keras-weights/,
    );
    assert.doesNotMatch(predict.stderr, /\n\s+at /, 'no stack trace');
    const evaluate = await vggkit('evaluate', file('flat.json'), file('data'));
    assert.equal(evaluate.code, 1);
    assert.match(evaluate.stderr, /flat\.json: is an architecture only.*--keras-weights/);
  });

  test('--keras-weights with weights that are no Keras model is a usage error', async () => {
    const run = await vggkit(
      'predict',
      '--weights',
      'none',
      '--keras-weights',
      file('flat.weights.h5'),
      ...images,
    );
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /--keras-weights .*flat\.weights\.h5: goes with a Keras model/);
  });

  test('doctor --keras model.json: judged alone, and with its weights', async () => {
    const alone = await vggkit('doctor', '--keras', file('flat.json'), '--json');
    assert.ok(alone.code === 0 || alone.code === 1, alone.stderr);
    assert.doesNotMatch(alone.stderr, /--keras-weights|\n\s+at /);
    const weighed = await vggkit(
      'doctor',
      '--keras',
      file('flat.json'),
      '--keras-weights',
      file('flat.weights.h5'),
      '--json',
    );
    assert.equal(weighed.code, alone.code, weighed.stderr);
    const orphan = await vggkit('doctor', '--keras-weights', file('flat.weights.h5'), file('data'));
    assert.equal(orphan.code, 2);
    assert.match(orphan.stderr, /--keras-weights .* needs the model it belongs to: --keras/);
  });
});
