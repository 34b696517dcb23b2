/**
 * tfjs conv2d (3×3-style, stride 1, 'valid') + bias + ReLU, as `tf.fused.conv2d`. Its gradient
 * needs the Conv2DBackpropFilter kernel, which tfjs's WASM backend does not have; there the
 * filter gradient is computed as a plain conv2d of the transposed input (batch as channels) with
 * the transposed upstream gradient as the filter. Otherwise it is the same custom gradient as
 * tfjs-core's fused conv2d (which also always computes the input gradient).
 */
import * as tf from '@tensorflow/tfjs-core';

type Conv = (x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D) => tf.Tensor4D;

const fused: Conv = (x, w, b) => tf.fused.conv2d({ x, filter: w, bias: b, strides: 1, pad: 'valid', activation: 'relu' });

/** dW[kh, kw, c, o] = Σ_{n,h,w} x[n, h+kh, w+kw, c] · g[n, h, w, o] for a stride-1 valid conv. */
export function filterGradByConv(x: tf.Tensor4D, g: tf.Tensor4D): tf.Tensor4D {
  const xt = tf.transpose(x, [3, 1, 2, 0]); // [C, H, W, N]
  const gt = tf.transpose(g, [1, 2, 0, 3]); // [OH, OW, N, O]: the "filter"
  return tf.transpose(tf.conv2d(xt, gt, 1, 'valid'), [1, 2, 0, 3]); // [C, KH, KW, O] → [KH, KW, C, O]
}

const wasmSafeOp = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, w, b, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.Tensor1D, tf.GradSaveFunc];
  const y = fused(x, w, b);
  save([x, w, y]);
  return {
    value: y,
    gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
      const [sx, sw, sy] = saved as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
      const g = tf.mul(dy, tf.step(sy)) as tf.Tensor4D; // ReLU′
      return [tf.conv2dTranspose(g, sw, sx.shape, 1, 'valid'), filterGradByConv(sx, g), tf.sum(g, [0, 1, 2])];
    },
  };
});
const wasmSafe: Conv = (x, w, b) => wasmSafeOp(x, w, b);

/** The conv2d + bias + ReLU to use on the active backend. */
export function convRelu(): Conv {
  return tf.getBackend() === 'wasm' ? wasmSafe : fused;
}

/** One pass of a stride-1 'valid' conv layer: forward (+ bias + ReLU), input gradient, or weight (+ bias) gradient. */
export type ConvPass = 'fwd' | 'dx' | 'dw';

/**
 * The tfjs computation of one pass on NHWC x [B, S, S, C], HWIO w, bias b and upstream gradient
 * dy [B, S−K+1, S−K+1, O] (all owned by the caller): the forward as `convRelu`, the input
 * gradient as conv2dTranspose, the weight gradient as `filterGradByConv` plus the bias sum (what
 * the WASM-safe gradient above computes for each pass).
 */
export function tfConvPass(pass: ConvPass, x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D, dy: tf.Tensor4D): () => void {
  const conv = convRelu();
  if (pass === 'fwd') return () => void conv(x, w, b);
  if (pass === 'dx') return () => void tf.conv2dTranspose(dy, w, x.shape, 1, 'valid');
  return () => {
    filterGradByConv(x, dy);
    tf.sum(dy, [0, 1, 2]);
  };
}
