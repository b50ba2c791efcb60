/** readOnnxMetadata's protobuf scan against protobufjs decoding the whole model (the oracle). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import onnxProto from 'onnx-proto';
import { readOnnxMetadata } from '../../src/graph/onnx-metadata.js';
import { OnnxGraph } from '../../src/graph/onnx.js';

function model(metadata: Record<string, string>): Uint8Array {
  const g = new OnnxGraph();
  const x = g.input('x', 'float32', ['batch', 300]);
  // A weight large enough that its length needs a multi-byte varint, before the metadata.
  const w = g.initializer('w', {
    dtype: 'float32',
    dims: [300, 200],
    data: Float32Array.from({ length: 60000 }, (_, i) => i),
  });
  const [y] = g.node('MatMul', [x, w]);
  g.output(y as string, 'float32', ['batch', 200]);
  return g.serialize({ metadata });
}

test('the metadata read by scanning equals protobufjs decoding the whole model', () => {
  const metadata = {
    'vggkit.contract': JSON.stringify({ mode: 'caffe', mean: [103.939, 116.779, 123.68] }),
    'vggkit.class_names': JSON.stringify(['chat', 'chien', '猫', 'a'.repeat(300)]),
    empty: '',
  };
  const bytes = model(metadata);
  const decoded = onnxProto.onnx.ModelProto.decode(bytes);
  const oracle = Object.fromEntries(decoded.metadataProps.map((p) => [p.key, p.value]));
  assert.deepEqual(readOnnxMetadata(bytes), oracle);
  assert.deepEqual(readOnnxMetadata(bytes), metadata);
});

test('a model without metadata gives none; truncated bytes are an error, not a guess', () => {
  assert.deepEqual(readOnnxMetadata(model({})), {});
  const bytes = model({ k: 'v' });
  assert.throws(() => readOnnxMetadata(bytes.subarray(0, bytes.length - 3)), RangeError);
});
