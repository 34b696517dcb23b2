/**
 * Pieces shared by the convolution kernels of conv2d.ts and conv2d-weight-gemm.ts: the kernel
 * cache, one-dimensional dispatch over a 2-D grid, and the sum of split partial results.
 */
import type { PooledBuffer } from '../gpu/buffer-pool.js';
import { grid, type Engine, type Kernel } from '../gpu/engine.js';

export const WG = 64;

const cache = new Map<string, Kernel>();
/** The kernel called `name`, its WGSL generated once by `make`. */
export function kernel(name: string, make: () => string): Kernel {
  let k = cache.get(name);
  if (!k) {
    k = { name, source: make() };
    cache.set(name, k);
  }
  return k;
}

/** Dispatches `count` invocations of a WG-wide kernel (index gid.x + gid.y·nwg.x·WG). */
export function dispatch1d(engine: Engine, k: Kernel, buffers: Record<string, PooledBuffer>, u: Record<string, number>, count: number, z = 1, flops?: number): void {
  const [gx, gy] = grid(Math.ceil(count / WG), engine.limits.maxComputeWorkgroupsPerDimension);
  engine.dispatch(k, buffers, u, [gx, gy, z], flops);
}

const REDUCE_SRC = `
struct Params { len: u32, splits: u32, accumulate: u32, }
@group(0) @binding(0) var<storage, read> part: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * ${WG}u;
  if (i >= p.len) { return; }
  var s = 0.0;
  for (var k = 0u; k < p.splits; k++) { s += part[k * p.len + i]; }
  out[i] = select(0.0, out[i], p.accumulate == 1u) + s;
}`;

/**
 * out[i] = Σ_k part[k·len + i] over `splits` partial results: a new buffer of `len` floats, or,
 * with `into`, added to what `into` holds (and `into` returned).
 */
export function reduceSplits(engine: Engine, part: PooledBuffer, len: number, splits: number, into?: PooledBuffer): PooledBuffer {
  const out = into ?? engine.pool.acquire(Math.max(len, 1) * 4);
  if (len === 0) return out;
  dispatch1d(engine, kernel('conv2d.reduceSplits', () => REDUCE_SRC), { part, out }, { len, splits, accumulate: into ? 1 : 0 }, len);
  return out;
}
