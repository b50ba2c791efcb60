/**
 * Inference-only ops for frozen graphs, NCHW, lowered to the ONNX ops ONNX Runtime runs fastest:
 * `Conv` with constant (initializer) weights takes ORT's pre-packed NCHWc path, and a `Relu`
 * after it is fused into the convolution by ORT's graph optimiser. None of these has a gradient
 * rule: training graphs use the NHWC im2col ops instead (ARCHITECTURE.md), so differentiating
 * through one of these is an error naming it.
 */
import { attr } from '../onnx.js';
import type { OpDef, Sym } from '../ir.js';
import type { Float32Tensor } from '../../util/tensor.js';

function dim(s: Sym, i: number): number {
  const d = s.shape[i];
  if (d === undefined)
    throw new RangeError(`${s.name} has rank ${s.shape.length}, expected at least ${i + 1}`);
  return d;
}

/** Keras conv kernel [kh, kw, in, out] (HWIO) -> ONNX [out, in, kh, kw] (OIHW). */
export function hwioToOihw(kernel: Float32Tensor): Float32Tensor {
  const [kh, kw, cin, cout] = kernel.dims;
  if (
    kernel.dims.length !== 4 ||
    kh === undefined ||
    kw === undefined ||
    cin === undefined ||
    cout === undefined
  ) {
    throw new RangeError(
      `conv kernel: expected HWIO [kh, kw, in, out], received [${kernel.dims.join(', ')}]`,
    );
  }
  const src = kernel.data;
  const out = new Float32Array(src.length);
  for (let y = 0; y < kh; y++) {
    for (let x = 0; x < kw; x++) {
      for (let i = 0; i < cin; i++) {
        const from = ((y * kw + x) * cin + i) * cout;
        for (let o = 0; o < cout; o++)
          out[((o * cin + i) * kh + y) * kw + x] = src[from + o] as number;
      }
    }
  }
  return { dims: [cout, cin, kh, kw], data: out };
}

/** 3x3 convolution, stride 1, "same" padding (Keras `padding='same'`), with bias. Inputs: x NCHW, w OIHW, b. */
export const conv2d3x3: OpDef<void> = {
  name: 'conv2d3x3 (inference)',
  forward: (g, [x, w, b]) => {
    const xs = x as Sym;
    const ws = w as Sym;
    const shape = [dim(xs, 0), dim(ws, 0), dim(xs, 2), dim(xs, 3)];
    const attrs = {
      kernel_shape: attr.ints([3, 3]),
      pads: attr.ints([1, 1, 1, 1]),
      strides: attr.ints([1, 1]),
    };
    return [g.node('Conv', b === undefined ? [xs, ws] : [xs, ws, b], shape, attrs)];
  },
};

/** 2x2 max pooling, stride 2, odd edges dropped (Keras `padding='valid'`, PyTorch's default floor). */
export const maxPool2x2: OpDef<void> = {
  name: 'maxPool2x2 (inference)',
  forward: (g, [x]) => {
    const xs = x as Sym;
    const shape = [dim(xs, 0), dim(xs, 1), Math.floor(dim(xs, 2) / 2), Math.floor(dim(xs, 3) / 2)];
    return [
      g.node('MaxPool', [xs], shape, {
        kernel_shape: attr.ints([2, 2]),
        strides: attr.ints([2, 2]),
      }),
    ];
  },
};

/** Global average or max pooling NCHW -> [N, C]. */
export const globalPool: OpDef<{ readonly kind: 'avg' | 'max' }> = {
  name: 'globalPool (inference)',
  forward: (g, [x], { kind }) => {
    const xs = x as Sym;
    const pooled = g.node(
      kind === 'avg' ? 'GlobalAveragePool' : 'GlobalMaxPool',
      [xs],
      [dim(xs, 0), dim(xs, 1), 1, 1],
    );
    return [g.node('Flatten', [pooled], [dim(xs, 0), dim(xs, 1)], { axis: attr.int(1) })];
  },
};

/** Softmax or sigmoid over the last axis, the activations Keras heads end with. */
export const activation: OpDef<{ readonly kind: 'softmax' | 'sigmoid' }> = {
  name: 'activation (inference)',
  forward: (g, [x], { kind }) => {
    const xs = x as Sym;
    return [
      kind === 'softmax'
        ? g.node('Softmax', [xs], xs.shape, { axis: attr.int(-1) })
        : g.node('Sigmoid', [xs], xs.shape),
    ];
  },
};

/** NCHW -> NHWC: how conv and pool outputs leave vggkit's graphs (Keras' layout). */
export const toNhwc: OpDef<void> = {
  name: 'toNhwc (inference)',
  forward: (g, [x]) => {
    const xs = x as Sym;
    return [
      g.node('Transpose', [xs], [dim(xs, 0), dim(xs, 2), dim(xs, 3), dim(xs, 1)], {
        perm: attr.ints([0, 2, 3, 1]),
      }),
    ];
  },
};

/**
 * Keras' `Flatten` on an NCHW tensor: transpose to NHWC, then flatten, so that element
 * (h, w, c) lands at row (h * W + w) * C + c exactly as Keras orders it and fc1's kernel, kept in
 * Keras' layout, applies unchanged. The alternative (flatten NCHW and permute fc1's rows to
 * c * H * W + h * W + w) computes the same products and the same sums — y_j = sum over (h, w, c)
 * of x[c, h, w] * K[(h * W + w) * C + c, j] either way, only the order the rows are stored in
 * differs — so both are exact; the transpose moves 25,088 floats per image (nothing next to the
 * 103M multiply-adds of fc1) and keeps one weight layout everywhere, with no second copy of fc1
 * whose row order could silently disagree with the first.
 */
export const flattenKeras: OpDef<void> = {
  name: 'flattenKeras (inference)',
  forward: (g, [x]) => {
    const [nhwc] = toNhwc.forward(g, [x as Sym], undefined);
    const s = nhwc as Sym;
    return [
      g.node('Flatten', [s], [dim(s, 0), dim(s, 1) * dim(s, 2) * dim(s, 3)], { axis: attr.int(1) }),
    ];
  },
};
