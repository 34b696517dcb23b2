/**
 * ONNX operators on GPU tensors, written with kdgpu's public ops (so each has its gradient):
 * one function per node, given its inputs and, for Conv/Gemm/BatchNormalization/pooling/Dropout,
 * the kdgpu layer the model built for it.
 */
import { full, tensor } from '../autograd/creation.js';
import { conv2d } from '../autograd/ops-conv.js';
import { dropout } from '../autograd/ops-dropout.js';
import { add, div, maximum, minimum, mul, relu, relu6, sigmoid, sub, tanh } from '../autograd/ops-elementwise.js';
import { matmul } from '../autograd/ops-matmul.js';
import { avgPool2d, globalAvgPool2d, maxPool2d } from '../autograd/ops-pool.js';
import { mean } from '../autograd/ops-reduce.js';
import { concat, permute, reshape, slice } from '../autograd/ops-shape.js';
import { logSoftmax, softmax } from '../autograd/ops-softmax.js';
import type { Tensor } from '../autograd/tensor.js';
import { Conv2d, Dropout, MaxPool2d } from '../nn/conv-layers.js';
import { Linear } from '../nn/layers.js';
import type { Module } from '../nn/module.js';
import { OnnxError } from './errors.js';
import { label, type OnnxNode } from './graph.js';
import { intsOf, normAxis, reshapeDims, sliceRanges } from './host-ops.js';
import { ceilExtra, samePads, type AxisPads } from './pads.js';
import type { HostTensor } from './tensor-data.js';

/** What a node's runner sees. */
export interface OpContext {
  /** Model name for errors. */
  readonly source: string;
  /** ai.onnx opset of the model. */
  readonly opset: number;
  /** Whether the model is in training mode. */
  readonly training: boolean;
  /** The kdgpu layer built for this node, if any. */
  readonly layer: Module | undefined;
  /** Whether input i is given. */
  has(i: number): boolean;
  /** Input i as a GPU tensor (host values are uploaded). */
  tensor(i: number): Tensor;
  /** Input i as a host value, or undefined when omitted. */
  host(i: number): HostTensor | undefined;
  /** Whether input i is a host value (a constant or shape value). */
  isHost(i: number): boolean;
}

/** A value below every float32 a max can meet: the "never wins" padding of max pooling. */
const NEG_BIG = -3.4e38;

/** Pads a 4-D (or any-rank) tensor with `value`: pads[i] before axis i, pads[rank + i] after; negative pads crop. */
export function padConstant(x: Tensor, pads: readonly number[], value: number): Tensor {
  const r = x.rank;
  let y = x;
  for (let ax = 0; ax < r; ax++) {
    let before = pads[ax] ?? 0;
    let after = pads[r + ax] ?? 0;
    if (before < 0 || after < 0) {
      const spec: ([number, number] | null)[] = y.shape.map(() => null);
      spec[ax] = [Math.max(-before, 0), y.shape[ax] - Math.max(-after, 0)];
      y = slice(y, spec);
      before = Math.max(before, 0);
      after = Math.max(after, 0);
    }
    if (!before && !after) continue;
    const parts: Tensor[] = [];
    const side = (n: number) => full(y.shape.map((d, i) => (i === ax ? n : d)), value);
    if (before) parts.push(side(before));
    parts.push(y);
    if (after) parts.push(side(after));
    y = concat(parts, ax);
  }
  return y;
}

/** Scalar host values pass as numbers (no upload); others as tensors. */
function operand(ctx: OpContext, i: number): Tensor | number {
  const h = ctx.isHost(i) ? ctx.host(i) : undefined;
  if (h && h.data.length === 1 && h.dims.length === 0) return h.data[0];
  return ctx.tensor(i);
}

function pairAttr(n: OnnxNode, name: string, dflt: number): [number, number] {
  const v = n.attrs.get(name) as number[] | undefined;
  return v ? [v[0], v[1]] : [dflt, dflt];
}

/**
 * The padding a Conv/pool node needs for input [.., H, W]: [top, bottom] and [left, right] from
 * auto_pad or pads, plus ceil_mode's extra trailing cells (pools).
 */
