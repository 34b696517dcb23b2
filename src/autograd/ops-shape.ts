/** Layout ops: reshape/flatten (views), permute/transpose, slice, concat, broadcastTo, clone, cast. */
import { runStridedCopy } from '../kernels/copy.js';
import { runElementwise } from '../kernels/elementwise.js';
import { KERNELS } from '../kernels/elementwise-ops.js';
import { record } from './graph.js';
import { sumTo } from './ops-reduce.js';
import { broadcastShapes, broadcastStrides, checkShape, fmt, normAxis, sameShape, sizeOf, stridesOf, type Shape } from './shape.js';
import { fromBuffer, fromStorage, type DType, type Tensor } from './tensor.js';

/** Same data, new shape (one dimension may be -1). Shares the buffer. */
export function reshape(x: Tensor, shape: Shape): Tensor {
  const op = 'reshape';
  const st = x.storageFor(op);
  if (!Array.isArray(shape)) throw new Error(`kdgpu: ${op}: shape must be an array of integers, got ${String(shape)} (tensor of shape ${fmt(x.shape)})`);
  const s = [...shape];
  const bad = (why: string) => new Error(`kdgpu: ${op}: cannot reshape ${fmt(x.shape)} (${x.size} elements) to ${fmt(shape)}: ${why}`);
  const free = s.indexOf(-1);
  if (free >= 0) {
    if (s.indexOf(-1, free + 1) >= 0) throw bad('only one dimension may be -1');
    const rest = s.reduce((p, d, i) => (i === free ? p : p * d), 1);
    if (rest === 0 || x.size % rest !== 0) throw bad('no size for the -1 dimension fits');
    s[free] = x.size / rest;
  }
  if (s.some((d) => !Number.isInteger(d) || d < 0)) throw bad('dimensions must be non-negative integers (or one -1)');
  checkShape(op, s);
  if (sizeOf(s) !== x.size) {
    throw new Error(`kdgpu: ${op}: cannot reshape ${fmt(x.shape)} (${x.size} elements) to ${fmt(shape)} (${sizeOf(s)} elements)`);
  }
  const y = fromStorage(st.retain(), s, x.dtype);
  const inShape = x.shape;
  return record(`reshape ${fmt(inShape)} → ${fmt(s)}`, [x], y, [], (g) => [reshape(g, inShape)]);
}

/** Flattens dims startDim..endDim into one (PyTorch's flatten; default: all but the first). */
export function flatten(x: Tensor, startDim = 1, endDim = -1): Tensor {
  x.storageFor('flatten');
  if (x.rank === 0) return reshape(x, [1]);
  const a = axisOf('flatten', startDim, x.shape);
  const b = axisOf('flatten', endDim, x.shape);
  if (a > b) throw new Error(`kdgpu: flatten: startDim ${startDim} comes after endDim ${endDim} for shape ${fmt(x.shape)}`);
  const s = [...x.shape.slice(0, a), sizeOf(x.shape.slice(a, b + 1)), ...x.shape.slice(b + 1)];
  return reshape(x, s);
}

/** A normalized axis; the error names the shape. */
function axisOf(op: string, axis: number, shape: Shape): number {
  try {
    return normAxis(op, axis, shape.length);
  } catch (e) {
    throw new Error(`${(e as Error).message} (shape ${fmt(shape)})`);
  }
}

function copyInto(op: string, x: Tensor, shape: Shape, srcOffset: number, srcStrides: readonly number[]): Tensor {
  const e = x.engine;
  const out = e.pool.acquire(Math.max(sizeOf(shape), 1) * 4);
  runStridedCopy(e, x.bufferFor(op), { offset: srcOffset, strides: srcStrides }, out, { offset: 0, strides: stridesOf(shape) }, shape);
  return fromBuffer(e, out, shape, x.dtype);
}

