import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeContract, PREPROCESS_MODES, type PreprocessMode } from '../../src/image/contract.js';
import { preprocess } from '../../src/image/preprocess.js';
import type { RgbImage } from '../../src/image/decode.js';

// A 2x1 image: pixel (0,0) = (10,20,30), pixel (1,0) = (255,0,128).
const image: RgbImage = { data: new Uint8Array([10, 20, 30, 255, 0, 128]), width: 2, height: 1 };
const contract = (mode: PreprocessMode) => makeContract({ mode, inputSize: [1, 2] });

/** Keras imagenet_utils.preprocess_input written out per mode, for one RGB pixel -> 3 output channels. */
function keras(mode: PreprocessMode, [r, g, b]: readonly number[]): number[] {
  switch (mode) {
    case 'caffe':
      return [b - 103.939, g - 116.779, r - 123.68];
    case 'torch':
      return [(r / 255 - 0.485) / 0.229, (g / 255 - 0.456) / 0.224, (b / 255 - 0.406) / 0.225];
    case 'tf':
      return [r / 127.5 - 1, g / 127.5 - 1, b / 127.5 - 1];
    case 'none':
      return [r, g, b];
  }
}

describe('preprocess', () => {
  it('caffe on (10,20,30): BGR first, minus the BGR ImageNet mean', () => {
    const out = preprocess(image, contract('caffe'));
    // CHW: channel c of pixel x is out[c * 2 + x].
    assert.ok(Math.abs(out[0] - (30 - 103.939)) < 1e-4);
    assert.ok(Math.abs(out[2] - (20 - 116.779)) < 1e-4);
    assert.ok(Math.abs(out[4] - (10 - 123.68)) < 1e-4);
  });

  for (const mode of PREPROCESS_MODES) {
    it(`${mode} matches Keras' formula on every value, in CHW layout`, () => {
      const out = preprocess(image, contract(mode));
      assert.equal(out.length, 6);
      for (let x = 0; x < 2; x++) {
        const expected = keras(mode, [...image.data.subarray(x * 3, x * 3 + 3)]);
        for (let c = 0; c < 3; c++) {
          const actual = out[c * 2 + x] as number;
          const want = expected[c] as number;
          assert.ok(
            Math.abs(actual - want) <= 1e-6 * Math.max(1, Math.abs(want)),
            `${mode} pixel ${x} channel ${c}: ${actual} vs ${want}`,
          );
        }
      }
    });
  }

  it('writes at an offset into a shared batch buffer and leaves the rest alone', () => {
    const out = new Float32Array(14).fill(7);
    const returned = preprocess(image, contract('none'), out, 4);
    assert.equal(returned, out);
    assert.deepEqual([...out], [7, 7, 7, 7, 10, 255, 20, 0, 30, 128, 7, 7, 7, 7]);
  });

  it('rejects an image of another size than the contract and a buffer too small', () => {
    assert.throws(
      () => preprocess(image, makeContract({ mode: 'none', inputSize: 2 })),
      /expected a 2x2 image.*received 2x1/,
    );
    assert.throws(() => preprocess(image, contract('none'), new Float32Array(8), 4), /do not fit/);
  });
});
