/**
 * The Keras model readers on files in the layouts Keras writes (writer.ts, following Keras'
 * source), on bad input, and on every real saved model in ../shared/real-world/models/.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  leafLayers,
  outputLeaf,
  unknownLayers,
  type KerasModel,
} from '../../../src/model/keras/model.js';
import { attachWeights, readKerasModel } from '../../../src/model/keras/read.js';
import { VggkitError } from '../../../src/util/errors.js';
import { rejectsWith } from '../../helpers/errors.js';
import {
  dense,
  dropout,
  example2,
  flatten,
  input,
  type ModelDef,
  writeKerasH5,
  writeKerasJson,
  writeKerasZip,
  writeTfjsJson,
} from './writer.js';

const REAL = join(import.meta.dirname, '..', '..', '..', '..', 'shared', 'real-world', 'models');
const NARROW = [[4], [4], [8], [8], [8]] as const;

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vggkit-keras-read-'));
});
after(() => rm(dir, { recursive: true, force: true }));

function assertExample2(model: KerasModel, classes: number): void {
  const leaves = leafLayers(model.layers);
  const convs = leaves.filter((l) => l.className === 'Conv2D');
  assert.equal(convs.length, 5);
  assert.ok(
    convs.every((l) => !l.trainable),
    'the base is frozen',
  );
  const out = outputLeaf(model.layers, model.output);
  assert.equal(out?.name, 'dense_1');
  assert.equal(out?.config['units'], classes);
  assert.equal(out?.config['activation'], 'softmax');
  assert.equal(model.training?.loss?.name, 'categorical_crossentropy');
  assert.equal(model.training?.optimizer?.name, 'adam');
  assert.equal(model.training?.optimizer?.learningRate, 1e-4);
  assert.deepEqual(model.inputShape, [null, 32, 32, 3]);
  assert.deepEqual(unknownLayers(model), []);
}

describe('formats Keras writes', () => {
  const def = example2({ classes: 3, widths: NARROW, size: 32 });

  test('.keras (Keras 3): config, compile_config, weights by saving_lib path, optimizer slots', async () => {
    const file = join(dir, 'example2.keras');
    await writeKerasZip(file, def);
    const model = await readKerasModel(file, { withWeights: true });
    assert.equal(model.format, 'keras-zip');
    assert.equal(model.kerasVersion, '3.11.3');
    assertExample2(model, 3);
    assert.deepEqual(
      model.variables?.get('block2_conv1')?.map((v) => [v.name, v.shape]),
      [
        ['kernel', [3, 3, 4, 4]],
        ['bias', [4]],
      ],
    );
    assert.deepEqual(model.variables?.get('dense')?.[0]?.shape, [8, 256]);
    // iteration + learning rate + (m, v) for the head's 4 trainable variables.
    assert.equal(model.optimizerState?.slots.length, 2 + 8);
  });

  test('legacy .h5 (tf.keras 2): model_config, training_config, model_weights, optimizer_weights', async () => {
    const file = join(dir, 'example2.h5');
    await writeKerasH5(file, def);
    const model = await readKerasModel(file);
    assert.equal(model.format, 'keras-h5');
    assert.equal(model.kerasVersion, '2.15.0');
    assertExample2(model, 3);
    assert.deepEqual(
      model.variables?.get('dense_1')?.map((v) => v.name),
      ['kernel', 'bias'],
    );
    assert.ok(model.optimizerState?.slots.some((s) => s.name === 'Adam/dense_1/kernel/m:0'));
  });

  test('a VGG16 nested as a sub-model: layers under vgg16/, weights matched by name', async () => {
    const nested = example2({ classes: 2, widths: NARROW, size: 32, nested: true });
    for (const [name, write] of [
      ['nested.keras', writeKerasZip],
      ['nested.h5', writeKerasH5],
    ] as const) {
      const file = join(dir, name);
      await write(file, nested);
      const model = await readKerasModel(file, { withWeights: true });
      const vgg = model.layers.find((l) => l.name === 'vgg16');
      assert.equal(vgg?.layers?.length, 11, name);
      assert.deepEqual(
        model.weights?.get('vgg16/block5_conv1')?.map((v) => v.name),
        ['kernel', 'bias'],
        name,
      );
      assert.equal(outputLeaf(model.layers, model.output)?.name, 'dense_1', name);
    }
  });

  test('Keras 2.1 Sequential: the config is a bare list of layers', async () => {
    const seq: ModelDef = {
      className: 'Sequential',
      name: 'sequential_1',
      layers: [
        input('in', [32, 32, 3]),
        flatten('flatten_1'),
        dense('dense_1', 3072, 4, 'softmax'),
      ],
      compile: {
        loss: 'categorical_crossentropy',
        optimizer: { className: 'SGD', config: { lr: 0.01, momentum: 0.9 } },
      },
    };
    const file = join(dir, 'keras21.h5');
    await writeKerasH5(file, seq, { dialect: 'keras2.1' });
    const model = await readKerasModel(file);
    assert.equal(model.kerasVersion, '2.1.6');
    assert.equal(model.layers.length, 2);
    assert.deepEqual(model.inputShape, [null, 32, 32, 3]);
    assert.equal(model.training?.optimizer?.name, 'sgd');
    assert.equal(
      model.training?.optimizer?.learningRate,
      0.01,
      'lr (Keras 2.0-2.2) is the learning rate',
    );
    assert.equal(model.training?.optimizer?.momentum, 0.9);
  });

  test('layer_names over the 64 KiB attribute limit are split into layer_names0, 1, … and joined', async () => {
    const many: ModelDef = {
      className: 'Sequential',
      name: 'long',
      layers: [
        input('in', [8]),
        ...Array.from({ length: 700 }, (_, i) => dropout(`dropout_${'x'.repeat(90)}_${i}`, 0.1)),
        dense('dense', 8, 2, 'softmax'),
      ],
    };
    const file = join(dir, 'split.h5');
    await writeKerasH5(file, many);
    const h5py = await readFile(file);
    assert.ok(
      h5py.includes('layer_names0') && h5py.includes('layer_names1'),
      'the writer split the list',
    );
    const model = await readKerasModel(file);
    assert.equal(model.layers.length, 702, 'the InputLayer, 700 dropouts and the dense');
    assert.deepEqual(model.variables?.get('dense')?.[0]?.shape, [8, 2]);
  });

  test('model.to_json() plus a save_weights .h5 given separately', async () => {
    const json = join(dir, 'arch.json');
    const weights = join(dir, 'arch.weights.h5');
    await writeKerasJson(json, def);
    await writeKerasH5(weights, def, { weightsOnly: true });
    const arch = await readKerasModel(json);
    assert.equal(arch.format, 'keras-json');
    assert.equal(arch.training, undefined, 'to_json has no training config');
    assert.equal(arch.variables, undefined);
    const full = await attachWeights(arch, weights, { withWeights: true });
    assert.deepEqual(full.weights?.get('block1_conv1')?.[0]?.tensor.dims, [3, 3, 3, 4]);
  });

  test('TF.js layers model.json with its float32 shard', async () => {
    const file = join(dir, 'tfjs', 'model.json');
    const weighted = example2({ classes: 2, widths: NARROW, size: 32 });
    await writeTfjsJson(file, weighted);
    const model = await readKerasModel(file, { withWeights: true });
    assert.equal(model.format, 'tfjs-layers');
    assertExample2(model, 2);
    assert.deepEqual(model.weights?.get('dense_1')?.[0]?.tensor.dims, [256, 2]);
  });
});

describe('bad input is named, never a stack trace', () => {
  test('a truncated .keras', async () => {
    const whole = join(dir, 'whole.keras');
    await writeKerasZip(whole, example2({ classes: 2, widths: NARROW, size: 32 }));
    const bytes = await readFile(whole);
    const cut = join(dir, 'cut.keras');
    await writeFile(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await rejectsWith(
      readKerasModel(cut),
      'KERAS_FORMAT',
      /cut\.keras: not a readable \.keras archive .*truncated/,
    );
  });

  test('a .keras without config.json', async () => {
    const file = join(dir, 'noconfig.keras');
    await writeKerasZip(file, example2({ classes: 2, widths: NARROW, size: 32 }), {
      omit: 'config.json',
    });
    await rejectsWith(
      readKerasModel(file),
      'KERAS_FORMAT',
      /must hold config\.json .*found metadata\.json, model\.weights\.h5/,
    );
  });

  test('an .h5 holding only weights points to --keras-weights', async () => {
    const file = join(dir, 'weights-only.h5');
    await writeKerasH5(file, example2({ classes: 2, widths: NARROW, size: 32 }), {
      weightsOnly: true,
    });
    await rejectsWith(
      readKerasModel(file),
      'KERAS_WEIGHTS_ONLY',
      /holds only weights .*--keras-weights .*weights-only\.h5/,
    );
  });

  test('a layer class vggkit does not know is named with its layer', async () => {
    const def = example2({ classes: 2, widths: NARROW, size: 32 });
    const odd: ModelDef = {
      ...def,
      layers: [
        ...def.layers.slice(0, -1),
        { className: 'CapsuleRouting', name: 'caps', config: {} },
        def.layers.at(-1) as never,
      ],
    };
    const file = join(dir, 'odd.keras');
    await writeKerasZip(file, odd);
    assert.deepEqual(unknownLayers(await readKerasModel(file)), [
      { layer: 'caps', className: 'CapsuleRouting' },
    ]);
  });

  test('a file that is no Keras model at all', async () => {
    const file = join(dir, 'photo.keras');
    await writeFile(file, Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4]));
    await rejectsWith(readKerasModel(file), 'KERAS_FORMAT', /photo\.keras: expected a Keras model/);
  });
});

describe('real saved models', () => {
  const present = existsSync(REAL);
  test(
    'every file in ../shared/real-world/models reads, or fails with a named VggkitError',
    {
      skip: present
        ? false
        : `did not run: ${REAL} is absent (a clone without ../shared/real-world)`,
    },
    async () => {
      const files = (await readdir(REAL)).filter((f) => f !== 'README.md').sort();
      assert.ok(files.length >= 14, `expected the 14 real models, found ${files.length}`);
      const outcomes: Record<string, string> = {};
      for (const name of files) {
        try {
          const model = await readKerasModel(join(REAL, name));
          const out = outputLeaf(model.layers, model.output);
          outcomes[name] = `${model.format} ${out?.name}:${String(out?.config['activation'])}`;
          assert.ok(leafLayers(model.layers).length > 0, name);
        } catch (error) {
          assert.ok(error instanceof VggkitError, `${name}: ${(error as Error).stack}`);
          outcomes[name] = error.code;
        }
      }
      assert.equal(
        outcomes['amythpaddy_vgg16_bottleneck_top_weights_only.h5'],
        'KERAS_WEIGHTS_ONLY',
      );
      assert.equal(outcomes['avanish10_idc2_cnn_softmax1_bce.h5'], 'keras-h5 dense_4:softmax');
      assert.equal(outcomes['helgagoit_fmnist_cnn.keras'], 'keras-zip output_layer:softmax');
      assert.equal(
        outcomes['abarriuso_melanoma2_vgg16_block5_tfjs_model.json'],
        'tfjs-layers dense_1:sigmoid',
      );
      assert.equal(
        outcomes['virtuallinsanity_pneumonia2_vgg16_nested_avgpool.json'],
        'keras-json dense_3:sigmoid',
      );
    },
  );

  test(
    'real layouts: Keras 2.0 list config, nested VGG16 trainable flags, Custom>Adam, saving_lib names',
    { skip: present ? false : `did not run: ${REAL} is absent` },
    async () => {
      const k202 = await readKerasModel(
        join(REAL, 'abhijitshingote_seedlings12_cnn_keras202.hdf5'),
      );
      assert.equal(k202.kerasVersion, '2.0.2');
      assert.equal(k202.training?.optimizer?.name, 'rmsprop');
      const nested = await readKerasModel(join(REAL, 'ayamohamed10_fer7_vgg16_nested_48px.json'));
      const frozen = leafLayers(nested.layers).filter(
        (l) => !l.trainable && l.className === 'Conv2D',
      );
      assert.deepEqual(frozen.map((l) => l.name).slice(0, 2), ['block1_conv1', 'block1_conv2']);
      assert.equal(frozen.length, 7, 'blocks 1-3 frozen inside the nested vgg16');
      const custom = await readKerasModel(join(REAL, 'kristianrafuse_mlp_tf213_customadam.h5'));
      assert.equal(custom.training?.optimizer?.name, 'adam');
      assert.equal(custom.training?.optimizer?.className, 'Custom>Adam');
      const zip = await readKerasModel(join(REAL, 'helgagoit_fmnist_cnn.keras'), {
        withWeights: true,
      });
      assert.deepEqual(zip.weights?.get('output_layer')?.[0]?.tensor.dims, [64, 10]);
      assert.equal(zip.training?.loss?.name, 'sparse_categorical_crossentropy');
      const unknownShape = await readKerasModel(
        join(REAL, 'farelart_lung3_vgg16_top_kept_frozen.json'),
      );
      assert.deepEqual(unknownShape.inputShape, [null, null, null, null]);
    },
  );
});