/** Reorders dimensions: output dim i is input dim perm[i]. */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  const op = 'permute';
  x.storageFor(op);
  if (perm.length !== x.rank) throw new Error(`kdgpu: ${op}: permutation [${perm.join(', ')}] has ${perm.length} entries for shape ${fmt(x.shape)}`);
  const p = perm.map((a) => axisOf(op, a, x.shape));
  if (new Set(p).size !== p.length) throw new Error(`kdgpu: ${op}: [${perm.join(', ')}] is not a permutation of the dimensions of shape ${fmt(x.shape)}`);
  const st = stridesOf(x.shape);
  const shape = p.map((a) => x.shape[a]);
  const y = copyInto(op, x, shape, 0, p.map((a) => st[a]));
  const inv = new Array<number>(p.length);
  p.forEach((a, i) => (inv[a] = i));
  return record(`permute ${fmt(x.shape)} [${p.join(', ')}]`, [x], y, [], (g) => [permute(g, inv)]);
}

/** Swaps two dimensions (default: the last two). */
export function transpose(x: Tensor, dim0 = -2, dim1 = -1): Tensor {
  x.storageFor('transpose');
  if (x.rank < 2 && dim0 === -2 && dim1 === -1) return permute(x, x.shape.map((_, i) => i));
  const a = axisOf('transpose', dim0, x.shape);
  const b = axisOf('transpose', dim1, x.shape);
  const perm = x.shape.map((_, i) => i);
  perm[a] = b;
  perm[b] = a;
  return permute(x, perm);
}

/** Per leading dimension: `[start, end?]`, a single index, or null/undefined for the whole dimension. */
export type SliceSpec = readonly (number | readonly [number, number?] | null | undefined)[];

/**
 * Slices with [start, end) per leading dimension: `slice(x, [[1, 3], null, [0, -1]])`. A number
 * keeps one index (dimension kept, size 1). Negative indices count from the end; bounds clamp.
 */
export function slice(x: Tensor, spec: SliceSpec): Tensor {
  const op = 'slice';
  x.storageFor(op);
  if (spec.length > x.rank) throw new Error(`kdgpu: ${op}: ${spec.length} ranges for a tensor of shape ${fmt(x.shape)}`);
  const begin: number[] = [];
  const shape: number[] = [];
  x.shape.forEach((d, i) => {
    const s = spec[i];
    let lo = 0;
    let hi = d;
    if (typeof s === 'number') {
      if (!Number.isInteger(s) || s < -d || s >= d) throw new Error(`kdgpu: ${op}: index ${s} is out of range for dimension ${i} of shape ${fmt(x.shape)}`);
      lo = s < 0 ? s + d : s;
      hi = lo + 1;
    } else if (s) {
      if (!Number.isInteger(s[0]) || (s[1] !== undefined && !Number.isInteger(s[1]))) {
        throw new Error(`kdgpu: ${op}: range [${s.join(', ')}] for dimension ${i} of shape ${fmt(x.shape)} must hold integers`);
      }
      const norm = (v: number) => Math.min(Math.max(v < 0 ? v + d : v, 0), d);
      lo = norm(s[0]);
      hi = s[1] === undefined ? d : norm(s[1]);
      if (hi < lo) hi = lo;
    }
    begin.push(lo);
    shape.push(hi - lo);
  });
  const st = stridesOf(x.shape);
  const offset = begin.reduce((p, b, i) => p + b * st[i], 0);
  const y = copyInto(op, x, shape, offset, st);
  const inShape = x.shape;
  return record(`slice ${fmt(inShape)} → ${fmt(shape)}`, [x], y, [], (g) => {
    const e = g.engine;
    const gx = runElementwise(e, KERNELS.fill, [], inShape.length ? inShape : [1], 0);
    runStridedCopy(e, g.bufferFor(op), { offset: 0, strides: stridesOf(shape) }, gx, { offset, strides: st }, shape);
    return [fromBuffer(e, gx, inShape, 'float32')];
  });
}

