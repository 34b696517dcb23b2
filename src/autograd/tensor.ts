/**
 * Tensor: a shape, a dtype and a contiguous GPU buffer. Views that keep the layout (reshape,
 * flatten) share the buffer through a reference-counted Storage; every other op writes a new one.
 *
 * Op methods (`a.add(b)`, `loss.backward()`, …) are attached in `methods.ts`, so this file stays
 * free of imports from the op modules.
 */
import type { PooledBuffer } from '../gpu/buffer-pool.js';
import type { Engine } from '../gpu/engine.js';
import type { GradNode } from './graph.js';
import { fmt, sizeOf, type Shape } from './shape.js';
import { track, untrack } from './scope.js';

/** Element type of a tensor. Both are 4 bytes per element on the GPU. */
export type DType = 'float32' | 'int32';
export type TypedArrayFor<D extends DType> = D extends 'int32' ? Int32Array : Float32Array;

/**
 * A reference-counted GPU buffer shared by a tensor and its views; returned to the engine's pool
 * when the last reference is released.
 */
export class Storage {
  /** Number of tensor handles sharing the buffer (views and the tape's saved handles included). */
  refs = 1;
  constructor(
    /** The engine whose pool owns the buffer. */
    readonly engine: Engine,
    /** The pooled GPU buffer holding the elements. */
    readonly buffer: PooledBuffer,
  ) {}
  /** Adds a reference and returns this storage. */
  retain(): this {
    this.refs++;
    return this;
  }
  /** Drops a reference; the last one returns the buffer to the pool. */
  release(): void {
    if (--this.refs === 0) this.engine.pool.release(this.buffer);
  }
}

let nextId = 1;

/**
 * An n-dimensional array on the GPU, with autograd. Made by the creation functions (`tensor`,
 * `zeros`, `randn`, …) and by ops; freed with `dispose()` or by an enclosing `tidy`.
 */
export class Tensor {
  /** Process-unique number, shown in `toString()` and in error messages. */
  readonly id = nextId++;
  /** Dimensions, outermost first (frozen); `[]` for a scalar. */
  readonly shape: readonly number[];
  /** Number of elements (the product of the shape; 1 for a scalar). */
  readonly size: number;
  /** Set for tensors that need a gradient: leaves made with requiresGrad, and results of ops on them. */
  requiresGrad: boolean;
  /** Accumulated gradient of a leaf after `backward()`. */
  grad: Tensor | null = null;
  /** @internal the op that produced this tensor, when recorded on the tape */
  _node: GradNode | null = null;
  /** @internal */
  _storage: Storage | null;
  /** @internal handles the tape keeps for backward; not tracked by scopes */
  readonly _internal: boolean;

  constructor(
    storage: Storage,
    shape: Shape,
    /** Element type. */
    readonly dtype: DType,
    opts: { requiresGrad?: boolean; internal?: boolean } = {},
  ) {
    this._storage = storage;
    this.shape = Object.freeze([...shape]);
    this.size = sizeOf(shape);
    this.requiresGrad = opts.requiresGrad ?? false;
    this._internal = opts.internal ?? false;
    if (!this._internal) track(this);
  }

  /** Number of dimensions (`shape.length`). */
  get rank(): number {
    return this.shape.length;
  }

  /** Whether `dispose()` has been called (the data can no longer be read). */
  get isDisposed(): boolean {
    return this._storage === null;
  }

  /** The storage, or an error naming `op` when the tensor was disposed. */
  storageFor(op: string): Storage {
    if (!this._storage) {
      throw new Error(`kdgpu: ${op}: tensor #${this.id} of shape ${fmt(this.shape)} (${this.dtype}) was disposed`);
    }
    return this._storage;
  }

  /** @internal buffer for a kernel, after the disposal check */
  bufferFor(op: string): PooledBuffer {
    return this.storageFor(op).buffer;
  }

  /** The engine that owns this tensor's buffer; throws if the tensor was disposed. */
  get engine(): Engine {
    return this.storageFor('engine').engine;
  }

  /** Frees the GPU buffer (when no view or pending backward still needs it). Idempotent. */
  dispose(): void {
    if (!this._storage) return;
    const s = this._storage;
    this._storage = null;
    s.release();
    if (!this._internal) untrack(this);
    if (this._node) {
      const n = this._node;
      this._node = null;
      n.release();
    }
    if (this.grad) {
      this.grad.dispose();
      this.grad = null;
    }
  }

  /** Reads the values back to the CPU (flushes pending GPU work). */
  async data(): Promise<Float32Array | Int32Array> {
    const s = this.storageFor('data');
    const bytes = this.size * 4;
    if (bytes === 0) return this.dtype === 'int32' ? new Int32Array(0) : new Float32Array(0);
    const buf = await s.engine.read(s.buffer, bytes);
    return this.dtype === 'int32' ? new Int32Array(buf) : new Float32Array(buf);
  }

  /** Values as nested arrays following the shape. */
  async array(): Promise<NestedArray> {
    const d = await this.data();
    if (this.shape.length === 0) return d[0];
    const build = (dim: number, off: number): NestedArray => {
      const n = this.shape[dim];
      if (dim === this.shape.length - 1) return Array.from(d.subarray(off, off + n));
      const stride = sizeOf(this.shape.slice(dim + 1));
      return Array.from({ length: n }, (_, i) => build(dim + 1, off + i * stride));
    };
    return build(0, 0);
  }

  /** The single value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new Error(`kdgpu: item: tensor of shape ${fmt(this.shape)} has ${this.size} elements, expected 1`);
    return (await this.data())[0];
  }

  /** A short description: id, shape, dtype and flags (not the values). */
  toString(): string {
    return `Tensor(#${this.id}, shape=${fmt(this.shape)}, dtype=${this.dtype}${this.requiresGrad ? ', requiresGrad' : ''}${this.isDisposed ? ', disposed' : ''})`;
  }
}

/** A number, or nested arrays of numbers following a tensor's shape (as `array()` returns). */
export type NestedArray = number | NestedArray[];

/** @internal a tensor over a new or shared storage */
export function fromStorage(
  storage: Storage,
  shape: Shape,
  dtype: DType,
  opts?: { requiresGrad?: boolean; internal?: boolean },
): Tensor {
  return new Tensor(storage, shape, dtype, opts);
}

/** @internal wraps a freshly written kernel output */
export function fromBuffer(engine: Engine, buffer: PooledBuffer, shape: Shape, dtype: DType): Tensor {
  return new Tensor(new Storage(engine, buffer), shape, dtype);
}
