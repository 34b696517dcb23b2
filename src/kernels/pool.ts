/**
 * 2-D max and average pooling over NCHW planes, forward and backward.
 *
 * One invocation per output element (forward) or per input element (backward). The backward
 * kernels gather: each input cell sums the gradients of the output cells whose window covers it,
 * in row-major output order, so no atomics are needed and results are deterministic.
 *
 * Padding is asymmetric in general (TensorFlow's 'same' puts the odd cell bottom/right): padTop
 * and padLeft place the windows, padBottom and padRight only bound the padded extent that
 * average pooling counts when padded cells are included. Padded cells never take part in a max
 * (as if they held −∞, PyTorch's rule).
 */
import type { PooledBuffer } from '../gpu/buffer-pool.js';
import { grid, type Engine, type Kernel } from '../gpu/engine.js';
import { bindings, WG, main1d, kernel, cachedKernel, guardedIndex } from '../gpu/kernel-registry.js';

export interface Pool2dGeometry {
  /** Number of planes (N·C). */
  planes: number;
  H: number;
  W: number;
  OH: number;
  OW: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  padTop: number;
  padLeft: number;
  padBottom: number;
  padRight: number;
  /** Average pooling: divide by the whole (padded) window rather than its cells inside the input. */
  countIncludePad: boolean;
}


const PARAMS = `struct Params { total: u32, H: u32, W: u32, OH: u32, OW: u32, kh: u32, kw: u32, sh: u32, sw: u32,
  pt: u32, pl: u32, pb: u32, pr: u32, includePad: u32, }`;

/** Divisor of an average window starting at (h0, w0) in input coordinates (PyTorch's rule). */
const DIVISOR = `
fn divisor(h0: i32, w0: i32) -> f32 {
  let H = i32(p.H); let W = i32(p.W);
  if (p.includePad != 0u) {
    let h1 = min(h0 + i32(p.kh), H + i32(p.pb));
    let w1 = min(w0 + i32(p.kw), W + i32(p.pr));
    return f32((h1 - h0) * (w1 - w0));
  }
  let h1 = min(h0 + i32(p.kh), H);
  let w1 = min(w0 + i32(p.kw), W);
  return f32((h1 - max(h0, 0)) * (w1 - max(w0, 0)));
}`;

function forwardSource(kind: 'max' | 'avg'): string {
  const isMax = kind === 'max';
  return `
${PARAMS}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
${isMax ? '@group(0) @binding(2) var<storage, read_write> idx: array<i32>;' : ''}
@group(0) @binding(3) var<uniform> p: Params;
${isMax ? '' : DIVISOR}
fn isNan(v: f32) -> bool { return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u; }
${main1d()}
${guardedIndex('o', 'p.total')}
  let ow = o % p.OW;
  let t = o / p.OW;
  let oh = t % p.OH;
  let plane = t / p.OH;
  let base = plane * p.H * p.W;
  let h0 = i32(oh * p.sh) - i32(p.pt);
  let w0 = i32(ow * p.sw) - i32(p.pl);
  let hs = max(h0, 0); let he = min(h0 + i32(p.kh), i32(p.H));
  let ws = max(w0, 0); let we = min(w0 + i32(p.kw), i32(p.W));
  ${
    isMax
      ? `var best = 0.0;
  var bestIdx = -1;
  for (var h = hs; h < he; h++) {
    for (var w = ws; w < we; w++) {
      let cell = h * i32(p.W) + w;
      let v = x[base + u32(cell)];
      // the first cell in row-major order wins ties; a NaN wins (PyTorch propagates it)
      if (bestIdx < 0 || v > best || isNan(v)) { best = v; bestIdx = cell; }
    }
  }
  out[o] = best;
  idx[o] = bestIdx;`
      : `var acc = 0.0;
  for (var h = hs; h < he; h++) {
    for (var w = ws; w < we; w++) {
      acc += x[base + u32(h * i32(p.W) + w)];
    }
  }
  out[o] = acc / divisor(h0, w0);`
  }
}`;
}

