/**
 * Softmax family: softmax / log-softmax along one axis (forward and backward), the fused
 * softmax-cross-entropy (one dispatch forward, one backward) and KL-divergence pointwise terms.
 *
 * Softmax along an axis sees the tensor as [outer, L, inner] (outer·inner rows of L values): a
 * max, a sum of exp(x − max) and a write per row. Two plans (softmax-plan.ts picks one by row
 * length and adapter): 'workgroup' — one workgroup of 64 invocations owns a row, each step split
 * over the workgroup and combined in workgroup memory (long rows); 'thread' — one invocation owns a
 * row and walks it alone, no workgroup memory or barriers (short rows such as 10 class logits,
 * where the workgroup plan leaves most invocations idle and pays every barrier).
 *
 * Cross-entropy works on logits [N, C] scaled by 1/T. One invocation owns a row: it finds
 * m = max z/T and log S = log Σ exp(z/T − m), so log_softmax = (z/T − m) − log S never overflows
 * (logits of ±1e4 included), and writes the row's loss and (m, log S, Σ target) for the backward.
 * With reduction 'mean' or 'sum' a single workgroup of 256 invocations covers every row and adds
 * the losses in a fixed order, so the reduction costs no extra dispatch. The backward is one
 * invocation per logit: (softmax·Σt − t)/T · upstream (· 1/N for 'mean').
 */
import type { PooledBuffer } from '../gpu/buffer-pool.js';
import { grid, type Engine, type Kernel } from '../gpu/engine.js';
import type { ElementwiseSpec } from './elementwise.js';
import { bindings, WG, invocationIndex, kernel, main1d, dispatch1d } from '../gpu/kernel-registry.js';
import { planSoftmax, type SoftmaxPlan } from './softmax-plan.js';

const CE_WG = 256;
/** −FLT_MAX: a finite start for maxima (constant expressions may not produce infinities). */
const NEG_MAX = 'bitcast<f32>(0xff7fffffu)';

// ---- softmax / log-softmax along an axis ------------------------------------------------------

export interface SoftmaxDims {
  outer: number;
  L: number;
  inner: number;
}

const ROW_PREAMBLE = `
struct Params { rows: u32, L: u32, inner: u32, }
var<workgroup> red: array<f32, ${WG}>;
fn reduceMax(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s = s >> 1u) {
    if (lid < s) { red[lid] = max(red[lid], red[lid + s]); }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}
fn reduceSum(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s = s >> 1u) {
    if (lid < s) { red[lid] = red[lid] + red[lid + s]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}`;

const ROW_START = `
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.rows) { return; }
  let lid = lid3.x;
  let base = (row / p.inner) * p.L * p.inner + row % p.inner;`;

function softmaxSource(log: boolean): string {
  return `${ROW_PREAMBLE}
${bindings(['x', 'read', 'array<f32>'], ['y', 'read_write', 'array<f32>'])}
${ROW_START}
  var m = ${NEG_MAX};
  for (var j = lid; j < p.L; j += ${WG}u) { m = max(m, x[base + j * p.inner]); }
  m = reduceMax(m, lid);
  var s = 0.0;
  for (var j = lid; j < p.L; j += ${WG}u) { s += exp(x[base + j * p.inner] - m); }
  s = reduceSum(s, lid);
  ${log ? 'let logS = log(s);' : 'let inv = 1.0 / s;'}
  for (var j = lid; j < p.L; j += ${WG}u) {
    let k = base + j * p.inner;
    y[k] = ${log ? '(x[k] - m) - logS' : 'exp(x[k] - m) * inv'};
  }
}`;
}

// softmax: gx = y·(g − Σ g·y); log-softmax: gx = g − exp(y)·Σ g
function softmaxBackwardSource(log: boolean): string {
  return `${ROW_PREAMBLE}
${bindings(['g', 'read', 'array<f32>'], ['y', 'read', 'array<f32>'], ['gx', 'read_write', 'array<f32>'])}
${ROW_START}
  var s = 0.0;
  for (var j = lid; j < p.L; j += ${WG}u) {
    let k = base + j * p.inner;
    s += ${log ? 'g[k]' : 'g[k] * y[k]'};
  }
  s = reduceSum(s, lid);
  for (var j = lid; j < p.L; j += ${WG}u) {
    let k = base + j * p.inner;
    gx[k] = ${log ? 'g[k] - exp(y[k]) * s' : 'y[k] * (g[k] - s)'};
  }
}`;
}

// The 'thread' plan: the same arithmetic in the same order per row, one invocation per row.
const THREAD_START = `
struct Params { rows: u32, L: u32, inner: u32, }`;
const THREAD_ROW = `
${main1d()}
  ${invocationIndex('row')}
  if (row >= p.rows) { return; }
  let base = (row / p.inner) * p.L * p.inner + row % p.inner;`;

