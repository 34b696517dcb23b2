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
import { grid, type Engine, type Kernel } from '../gpu/engine.js';

/** Input [N, C, S] in NCHW order: S contiguous cells per (sample, channel) plane. */
export interface BatchNormGeometry {
  N: number;
  C: number;
  S: number;
}

const WG = 64;
/**
 * Data units (f32 or vec4) each invocation folds in the reduction passes: enough to amortize a
 * workgroup's barrier on SwiftShader, few enough to leave a GPU hundreds of workgroups at batch 64
 * on 32×32 (8 chunks per channel).
 */
const UNITS_PER_INVOCATION = 32;
/** Chunks per channel at most (the finishing passes fold them one by one). */
const MAX_CHUNKS = 1024;

type Elem = 'f32' | 'vec4<f32>';

const INDEX = `
  let i = gid.x + gid.y * nwg.x * ${WG}u;
  if (i >= p.total) { return; }`;

const ENTRY = `@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {`;

const REDUCE_ENTRY = `@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let k = wid.x;
  let c = wid.y;
  let start = k * p.chunk;
  let end = min(start + p.chunk, p.perChannel);`;

/**
 * The loop over this invocation's units j = start + lid, + 64, … of channel c (j runs over the
 * channel's N·S units in sample order); \`at\` is unit j's offset in the input, advanced without a
 * division per unit: 64 units on is stepImg planes and stepS cells on, one plane more on a wrap.
 */
const UNIT_LOOP = `
  let j0 = start + lid.x;
  let img0 = j0 / p.S;
  var s = j0 - img0 * p.S;
  var at = (img0 * p.C + c) * p.S + s;
  for (var j = j0; j < end; j += ${WG}u) {`;
const UNIT_NEXT = `
    at += p.stepAt;
    s += p.stepS;
    if (s >= p.S) { s -= p.S; at += p.wrapAt; }`;

/** Chan et al.'s combination of two (count, mean, M2) records. */
const CHAN = `
fn chan(a: vec3<f32>, b: vec3<f32>) -> vec3<f32> {
  if (b.x == 0.0) { return a; }
  if (a.x == 0.0) { return b; }
  let n = a.x + b.x;
  let d = b.y - a.y;
  let f = b.x / n;
  return vec3<f32>(n, a.y + d * f, a.z + b.z + d * d * a.x * f);
}`;

/** Neumaier's compensated step `name`: returns the new sum, updates the compensation. */
const NEUMAIER = (name: string, T: string) => `
fn ${name}(s: ${T}, v: ${T}, comp: ptr<function, ${T}>) -> ${T} {
  let t = s + v;
  *comp += select((v - t) + s, (s - t) + v, abs(s) >= abs(v));
  return t;
}`;

const REDUCE_PARAMS = 'struct Params { C: u32, S: u32, perChannel: u32, chunk: u32, K: u32, stepAt: u32, stepS: u32, wrapAt: u32, }';

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
@group(0) @binding(0) var<storage, read> x: array<${T}>;
@group(0) @binding(1) var<storage, read_write> part: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> p: Params;
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
@group(0) @binding(0) var<storage, read> x: array<${T}>;
@group(0) @binding(1) var<storage, read> coef: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<${T}>;
@group(0) @binding(3) var<uniform> p: Params;
${ENTRY}${INDEX}
  let k = coef[(i / p.S) % p.C];
  y[i] = (x[i] - ${T}(k.x)) * ${T}(k.y) + ${T}(k.z);
}`,
  };
}

function gradSumsKernel(T: Elem): Kernel {
  const vec = T !== 'f32';
  const lanes = (v: string) => (vec ? `(${v}.x + ${v}.y + ${v}.z + ${v}.w)` : v);
  return {
    name: `batchnorm.gradSums${vec ? '.vec4' : ''}`,
    source: `
${REDUCE_PARAMS}
@group(0) @binding(0) var<storage, read> dy: array<${T}>;
@group(0) @binding(1) var<storage, read> x: array<${T}>;
@group(0) @binding(2) var<storage, read> coef: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> part: array<vec4<f32>>;
@group(0) @binding(4) var<uniform> p: Params;
var<workgroup> slots: array<vec2<f32>, ${WG}>;
${NEUMAIER('kahan', T)}
${NEUMAIER('kahan1', 'f32')}
${REDUCE_ENTRY}
  let k4 = coef[p.C + c];
  let shift = ${T}(k4.x);
  let delta = ${T}(k4.y);
  var sg = ${T}(0.0);
  var cg = ${T}(0.0);
  var sgx = ${T}(0.0);
  var cgx = ${T}(0.0);