function backwardSource(kind: 'max' | 'avg'): string {
  const isMax = kind === 'max';
  return `
${PARAMS}
@group(0) @binding(0) var<storage, read> g: array<f32>;
${isMax ? '@group(0) @binding(1) var<storage, read> idx: array<i32>;' : ''}
@group(0) @binding(2) var<storage, read_write> gx: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;
${isMax ? '' : DIVISOR}
// first output index whose window (start o·s − pad, length k) reaches input coordinate i
fn firstOut(i: i32, k: u32, s: u32, pad: u32) -> i32 {
  let num = i + i32(pad) - i32(k) + 1;
  if (num <= 0) { return 0; }
  return (num + i32(s) - 1) / i32(s);
}
${main1d()}
${guardedIndex('i', 'p.total')}
  let w = i32(i % p.W);
  let t = i / p.W;
  let h = i32(t % p.H);
  let plane = t / p.H;
  let obase = plane * p.OH * p.OW;
  let ohs = firstOut(h, p.kh, p.sh, p.pt);
  let ohe = min((h + i32(p.pt)) / i32(p.sh), i32(p.OH) - 1);
  let ows = firstOut(w, p.kw, p.sw, p.pl);
  let owe = min((w + i32(p.pl)) / i32(p.sw), i32(p.OW) - 1);
  ${isMax ? 'let cell = h * i32(p.W) + w;' : ''}
  var acc = 0.0;
  for (var oh = ohs; oh <= ohe; oh++) {
    for (var ow = ows; ow <= owe; ow++) {
      let o = obase + u32(oh * i32(p.OW) + ow);
      ${
        isMax
          ? 'if (idx[o] == cell) { acc += g[o]; }'
          : 'acc += g[o] / divisor(oh * i32(p.sh) - i32(p.pt), ow * i32(p.sw) - i32(p.pl));'
      }
    }
  }
  gx[i] = acc;
}`;
}

/** Max-pool forward, one invocation per output row (plane, oh): bindings and the row's indices. */
const MAX_FORWARD_ROW_HEAD = `${PARAMS}
${bindings(['x', 'read', 'array<f32>'], ['out', 'read_write', 'array<f32>'], ['idx', 'read_write', 'array<i32>'])}
fn isNan(v: f32) -> bool { return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u; }
${main1d()}
${guardedIndex('row', 'p.total')}
  let oh = row % p.OH;
  let plane = row / p.OH;
  let base = plane * p.H * p.W;`;

/** Max-pool backward block kernels: bindings up to the entry point's signature. */
const MAX_BACKWARD_HEAD = `${PARAMS}
${bindings(['g', 'read', 'array<f32>'], ['idx', 'read', 'array<i32>'], ['gx', 'read_write', 'array<f32>'])}
@compute @workgroup_size(${WG})`;

/** Unrolled windows/blocks: `rowOff<d> = d·W` for rows 1 … rows−1, and the offset of cell (dh, dw). */
function rowOffsets(rows: number): string {
  return Array.from({ length: rows - 1 }, (_, i) => `  let rowOff${i + 1} = ${i + 1}u * p.W;`).join('\n');
}
function cellOffset(dh: number, dw: number): string {
  return `${dh > 0 ? `rowOff${dh} + ` : ''}${dw}u`;
}

/**
 * Max pooling with the window shape and stride compiled in (e.g. 'k2x2.s2x2'): constant loop
 * bounds unroll, and SwiftShader's cost is per invocation, so the work per invocation matters.
 * One invocation per output row (plane, oh), walking its OW outputs: the index arithmetic
 * (integer divisions, which a CPU does lane by lane) is paid once per row, not per output.
 */
function maxForwardSpecialized(kh: number, kw: number, sh: number, sw: number): Kernel {
  return {
    name: `pool2d.max.forward.k${kh}x${kw}.s${sh}x${sw}`,
    source: `
${MAX_FORWARD_ROW_HEAD}
  let h0 = i32(oh * ${sh}u) - i32(p.pt);
  for (var ow = 0u; ow < p.OW; ow++) {
  let o = row * p.OW + ow;
  let w0 = i32(ow * ${sw}u) - i32(p.pl);
  var best = 0.0;
  var bestIdx = -1;
  // Branch-free (selects, clamped addresses): lanes that disagree on a branch cost both sides.
  for (var dh = 0; dh < ${kh}; dh++) {
    let h = h0 + dh;
    let hIn = h >= 0 && h < i32(p.H);
    let hc = clamp(h, 0, i32(p.H) - 1);
    for (var dw = 0; dw < ${kw}; dw++) {
      let w = w0 + dw;
      let cell = hc * i32(p.W) + clamp(w, 0, i32(p.W) - 1);
      let v = x[base + u32(cell)];
      // the first cell in row-major order wins ties; a NaN wins (PyTorch propagates it)
      let take = hIn && w >= 0 && w < i32(p.W) && (bestIdx < 0 || v > best || isNan(v));
      best = select(best, v, take);
      bestIdx = select(bestIdx, cell, take);
    }
  }
  out[o] = best;
  idx[o] = bestIdx;
  }
}`,
  };
}

/**
 * The same when no padding is involved and every window lies inside the input (PyTorch's default
 * floor mode without padding, the usual case): the window is unrolled with no clamps or bounds
 * tests, its first cell starts the running max.
 */