function softmaxThreadSource(log: boolean): string {
  return `${THREAD_START}
${bindings(['x', 'read', 'array<f32>'], ['y', 'read_write', 'array<f32>'])}
${THREAD_ROW}
  var m = ${NEG_MAX};
  for (var j = 0u; j < p.L; j++) { m = max(m, x[base + j * p.inner]); }
  var s = 0.0;
  for (var j = 0u; j < p.L; j++) { s += exp(x[base + j * p.inner] - m); }
  ${log ? 'let logS = log(s);' : 'let inv = 1.0 / s;'}
  for (var j = 0u; j < p.L; j++) {
    let k = base + j * p.inner;
    y[k] = ${log ? '(x[k] - m) - logS' : 'exp(x[k] - m) * inv'};
  }
}`;
}

function softmaxBackwardThreadSource(log: boolean): string {
  return `${THREAD_START}
${bindings(['g', 'read', 'array<f32>'], ['y', 'read', 'array<f32>'], ['gx', 'read_write', 'array<f32>'])}
${THREAD_ROW}
  var s = 0.0;
  for (var j = 0u; j < p.L; j++) {
    let k = base + j * p.inner;
    s += ${log ? 'g[k]' : 'g[k] * y[k]'};
  }
  for (var j = 0u; j < p.L; j++) {
    let k = base + j * p.inner;
    gx[k] = ${log ? 'g[k] - exp(y[k]) * s' : 'y[k] * (g[k] - s)'};
  }
}`;
}

/** The row-wise softmax (or log-softmax) kernel of a plan, forward or backward. */
function softmaxKernel(log: boolean, backward: boolean, plan: SoftmaxPlan): Kernel {
  const name = `${log ? 'logSoftmax' : 'softmax'}.${backward ? 'backward' : 'forward'}${plan === 'thread' ? '.thread' : ''}`;
  if (plan === 'thread') return kernel(name, () => (backward ? softmaxBackwardThreadSource(log) : softmaxThreadSource(log)));
  return kernel(name, () => (backward ? softmaxBackwardSource(log) : softmaxSource(log)));
}

function dispatchRows(engine: Engine, k: Kernel, plan: SoftmaxPlan, buffers: Record<string, PooledBuffer>, dims: SoftmaxDims): void {
  const rows = dims.outer * dims.inner;
  const uniforms = { rows, L: dims.L, inner: dims.inner };
  if (plan === 'thread') dispatch1d(engine, k, buffers, uniforms, rows);
  else engine.dispatch(k, buffers, uniforms, grid(rows, engine.limits.maxComputeWorkgroupsPerDimension));
}

const chosenPlan = (engine: Engine, dims: SoftmaxDims, plan?: SoftmaxPlan) => plan ?? planSoftmax(dims.L, dims.outer * dims.inner, engine.adapter.kind);

/** Softmax (or log-softmax) along the middle axis of [outer, L, inner]; `plan` overrides the planner (tests, benchmarks). */
export function runSoftmax(engine: Engine, x: PooledBuffer, dims: SoftmaxDims, log: boolean, plan?: SoftmaxPlan): PooledBuffer {
  const rows = dims.outer * dims.inner;
  const y = engine.pool.acquire(Math.max(rows * dims.L, 1) * 4);
  if (rows * dims.L > 0) {
    const p = chosenPlan(engine, dims, plan);
    dispatchRows(engine, softmaxKernel(log, false, p), p, { x, y }, dims);
  }
  return y;
}

/** Gradient of softmax (or log-softmax) from the upstream g and the forward's output y. */
export function runSoftmaxBackward(engine: Engine, g: PooledBuffer, y: PooledBuffer, dims: SoftmaxDims, log: boolean, plan?: SoftmaxPlan): PooledBuffer {
  const rows = dims.outer * dims.inner;
  const gx = engine.pool.acquire(Math.max(rows * dims.L, 1) * 4);
  if (rows * dims.L > 0) {
    const p = chosenPlan(engine, dims, plan);
    dispatchRows(engine, softmaxKernel(log, true, p), p, { g, y, gx }, dims);
  }
  return gx;
}

// ---- fused softmax-cross-entropy ------------------------------------------------------------

export type TargetKind = 'labels' | 'probs';
/** How the per-sample losses are combined: averaged over the batch, summed (both a scalar), or kept ([N]). */
export type CrossEntropyReduction = 'mean' | 'sum' | 'none';

const CE_PARAMS = 'struct Params { N: u32, C: u32, invT: f32, scale: f32, code: u32, }';

