/**
 * Batch normalization over [N, C, S] (S = spatial cells per channel plane, 1 for [N, C]):
 * per-channel statistics, the normalizing pass and the gradients.
 *
 * Forward (training): `stats` folds chunks of each channel — workgroup (chunk k, channel c), each
 * invocation a strided share, by Welford's update, combined by Chan's rule — into partial
 * (count, mean, M2) records of x − shift, the shift being the channel's first value; `finish`
 * (one workgroup) combines each channel's partials into delta = mean − shift and the biased
 * variance, writes the coefficients and updates the running statistics in place. Welford/Chan
 * never subtracts two large sums, and the shift keeps the mean's rounding at the scale of the
 * spread rather than of the mean: inputs of 1000 ± 1 get a variance, an output and gradients as
 * accurate as inputs of 0 ± 1 (E[x²] − E[x]² in f32 would lose the variance entirely, and even a
 * mean rounded to f32 costs 1e-4 relative there). `apply` writes y = (x − shift)·α + β′ with
 * α = weight/√(σ² + eps) and β′ = bias − delta·α. Evaluation: `evalCoef` makes the coefficients
 * from the running statistics (shift = running mean, delta = 0).
 *
 * The coefficient buffer holds 2·C vec4s: [c] = (shift, α, β′, 0) for `apply`, and
 * [C + c] = (shift, delta, invstd, α) for the backward pass.
 *
 * Backward: `gradSums` folds Σdy and Σdy·(x − mean) per chunk (compensated sums), `gradFinish`
 * combines them per channel into the weight and bias gradients and the input-gradient
 * coefficients, and `gradInput` writes dx = α·dy − α·Σdy/n − α·invstd²·Σdy(x − mean)/n·(x − mean)
 * (training) or dx = α·dy (running statistics).
 *
 * When S is a multiple of 4 every vec4 lies inside one channel plane, and the data passes work on
 * vec4s (SwiftShader pays per invocation). A workgroup combines its 64 invocations' partials with
 * one barrier, invocation 0 folding them in order (SwiftShader pays per barrier too).
 */
import type { PooledBuffer } from '../gpu/buffer-pool.js';
import type { Engine, Kernel } from '../gpu/engine.js';
import { bindings, WG, cachedKernel, dispatch1d } from '../gpu/kernel-registry.js';
import { CHAN, chunking, checkChannels, ENTRY, INDEX, REDUCE_ENTRY, REDUCE_PARAMS, UNIT_LOOP, UNIT_NEXT, units, type BatchNormGeometry, type Elem } from './batchnorm-wgsl.js';

export { batchNormChunks, type BatchNormGeometry } from './batchnorm-wgsl.js';

function statsKernel(T: Elem): Kernel {
  const vec = T !== 'f32';
  const fold = vec
    ? `var acc = vec3<f32>(cnt, mean.x, m2.x);
  acc = chan(acc, vec3<f32>(cnt, mean.y, m2.y));
  acc = chan(acc, vec3<f32>(cnt, mean.z, m2.z));
  acc = chan(acc, vec3<f32>(cnt, mean.w, m2.w));`
    : 'let acc = vec3<f32>(cnt, mean, m2);';
  return {
    name: `batchnorm.stats${vec ? '.vec4' : ''}`,
    source: `
${REDUCE_PARAMS}
${bindings(['x', 'read', `array<${T}>`], ['part', 'read_write', 'array<vec4<f32>>'])}
var<workgroup> slots: array<vec3<f32>, ${WG}>;
${CHAN}
${REDUCE_ENTRY}
  // Welford's running mean and M2 (per vec4 lane: the lanes share the count) of x − shift
  let shift = ${T}(x[c * p.S]${vec ? '.x' : ''});
  var cnt = 0.0;
  var mean = ${T}(0.0);
  var m2 = ${T}(0.0);
${UNIT_LOOP}
    let v = x[at] - shift;
    cnt += 1.0;
    let d = v - mean;
    mean += d / cnt;
    m2 += d * (v - mean);${UNIT_NEXT}
  }
  ${fold}
  slots[lid.x] = acc;
  workgroupBarrier();
  if (lid.x == 0u) {
    var total = slots[0];
    for (var t = 1u; t < ${WG}u; t++) { total = chan(total, slots[t]); }
    part[c * p.K + k] = vec4<f32>(total, 0.0);
  }
}`,
  };
}

