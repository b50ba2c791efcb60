/**
 * Winograd at batches whose tiles would not fit: `convChoice` runs it in row strips sized to
 * TRANSIENT_LIMIT_BYTES instead of dropping it from the candidates, and keeps one strip (and its
 * kept tiles) while the whole image fits. The strips' arithmetic is pinned by the op's own
 * finite-difference tests (test/graph/training-ops.test.ts); this checks the choice and the graph.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import onnxProto from 'onnx-proto';
import { BATCH, GraphBuilder } from '../../src/graph/ir.js';
import {
  candidates,
  chooseConvLowerings,
  convChoice,
  TRANSIENT_LIMIT_BYTES,
  type ConvSite,
} from '../../src/engine/conv-lowering.js';

// VGG16's block1_conv2 at 224x224: 112 rows of tiles, 64 -> 64 channels.
const SITE: ConvSite = {
  layer: 'block1_conv2',
  h: 224,
  w: 224,
  cin: 64,
  cout: 64,
  inputGrad: true,
};

/** Forward tile gathers of the conv as `batch` lowers it: one per strip. */
function strips(batch: number): number {
  const g = new GraphBuilder();
  const x = g.input('x', [BATCH, SITE.h, SITE.w, SITE.cin]);
  const k = g.input('k', [3, 3, SITE.cin, SITE.cout]);
  const b = g.input('b', [SITE.cout]);
  g.output(convChoice('winograd', SITE, batch).apply(g, x, k, b), 'y');
  const nodes = onnxProto.onnx.ModelProto.decode(g.serialize()).graph!.node!;
  const shapes = new Set(nodes.filter((n) => n.opType === 'Shape').flatMap((n) => n.output!));
  return nodes.filter((n) => n.opType === 'Gather' && !shapes.has(n.input![0]!)).length;
}

test('Winograd whose tiles exceed the transient limit at a batch runs in strips that fit it and stays a candidate', () => {
  const big = convChoice('winograd', SITE, 32);
  assert.ok(big.transientBytesPerImage * 32 <= TRANSIENT_LIMIT_BYTES);
  assert.equal(big.keptBytesPerImage, 0);
  assert.ok(candidates(SITE, 32).includes('winograd'));
  assert.ok(strips(32) > 1, `${strips(32)} strips at batch 32`);
  assert.ok(strips(32) > strips(8), 'a larger batch takes more, smaller strips');
});

test('a batch whose tiles fit takes one strip', () => {
  const small: ConvSite = { ...SITE, h: 16, w: 16 };
  const one = convChoice('winograd', small, 1);
  assert.ok(one.keptBytesPerImage > 0, 'tiles small enough to keep are kept');
  assert.ok(candidates(small, 1).includes('winograd'));
  const g = new GraphBuilder();
  const x = g.input('x', [BATCH, 16, 16, 64]);
  const y = one.apply(g, x, g.input('k', [3, 3, 64, 64]), g.input('b', [64]));
  g.output(y, 'y');
  const nodes = onnxProto.onnx.ModelProto.decode(g.serialize()).graph!.node!;
  assert.equal(nodes.filter((n) => n.opType === 'Concat').length, 0, 'one strip needs no concat');
});

test("ORT's Conv is held to the transient limit while another lowering fits, and is the fallback when none does", () => {
  // At batch 32 its NHWC copies of x and dY (224 x 224 x 128 floats per image) exceed the limit.
  const ort = convChoice('ort', SITE, 32);
  assert.ok(ort.transientBytesPerImage * 32 > TRANSIENT_LIMIT_BYTES);
  assert.deepEqual(candidates(SITE, 32), ['winograd']);
  assert.ok(candidates(SITE, 2).includes('ort'), 'at batch 2 it fits');
  const huge: ConvSite = { ...SITE, h: 4096, w: 4096, cin: 512, cout: 512 };
  assert.deepEqual(candidates(huge, 32), ['ort']);
});

test('auto takes a lone candidate without timing it', async () => {
  const timed: string[] = [];
  const chosen = await chooseConvLowerings([SITE], {
    policy: 'auto',
    batch: 32,
    threads: 1,
    onTiming: (_site, name) => timed.push(name),
  });
  assert.equal(chosen.get(SITE.layer)?.name, 'winograd');
  assert.deepEqual(timed, []);
});
