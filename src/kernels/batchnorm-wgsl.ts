/** What the batch-normalization passes share (batchnorm.ts, batchnorm-grad.ts): layouts, chunking and WGSL pieces. */
import type { Engine } from '../gpu/engine.js';
import { WG, main1d, invocationIndex } from '../gpu/kernel-registry.js';

/** Input [N, C, S] in NCHW order: S contiguous cells per (sample, channel) plane. */
export interface BatchNormGeometry {
  N: number;
  C: number;
  S: number;
}

/**
 * Data units (f32 or vec4) each invocation folds in the reduction passes: enough to amortize a
 * workgroup's barrier on SwiftShader, few enough to leave a GPU hundreds of workgroups at batch 64
 * on 32×32 (8 chunks per channel).
 */
const UNITS_PER_INVOCATION = 32;
/** Chunks per channel at most (the finishing passes fold them one by one). */
const MAX_CHUNKS = 1024;

/** What a data pass reads per invocation: one value, or a vec4 inside one channel plane. */
export type Elem = 'f32' | 'vec4<f32>';

/** WGSL: the flat index i of a data pass, and its bounds check. */
export const INDEX = `
  ${invocationIndex('i')}
  if (i >= p.total) { return; }`;

/** WGSL: the entry point of the one-dimensional passes. */
export const ENTRY = main1d();

/** WGSL: the entry point of a reduction pass: workgroup (chunk k, channel c) and its units [start, end). */
export const REDUCE_ENTRY = `@compute @workgroup_size(${WG})
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
export const UNIT_LOOP = `
  let j0 = start + lid.x;
  let img0 = j0 / p.S;
  var s = j0 - img0 * p.S;
  var at = (img0 * p.C + c) * p.S + s;
  for (var j = j0; j < end; j += ${WG}u) {`;
/** WGSL: the end of a UNIT_LOOP iteration (advances `at`). */
export const UNIT_NEXT = `
    at += p.stepAt;
    s += p.stepS;
    if (s >= p.S) { s -= p.S; at += p.wrapAt; }`;

/** Chan et al.'s combination of two (count, mean, M2) records. */
export const CHAN = `
fn chan(a: vec3<f32>, b: vec3<f32>) -> vec3<f32> {
  if (b.x == 0.0) { return a; }
  if (a.x == 0.0) { return b; }
  let n = a.x + b.x;
  let d = b.y - a.y;
  let f = b.x / n;
  return vec3<f32>(n, a.y + d * f, a.z + b.z + d * d * a.x * f);
}`;

/** Neumaier's compensated step `name`: returns the new sum, updates the compensation. */
export const NEUMAIER = (name: string, T: string) => `
fn ${name}(s: ${T}, v: ${T}, comp: ptr<function, ${T}>) -> ${T} {
  let t = s + v;
  *comp += select((v - t) + s, (s - t) + v, abs(s) >= abs(v));
  return t;
}`;

/** WGSL: the uniforms of a reduction pass (see chunking). */
export const REDUCE_PARAMS = 'struct Params { C: u32, S: u32, perChannel: u32, chunk: u32, K: u32, stepAt: u32, stepS: u32, wrapAt: u32, }';

/** Data layout of a pass: vec4 units when every vec4 stays inside one channel plane. */
export function units(geo: BatchNormGeometry): { T: Elem; S: number; total: number } {
  const vec = geo.S % 4 === 0;
  const S = vec ? geo.S / 4 : geo.S;
  return { T: vec ? 'vec4<f32>' : 'f32', S, total: geo.N * geo.C * S };
}

/** How each channel's N·S units are split into chunks, one workgroup each; the reduce uniforms. */
export function chunking(geo: BatchNormGeometry, S: number) {
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

/** Throws when the channels exceed the workgroups of one grid dimension (the reductions run one workgroup row per channel). */
export function checkChannels(engine: Engine, geo: BatchNormGeometry): void {
  const max = engine.limits.maxComputeWorkgroupsPerDimension;
  if (geo.C > max) throw new Error(`kdgpu internal error: batch norm over ${geo.C} channels exceeds ${max} workgroups per dimension`);
}