${UNIT_LOOP}
    let g = dy[at];
    sg = kahan(sg, g, &cg);
    sgx = kahan(sgx, g * ((x[at] - shift) - delta), &cgx);${UNIT_NEXT}
  }
  let tg = sg + cg;
  let tgx = sgx + cgx;
  slots[lid.x] = vec2<f32>(${lanes('tg')}, ${lanes('tgx')});
  workgroupBarrier();
  if (lid.x == 0u) {
    var a = 0.0; var ca = 0.0;
    var b = 0.0; var cb = 0.0;
    for (var t = 0u; t < ${WG}u; t++) {
      a = kahan1(a, slots[t].x, &ca);
      b = kahan1(b, slots[t].y, &cb);
    }
    part[c * p.K + k] = vec4<f32>(a + ca, b + cb, 0.0, 0.0);
  }
}`,
  };
}

function gradFinishKernel(params: boolean, input: boolean): Kernel {
  return {
    name: `batchnorm.gradFinish${params ? '.params' : ''}${input ? '.input' : ''}`,
    source: `
struct Params { total: u32, K: u32, n: f32, }
@group(0) @binding(0) var<storage, read> part: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> coef: array<vec4<f32>>;
${params ? `@group(0) @binding(2) var<storage, read_write> gradWeight: array<f32>;
@group(0) @binding(3) var<storage, read_write> gradBias: array<f32>;` : ''}
${input ? '@group(0) @binding(4) var<storage, read_write> coefGrad: array<vec4<f32>>;' : ''}
@group(0) @binding(5) var<uniform> p: Params;
${NEUMAIER('kahan', 'f32')}
${ENTRY}
  let c = gid.x + gid.y * nwg.x * ${WG}u;
  if (c >= p.total) { return; }
  var sg = 0.0; var cg = 0.0;
  var sgx = 0.0; var cgx = 0.0;
  for (var k = 0u; k < p.K; k++) {
    let v = part[c * p.K + k];
    sg = kahan(sg, v.x, &cg);
    sgx = kahan(sgx, v.y, &cgx);
  }
  sg += cg;
  sgx += cgx;
  let cf = coef[p.total + c]; // (shift, delta = mean − shift, invstd, alpha)
  ${params ? `gradWeight[c] = sgx * cf.z;
  gradBias[c] = sg;` : ''}
  ${
    input
      ? `// dx = α·dy − α·Σdy/n − α·invstd²·Σdy(x − mean)/n · (x − mean), with x − mean = (x − shift) − delta
  let k2 = cf.w * cf.z * cf.z * sgx / p.n;
  coefGrad[c] = vec4<f32>(cf.x, cf.w, cf.w * sg / p.n - k2 * cf.y, k2);`
      : ''
  }
}`,
  };
}

function gradInputKernel(T: Elem, batchStats: boolean): Kernel {
  return {
    name: `batchnorm.gradInput${batchStats ? '' : '.running'}${T === 'f32' ? '' : '.vec4'}`,
    source: `