function ceForwardSource(kind: TargetKind, reduce: boolean): string {
  const labels = kind === 'labels';
  return `
${CE_PARAMS}
@group(0) @binding(0) var<storage, read> z: array<f32>;
@group(0) @binding(1) var<storage, read> tgt: array<${labels ? 'i32' : 'f32'}>;
@group(0) @binding(2) var<storage, read_write> loss: array<f32>;
@group(0) @binding(3) var<storage, read_write> stats: array<vec4<f32>>;
${labels ? '@group(0) @binding(4) var<storage, read_write> flags: array<atomic<u32>, 8>;' : ''}
@group(0) @binding(5) var<uniform> p: Params;
${reduce ? `var<workgroup> red: array<f32, ${CE_WG}>;` : ''}

// The loss of one row; stores (m, log S, Σ target) for the backward.
fn rowLoss(r: u32) -> f32 {
  let base = r * p.C;
  var m = ${NEG_MAX};
  for (var j = 0u; j < p.C; j++) { m = max(m, z[base + j] * p.invT); }
  var s = 0.0;
  for (var j = 0u; j < p.C; j++) { s += exp(z[base + j] * p.invT - m); }
  let logS = log(s);
  ${
    labels
      ? `let label = tgt[r];
  let bad = label < 0 || label >= i32(p.C);
  if (bad) {
    // the engine's check record: the first bad label claims it; every one is counted
    atomicAdd(&flags[5], 1u);
    loop {
      let claim = atomicCompareExchangeWeak(&flags[0], 0u, p.code);
      if (claim.exchanged) {
        atomicStore(&flags[1], r);
        atomicStore(&flags[2], bitcast<u32>(label));
        atomicStore(&flags[3], p.N);
        atomicStore(&flags[4], p.C);
        break;
      }
      if (claim.old_value != 0u) { break; }
    }
    let nan = bitcast<f32>(0x7fc00000u + u32(p.C == 0u));
    stats[r] = vec4<f32>(nan, nan, 1.0, 0.0);
    return nan;
  }
  stats[r] = vec4<f32>(m, logS, 1.0, 0.0);
  return -((z[base + u32(label)] * p.invT - m) - logS);`
      : `var acc = 0.0;
  var tsum = 0.0;
  for (var j = 0u; j < p.C; j++) {
    let t = tgt[base + j];
    acc += t * ((z[base + j] * p.invT - m) - logS);
    tsum += t;
  }
  stats[r] = vec4<f32>(m, logS, tsum, 0.0);
  return -acc;`
  }
}

@compute @workgroup_size(${CE_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  ${
    reduce
      ? `let lid = lid3.x;
  var acc = 0.0;
  for (var r = lid; r < p.N; r += ${CE_WG}u) { acc += rowLoss(r); }
  red[lid] = acc;
  workgroupBarrier();
  for (var s = ${CE_WG / 2}u; s > 0u; s = s >> 1u) {
    if (lid < s) { red[lid] = red[lid] + red[lid + s]; }
    workgroupBarrier();
  }
  if (lid == 0u) { loss[0] = red[0] * p.scale; }`
      : `${invocationIndex('r', CE_WG)}
  if (r >= p.N) { return; }
  loss[r] = rowLoss(r);`
  }
}`;
}

function ceBackwardSource(kind: TargetKind, reduce: boolean, targetGrad: boolean): string {
  const labels = kind === 'labels';
  return `
${CE_PARAMS}
@group(0) @binding(0) var<storage, read> z: array<f32>;
@group(0) @binding(1) var<storage, read> tgt: array<${labels ? 'i32' : 'f32'}>;
@group(0) @binding(2) var<storage, read> stats: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> g: array<f32>;
@group(0) @binding(4) var<storage, read_write> gz: array<f32>;
${targetGrad ? '@group(0) @binding(5) var<storage, read_write> gt: array<f32>;' : ''}
@group(0) @binding(6) var<uniform> p: Params;
@compute @workgroup_size(${CE_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  ${invocationIndex('e', CE_WG)}
  if (e >= p.N * p.C) { return; }
  let r = e / p.C;
  let st = stats[r];
  let lsm = (z[e] * p.invT - st.x) - st.y;
  let up = g[${reduce ? '0' : 'r'}] * p.scale;
  let t = ${labels ? 'select(0.0, 1.0, u32(tgt[r]) == e % p.C)' : 'tgt[e]'};
  gz[e] = (exp(lsm) * st.z - t) * p.invT * up;
  ${targetGrad ? 'gt[e] = -lsm * up;' : ''}
}`;
}

function ceKernel(dir: 'forward' | 'backward', kind: TargetKind, reduce: boolean, targetGrad = false): Kernel {
  const name = `softmaxCrossEntropy.${dir}.${kind}${reduce ? '.reduce' : ''}${targetGrad ? '.targetGrad' : ''}`;
  return kernel(name, () => (dir === 'forward' ? ceForwardSource(kind, reduce) : ceBackwardSource(kind, reduce, targetGrad)));
}

