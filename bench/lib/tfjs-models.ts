/**
 * Mirrors of kdgpu's built-in Sequential models as layers-free tfjs code (variables + ops,
 * NHWC), so both frameworks train the same architecture: Linear → tf.fused.matMul, Conv2d (3×3
 * style, stride 1, no padding) → fused conv2d (tfjs-conv.ts), each with the following ReLU fused
 * as in kdgpu; MaxPool2d, Flatten and Dropout (tf.dropout, training only). Weights are seeded
 * uniform ±1/√fan_in (PyTorch's default range), not copied: only the time matters here.
 */
import * as kd from '../../src/index.js';
import { convRelu } from './tfjs-conv.js';
import { tf } from './tfjs.js';
import { randArray, randLabels } from './timing.js';

export interface TfModel {
  variables: tf.Variable[];
  /** Logits [N, classes] of an NHWC batch. */
  forward(x: tf.Tensor4D, training: boolean): tf.Tensor2D;
  dispose(): void;
}

type Op = (h: tf.Tensor, training: boolean) => tf.Tensor;

function pair(v: unknown, dflt: number): [number, number] {
  if (v === undefined) return [dflt, dflt];
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v) && v.length === 2) return [v[0], v[1]];
  throw new Error(`tfjs mirror: unsupported size ${JSON.stringify(v)}`);
}

/**
 * A layer of a mirrored model as plain data: what the browser page of the tfjs-wasm peers
 * (bench/web/wasm-peer-page.ts) receives, since it has no kdgpu engine to build the model with.
 */
export type MirrorLayer =
  | { type: 'linear'; inFeatures: number; outFeatures: number; relu: boolean }
  | { type: 'conv'; inChannels: number; outChannels: number; kernel: [number, number] }
  | { type: 'maxpool'; kernel: [number, number]; stride: [number, number] }
  | { type: 'flatten' }
  | { type: 'dropout'; p: number }
  | { type: 'relu' };

/** The layers of a kdgpu Sequential as the mirror builds them (a ReLU after a layer is fused into it). */
export function mirrorLayers(model: kd.nn.Module): MirrorLayer[] {
  if (!(model instanceof kd.nn.Sequential)) throw new Error('tfjs mirror: only Sequential models are mirrored');
  const out: MirrorLayer[] = [];
  const layers = model.layers;
  for (let i = 0; i < layers.length; i++) {
    const m = layers[i];
    const relu = layers[i + 1] instanceof kd.nn.ReLU || (m as { activation?: string }).activation === 'relu';
    if (relu && layers[i + 1] instanceof kd.nn.ReLU) i++;
    if (m instanceof kd.nn.Linear) {
      out.push({ type: 'linear', inFeatures: m.inFeatures, outFeatures: m.outFeatures, relu });
    } else if (m instanceof kd.nn.Conv2d) {
      if (pair(m.options.stride, 1).some((s) => s !== 1) || ![undefined, 0, 'valid'].includes(m.options.padding as never) || !relu) {
        throw new Error(`tfjs mirror: only stride-1, unpadded Conv2d + ReLU is mirrored (${m.describe()})`);
      }
      out.push({ type: 'conv', inChannels: m.inChannels, outChannels: m.outChannels, kernel: [m.kernelSize[0], m.kernelSize[1]] });
    } else if (m instanceof kd.nn.MaxPool2d) {
      const k = pair(m.options.kernel, 2);
      if (m.options.padding) throw new Error('tfjs mirror: padded pooling is not mirrored');
      out.push({ type: 'maxpool', kernel: k, stride: pair(m.options.stride, k[0]) });
    } else if (m instanceof kd.nn.Flatten) {
      out.push({ type: 'flatten' });
    } else if (m instanceof kd.nn.Dropout) {
      out.push({ type: 'dropout', p: m.p });
    } else if (m instanceof kd.nn.ReLU) {
      out.push({ type: 'relu' });
    } else {
      throw new Error(`tfjs mirror: layer ${m.describe()} is not mirrored`);
    }
  }
  return out;
}

/** The layers of the built-in kdgpu model `name` (built, read, and disposed). */
export function builtinLayers(name: string): MirrorLayer[] {
  const m = kd.nn.buildModel(name, { seed: 0 });
  try {
    return mirrorLayers(m);
  } finally {
    m.dispose();
  }
}

/** Builds the tfjs mirror of a kdgpu Sequential on the active backend. */
export function tfMirror(model: kd.nn.Module, seed = 0): TfModel {
  return tfMirrorOf(mirrorLayers(model), seed);
}

/** Builds a tfjs model from mirrored layers on the active backend. */
export function tfMirrorOf(layers: MirrorLayer[], seed = 0): TfModel {
  const variables: tf.Variable[] = [];
  const param = (shape: number[], fanIn: number) => {
    const v = tf.variable(tf.tensor(randArray(shape.reduce((a, b) => a * b, 1), seed + variables.length, 1 / Math.sqrt(fanIn)), shape));
    variables.push(v);
    return v;
  };
  const ops: Op[] = layers.map((l): Op => {
    switch (l.type) {
      case 'linear': {
        const w = param([l.inFeatures, l.outFeatures], l.inFeatures);
        const b = param([l.outFeatures], l.inFeatures);
        return (h) => tf.fused.matMul({ a: h as tf.Tensor2D, b: w, bias: b, activation: l.relu ? 'relu' : 'linear' });
      }
      case 'conv': {
        const [kh, kw] = l.kernel;
        const fanIn = l.inChannels * kh * kw;
        const w = param([kh, kw, l.inChannels, l.outChannels], fanIn);
        const b = param([l.outChannels], fanIn);
        const conv = convRelu();
        return (h) => conv(h as tf.Tensor4D, w as unknown as tf.Tensor4D, b as unknown as tf.Tensor1D);
      }
      case 'maxpool':
        return (h) => tf.maxPool(h as tf.Tensor4D, l.kernel, l.stride, 'valid');
      case 'flatten':
        return (h) => tf.reshape(h, [h.shape[0], -1]);
      case 'dropout':
        return (h, training) => (training && l.p > 0 ? tf.dropout(h, l.p) : h);
      case 'relu':
        return (h) => tf.relu(h);
    }
  });
  return {
    variables,
    forward: (x, training) => ops.reduce<tf.Tensor>((h, op) => op(h, training), x) as tf.Tensor2D,
    dispose: () => variables.forEach((v) => v.dispose()),
  };
}

/** A fixed random batch: NHWC images [B, 28, 28, 1] and one-hot labels [B, 10]. */
export function tfBatch(B: number): { x: tf.Tensor4D; onehot: tf.Tensor2D } {
  const x = tf.tensor4d(randArray(B * 784, 11), [B, 28, 28, 1]);
  const onehot = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(randLabels(B), 'int32'), 10), 'float32')) as tf.Tensor2D;
  return { x, onehot };
}
