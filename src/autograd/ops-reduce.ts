/** Reductions over any axes (sum, mean, max, min, argmax, argmin) and their gradients. */
import { runReduce } from '../kernels/reduce.js';
import { runElementwise } from '../kernels/elementwise.js';
import { KERNELS, OPS } from '../kernels/elementwise-ops.js';
import { record } from './graph.js';
import { fmt, normAxes, type Shape, broadcastStrides, sameShape } from './shape.js';
import { fromBuffer, type Tensor } from './tensor.js';
import { broadcastTo, reshape } from './ops-shape.js';

/** Options for the reductions (sum, mean, max, min, argmax, argmin). */
export interface ReduceOptions {
  /** Keep each reduced dimension as size 1 (default false: drop it). */
  keepdims?: boolean;
}

/** Axes to reduce over: one axis, a list (negative values count from the end), or null/omitted for all. */
export type Axes = number | readonly number[] | null | undefined;

function outShape(shape: Shape, axes: number[], keepdims: boolean): number[] {
  const set = new Set(axes);
  const out: number[] = [];
  shape.forEach((d, i) => {
    if (!set.has(i)) out.push(d);
    else if (keepdims) out.push(1);
  });
  return out;
}

function prepare(op: string, x: Tensor, axes: Axes, floatOnly: boolean) {
  x.storageFor(op);
  if (floatOnly && x.dtype !== 'float32') {
    throw new Error(`kdgpu: ${op} expects a float32 tensor, got ${x.dtype} of shape ${fmt(x.shape)}`);
  }
  const ax = axesOf(op, x, axes);
  const redN = ax.reduce((p, a) => p * x.shape[a], 1);
  return { ax, redN };
}

/**
 * Normalized axes; errors name the shape. A rank-0 tensor accepts axis 0 or -1 (as PyTorch) and
 * has nothing to reduce.
 */
function axesOf(op: string, x: Tensor, axes: Axes): number[] {
  if (x.rank === 0) {
    for (const a of axes === undefined || axes === null ? [] : typeof axes === 'number' ? [axes] : axes) {
      if (a !== 0 && a !== -1) throw new Error(`kdgpu: ${op}: axis ${a} is out of range for a tensor of rank 0 (shape [])`);
    }
    return [];
  }
  let ax: number[];
  try {
    ax = normAxes(op, axes, x.rank);
  } catch (e) {
    throw new Error(`${(e as Error).message} (shape ${fmt(x.shape)})`);
  }
  return ax;
}

function rejectEmpty(op: string, x: Tensor, ax: number[], redN: number): void {
  if (redN === 0) {
    throw new Error(
      `kdgpu: ${op}: cannot reduce over an empty set of elements (shape ${fmt(x.shape)}, axes [${ax.join(', ')}])`,
    );
  }
}

/** Same as PyTorch's sum over `axes` (all when omitted). The empty sum is 0. */
export function sum(x: Tensor, axes?: Axes, opts: ReduceOptions = {}): Tensor {
  return sumScaled('sum', x, axes, opts, 1);
}

/** Mean over `axes` (all when omitted); float32 only. Reducing over zero elements is an error. */
export function mean(x: Tensor, axes?: Axes, opts: ReduceOptions = {}): Tensor {
  const { ax, redN } = prepare('mean', x, axes, true);
  rejectEmpty('mean', x, ax, redN);
  return sumScaled('mean', x, axes, opts, 1 / redN);
}

function sumScaled(op: string, x: Tensor, axes: Axes, opts: ReduceOptions, scale: number): Tensor {
  const { ax } = prepare(op, x, axes, true);
  const shape = outShape(x.shape, ax, opts.keepdims ?? false);
  const e = x.engine;
  const y = fromBuffer(e, runReduce(e, 'sum', x.bufferFor(op), x.shape, ax, 'f32', scale), shape, 'float32');
  const inShape = x.shape;
  const kept = outShape(inShape, ax, true);
  return record(`${op} ${fmt(inShape)} axes [${ax.join(', ')}]`, [x], y, [], (g) => {
    const gk = reshape(g, kept);
    const full = scale === 1 ? broadcastTo(gk, inShape) : scaledBroadcast(gk, inShape, scale);
    gk.dispose();
    return [full];
  });
}

function scaledBroadcast(g: Tensor, shape: Shape, scale: number): Tensor {
  const e = g.engine;
  const buf = runElementwise(
    e,
    OPS.mulScalar.forward,
    [g.size === 1 ? { buffer: g.bufferFor('mean'), mode: 'scalar' } : { buffer: g.bufferFor('mean'), mode: 'strided', strides: broadcastStrides(g.shape, shape) }],
    shape,
    scale,
  );
  return fromBuffer(e, buf, shape, 'float32');
}

