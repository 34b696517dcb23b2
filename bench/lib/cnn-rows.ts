/**
 * The reference teacher's layers as benchmark rows (see bench/cnn.ts), forward or
 * forward+backward, for kdgpu and for tfjs on the active backend: shared by bench/cnn.ts and
 * bench/suite.ts. Every run waits for completion.
 *
 *   conv1       1→32, 3×3, valid, bias + ReLU, on [B, 1, 28, 28]; gradients for weight and bias
 *   pool1       max pool 2×2 stride 1 on [B, 32, 26, 26]
 *   conv2       32→64, 3×3, valid, bias + ReLU, on [B, 32, S, S]; gradients for input, weight and bias
 *   pool2       max pool 2×2 stride 2 on [B, 64, S−2, S−2]
 *   softmax_ce  softmax cross-entropy of [B, 10] logits against labels (batch mean)
 */
import * as kd from '../../src/index.js';
import { convRelu } from './tfjs-conv.js';
import { tf } from './tfjs.js';
import { randArray, randLabels } from './timing.js';

export type RowName = 'conv1' | 'pool1' | 'conv2' | 'pool2' | 'softmax_ce';
export type Mode = 'fwd' | 'fwdbwd';
export const ROW_NAMES: RowName[] = ['conv1', 'pool1', 'conv2', 'pool2', 'softmax_ce'];
export const MODES: Mode[] = ['fwd', 'fwdbwd'];

export interface RowRunner {
  run(mode: Mode): Promise<void>;
  dispose(): void;
}

/** [C, O, S] of a conv row: input channels, output channels, input size. */
export function convDims(row: 'conv1' | 'conv2', conv2Size: number): [number, number, number] {
  return row === 'conv1' ? [1, 32, 28] : [32, 64, conv2Size];
}

/** Forward FLOPs of a conv row (2 per MAC), i.e. of its equivalent GEMM. */
export function convFlops(row: 'conv1' | 'conv2', batch: number, conv2Size: number): number {
  const [C, O, S] = convDims(row, conv2Size);
  return 2 * batch * (S - 2) * (S - 2) * O * C * 9;
}

const count = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

export function kdRowRunner(engine: kd.Engine, row: RowName, B: number, conv2Size: number): RowRunner {
  const t = (shape: number[], seed: number, scale = 1, requiresGrad = false) => kd.tensor(randArray(count(shape), seed, scale), shape, { requiresGrad });
  let leaves: kd.Tensor[];
  let forward: () => kd.Tensor;
  if (row === 'conv1' || row === 'conv2') {
    const [C, O, S] = convDims(row, conv2Size);
    const x = t([B, C, S, S], 1, 1, row === 'conv2');
    const w = t([O, C, 3, 3], 2, 1 / Math.sqrt(9 * C), true);
    const b = t([O], 3, 0.1, true);
    leaves = [x, w, b];
    forward = () => kd.conv2d(x, w, b, { relu: true });
  } else if (row === 'pool1' || row === 'pool2') {
    const x = row === 'pool1' ? t([B, 32, 26, 26], 4, 1, true) : t([B, 64, conv2Size - 2, conv2Size - 2], 4, 1, true);
    leaves = [x];
    forward = () => kd.maxPool2d(x, { kernel: 2, stride: row === 'pool1' ? 1 : 2 });
  } else {
    const z = t([B, 10], 5, 3, true);
    const labels = kd.tensor(randLabels(B), [B]);
    leaves = [z, labels];
    forward = () => kd.softmaxCrossEntropy(z, labels);
  }
  const shape = kd.noGrad(() => {
    const y = forward();
    const s = [...y.shape];
    y.dispose();
    return s;
  });
  const dy = shape.length ? kd.tensor(randArray(count(shape), 6), shape) : null;
  return {
    async run(mode) {
      if (mode === 'fwd') {
        kd.noGrad(() => forward().dispose());
      } else {
        const y = forward();
        y.backward(dy ?? undefined);
        y.dispose();
        for (const l of leaves) {
          l.grad?.dispose();
          l.grad = null;
        }
      }
      await engine.sync();
    },
    dispose() {
      for (const l of leaves) l.dispose();
      dy?.dispose();
    },
  };
}