function maxForwardInside(kh: number, kw: number, sh: number, sw: number): Kernel {
  const cells: string[] = [];
  for (let dh = 0; dh < kh; dh++) {
    for (let dw = 0; dw < kw; dw++) {
      if (dh === 0 && dw === 0) continue;
      cells.push(`    { let cell = c0 + ${cellOffset(dh, dw)}; let v = x[base + cell];
      // a later cell wins only if larger (ties keep the first); a NaN wins (PyTorch propagates it)
      let take = v > best || isNan(v);
      best = select(best, v, take); bestIdx = select(bestIdx, cell, take); }`);
    }
  }
  return {
    name: `pool2d.max.forward.inside.k${kh}x${kw}.s${sh}x${sw}`,
    source: `
${MAX_FORWARD_ROW_HEAD}
  let rowCell = oh * ${sh}u * p.W;
${rowOffsets(kh)}
  for (var ow = 0u; ow < p.OW; ow++) {
    let c0 = rowCell + ow * ${sw}u;
    var best = x[base + c0];
    var bestIdx = c0;
${cells.join('\n')}
    let o = row * p.OW + ow;
    out[o] = best;
    idx[o] = i32(bestIdx);
  }
}`,
  };
}

/**
 * Max-pool gradient for windows that do not overlap (stride ≥ window): one invocation per output
 * writes its whole stride block — the gradient to the winning cell, zeros elsewhere. The blocks
 * [o·s − pad, (o+1)·s − pad), the last one stretched to the input's edge, tile the input, so every
 * input cell is written exactly once, without the gather's per-input-cell search.
 */
function maxBackwardBlocks(kh: number, kw: number, sh: number, sw: number): Kernel {
  return {
    name: `pool2d.max.backward.blocks.k${kh}x${kw}.s${sh}x${sw}`,
    source: `
${MAX_BACKWARD_HEAD}
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
${guardedIndex('o', 'p.total')}
  let ow = o % p.OW;
  let t = o / p.OW;
  let oh = t % p.OH;
  let plane = t / p.OH;
  let base = plane * p.H * p.W;
  let rs = i32(oh * ${sh}u) - i32(p.pt);
  let cs = i32(ow * ${sw}u) - i32(p.pl);
  var re = rs + ${sh};
  if (oh == p.OH - 1u) { re = i32(p.H); }
  var ce = cs + ${sw};
  if (ow == p.OW - 1u) { ce = i32(p.W); }
  re = min(re, i32(p.H));
  ce = min(ce, i32(p.W));
  let win = idx[o];
  let grad = g[o];
  for (var h = max(rs, 0); h < re; h++) {
    for (var w = max(cs, 0); w < ce; w++) {
      let cell = h * i32(p.W) + w;
      gx[base + u32(cell)] = select(0.0, grad, cell == win);
    }
  }
}`,
  };
}

/**
 * The blocks kernel when there is no padding and the blocks fit (OH·sh ≤ H, OW·sw ≤ W; e.g. any
 * kernel = stride pooling): one invocation per output row writes its sh×sw blocks unrolled, then
 * zeros the columns right of the last block; the last row's invocation also zeros the rows below
 * the last block (no window reaches those cells).
 */
function maxBackwardBlocksInside(sh: number, sw: number): Kernel {
  const writes: string[] = [];
  for (let dh = 0; dh < sh; dh++) {
    for (let dw = 0; dw < sw; dw++) {
      writes.push(`    { let cell = c0 + ${cellOffset(dh, dw)}; gx[base + cell] = select(0.0, grad, cell == win); }`);
    }
  }
  return {
    name: `pool2d.max.backward.blocks.inside.s${sh}x${sw}`,
    source: `
${MAX_BACKWARD_HEAD}
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
${guardedIndex('row', 'p.total')}
  let oh = row % p.OH;
  let plane = row / p.OH;
  let base = plane * p.H * p.W;
  let rowCell = oh * ${sh}u * p.W;
${rowOffsets(sh)}
  for (var ow = 0u; ow < p.OW; ow++) {
    let o = row * p.OW + ow;
    let win = u32(idx[o]);
    let grad = g[o];
    let c0 = rowCell + ow * ${sw}u;
${writes.join('\n')}
  }
  for (var h = oh * ${sh}u; h < oh * ${sh}u + ${sh}u; h++) {
    for (var w = p.OW * ${sw}u; w < p.W; w++) { gx[base + h * p.W + w] = 0.0; }
  }
  if (oh == p.OH - 1u) {
    for (var c = p.OH * ${sh}u * p.W; c < p.H * p.W; c++) { gx[base + c] = 0.0; }
  }
}`,
  };
}

const avgForward = (): Kernel => kernel('pool2d.avg.forward', () => forwardSource('avg'));
const maxBackward = (): Kernel => kernel('pool2d.max.backward', () => backwardSource('max'));
const avgBackward = (): Kernel => kernel('pool2d.avg.backward', () => backwardSource('avg'));