export function spatialPads(n: OnnxNode, H: number, W: number, kernel: [number, number], strides: [number, number], dilations: [number, number]): [AxisPads, AxisPads] {
  const ap = (n.attrs.get('auto_pad') as string | undefined) ?? 'NOTSET';
  const ek = [(kernel[0] - 1) * dilations[0] + 1, (kernel[1] - 1) * dilations[1] + 1];
  let p: [AxisPads, AxisPads];
  if (ap === 'SAME_UPPER' || ap === 'SAME_LOWER') p = [samePads(H, strides[0], ek[0], ap === 'SAME_LOWER'), samePads(W, strides[1], ek[1], ap === 'SAME_LOWER')];
  else if (ap === 'VALID') p = [[0, 0], [0, 0]];
  else {
    const pads = (n.attrs.get('pads') as number[] | undefined) ?? [0, 0, 0, 0];
    p = [[pads[0], pads[2]], [pads[1], pads[3]]];
  }
  if (n.attrs.get('ceil_mode') === 1 && (ap === 'NOTSET' || ap === 'VALID')) {
    p[0][1] += ceilExtra(H, strides[0], ek[0], p[0]);
    p[1][1] += ceilExtra(W, strides[1], ek[1], p[1]);
  }
  return p;
}

/** Conv: the layer (weights from initializers) or the conv2d op (computed weights), asymmetric padding applied first. */
function conv(ctx: OpContext, n: OnnxNode): Tensor {
  let x = ctx.tensor(0);
  if (x.rank !== 4) throw new OnnxError(ctx.source, `node ${label(n)}: Conv input ${JSON.stringify(x.shape)} is not 4-D NCHW (only 2-D convolutions are supported)`);
  const layer = ctx.layer instanceof Conv2d ? ctx.layer : undefined;
  const w = layer ? layer.weight : ctx.tensor(1);
  const kernel: [number, number] = [w.shape[2], w.shape[3]];
  const strides = pairAttr(n, 'strides', 1);
  const dil = pairAttr(n, 'dilations', 1);
  const [[t, b], [l, r]] = spatialPads(n, x.shape[2], x.shape[3], kernel, strides, dil);
  const sym: [number, number] = [Math.min(t, b), Math.min(l, r)];
  if (t !== b || l !== r) x = padConstant(x, [0, 0, t - sym[0], l - sym[1], 0, 0, b - sym[0], r - sym[1]], 0);
  if (layer) {
    // The padding can depend on the input size (auto_pad), so the layer's is set for each call.
    (layer.options as { padding?: unknown }).padding = sym;
    return layer.call(x);
  }
  return conv2d(x, w, ctx.has(2) ? ctx.tensor(2) : null, { stride: strides, dilation: dil, padding: sym, groups: (n.attrs.get('group') as number | undefined) ?? 1 });
}

function pool(ctx: OpContext, n: OnnxNode): Tensor {
  let x = ctx.tensor(0);
  if (x.rank !== 4) throw new OnnxError(ctx.source, `node ${label(n)}: ${n.opType} input ${JSON.stringify(x.shape)} is not 4-D NCHW`);
  const kernel = pairAttr(n, 'kernel_shape', 1);
  const strides = pairAttr(n, 'strides', 1);
  const [[t, b], [l, r]] = spatialPads(n, x.shape[2], x.shape[3], kernel, strides, [1, 1]);
  const max = n.opType === 'MaxPool';
  const include = n.attrs.get('count_include_pad') === 1;
  // kdgpu's pools pad symmetrically up to half the kernel; anything else is padded here first.
  const fits = t === b && l === r && 2 * t <= kernel[0] && 2 * l <= kernel[1];
  let padding: [number, number] | 'same' = [t, l];
  if ((n.attrs.get('auto_pad') === 'SAME_UPPER') && (max || !include)) {
    padding = 'same'; // kdgpu's 'same' is SAME_UPPER, padded cells never counted
  } else if (!fits && (t || b || l || r)) {
    if (!max && !include) {
      throw new OnnxError(ctx.source, `node ${label(n)}: AveragePool with padding [${t}, ${l}, ${b}, ${r}] (asymmetric, ceil_mode or over half the kernel) and count_include_pad = 0 is not supported`);
    }
    x = padConstant(x, [0, 0, t, l, 0, 0, b, r], max ? NEG_BIG : 0);
    padding = [0, 0];
  }
  const opts = { kernel, stride: strides, padding, countIncludePad: include };
  const layer = ctx.layer instanceof MaxPool2d ? ctx.layer : undefined;
  if (layer) {
    // As for Conv: auto_pad and ceil_mode make the padding depend on the input size.
    Object.assign(layer.options as object, { padding });
    return layer.call(x);
  }
  return max ? maxPool2d(x, opts) : avgPool2d(x, opts);
}