/** Joins tensors along `axis`; all other dimensions must match. */
export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  const op = 'concat';
  if (xs.length === 0) throw new Error(`kdgpu: ${op}: needs at least one tensor`);
  const first = xs[0];
  const shapes = () => xs.map((u) => fmt(u.shape)).join(', ');
  for (const t of xs) t.storageFor(op);
  if (first.rank === 0) throw new Error(`kdgpu: ${op}: cannot concatenate rank-0 tensors (shapes ${shapes()}); reshape them to [1] first`);
  let a: number;
  try {
    a = normAxis(op, axis, first.rank);
  } catch (e) {
    throw new Error(`${(e as Error).message} (shapes ${shapes()})`);
  }
  for (const t of xs) {
    if (t.dtype !== first.dtype) throw new Error(`kdgpu: ${op}: dtypes differ (${first.dtype} vs ${t.dtype}) for shapes ${shapes()}`);
    if (t.rank !== first.rank || t.shape.some((d, i) => i !== a && d !== first.shape[i])) {
      throw new Error(`kdgpu: ${op}: shapes ${shapes()} differ outside axis ${a}`);
    }
  }
  const shape = [...first.shape];
  shape[a] = xs.reduce((p, t) => p + t.shape[a], 0);
  const e = first.engine;
  const out = e.pool.acquire(Math.max(sizeOf(shape), 1) * 4);
  const outStrides = stridesOf(shape);
  let at = 0;
  const starts: number[] = [];
  for (const t of xs) {
    starts.push(at);
    runStridedCopy(e, t.bufferFor(op), { offset: 0, strides: stridesOf(t.shape) }, out, { offset: at * outStrides[a], strides: outStrides }, t.shape);
    at += t.shape[a];
  }
  const y = fromBuffer(e, out, shape, first.dtype);
  return record(`concat ${xs.map((t) => fmt(t.shape)).join(', ')} axis ${a}`, xs, y, [], (g) =>
    xs.map((t, i) => {
      const spec: [number, number][] = shape.map((d, k) => (k === a ? [starts[i], starts[i] + t.shape[a]] : [0, d]));
      return slice(g, spec);
    }),
  );
}

/** Repeats size-1 (and missing leading) dimensions up to `shape`. */
export function broadcastTo(x: Tensor, shape: Shape): Tensor {
  const op = 'broadcastTo';
  x.storageFor(op);
  const target = checkShape(op, shape);
  const b = broadcastShapes(op, x.shape, target);
  if (!sameShape(b, target)) throw new Error(`kdgpu: ${op}: cannot broadcast ${fmt(x.shape)} to ${fmt(shape)}`);
  const y = copyInto(op, x, target, 0, broadcastStrides(x.shape, target));
  const inShape = x.shape;
  return record(`broadcastTo ${fmt(inShape)} → ${fmt(target)}`, [x], y, [], (g) => [sumTo(g, inShape)]);
}

/** A copy with its own buffer. */
export function clone(x: Tensor): Tensor {
  const op = 'clone';
  x.storageFor(op);
  const e = x.engine;
  const spec = x.dtype === 'int32' ? KERNELS.copyInt : KERNELS.copy;
  const y = fromBuffer(e, runElementwise(e, spec, [{ buffer: x.bufferFor(op), mode: 'full' }], x.shape.length ? x.shape : [1]), x.shape, x.dtype);
  return record(`clone ${fmt(x.shape)}`, [x], y, [], (g) => [g]);
}

/** Converts between float32 and int32 (float → int truncates toward zero). */
export function cast(x: Tensor, dtype: DType): Tensor {
  const op = 'cast';
  x.storageFor(op);
  if (dtype === x.dtype) return clone(x);
  const e = x.engine;
  const spec = dtype === 'float32' ? KERNELS.castIntToFloat : KERNELS.castFloatToInt;
  return fromBuffer(e, runElementwise(e, spec, [{ buffer: x.bufferFor(op), mode: 'full' }], x.shape.length ? x.shape : [1]), x.shape, dtype);
}