struct Params { total: u32, C: u32, S: u32, }
@group(0) @binding(0) var<storage, read> dy: array<${T}>;
${batchStats ? `@group(0) @binding(1) var<storage, read> x: array<${T}>;` : ''}
@group(0) @binding(2) var<storage, read> coef: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> dx: array<${T}>;
@group(0) @binding(4) var<uniform> p: Params;
${ENTRY}${INDEX}
  let k = coef[(i / p.S) % p.C];
  ${batchStats ? `dx[i] = ${T}(k.y) * dy[i] - ${T}(k.z) - ${T}(k.w) * (x[i] - ${T}(k.x));` : `dx[i] = ${T}(k.y) * dy[i];`}
}`,
  };
}

const cache = new Map<string, Kernel>();
function cached(key: string, make: () => Kernel): Kernel {
  let k = cache.get(key);
  if (!k) cache.set(key, (k = make()));
  return k;
}

/** Data layout of a pass: vec4 units when every vec4 stays inside one channel plane. */
function units(geo: BatchNormGeometry): { T: Elem; S: number; total: number } {
  const vec = geo.S % 4 === 0;
  const S = vec ? geo.S / 4 : geo.S;
  return { T: vec ? 'vec4<f32>' : 'f32', S, total: geo.N * geo.C * S };
}

/** How each channel's N·S units are split into chunks, one workgroup each; the reduce uniforms. */
function chunking(geo: BatchNormGeometry, S: number) {
  const perChannel = geo.N * S;
  const K = Math.max(1, Math.min(MAX_CHUNKS, Math.ceil(perChannel / (WG * UNITS_PER_INVOCATION))));
  const stepImg = Math.floor(WG / S);
  const stepS = WG % S;
  const plane = geo.C * S;
  return { C: geo.C, S, perChannel, chunk: Math.ceil(perChannel / K), K, stepAt: stepImg * plane + stepS, stepS, wrapAt: plane - S };
}

/** Chunks (workgroups) per channel of the reduction passes (for tests). */
export function batchNormChunks(geo: BatchNormGeometry): number {
  return chunking(geo, units(geo).S).K;
}

function groups(engine: Engine, n: number): [number, number] {
  return grid(Math.ceil(n / WG), engine.limits.maxComputeWorkgroupsPerDimension);
}

function checkChannels(engine: Engine, geo: BatchNormGeometry): void {
  const max = engine.limits.maxComputeWorkgroupsPerDimension;
  if (geo.C > max) throw new Error(`kdgpu internal error: batch norm over ${geo.C} channels exceeds ${max} workgroups per dimension`);
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
  engine.dispatch(cached(`stats${T}`, () => statsKernel(T)), { x, part }, u, [K, geo.C]);
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
    cached(`finish${affine}${r !== null}${counted}`, () => finishKernel(affine, r !== null, counted)),
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
  engine.dispatch(cached(`evalCoef${affine}`, () => evalCoefKernel(affine)), buffers, { total: C, eps: opts.eps }, groups(engine, C));
  return coef;
}

/** y = (x − shift)·α + β′ with the coefficients of runBatchNormStats / runBatchNormEvalCoef. */
export function runBatchNormApply(engine: Engine, x: PooledBuffer, coef: PooledBuffer, geo: BatchNormGeometry): PooledBuffer {
  const { T, S, total } = units(geo);
  const y = engine.pool.acquire(Math.max(geo.N * geo.C * geo.S, 1) * 4);
  if (total > 0) engine.dispatch(cached(`apply${T}`, () => applyKernel(T)), { x, coef, y }, { total, C: geo.C, S }, groups(engine, total));
  return y;
}

export interface BatchNormGrads {
  dx: PooledBuffer | null;
  dWeight: PooledBuffer | null;
  dBias: PooledBuffer | null;
}

/**
 * Gradients from dy [N, C, S]: the input's (when `input`) and weight/bias's (when `params`).
 * `batchStats`: the forward normalized with the batch's statistics (so dx flows through them);
 * otherwise with running statistics, and dx = α·dy.
 */
export function runBatchNormBackward(
  engine: Engine,
  dy: PooledBuffer,
  x: PooledBuffer,
  coef: PooledBuffer,
  geo: BatchNormGeometry,
  want: { input: boolean; params: boolean; batchStats: boolean },
): BatchNormGrads {
  checkChannels(engine, geo);
  const { T, S, total } = units(geo);
  const out: BatchNormGrads = { dx: null, dWeight: null, dBias: null };
  const n = geo.N * geo.S;
  const sumsForInput = want.input && want.batchStats;
  let coefGrad: PooledBuffer | null = null;
  if (sumsForInput || want.params) {
    const u = chunking(geo, S);
    const K = u.K;
    const part = engine.pool.acquire(geo.C * K * 16);
    // (an empty batch still runs: its chunks write zero partials, so the gradients are zeros)
    engine.dispatch(cached(`gradSums${T}`, () => gradSumsKernel(T)), { dy, x, coef, part }, u, [K, geo.C]);
    const buffers: Record<string, PooledBuffer> = { part, coef };
    if (want.params) {
      out.dWeight = buffers.gradWeight = engine.pool.acquire(geo.C * 4);
      out.dBias = buffers.gradBias = engine.pool.acquire(geo.C * 4);
    }
    if (sumsForInput) coefGrad = buffers.coefGrad = engine.pool.acquire(geo.C * 16);
    engine.dispatch(
      cached(`gradFinish${want.params}${sumsForInput}`, () => gradFinishKernel(want.params, sumsForInput)),
      buffers,
      { total: geo.C, K, n },
      groups(engine, geo.C),
    );
    engine.pool.release(part);
  }
  if (want.input) {
    out.dx = engine.pool.acquire(Math.max(geo.N * geo.C * geo.S, 1) * 4);
    if (total > 0) {
      const kernel = cached(`gradInput${T}${want.batchStats}`, () => gradInputKernel(T, want.batchStats));
      const buffers: Record<string, PooledBuffer> = want.batchStats ? { dy, x, coef: coefGrad!, dx: out.dx } : { dy, coef, dx: out.dx };
      engine.dispatch(kernel, buffers, { total, C: geo.C, S }, groups(engine, total));
    }
    if (coefGrad) engine.pool.release(coefGrad);
  }
  return out;
}