/** NCHW data → an NHWC tf tensor. */
export function nhwc(data: Float32Array, [N, C, H, W]: number[]): tf.Tensor4D {
  const out = new Float32Array(data.length);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let h = 0; h < H; h++)
        for (let w = 0; w < W; w++) out[((n * H + h) * W + w) * C + c] = data[((n * C + c) * H + h) * W + w];
  return tf.tensor4d(out, [N, H, W, C]);
}

/** OIHW weights → HWIO. */
export function hwio(wo: Float32Array, O: number, C: number, K = 3): Float32Array {
  const wh = new Float32Array(wo.length);
  for (let o = 0; o < O; o++) for (let c = 0; c < C; c++) for (let k = 0; k < K * K; k++) wh[(k * C + c) * O + o] = wo[(o * C + c) * K * K + k];
  return wh;
}

/** tfjs on the active backend (select it first); `sync` waits for completion (tfjs.ts syncFor). */
export function tfRowRunner(row: RowName, B: number, conv2Size: number, sync: () => Promise<void>): RowRunner {
  const arr = (shape: number[], seed: number, scale = 1) => randArray(count(shape), seed, scale);
  let fwd: () => tf.Tensor;
  let grads: () => tf.Tensor[];
  const owned: tf.Tensor[] = [];
  const keep = <T extends tf.Tensor>(x: T) => (owned.push(x), x);
  if (row === 'conv1' || row === 'conv2') {
    const [C, O, S] = convDims(row, conv2Size);
    const x = keep(nhwc(arr([B, C, S, S], 1), [B, C, S, S]));
    const w = keep(tf.tensor4d(hwio(arr([O, C, 3, 3], 2, 1 / Math.sqrt(9 * C)), O, C), [3, 3, C, O]));
    const b = keep(tf.tensor1d(arr([O], 3, 0.1)));
    const conv = convRelu();
    const dy = keep(tf.randomUniform([B, S - 2, S - 2, O], -1, 1, 'float32', 6));
    fwd = () => conv(x, w, b);
    grads =
      row === 'conv1'
        ? () => tf.grads((ww: tf.Tensor, bb: tf.Tensor) => conv(x, ww as tf.Tensor4D, bb as tf.Tensor1D))([w, b], dy)
        : () => tf.grads((xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => conv(xx as tf.Tensor4D, ww as tf.Tensor4D, bb as tf.Tensor1D))([x, w, b], dy);
  } else if (row === 'pool1' || row === 'pool2') {
    const shape = row === 'pool1' ? [B, 32, 26, 26] : [B, 64, conv2Size - 2, conv2Size - 2];
    const x = keep(nhwc(arr(shape, 4), shape));
    const stride = row === 'pool1' ? 1 : 2;
    const pool = (xx: tf.Tensor) => tf.maxPool(xx as tf.Tensor4D, 2, stride, 'valid');
    const ys = pool(x);
    const dy = keep(tf.randomUniform(ys.shape, -1, 1, 'float32', 6));
    ys.dispose();
    fwd = () => pool(x);
    grads = () => tf.grads((xx: tf.Tensor) => pool(xx))([x], dy);
  } else {
    const z = keep(tf.tensor2d(arr([B, 10], 5, 3), [B, 10]));
    const onehot = keep(tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(randLabels(B), 'int32'), 10), 'float32')));
    const loss = (zz: tf.Tensor) => tf.losses.softmaxCrossEntropy(onehot, zz);
    fwd = () => loss(z);
    grads = () => tf.grads((zz: tf.Tensor) => loss(zz))([z]);
  }
  return {
    async run(mode) {
      tf.tidy(() => {
        if (mode === 'fwd') fwd();
        else grads();
      });
      await sync();
    },
    dispose() {
      for (const t of owned) t.dispose();
    },
  };
}