export interface StatsOptions {
  eps: number;
  weight: PooledBuffer | null;
  bias: PooledBuffer | null;
  /** Updated in place when given (both or neither). */
  running: {
    mean: PooledBuffer;
    var: PooledBuffer;
    /** int32 counter, incremented by one. */
    count: PooledBuffer | null;
    /** Weight of this batch; null: 1 / (count + 1), the cumulative average. */
    momentum: number | null;
    /** Whether the running variance takes the unbiased batch variance (× n/(n − 1)). */
    unbiased: boolean;
  } | null;
}

function finishKernel(affine: boolean, track: boolean, counted: boolean): Kernel {
  return {
    name: `batchnorm.finish${affine ? '.affine' : ''}${track ? '.track' : ''}${counted ? '.count' : ''}`,
    source: `
struct Params { C: u32, K: u32, S: u32, n: f32, eps: f32, momentum: f32, cumulative: u32, unbiased: u32, }
@group(0) @binding(0) var<storage, read> part: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> coef: array<vec4<f32>>;
${affine ? `@group(0) @binding(3) var<storage, read> weight: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;` : ''}
${track ? `@group(0) @binding(5) var<storage, read_write> runningMean: array<f32>;
@group(0) @binding(6) var<storage, read_write> runningVar: array<f32>;` : ''}
${counted ? '@group(0) @binding(7) var<storage, read_write> count: array<i32>;' : ''}
@group(0) @binding(8) var<uniform> p: Params;
${CHAN}
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_id) lid: vec3<u32>) {
  ${counted ? `// every invocation reads the counter before invocation 0 increments it
  let old = count[0];
  storageBarrier();` : ''}
  ${track ? `let f = ${counted ? 'select(p.momentum, 1.0 / f32(old + 1), p.cumulative != 0u)' : 'p.momentum'};` : ''}
  for (var c = lid.x; c < p.C; c += ${WG}u) {
    var acc = part[c * p.K].xyz;
    for (var k = 1u; k < p.K; k++) { acc = chan(acc, part[c * p.K + k].xyz); }
    let shift = x[c * p.S];
    let delta = acc.y; // mean − shift
    let invstd = 1.0 / sqrt(acc.z / p.n + p.eps);
    let alpha = ${affine ? 'weight[c] * invstd' : 'invstd'};
    coef[c] = vec4<f32>(shift, alpha, ${affine ? 'bias[c]' : '0.0'} - delta * alpha, 0.0);
    coef[p.C + c] = vec4<f32>(shift, delta, invstd, alpha);
    ${
      track
        ? `let batchVar = select(acc.z / p.n, acc.z / (p.n - 1.0), p.unbiased != 0u);
    runningMean[c] = (1.0 - f) * runningMean[c] + f * (shift + delta);
    runningVar[c] = (1.0 - f) * runningVar[c] + f * batchVar;`
        : ''
    }
  }
  ${counted ? 'if (lid.x == 0u) { count[0] = old + 1; }' : ''}
}`,
  };
}

function evalCoefKernel(affine: boolean): Kernel {
  return {
    name: `batchnorm.evalCoef${affine ? '.affine' : ''}`,
    source: `
struct Params { total: u32, eps: f32, }
@group(0) @binding(0) var<storage, read> runningMean: array<f32>;
@group(0) @binding(1) var<storage, read> runningVar: array<f32>;
${affine ? `@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;` : ''}
@group(0) @binding(4) var<storage, read_write> coef: array<vec4<f32>>;
@group(0) @binding(5) var<uniform> p: Params;
${ENTRY}${INDEX}
  let invstd = 1.0 / sqrt(runningVar[i] + p.eps);
  let alpha = ${affine ? 'weight[i] * invstd' : 'invstd'};
  coef[i] = vec4<f32>(runningMean[i], alpha, ${affine ? 'bias[i]' : '0.0'}, 0.0);
  coef[p.total + i] = vec4<f32>(runningMean[i], 0.0, invstd, alpha);
}`,
  };
}

