/** Making tensors: from arrays, fills and seeded random numbers. */
import { engine } from '../gpu/context.js';
import { runElementwise } from '../kernels/elementwise.js';
import { KERNELS } from '../kernels/elementwise-ops.js';
import { Random } from './random.js';
import { checkShape, fmt, sizeOf, type Shape } from './shape.js';
import { fromBuffer, Storage, Tensor, type DType, type NestedArray } from './tensor.js';

/** Options for making a tensor. */
export interface TensorOptions {
  /** Element type; default float32 (`tensor` of an Int32Array: int32). */
  dtype?: DType;
  /** Make a leaf that accumulates a gradient in `.grad` (float32 only). Default false. */
  requiresGrad?: boolean;
}

function inferShape(data: NestedArray): number[] {
  const shape: number[] = [];
  let cur: NestedArray = data;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    if (cur.length === 0) break;
    cur = cur[0];
  }
  return shape;
}

function flatten(op: string, data: NestedArray, shape: number[], out: number[], dim = 0): void {
  if (dim === shape.length) {
    if (typeof data !== 'number') throw new Error(`kdgpu: ${op}: ragged nested array (expected a number at depth ${dim}, shape ${fmt(shape)})`);
    out.push(data);
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[dim]) {
    throw new Error(`kdgpu: ${op}: ragged nested array (expected length ${shape[dim]} at depth ${dim}, shape ${fmt(shape)})`);
  }
  for (const x of data) flatten(op, x, shape, out, dim + 1);
}

function finish(t: Tensor, opts: TensorOptions): Tensor {
  if (opts.requiresGrad) {
    if (t.dtype !== 'float32') throw new Error(`kdgpu: only float32 tensors can require grad, got ${t.dtype}`);
    t.requiresGrad = true;
  }
  return t;
}

/**
 * A tensor from a typed array, a plain/nested array or a number. Float32Array → float32 and
 * Int32Array → int32 unless `dtype` says otherwise; `shape` defaults to the array's own.
 */
export function tensor(
  data: NestedArray | Float32Array | Int32Array | readonly number[],
  shape?: Shape,
  opts: TensorOptions = {},
): Tensor {
  const op = 'tensor';
  let flat: ArrayLike<number>;
  let inferred: number[];
  let dtype: DType = opts.dtype ?? 'float32';
  if (data instanceof Float32Array || data instanceof Int32Array) {
    flat = data;
    inferred = [data.length];
    if (!opts.dtype) dtype = data instanceof Int32Array ? 'int32' : 'float32';
  } else if (typeof data === 'number') {
    flat = [data];
    inferred = [];
  } else {
    inferred = inferShape(data as NestedArray);
    const out: number[] = [];
    flatten(op, data as NestedArray, inferred, out);
    flat = out;
  }
  const s = checkShape(op, shape ?? inferred);
  if (sizeOf(s) !== flat.length) {
    throw new Error(`kdgpu: ${op}: ${flat.length} values do not fill shape ${fmt(s)} (${sizeOf(s)} elements)`);
  }
  if (dtype !== 'float32' && dtype !== 'int32') throw new Error(`kdgpu: ${op}: unknown dtype '${String(dtype)}'`);
  const typed =
    dtype === 'int32'
      ? flat instanceof Int32Array
        ? flat
        : Int32Array.from(flat, (v) => {
            if (!Number.isInteger(v)) throw new Error(`kdgpu: ${op}: int32 tensor got non-integer value ${v}`);
            return v;
          })
      : flat instanceof Float32Array
        ? flat
        : Float32Array.from(flat);
  const e = engine();
  return finish(new Tensor(new Storage(e, e.upload(typed)), s, dtype), opts);
}

/** A tensor of `shape` filled with `value`. */
export function full(shape: Shape, value: number, opts: TensorOptions = {}): Tensor {
  const s = checkShape('full', shape);
  const dtype = opts.dtype ?? 'float32';
  const e = engine();
  const buf = runElementwise(e, dtype === 'int32' ? KERNELS.fillInt : KERNELS.fill, [], s.length ? s : [1], value);
  return finish(fromBuffer(e, buf, s, dtype), opts);
}

/** A tensor of `shape` filled with 0. */
export function zeros(shape: Shape, opts: TensorOptions = {}): Tensor {
  return full(shape, 0, opts);
}

/** A tensor of `shape` filled with 1. */
export function ones(shape: Shape, opts: TensorOptions = {}): Tensor {
  return full(shape, 1, opts);
}

/** A rank-0 tensor (shape `[]`) holding `value`. */
export function scalar(value: number, opts: TensorOptions = {}): Tensor {
  return full([], value, opts);
}

/** Options for `rand` and `randn`. */
export interface RandomOptions extends TensorOptions {
  /** Seed for this call; without it the global generator (see `manualSeed`) is used. */
  seed?: number;
}

let globalRandom = new Random(0x6b64677075);

/** Seeds the generator used by rand/randn calls without their own seed. */
export function manualSeed(seed: number): void {
  globalRandom = new Random(seed);
}

/** The generator behind rand/randn calls without a seed (and default weight initialization). */
export function defaultGenerator(): Random {
  return globalRandom;
}

function generator(opts: RandomOptions): Random {
  return opts.seed === undefined ? globalRandom : new Random(opts.seed);
}

/** Uniform numbers in [low, high). Generated on the CPU (reproducible everywhere), then uploaded. */
export function rand(shape: Shape, opts: RandomOptions & { low?: number; high?: number } = {}): Tensor {
  const s = checkShape('rand', shape);
  const g = generator(opts);
  const lo = opts.low ?? 0;
  const hi = opts.high ?? 1;
  const data = new Float32Array(sizeOf(s));
  for (let i = 0; i < data.length; i++) data[i] = lo + (hi - lo) * g.next();
  return tensor(data, s, { requiresGrad: opts.requiresGrad });
}

/** Normal numbers with the given mean and standard deviation. */
export function randn(shape: Shape, opts: RandomOptions & { mean?: number; std?: number } = {}): Tensor {
  const s = checkShape('randn', shape);
  const g = generator(opts);
  const data = new Float32Array(sizeOf(s));
  const mean = opts.mean ?? 0;
  const std = opts.std ?? 1;
  for (let i = 0; i < data.length; i++) data[i] = mean + std * g.normal();
  return tensor(data, s, { requiresGrad: opts.requiresGrad });
}