function extremum(op: 'max' | 'min', x: Tensor, axes: Axes, opts: ReduceOptions): Tensor {
  const { ax, redN } = prepare(op, x, axes, true);
  rejectEmpty(op, x, ax, redN);
  const shape = outShape(x.shape, ax, opts.keepdims ?? false);
  const e = x.engine;
  let y: Tensor;
  if (op === 'max') {
    y = fromBuffer(e, runReduce(e, 'max', x.bufferFor(op), x.shape, ax), shape, 'float32');
  } else {
    // min(x) = −max(−x)
    const nx = fromBuffer(e, runElementwise(e, OPS.neg.forward, [{ buffer: x.bufferFor(op), mode: 'full' }], x.shape), x.shape, 'float32');
    const m = runReduce(e, 'max', nx.bufferFor(op), x.shape, ax);
    nx.dispose();
    const mt = fromBuffer(e, m, shape, 'float32');
    y = fromBuffer(e, runElementwise(e, OPS.neg.forward, [{ buffer: mt.bufferFor(op), mode: 'full' }], shape), shape, 'float32');
    mt.dispose();
  }
  const inShape = x.shape;
  const kept = outShape(inShape, ax, true);
  // Like torch.amax: the gradient is shared equally among the elements equal to the extremum.
  return record(`${op} ${fmt(inShape)} axes [${ax.join(', ')}]`, [x], y, [x, y], (g, [xs, ys]) => {
    const yk = reshape(ys, kept);
    const gk = reshape(g, kept);
    const mask = fromBuffer(e, runElementwise(e, KERNELS.equal, [{ buffer: xs.bufferFor(op), mode: 'full' }, stridedOrScalar(yk, inShape)], inShape), inShape, 'float32');
    const count = fromBuffer(e, runReduce(e, 'sum', mask.bufferFor(op), inShape, ax), kept, 'float32');
    const share = fromBuffer(e, runElementwise(e, OPS.div.forward, [stridedOrScalar(gk, kept), stridedOrScalar(count, kept)], kept), kept, 'float32');
    const gx = fromBuffer(e, runElementwise(e, OPS.mul.forward, [{ buffer: mask.bufferFor(op), mode: 'full' }, stridedOrScalar(share, inShape)], inShape), inShape, 'float32');
    for (const t of [yk, gk, mask, count, share]) t.dispose();
    return [gx];
  });
}

function stridedOrScalar(t: Tensor, shape: Shape) {
  const buffer = t.bufferFor('reduce');
  if (t.size === 1) return { buffer, mode: 'scalar' as const };
  if (sameShape(t.shape, shape)) return { buffer, mode: 'full' as const };
  return { buffer, mode: 'strided' as const, strides: broadcastStrides(t.shape, shape) };
}

/**
 * Largest value over `axes` (all when omitted). As torch.amax, the gradient is shared equally among
 * the elements equal to the maximum.
 */
export const max = (x: Tensor, axes?: Axes, opts: ReduceOptions = {}): Tensor => extremum('max', x, axes, opts);
/** Smallest value over `axes` (all when omitted); the gradient is shared among ties, as for max. */
export const min = (x: Tensor, axes?: Axes, opts: ReduceOptions = {}): Tensor => extremum('min', x, axes, opts);

/**
 * Index of the largest element along `axis` (int32; the first one on ties, as PyTorch). Without
 * an axis: the index into the flattened tensor.
 */
export function argmax(x: Tensor, axis?: number, opts: ReduceOptions = {}): Tensor {
  return argExtremum('argmax', x, axis, opts);
}

/** Index of the smallest element (the first one on ties); see argmax. */
export function argmin(x: Tensor, axis?: number, opts: ReduceOptions = {}): Tensor {
  return argExtremum('argmin', x, axis, opts);
}

function argExtremum(op: 'argmax' | 'argmin', x: Tensor, axis: number | undefined, opts: ReduceOptions): Tensor {
  const axes = axis === undefined ? null : [axis];
  const { ax, redN } = prepare(op, x, axes, true);
  rejectEmpty(op, x, ax, redN);
  const shape = axis === undefined ? (opts.keepdims ? x.shape.map(() => 1) : []) : outShape(x.shape, ax, opts.keepdims ?? false);
  const e = x.engine;
  if (op === 'argmax') return fromBuffer(e, runReduce(e, 'argmax', x.bufferFor(op), x.shape, ax), shape, 'int32');
  // argmin(x) = argmax(−x), ties included
  const neg = runElementwise(e, OPS.neg.forward, [{ buffer: x.bufferFor(op), mode: 'full' }], x.shape);
  try {
    return fromBuffer(e, runReduce(e, 'argmax', neg, x.shape, ax), shape, 'int32');
  } finally {
    e.pool.release(neg);
  }
}

/** Sums `g` down to `shape` (the inverse of broadcasting `shape` up to g's shape). */
export function sumTo(g: Tensor, shape: Shape): Tensor {
  g.storageFor('sumTo');
  const lead = g.rank - shape.length;
  if (lead < 0 || shape.some((d, i) => d !== 1 && d !== g.shape[i + lead])) {
    throw new Error(`kdgpu: sumTo: shape ${fmt(shape)} does not broadcast to the gradient's shape ${fmt(g.shape)}`);
  }
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  const e = g.engine;
  const buf = runReduce(e, 'sum', g.bufferFor('sumTo'), g.shape, axes);
  return fromBuffer(e, buf, shape, 'float32');
}