function uniforms(geo: Pool2dGeometry, total: number) {
  return {
    total,
    H: geo.H,
    W: geo.W,
    OH: geo.OH,
    OW: geo.OW,
    kh: geo.kh,
    kw: geo.kw,
    sh: geo.sh,
    sw: geo.sw,
    pt: geo.padTop,
    pl: geo.padLeft,
    pb: geo.padBottom,
    pr: geo.padRight,
    includePad: geo.countIncludePad ? 1 : 0,
  };
}

/**
 * Pooling FLOPs: one operation per window cell of every output (a compare for max, an add for
 * average), forward and backward alike, as the TensorFlow profiler counts pooling.
 */
export function poolFlops(geo: Pool2dGeometry): number {
  return geo.planes * geo.OH * geo.OW * geo.kh * geo.kw;
}

function groups(engine: Engine, n: number): [number, number] {
  return grid(Math.ceil(n / WG), engine.limits.maxComputeWorkgroupsPerDimension);
}

/**
 * Max pooling: the output [planes, OH, OW] and, per output, the index h·W + w of the winning
 * cell in its plane (int32), which the backward pass routes the gradient to.
 */
export function runMaxPool2d(engine: Engine, x: PooledBuffer, geo: Pool2dGeometry): { out: PooledBuffer; idx: PooledBuffer } {
  const n = geo.planes * geo.OH * geo.OW;
  const out = engine.pool.acquire(Math.max(n, 1) * 4);
  const idx = engine.pool.acquire(Math.max(n, 1) * 4);
  const inside =
    geo.padTop === 0 && geo.padLeft === 0 && (geo.OH - 1) * geo.sh + geo.kh <= geo.H && (geo.OW - 1) * geo.sw + geo.kw <= geo.W;
  const k = cachedKernel(`pool2d.f${geo.kh},${geo.kw},${geo.sh},${geo.sw},${inside}`, () =>
    inside ? maxForwardInside(geo.kh, geo.kw, geo.sh, geo.sw) : maxForwardSpecialized(geo.kh, geo.kw, geo.sh, geo.sw),
  );
  const rows = geo.planes * geo.OH;
  if (n > 0) engine.dispatch(k, { x, out, idx }, uniforms(geo, rows), groups(engine, rows), poolFlops(geo));
  return { out, idx };
}

export function runAvgPool2d(engine: Engine, x: PooledBuffer, geo: Pool2dGeometry): PooledBuffer {
  const n = geo.planes * geo.OH * geo.OW;
  const out = engine.pool.acquire(Math.max(n, 1) * 4);
  if (n > 0) engine.dispatch(avgForward(), { x, out }, uniforms(geo, n), groups(engine, n), poolFlops(geo));
  return out;
}

/** Gradient w.r.t. the input [planes, H, W] of max pooling, from g [planes, OH, OW] and idx. */
export function runMaxPool2dBackward(engine: Engine, g: PooledBuffer, idx: PooledBuffer, geo: Pool2dGeometry): PooledBuffer {
  const n = geo.planes * geo.H * geo.W;
  const gx = engine.pool.acquire(Math.max(n, 1) * 4);
  const outs = geo.planes * geo.OH * geo.OW;
  const inside = geo.padTop === 0 && geo.padLeft === 0 && geo.OH * geo.sh <= geo.H && geo.OW * geo.sw <= geo.W;
  if (n > 0 && outs > 0 && geo.sh >= geo.kh && geo.sw >= geo.kw && inside) {
    const k = cachedKernel(`pool2d.bi${geo.sh},${geo.sw}`, () => maxBackwardBlocksInside(geo.sh, geo.sw));
    const rows = geo.planes * geo.OH;
    engine.dispatch(k, { g, idx, gx }, uniforms(geo, rows), groups(engine, rows), poolFlops(geo));
  } else if (n > 0 && outs > 0 && geo.sh >= geo.kh && geo.sw >= geo.kw) {
    const k = cachedKernel(`pool2d.b${geo.kh},${geo.kw},${geo.sh},${geo.sw}`, () => maxBackwardBlocks(geo.kh, geo.kw, geo.sh, geo.sw));
    engine.dispatch(k, { g, idx, gx }, uniforms(geo, outs), groups(engine, outs), poolFlops(geo));
  } else if (n > 0) {
    engine.dispatch(maxBackward(), { g, idx, gx }, uniforms(geo, n), groups(engine, n), poolFlops(geo));
  }
  return gx;
}

export function runAvgPool2dBackward(engine: Engine, g: PooledBuffer, geo: Pool2dGeometry): PooledBuffer {
  const n = geo.planes * geo.H * geo.W;
  const gx = engine.pool.acquire(Math.max(n, 1) * 4);
  if (n > 0) engine.dispatch(avgBackward(), { g, gx }, uniforms(geo, n), groups(engine, n), poolFlops(geo));
  return gx;
}