function gemm(ctx: OpContext, n: OnnxNode): Tensor {
  if (ctx.layer instanceof Linear) return ctx.layer.call(ctx.tensor(0));
  const alpha = (n.attrs.get('alpha') as number | undefined) ?? 1;
  const beta = (n.attrs.get('beta') as number | undefined) ?? 1;
  let y = matmul(ctx.tensor(0), ctx.tensor(1), { transA: n.attrs.get('transA') === 1, transB: n.attrs.get('transB') === 1 });
  if (alpha !== 1) y = mul(y, alpha);
  if (ctx.has(2)) {
    const c = operand(ctx, 2);
    y = add(y, beta === 1 ? c : typeof c === 'number' ? beta * c : mul(c, beta));
  }
  return y;
}

function matmulOp(ctx: OpContext): Tensor {
  let a = ctx.tensor(0);
  let b = ctx.tensor(1);
  // numpy.matmul's 1-D rules: a vector is a row (left) or a column (right), dropped afterwards.
  const va = a.rank === 1;
  const vb = b.rank === 1;
  if (va) a = reshape(a, [1, a.shape[0]]);
  if (vb) b = reshape(b, [b.shape[0], 1]);
  let y = matmul(a, b);
  if (va || vb) y = reshape(y, y.shape.filter((_, i) => !((va && i === y.rank - 2) || (vb && i === y.rank - 1))));
  return y;
}

function softmaxOp(ctx: OpContext, n: OnnxNode): Tensor {
  const x = ctx.tensor(0);
  const f = n.opType === 'Softmax' ? softmax : logSoftmax;
  if (ctx.opset >= 13) return f(x, normAxis(ctx.source, n, (n.attrs.get('axis') as number | undefined) ?? -1, x.rank));
  // Before opset 13 the input is coerced to 2-D at `axis` (default 1) and normalized over the rest.
  const axis = normAxis(ctx.source, n, (n.attrs.get('axis') as number | undefined) ?? 1, x.rank);
  if (axis === x.rank - 1) return f(x, axis);
  const lead = x.shape.slice(0, axis).reduce((p, d) => p * d, 1);
  return reshape(f(reshape(x, [lead, x.size / lead]), 1), x.shape);
}

