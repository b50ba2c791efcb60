/**
 * A user's Keras VGG model run inside vggkit predicts what Keras computes for the same weights:
 * the oracle is PyTorch (test/fixtures/keras/make_fixtures.py writes the weights in Keras layout,
 * the raw pixels and the probabilities); writer.ts puts the weights into real Keras files; vggkit
 * reads, converts and runs them on ONNX Runtime. Within 1e-4.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readNpy } from '../../../src/data/npy.js';
import { Session } from '../../../src/engine/session.js';
import { preprocess } from '../../../src/image/preprocess.js';
import { openKerasModel } from '../../../src/model/keras/run.js';
import { rejectsWith } from '../../helpers/errors.js';
import { CASES, FIXTURES, modelFor, oracleCase, type OracleCase as Case } from './oracle.js';
import { dense, type LayerDef, writeKerasH5, writeKerasZip } from './writer.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vggkit-keras-run-'));
});
after(() => rm(dir, { recursive: true, force: true }));

async function predictions(
  file: string,
  c: Case,
): Promise<{ probs: Float32Array; expected: Float32Array; contract: string }> {
  const { folder, converted } = await openKerasModel(file);
  const pixels = await readNpy(join(FIXTURES, `${c.name}.input.npy`));
  const [n, h, w] = pixels.dims as [number, number, number, number];
  const x = new Float32Array(n * 3 * h * w);
  for (let i = 0; i < n; i++) {
    const image = {
      width: w,
      height: h,
      data: (pixels.data as Uint8Array).subarray(i * h * w * 3, (i + 1) * h * w * 3),
    };
    preprocess(image as never, converted.contract, x, i * 3 * h * w);
  }
  const session = await Session.create(folder.model, { threads: 1 });
  try {
    const { output } = await session.run({ input: { dims: [n, 3, h, w], data: x } });
    const expected = await readNpy(join(FIXTURES, `${c.name}.probs.npy`));
    return {
      probs: output?.data as Float32Array,
      expected: expected.data as Float32Array,
      contract: converted.contract.mode,
    };
  } finally {
    await session.release();
  }
}

describe('Keras models predict what Keras computes (PyTorch oracle)', () => {
  for (const c of CASES) {
    for (const [format, nested] of [
      ['keras', false],
      ['h5', false],
      ['keras', true],
    ] as const) {
      test(`${c.name} as ${nested ? 'a nested vgg16 in ' : ''}.${format}`, async () => {
        const file = join(dir, `${c.name}${nested ? '-nested' : ''}.${format}`);
        const def = await modelFor(c, nested);
        if (format === 'keras') await writeKerasZip(file, def);
        else await writeKerasH5(file, def);
        const { probs, expected, contract } = await predictions(file, c);
        assert.equal(contract, c.contract);
        assert.equal(probs.length, expected.length);
        const worst = Math.max(
          ...Array.from(probs, (p, i) => Math.abs(p - (expected[i] as number))),
        );
        assert.ok(worst < 1e-4, `max |vggkit - keras| = ${worst}`);
      });
    }
  }

  test('a model with no preprocessing inside says the caffe contract is assumed and how to override it', async () => {
    const file = join(dir, 'assumed.keras');
    await writeKerasZip(file, await modelFor(CASES[0] as Case, false));
    const { converted } = await openKerasModel(file);
    assert.match(
      converted.assumption ?? '',
      /applies no preprocessing itself: assuming .*caffe.*--preprocess MODE overrides it/,
    );
  });

  test('what vggkit has no form for in the head is a KERAS_UNSUPPORTED error naming the layer and class', async () => {
    const bnHead = await modelFor(oracleCase('bn_head'), false);
    const swap = async (name: string, by: LayerDef): Promise<string> => {
      const file = join(dir, `${by.name}.keras`);
      await writeKerasZip(file, {
        ...bnHead,
        layers: bnHead.layers.map((l) => (l.name === name ? by : l)),
      });
      return file;
    };
    const leaky: LayerDef = { className: 'LeakyReLU', name: 'leaky_re_lu', config: { alpha: 0.3 } };
    await rejectsWith(
      openKerasModel(await swap('activation', leaky)),
      'KERAS_UNSUPPORTED',
      /head layer leaky_re_lu \(LeakyReLU\) is none of Flatten, pooling, Dense, BatchNormalization/,
    );
    const custom: LayerDef = { className: 'MyAttention', name: 'my_attention', config: {} };
    await rejectsWith(
      openKerasModel(await swap('dropout', custom)),
      'KERAS_UNSUPPORTED',
      /does not know layer my_attention \(MyAttention\)/,
    );
    await rejectsWith(
      openKerasModel(await swap('dense_1', dense('dense_1', 6, 5, 'tanh'))),
      'KERAS_UNSUPPORTED',
      /hidden Dense\(relu\) layers before the output, this model has dense \(relu\), dense_1 \(tanh\)/,
    );
    const spatial: LayerDef = {
      ...(bnHead.layers.find((l) => l.name === 'batch_normalization') as LayerDef),
    };
    const beforeFlatten = join(dir, 'bn-before-flatten.keras');
    const without = bnHead.layers.filter((l) => l.name !== 'batch_normalization');
    const at = without.findIndex((l) => l.name === 'flatten');
    await writeKerasZip(beforeFlatten, {
      ...bnHead,
      layers: [...without.slice(0, at), spatial, ...without.slice(at)],
    });
    await rejectsWith(
      openKerasModel(beforeFlatten),
      'KERAS_UNSUPPORTED',
      /batch_normalization \(BatchNormalization\) sits before Flatten\/pooling/,
    );
  });
});
