import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ARCH_NAMES } from '../../src/model/architectures.js';
import { WEIGHTS, type WeightsEntry } from '../../src/model/registry.js';
import { resolveWeightsSource } from '../../src/model/weights-source.js';
import { VggkitError } from '../../src/util/errors.js';

function findWeights(arch: string, tag: string): WeightsEntry | undefined {
  return WEIGHTS.find((row) => row.arch === arch && row.tag === tag);
}

describe('weights registry', () => {
  for (const entry of WEIGHTS) {
    test(`${entry.arch}.${entry.tag} is a complete, consistent row`, () => {
      assert.ok(ARCH_NAMES.includes(entry.arch));
      assert.match(entry.url, /^https:\/\//);
      assert.match(
        entry.checksum.hex,
        entry.checksum.algorithm === 'md5' ? /^[0-9a-f]{32}$/ : /^[0-9a-f]{64}$/,
      );
      assert.ok(
        entry.fileName.endsWith(entry.layout === 'keras-h5' ? '.h5' : '.safetensors'),
        entry.fileName,
      );
      assert.doesNotMatch(entry.fileName, /[\\/]/);
      assert.deepEqual(entry.contract.inputSize, [224, 224]);
      assert.equal(entry.classes, 1000);
      assert.ok(entry.license.length > 0);
      // Keras ImageNet weights are caffe + plain resize; torchvision's are torch + center crop.
      const expected =
        entry.layout === 'keras-h5' ? ['caffe', 'stretch'] : ['torch', 'center-crop'];
      assert.deepEqual([entry.contract.mode, entry.contract.resize], expected);
      assert.equal(findWeights(entry.arch, entry.tag), entry);
    });
  }

  test("tags are unique per architecture and the issue's Keras files are registered", () => {
    const keys = WEIGHTS.map((entry) => `${entry.arch}.${entry.tag}`);
    assert.equal(new Set(keys).size, keys.length);
    assert.equal(
      findWeights('vgg16', 'imagenet')?.checksum.hex,
      '6d6bbae143d832006294945121d1f1fc',
    );
    assert.equal(
      findWeights('vgg16', 'imagenet-top')?.checksum.hex,
      '64373286793e3c8b2b4e3219cbf3544b',
    );
    assert.equal(findWeights('vgg16', 'imagenet')?.includesTop, false);
    assert.equal(findWeights('vgg16', 'imagenet-top')?.includesTop, true);
  });

  test('an unknown tag lists the known ones and every other form --weights takes', async () => {
    await assert.rejects(resolveWeightsSource('vgg16', 'imagenett'), (error: unknown) => {
      assert.ok(error instanceof VggkitError);
      assert.equal(error.code, 'UNKNOWN_WEIGHTS');
      assert.equal(error.exitCode, 2);
      assert.equal(
        error.message,
        `--weights: no vgg16 weights tagged "imagenett" (known tags: imagenet, imagenet-top, tv_in1k; or 'none' (random init), or a vggkit model folder, or your Keras model (.keras, a model.save .h5, a TF.js model.json, or a model.to_json() JSON with --keras-weights), or a Keras .h5/.hdf5 weights file, or a torchvision-layout .safetensors file)`,
      );
      return true;
    });
    await assert.rejects(
      resolveWeightsSource('vgg19', 'imagenet'),
      /no vgg19 weights tagged "imagenet" \(none are published/,
    );
  });
});