export interface CrossEntropyArgs {
  logits: PooledBuffer;
  target: PooledBuffer;
  kind: TargetKind;
  N: number;
  C: number;
  temperature: number;
  reduction: CrossEntropyReduction;
  /** Labels only: the engine's check record and the code a bad label writes into it. */
  check?: { flags: PooledBuffer; code: number };
}

/**
 * One dispatch: the loss ([1] for 'mean'/'sum', [N] for 'none') and per-row stats [N] of vec4
 * (m, log S, Σ target, 0) for the backward. A label out of [0, C) makes its row's loss (and
 * gradient) NaN and is recorded in `check.flags` (words: code, row, label, N, C, count of bad
 * labels), which the engine reports at the next readback.
 */
export function runSoftmaxCrossEntropy(engine: Engine, a: CrossEntropyArgs): { loss: PooledBuffer; stats: PooledBuffer } {
  const reduce = a.reduction !== 'none';
  const loss = engine.pool.acquire((reduce ? 1 : a.N) * 4);
  const stats = engine.pool.acquire(a.N * 16);
  const buffers: Record<string, PooledBuffer> = { z: a.logits, tgt: a.target, loss, stats };
  if (a.kind === 'labels') {
    if (!a.check) throw new Error('kdgpu internal error: softmaxCrossEntropy with labels needs the check record');
    buffers.flags = a.check.flags;
  }
  engine.dispatch(
    ceKernel('forward', a.kind, reduce),
    buffers,
    { N: a.N, C: a.C, invT: 1 / a.temperature, scale: a.reduction === 'mean' ? 1 / a.N : 1, code: a.check?.code ?? 0 },
    reduce ? [1] : grid(Math.ceil(a.N / CE_WG), engine.limits.maxComputeWorkgroupsPerDimension),
  );
  return { loss, stats };
}

/** One dispatch: d loss / d logits and, when asked, d loss / d target (soft targets only). */
export function runSoftmaxCrossEntropyBackward(
  engine: Engine,
  a: CrossEntropyArgs & { stats: PooledBuffer; g: PooledBuffer; targetGrad: boolean },
): { gLogits: PooledBuffer; gTarget: PooledBuffer | null } {
  const reduce = a.reduction !== 'none';
  const n = a.N * a.C;
  const gz = engine.pool.acquire(n * 4);
  const gt = a.targetGrad ? engine.pool.acquire(n * 4) : null;
  const buffers: Record<string, PooledBuffer> = { z: a.logits, tgt: a.target, stats: a.stats, g: a.g, gz };
  if (gt) buffers.gt = gt;
  engine.dispatch(
    ceKernel('backward', a.kind, reduce, a.targetGrad),
    buffers,
    { N: a.N, C: a.C, invT: 1 / a.temperature, scale: a.reduction === 'mean' ? 1 / a.N : 1 },
    grid(Math.ceil(n / CE_WG), engine.limits.maxComputeWorkgroupsPerDimension),
  );
  return { gLogits: gz, gTarget: gt };
}

// ---- KL divergence (torch.nn.functional.kl_div), pointwise --------------------------------

// xlogy(a, b) = 0 where a == 0, else a·log(b) (NaN in b propagates)
const xlogyHelper = (T: string) => `
fn kd_xlogy(a: ${T}, b: ${T}) -> ${T} {
  return select(a * log(b), ${T}(0.0), a == ${T}(0.0));
}`;

/** KL pointwise terms: (input $0 = log q, target $1) and their gradients (g $0, input $1, target $2). */
export const KL = {
  /** target·(log target − input), 0 where target is 0 */
  forward: { name: 'klDiv', arity: 2, expr: 'kd_xlogy($1, $1) - $1 * $0', helpers: xlogyHelper },
  /** exp(target)·(target − input) */
  forwardLogTarget: { name: 'klDivLogTarget', arity: 2, expr: 'exp($1) * ($1 - $0)' },
  gradInput: { name: 'klDivGradInput', arity: 3, expr: '-$0 * $2' },
  gradInputLogTarget: { name: 'klDivLogTargetGradInput', arity: 3, expr: '-$0 * exp($2)' },
  // PyTorch's xlogy derivative: xlogy(target ≠ 0, target) + target / target, then − input
  gradTarget: {
    name: 'klDivGradTarget',
    arity: 3,
    expr: '$0 * (kd_xlogy(select($T(0.0), $T(1.0), $2 != $T(0.0)), $2) + $2 / $2 - $1)',
    helpers: xlogyHelper,
  },
  gradTargetLogTarget: { name: 'klDivLogTargetGradTarget', arity: 3, expr: '$0 * exp($2) * ($2 - $1 + 1.0)' },
} satisfies Record<string, ElementwiseSpec>;