function applyKernel(T: Elem): Kernel {
  return {
    name: `batchnorm.apply${T === 'f32' ? '' : '.vec4'}`,
    source: `
struct Params { total: u32, C: u32, S: u32, }
${bindings(['x', 'read', `array<${T}>`], ['coef', 'read', 'array<vec4<f32>>'], ['y', 'read_write', `array<${T}>`])}
${ENTRY}${INDEX}
  let k = coef[(i / p.S) % p.C];
  y[i] = (x[i] - ${T}(k.x)) * ${T}(k.y) + ${T}(k.z);
}`,
  };
}

/**
 * Training statistics of x [N, C, S] (N·S ≥ 1): the coefficient buffer (2·C vec4s, see the module
 * comment), with the running statistics updated in place when `opts.running` is given.
 */
export function runBatchNormStats(engine: Engine, x: PooledBuffer, geo: BatchNormGeometry, opts: StatsOptions): PooledBuffer {
  checkChannels(engine, geo);
  const { T, S } = units(geo);
  const u = chunking(geo, S);
  const K = u.K;
  const part = engine.pool.acquire(geo.C * K * 16);
  engine.dispatch(cachedKernel(`batchnorm.stats${T}`, () => statsKernel(T)), { x, part }, u, [K, geo.C]);
  const coef = engine.pool.acquire(geo.C * 32);
  const affine = opts.weight !== null && opts.bias !== null;
  const r = opts.running;
  const counted = r !== null && r.count !== null;
  if (r && r.momentum === null && !counted) throw new Error('kdgpu internal error: a cumulative running average needs the batch counter');
  const buffers: Record<string, PooledBuffer> = { part, coef, x };
  if (affine) Object.assign(buffers, { weight: opts.weight!, bias: opts.bias! });
  if (r) Object.assign(buffers, { runningMean: r.mean, runningVar: r.var });
  if (counted) buffers.count = r.count!;
  const n = geo.N * geo.S;
  engine.dispatch(
    cachedKernel(`batchnorm.finish${affine}${r !== null}${counted}`, () => finishKernel(affine, r !== null, counted)),
    buffers,
    {
      C: geo.C,
      K,
      S: geo.S,
      n,
      eps: opts.eps,
      momentum: r?.momentum ?? 0,
      cumulative: r && r.momentum === null ? 1 : 0,
      unbiased: r?.unbiased ? 1 : 0,
    },
    [1],
  );
  engine.pool.release(part);
  return coef;
}

/** The coefficients (as runBatchNormStats) from running statistics. */
export function runBatchNormEvalCoef(
  engine: Engine,
  C: number,
  opts: { eps: number; runningMean: PooledBuffer; runningVar: PooledBuffer; weight: PooledBuffer | null; bias: PooledBuffer | null },
): PooledBuffer {
  const coef = engine.pool.acquire(C * 32);
  const affine = opts.weight !== null && opts.bias !== null;
  const buffers: Record<string, PooledBuffer> = { runningMean: opts.runningMean, runningVar: opts.runningVar, coef };
  if (affine) Object.assign(buffers, { weight: opts.weight!, bias: opts.bias! });
  dispatch1d(engine, cachedKernel(`batchnorm.evalCoef${affine}`, () => evalCoefKernel(affine)), buffers, { total: C, eps: opts.eps }, C);
  return coef;
}

/** y = (x − shift)·α + β′ with the coefficients of runBatchNormStats / runBatchNormEvalCoef. */
export function runBatchNormApply(engine: Engine, x: PooledBuffer, coef: PooledBuffer, geo: BatchNormGeometry): PooledBuffer {
  const { T, S, total } = units(geo);
  const y = engine.pool.acquire(Math.max(geo.N * geo.C * geo.S, 1) * 4);
  if (total > 0) dispatch1d(engine, cachedKernel(`batchnorm.apply${T}`, () => applyKernel(T)), { x, coef, y }, { total, C: geo.C, S }, total);
  return y;
}