/** Runs GPU node `n`; returns its (first) output. */
export function runGpuOp(ctx: OpContext, n: OnnxNode): Tensor {
  const a = (k: string) => n.attrs.get(k);
  switch (n.opType) {
    case 'Conv':
      return conv(ctx, n);
    case 'Gemm':
      return gemm(ctx, n);
    case 'MatMul':
      return matmulOp(ctx);
    case 'Add':
      return add(operand(ctx, 0), operand(ctx, 1));
    case 'Sub':
      return sub(operand(ctx, 0), operand(ctx, 1));
    case 'Mul':
      return mul(operand(ctx, 0), operand(ctx, 1));
    case 'Div':
      return div(operand(ctx, 0), operand(ctx, 1));
    case 'Relu':
      return relu(ctx.tensor(0));
    case 'Sigmoid':
      return sigmoid(ctx.tensor(0));
    case 'Tanh':
      return tanh(ctx.tensor(0));
    case 'LeakyRelu': {
      const alpha = (a('alpha') as number | undefined) ?? 0.01;
      const x = ctx.tensor(0);
      // α·x + (1 − α)·relu(x): x where x > 0, α·x elsewhere, for any α.
      return add(mul(x, alpha), mul(relu(x), 1 - alpha));
    }
    case 'Clip': {
      const x = ctx.tensor(0);
      const lo = ctx.has(1) ? ctx.host(1)!.data[0] : ((a('min') as number | undefined) ?? -Infinity);
      const hi = ctx.has(2) ? ctx.host(2)!.data[0] : ((a('max') as number | undefined) ?? Infinity);
      if (lo === 0 && hi === 6) return relu6(x);
      if (lo === 0 && hi === Infinity) return relu(x);
      let y = x;
      if (lo > -Infinity) y = maximum(y, lo);
      if (hi < Infinity) y = minimum(y, hi);
      return y;
    }
    case 'MaxPool':
    case 'AveragePool':
      return pool(ctx, n);
    case 'GlobalAveragePool': {
      const x = ctx.tensor(0);
      const pooled = ctx.layer ? ctx.layer.call(x) : globalAvgPool2d(x);
      return reshape(pooled, [x.shape[0], x.shape[1], 1, 1]);
    }
    case 'ReduceMean': {
      const x = ctx.tensor(0);
      const axes = intsOf(a('axes'));
      return mean(x, axes ? axes.map((ax) => normAxis(ctx.source, n, ax, x.rank)) : null, { keepdims: a('keepdims') !== 0 });
    }
    case 'BatchNormalization':
      return ctx.layer!.call(ctx.tensor(0));
    case 'Flatten': {
      const x = ctx.tensor(0);
      const axis = normAxis(ctx.source, n, (a('axis') as number | undefined) ?? 1, x.rank + 1);
      const lead = x.shape.slice(0, axis).reduce((p, d) => p * d, 1);
      return reshape(x, [lead, lead ? x.size / lead : 0]);
    }
    case 'Reshape': {
      const x = ctx.tensor(0);
      return reshape(x, reshapeDims(ctx.source, n, x.shape, intsOf(ctx.host(1))!, a('allowzero') === 1));
    }
    case 'Unsqueeze':
    case 'Squeeze': {
      const x = ctx.tensor(0);
      const axes = intsOf(ctx.has(1) ? ctx.host(1) : a('axes'));
      let dims = [...x.shape];
      if (n.opType === 'Unsqueeze') for (const ax of (axes ?? []).map((v) => normAxis(ctx.source, n, v, x.rank + axes!.length)).sort((p, q) => p - q)) dims.splice(ax, 0, 1);
      else {
        const drop = new Set((axes ?? dims.flatMap((d, i) => (d === 1 ? [i] : []))).map((v) => normAxis(ctx.source, n, v, x.rank)));
        dims = dims.filter((_, i) => !drop.has(i));
      }
      return reshape(x, dims);
    }
    case 'Transpose': {
      const x = ctx.tensor(0);
      return permute(x, intsOf(a('perm')) ?? x.shape.map((_, i) => x.rank - 1 - i));
    }
    case 'Concat': {
      const xs = n.inputs.map((_, i) => ctx.tensor(i));
      return concat(xs, normAxis(ctx.source, n, a('axis') as number, xs[0].rank));
    }
    case 'Slice': {
      const x = ctx.tensor(0);
      const ranges = sliceRanges(ctx.source, n, x.shape, intsOf(ctx.host(1))!, intsOf(ctx.host(2))!, ctx.has(3) ? intsOf(ctx.host(3)) : undefined, ctx.has(4) ? intsOf(ctx.host(4)) : undefined);
      if (ranges.some(([, , st]) => st !== 1)) throw new OnnxError(ctx.source, `node ${label(n)}: Slice with steps other than 1 on run-time data is not supported`);
      return slice(x, ranges.map(([s, e]) => [s, Math.max(s, e)] as [number, number]));
    }
    case 'Pad': {
      const x = ctx.tensor(0);
      const pads = intsOf(ctx.host(1) ?? a('pads')) ?? [];
      if (pads.length !== 2 * x.rank) throw new OnnxError(ctx.source, `node ${label(n)}: Pad has ${pads.length} pads for a rank-${x.rank} input; expected ${2 * x.rank}`);
      const value = ctx.has(2) ? ctx.host(2)!.data[0] : ((a('value') as number | undefined) ?? 0);
      return padConstant(x, pads, value);
    }
    case 'Dropout': {
      const x = ctx.tensor(0);
      if (ctx.layer instanceof Dropout) return ctx.layer.call(x);
      return ctx.training ? dropout(x, { p: 0.5, training: true }) : x;
    }
    case 'Identity':
    case 'Cast':
      return ctx.tensor(0);
    case 'Softmax':
    case 'LogSoftmax':
      return softmaxOp(ctx, n);
    default:
      throw new OnnxError(ctx.source, `node ${label(n)}: ${n.opType} cannot run on run-time data`);
  }
}

/** Uploads a host value as a float32 tensor. */
export function upload(h: HostTensor): Tensor {
  return tensor(Float32Array.from(h.data), [...h.dims]);
}
