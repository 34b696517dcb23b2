/**
 * Grouped 2-D convolution kernels (PyTorch's `groups`): forward with fused bias and ReLU/ReLU6,
 * gradient w.r.t. the input and gradient w.r.t. the weight. The bias gradient does not depend on
 * the groups: conv2d.ts's runConv2dGradBias serves both.
 *
 * Layouts: x, y, dy, dx NCHW contiguous f32; weight [O, C/G, KH, KW] as PyTorch stores it. With
 * G groups, Cg = C/G and Og = O/G, output channel o reads input channels g·Cg … g·Cg + Cg − 1 of
 * its group g = floor(o / Og). Depthwise (G = C, Cg = 1) is the case tuned for.
 *
 * Why the tiling (see conv2d.ts's header: on SwiftShader a load whose address differs per
 * invocation is an emulated gather, so every loaded value must feed as many FMAs as possible):
 * a depthwise output channel has only KH·KW weights and one input channel, so reuse has to come
 * from the spatial neighbourhood. One invocation computes a block of TR output rows × TP adjacent
 * output pixels × TO output channels of one group. For each input channel of the group it loads
 * the TO·KH·KW weights once, then each input row the block touches ((TR−1)·SH + (KH−1)·DH + 1
 * rows) as one segment of (TP−1)·SW + (KW−1)·DW + 1 values, and feeds every value to all the
 * (output row, kh) and (pixel, kw) pairs that read it: a depthwise 3×3 stride-1 block of 4 × 8
 * pixels loads 6 × 10 inputs + 9 weights for 288 FMAs. Kernels are generated per geometry (taps,
 * stride and tile are compile-time constants, loops unrolled); sizes and padding are uniforms.
 * Where a read for a valid output can leave the input each value is multiplied by a 0/1 mask
 * (row and column masks computed once per invocation); otherwise the kernel has none (reads for
 * the discarded pixels of a partial block stay inside the buffer or are clamped by robust buffer
 * access). Measured on SwiftShader (MobileNetV2's 56×56 depthwise layer): blocks of 1 × 4 pixels
 * run 3× slower than 4 × 8; 8 × 16 ran ~15% faster but took 3× longer to compile; vec4 loads
 * (with the shifts an unaligned segment needs) and vec4 stores were no faster.
 *
 * Input gradient: the transposed convolution of dy (O channels in G groups of Og) with the weight
 * repacked per call to [C, Og, KH, KW], taps flipped. For stride s it runs per phase (s_H·s_W
 * dispatches of the same kernel): the dx pixels ph, ph + s, ph + 2s, … of a row are reached only
 * by the flipped taps k with (ph + k·D − P) divisible by s (P = (K−1)·D − pad), from consecutive
 * dy pixels — a stride-1 convolution over dy with those taps, stored every s-th pixel. No work is
 * spent on the zeros of a "dilated" dy (reading it that way was ~7× slower on MobileNetV2's
 * first stride-2 layer).
 *
 * Weight gradient: dW[o, c, kh, kw] = Σ over n, oh, ow of dy[n, o, oh, ow]·x[n, g·Cg + c, …],
 * split over rows n·OH + oh (about `splitPixels` output pixels per split) into partial sums —
 * parallelism for layers with few weights and short f32 sums — then summed over the splits by
 * the reduction kernel. One invocation owns TOW output channels × TCW input channels of one group
 * × all KH·KW taps; per step of TPW pixels of a row it loads TOW·TPW values of dy and, for each
 * kh, TCW row segments of x (masked to 0 outside the input; branch-free, as branches around the
 * accumulator updates made compile times explode). TPW divides the row into equal steps; where
 * it cannot, dy is masked past the row end.
 */
import type { PooledBuffer } from '../gpu/buffer-pool.js';
import { grid, type Engine, type Kernel } from '../gpu/engine.js';
import type { ConvGeometry } from './conv2d.js';
import { UNARY, runElementwise } from './elementwise.js';
import { runReduce } from './reduce.js';

/** Geometry of a grouped convolution: C and O divisible by `groups`, weight [O, C/groups, KH, KW]. */
export interface GroupedConvGeometry extends ConvGeometry {
  /** Channel groups (1: a dense convolution; C: depthwise). */
  groups: number;
}

export type ConvActivation = 'relu' | 'relu6';

export interface GroupedConvEpilogue {
  bias?: PooledBuffer;
  activation?: ConvActivation;
}

/** Register tiles (upper bounds); exported for the benchmark's tuning runs. */
export interface GroupedConvTiles {
  /** Forward / input gradient: output rows, adjacent output pixels and output channels per invocation. */
  TR: number;
  TP: number;
  TO: number;
  /** Forward / input gradient: most FMAs unrolled per input channel (TR·TP·TO·KH·KW). */
  maxUnrolled: number;
  /** Weight gradient: output channels, input channels and pixels per step. */
  TOW: number;
  TCW: number;
  TPW: number;
  /**
   * Weight gradient: most accumulators per invocation (TOW·TCW·KH·KW), FMAs per step (·TPW) and
   * loads per step: SwiftShader's compile time grows steeply with them (a 5×5 stride-2 step of 8
   * pixels, 95 loads of x, took 7 s to compile; 4 pixels, 55 loads, under 1 s).
   */
  maxAccW: number;
  maxUnrolledW: number;
  maxLoadsW: number;
  /** Weight gradient: target number of output pixels summed by one invocation. */
  splitPixels: number;
}

export const groupedConvTiles: GroupedConvTiles = { TR: 4, TP: 8, TO: 4, maxUnrolled: 2048, TOW: 4, TCW: 4, TPW: 8, maxAccW: 96, maxUnrolledW: 512, maxLoadsW: 64, splitPixels: 512 };

const WG = 64;

const cache = new Map<string, Kernel>();
function kernel(name: string, make: () => string): Kernel {
  let k = cache.get(name);
  if (!k) {
    k = { name, source: make() };
    cache.set(name, k);
  }
  return k;
}

function dispatch1d(engine: Engine, k: Kernel, buffers: Record<string, PooledBuffer>, u: Record<string, number>, count: number, flops?: number): void {
  engine.dispatch(k, buffers, u, grid(Math.ceil(count / WG), engine.limits.maxComputeWorkgroupsPerDimension), flops);
}

/** `size` split into equal tiles of at most `max`: the tile size (a row of 9 with max 8 → 5 + 4). */
function evenTile(size: number, max: number): number {
  return Math.ceil(size / Math.ceil(size / Math.max(1, max)));
}

/** FLOPs of one grouped convolution: 2 per multiply-add of the forward pass, padding taps included. */
export function groupedConvFlops(g: GroupedConvGeometry): number {
  return 2 * g.N * g.O * g.OH * g.OW * (g.C / g.groups) * g.KH * g.KW;
}

function zeros(engine: Engine, len: number): PooledBuffer {
  return runElementwise(engine, UNARY.fill, [], [len], 0);
}

// ---- forward (and transposed) convolution ------------------------------------------------------

/** One kernel tap along an axis: its index into the weight and its input offset. */
interface Tap {
  k: number;
  off: number;
}

/**
 * What one dispatch of the forward kernel computes, per axis: output o (0 ≤ o < OH) reads input
 * positions o·S − pad + tap.off with weight tap tap.k, and is stored at position o·oS + oOff of
 * an output plane of OHs × OWs (so a phase of the input gradient can fill every SH-th row).
 */
interface FwdRun {
  N: number;
  /** Input channels per group, as read. */
  Cg: number;
  H: number;
  W: number;
  groups: number;
  /** Output channels per group. */
  Og: number;
  OH: number;
  OW: number;
  /** Kernel size of the weight's layout [groups·Og, Cg, KH, KW]. */
  KH: number;
  KW: number;
  rowTaps: Tap[];
  colTaps: Tap[];
  SH: number;
  SW: number;
  padT: number;
  padL: number;
  OHs: number;
  OWs: number;
  oSH: number;
  oSW: number;
  oOffH: number;
  oOffW: number;
}

interface FwdConfig {
  KH: number;
  KW: number;
  rowTaps: Tap[];
  colTaps: Tap[];
  SH: number;
  SW: number;
  masked: boolean;
  TR: number;
  TP: number;
  TO: number;
  bias: boolean;
  activation: ConvActivation | undefined;
}

/** Distinct values of i·stride + tap.off for i < count, ascending: the rows/columns a block reads. */
function reads(count: number, stride: number, taps: Tap[]): number[] {
  const s = new Set<number>();
  for (let i = 0; i < count; i++) for (const t of taps) s.add(i * stride + t.off);
  return [...s].sort((u, v) => u - v);
}

function fwdSource(c: FwdConfig): string {
  const { KH, KW, rowTaps, colTaps, SH, SW, masked, TR, TP, TO } = c;
  const rows = reads(TR, SH, rowTaps);
  const cols = reads(TP, SW, colTaps);
  const L: string[] = [];
  L.push(`struct Params { Cg: u32, H: u32, W: u32, OH: u32, OW: u32, OHT: u32, OWT: u32, Og: u32, OBG: u32, blocks: u32,
  tiles: u32, padT: i32, padL: i32, xN: u32, yN: u32, OWs: u32, OHWs: u32, oSH: u32, oSW: u32, oOffH: u32, oOffW: u32, }`);
  L.push(`@group(0) @binding(0) var<storage, read> x: array<f32>;`);
  L.push(`@group(0) @binding(1) var<storage, read> w: array<f32>;`);
  if (c.bias) L.push(`@group(0) @binding(2) var<storage, read> bias: array<f32>;`);
  L.push(`@group(0) @binding(3) var<storage, read_write> y: array<f32>;`);
  L.push(`@group(0) @binding(4) var<uniform> p: Params;`);
  L.push(`@compute @workgroup_size(${WG})`);
  L.push(`fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {`);
  L.push(`  let t = gid.x + gid.y * nwg.x * ${WG}u;`);
  L.push(`  if (t >= p.tiles) { return; }`);
  // Neighbouring invocations take neighbouring blocks of the same channels (shared weights).
  L.push(`  let owt = t % p.OWT;`);
  L.push(`  let t1 = t / p.OWT;`);
  L.push(`  let oht = t1 % p.OHT;`);
  L.push(`  let t2 = t1 / p.OHT;`);
  L.push(`  let ob = t2 % p.blocks;`);
  L.push(`  let n = t2 / p.blocks;`);
  L.push(`  let grp = ob / p.OBG;`);
  L.push(`  let ol0 = (ob % p.OBG) * ${TO}u;`);
  L.push(`  let oh0 = oht * ${TR}u;`);
  L.push(`  let ow0 = owt * ${TP}u;`);
  L.push(`  let HW = p.H * p.W;`);
  // Output channels of the block, clamped into the group (duplicates are computed, not stored).
  for (let j = 0; j < TO; j++) {
    L.push(`  let o${j} = grp * p.Og + min(ol0 + ${j}u, p.Og - 1u);`);
    L.push(`  var wb${j} = o${j} * p.Cg * ${KH * KW}u;`);
  }
  L.push(`  var xi = n * p.xN + grp * p.Cg * HW;`);
  // Column and row offsets (and masks) of the block: fixed for the whole invocation.
  L.push(`  let c0 = i32(ow0 * ${SW}u) - p.padL;`);
  for (const e of cols) {
    if (masked) {
      L.push(`  let cm${e} = select(0.0, 1.0, c0 + ${e} >= 0 && c0 + ${e} < i32(p.W));`);
      L.push(`  let co${e} = u32(clamp(c0 + ${e}, 0, i32(p.W) - 1));`);
    } else {
      L.push(`  let co${e} = u32(c0 + ${e});`);
    }
  }
  L.push(`  let r0 = i32(oh0 * ${SH}u) - p.padT;`);
  for (const i of rows) {
    if (masked) {
      L.push(`  let rm${i} = select(0.0, 1.0, r0 + ${i} >= 0 && r0 + ${i} < i32(p.H));`);
      L.push(`  let ro${i} = u32(clamp(r0 + ${i}, 0, i32(p.H) - 1)) * p.W;`);
    } else {
      L.push(`  let ro${i} = u32(r0 + ${i}) * p.W;`);
    }
  }
  for (let r = 0; r < TR; r++) for (let q = 0; q < TP; q++) for (let j = 0; j < TO; j++) L.push(`  var a${r}_${q}_${j} = 0.0;`);
  L.push(`  for (var ci = 0u; ci < p.Cg; ci++) {`);
  for (let j = 0; j < TO; j++) {
    for (const th of rowTaps) {
      for (const tw of colTaps) L.push(`    let w${j}_${th.k}_${tw.k} = w[wb${j} + ${th.k * KW + tw.k}u];`);
    }
  }
  for (const i of rows) {
    L.push(`    {`);
    for (const e of cols) L.push(`      let x${e} = x[xi + ro${i} + co${e}]${masked ? ` * (rm${i} * cm${e})` : ''};`);
    for (let r = 0; r < TR; r++) {
      for (const th of rowTaps) {
        if (r * SH + th.off !== i) continue;
        for (const tw of colTaps) {
          for (let q = 0; q < TP; q++) {
            const e = q * SW + tw.off;
            for (let j = 0; j < TO; j++) L.push(`      a${r}_${q}_${j} = fma(x${e}, w${j}_${th.k}_${tw.k}, a${r}_${q}_${j});`);
          }
        }
      }
    }
    L.push(`    }`);
  }
  L.push(`    xi += HW;`);
  for (let j = 0; j < TO; j++) L.push(`    wb${j} += ${KH * KW}u;`);
  L.push(`  }`);
  // Epilogue: bias, activation, stores of the valid rows, pixels and channels.
  for (let j = 0; j < TO; j++) {
    if (c.bias) L.push(`  let b${j} = bias[o${j}];`);
    L.push(`  let yb${j} = n * p.yN + o${j} * p.OHWs + p.oOffH * p.OWs + p.oOffW;`);
  }
  for (let r = 0; r < TR; r++) {
    L.push(`  if (oh0 + ${r}u < p.OH) {`);
    L.push(`    let yr = (oh0 + ${r}u) * p.oSH * p.OWs;`);
    for (let q = 0; q < TP; q++) {
      L.push(`    if (ow0 + ${q}u < p.OW) {`);
      L.push(`      let yc = yr + (ow0 + ${q}u) * p.oSW;`);
      for (let j = 0; j < TO; j++) {
        let v = `a${r}_${q}_${j}`;
        if (c.bias) v = `${v} + b${j}`;
        if (c.activation === 'relu') v = `max(${v}, 0.0)`;
        if (c.activation === 'relu6') v = `min(max(${v}, 0.0), 6.0)`;
        const store = `y[yb${j} + yc] = ${v};`;
        L.push(j === 0 ? `      ${store}` : `      if (ol0 + ${j}u < p.Og) { ${store} }`);
      }
      L.push(`    }`);
    }
    L.push(`  }`);
  }
  L.push(`}`);
  return L.join('\n');
}

/** The forward tile for a run: at most maxUnrolled FMAs per input channel (fewer channels first, then rows, then pixels). */
function fwdTile(r: FwdRun, tiles: GroupedConvTiles): { TR: number; TP: number; TO: number } {
  let TO = evenTile(r.Og, tiles.TO);
  let TR = evenTile(r.OH, tiles.TR);
  let TP = evenTile(r.OW, tiles.TP);
  const taps = Math.max(1, r.rowTaps.length * r.colTaps.length);
  const fmas = () => TR * TP * TO * taps;
  while (fmas() > tiles.maxUnrolled && TO > 1) TO = evenTile(r.Og, TO - 1);
  while (fmas() > tiles.maxUnrolled && TR > 1) TR = evenTile(r.OH, TR - 1);
  while (fmas() > tiles.maxUnrolled && TP > 1) TP = evenTile(r.OW, TP - 1);
  return { TR, TP, TO };
}

const tapKey = (taps: Tap[]) => taps.map((t) => `${t.k}@${t.off}`).join(',');

/** Records one forward-kernel dispatch writing into `y` (which must hold the whole output). */
function runFwd(
  engine: Engine,
  x: PooledBuffer,
  w: PooledBuffer,
  y: PooledBuffer,
  r: FwdRun,
  epi: GroupedConvEpilogue,
  tiles: GroupedConvTiles,
  flops: number,
): void {
  const O = r.groups * r.Og;
  if (r.N * O * r.OH * r.OW === 0) return;
  const { TR, TP, TO } = fwdTile(r, tiles);
  // Masks only where a read for a valid output can leave the input.
  const outside = (taps: Tap[], count: number, stride: number, pad: number, size: number) =>
    taps.length > 0 && (Math.min(...taps.map((t) => t.off)) - pad < 0 || (count - 1) * stride + Math.max(...taps.map((t) => t.off)) - pad > size - 1);
  const masked = outside(r.rowTaps, r.OH, r.SH, r.padT, r.H) || outside(r.colTaps, r.OW, r.SW, r.padL, r.W);
  const cfg: FwdConfig = {
    KH: r.KH,
    KW: r.KW,
    rowTaps: r.rowTaps,
    colTaps: r.colTaps,
    SH: r.SH,
    SW: r.SW,
    masked,
    TR,
    TP,
    TO,
    bias: Boolean(epi.bias),
    activation: epi.activation,
  };
  const name =
    `conv2d.grouped.fwd.k${r.KH}x${r.KW}.s${r.SH}x${r.SW}.taps[${tapKey(r.rowTaps)}|${tapKey(r.colTaps)}]` +
    `${masked ? '.masked' : ''}.t${TR}x${TP}x${TO}${epi.bias ? '.bias' : ''}${epi.activation ? `.${epi.activation}` : ''}`;
  const k = kernel(name, () => fwdSource(cfg));
  const OHT = Math.ceil(r.OH / TR);
  const OWT = Math.ceil(r.OW / TP);
  const OBG = Math.ceil(r.Og / TO);
  const blocks = r.groups * OBG;
  const count = r.N * blocks * OHT * OWT;
  const buffers: Record<string, PooledBuffer> = { x, w, y };
  if (epi.bias) buffers.bias = epi.bias;
  dispatch1d(
    engine,
    k,
    buffers,
    {
      Cg: r.Cg,
      H: r.H,
      W: r.W,
      OH: r.OH,
      OW: r.OW,
      OHT,
      OWT,
      Og: r.Og,
      OBG,
      blocks,
      tiles: count,
      padT: r.padT,
      padL: r.padL,
      xN: r.groups * r.Cg * r.H * r.W,
      yN: O * r.OHs * r.OWs,
      OWs: r.OWs,
      OHWs: r.OHs * r.OWs,
      oSH: r.oSH,
      oSW: r.oSW,
      oOffH: r.oOffH,
      oOffW: r.oOffW,
    },
    count,
    flops,
  );
}

/** y = conv(x, w) (+ bias) (then ReLU or ReLU6): [N, O, OH, OW]. */
export function runGroupedConv2d(
  engine: Engine,
  x: PooledBuffer,
  w: PooledBuffer,
  g: GroupedConvGeometry,
  epi: GroupedConvEpilogue = {},
  tiles = groupedConvTiles,
): PooledBuffer {
  const y = engine.pool.acquire(Math.max(g.N * g.O * g.OH * g.OW, 1) * 4);
  const axis = (K: number, D: number): Tap[] => Array.from({ length: K }, (_, k) => ({ k, off: k * D }));
  runFwd(
    engine,
    x,
    w,
    y,
    {
      N: g.N,
      Cg: g.C / g.groups,
      H: g.H,
      W: g.W,
      groups: g.groups,
      Og: g.O / g.groups,
      OH: g.OH,
      OW: g.OW,
      KH: g.KH,
      KW: g.KW,
      rowTaps: axis(g.KH, g.dilationH),
      colTaps: axis(g.KW, g.dilationW),
      SH: g.strideH,
      SW: g.strideW,
      padT: g.padTop,
      padL: g.padLeft,
      OHs: g.OH,
      OWs: g.OW,
      oSH: 1,
      oSW: 1,
      oOffH: 0,
      oOffW: 0,
    },
    epi,
    tiles,
    groupedConvFlops(g),
  );
  return y;
}

// ---- input gradient -----------------------------------------------------------------------------

const PACK_SRC = `
struct Params { Cg: u32, Og: u32, KH: u32, KW: u32, total: u32, }
@group(0) @binding(0) var<storage, read> w: array<f32>;
@group(0) @binding(1) var<storage, read_write> packed: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * ${WG}u;
  if (i >= p.total) { return; }
  let kw = i % p.KW;
  let kh = (i / p.KW) % p.KH;
  let ol = (i / (p.KW * p.KH)) % p.Og;
  let c = i / (p.KW * p.KH * p.Og);
  let o = (c / p.Cg) * p.Og + ol;
  packed[i] = w[((o * p.Cg + c % p.Cg) * p.KH + (p.KH - 1u - kh)) * p.KW + (p.KW - 1u - kw)];
}`;

/** The input gradient's operand: w [O, Cg, KH, KW] → [C, Og, KH, KW] with the taps flipped. */
function packTransposed(engine: Engine, w: PooledBuffer, g: GroupedConvGeometry): PooledBuffer {
  const Cg = g.C / g.groups;
  const Og = g.O / g.groups;
  const total = g.C * Og * g.KH * g.KW;
  const out = engine.pool.acquire(Math.max(total, 1) * 4);
  dispatch1d(engine, kernel('conv2d.grouped.packTransposed', () => PACK_SRC), { w, packed: out }, { Cg, Og, KH: g.KH, KW: g.KW, total }, total);
  return out;
}

/**
 * One axis of the input gradient's phase `ph` (outputs ph, ph + S, ph + 2S, …): dx at ph + S·i
 * reads dy rows (ph + k·D − P)/S for the flipped taps k where that is an integer (P = (K−1)·D −
 * pad), i.e. a stride-1 convolution over dy with those taps, offset by `pad`.
 */
function phaseAxis(ph: number, size: number, K: number, S: number, D: number, pad: number): { count: number; taps: Tap[]; pad: number } {
  const P = (K - 1) * D - pad;
  const count = Math.ceil((size - ph) / S);
  const ks = Array.from({ length: K }, (_, k) => k).filter((k) => (((ph + k * D - P) % S) + S) % S === 0);
  if (ks.length === 0) return { count, taps: [], pad: 0 };
  const base = (ph + ks[0] * D - P) / S;
  return { count, taps: ks.map((k) => ({ k, off: (k - ks[0]) * D / S })), pad: -base };
}

/**
 * dx = ∂L/∂x given dy = ∂L/∂y: [N, C, H, W], the transposed grouped convolution of dy, computed
 * per phase (stride SH·SW dispatches, each a dense stride-1 convolution over dy with the taps
 * that reach that phase) so no work is spent on the zeros a dilated dy would hold.
 */
export function runGroupedConv2dGradInput(engine: Engine, dy: PooledBuffer, w: PooledBuffer, g: GroupedConvGeometry, tiles = groupedConvTiles): PooledBuffer {
  const dx = engine.pool.acquire(Math.max(g.N * g.C * g.H * g.W, 1) * 4);
  if (g.N * g.C * g.H * g.W === 0) return dx;
  const packed = packTransposed(engine, w, g);
  const phases = g.strideH * g.strideW;
  for (let ph = 0; ph < Math.min(g.strideH, g.H); ph++) {
    const rows = phaseAxis(ph, g.H, g.KH, g.strideH, g.dilationH, g.padTop);
    for (let pw = 0; pw < Math.min(g.strideW, g.W); pw++) {
      const cols = phaseAxis(pw, g.W, g.KW, g.strideW, g.dilationW, g.padLeft);
      runFwd(
        engine,
        dy,
        packed,
        dx,
        {
          N: g.N,
          Cg: g.O / g.groups,
          H: g.OH,
          W: g.OW,
          groups: g.groups,
          Og: g.C / g.groups,
          OH: rows.count,
          OW: cols.count,
          KH: g.KH,
          KW: g.KW,
          rowTaps: rows.taps,
          colTaps: cols.taps,
          SH: 1,
          SW: 1,
          padT: rows.pad,
          padL: cols.pad,
          OHs: g.H,
          OWs: g.W,
          oSH: g.strideH,
          oSW: g.strideW,
          oOffH: ph,
          oOffW: pw,
        },
        {},
        tiles,
        groupedConvFlops(g) / phases,
      );
    }
  }
  engine.pool.release(packed);
  return dx;
}

// ---- weight gradient ----------------------------------------------------------------------------

interface WgtConfig {
  KH: number;
  KW: number;
  SH: number;
  SW: number;
  DH: number;
  DW: number;
  /** Column masks (reads left/right of the input) and row masks (above/below). */
  masked: boolean;
  rowMasked: boolean;
  /** TPW does not divide OW: dy reads are masked (pixels past the row end count 0). */
  dyMasked: boolean;
  TOW: number;
  TCW: number;
  TPW: number;
}

function wgtSource(c: WgtConfig): string {
  const { KH, KW, SH, SW, DH, DW, TOW, TCW, TPW } = c;
  const L: string[] = [];
  L.push(`struct Params { C: u32, H: u32, W: u32, O: u32, OH: u32, OW: u32, Cg: u32, Og: u32, padT: i32, padL: i32,
  OBW: u32, CBW: u32, units: u32, rowsPer: u32, rows: u32, total: u32, }`);
  L.push(`@group(0) @binding(0) var<storage, read> x: array<f32>;`);
  L.push(`@group(0) @binding(1) var<storage, read> dy: array<f32>;`);
  L.push(`@group(0) @binding(2) var<storage, read_write> part: array<f32>;`);
  L.push(`@group(0) @binding(3) var<uniform> p: Params;`);
  L.push(`@compute @workgroup_size(${WG})`);
  L.push(`fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {`);
  L.push(`  let t = gid.x + gid.y * nwg.x * ${WG}u;`);
  L.push(`  if (t >= p.total) { return; }`);
  L.push(`  let unit = t % p.units;`);
  L.push(`  let split = t / p.units;`);
  L.push(`  let cbw = unit % p.CBW;`);
  L.push(`  let u1 = unit / p.CBW;`);
  L.push(`  let obw = u1 % p.OBW;`);
  L.push(`  let grp = u1 / p.OBW;`);
  L.push(`  let OHW = p.OH * p.OW;`);
  L.push(`  let HW = p.H * p.W;`);
  // Channel indices within the group, clamped (duplicates are computed and not stored).
  for (let i = 0; i < TOW; i++) L.push(`  let o${i} = grp * p.Og + min(obw * ${TOW}u + ${i}u, p.Og - 1u);`);
  for (let ci = 0; ci < TCW; ci++) L.push(`  let cl${ci} = min(cbw * ${TCW}u + ${ci}u, p.Cg - 1u);`);
  for (let i = 0; i < TOW; i++) {
    for (let ci = 0; ci < TCW; ci++) {
      for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++) L.push(`  var a${i}_${ci}_${kh}_${kw} = 0.0;`);
    }
  }
  L.push(`  let r0 = split * p.rowsPer;`);
  L.push(`  let r1 = min(r0 + p.rowsPer, p.rows);`);
  L.push(`  for (var r = r0; r < r1; r++) {`);
  L.push(`    let oh = r % p.OH;`);
  L.push(`    let n = r / p.OH;`);
  for (let i = 0; i < TOW; i++) L.push(`    let dy${i} = (n * p.O + o${i}) * OHW + oh * p.OW;`);
  for (let kh = 0; kh < KH; kh++) {
    L.push(`    let ih${kh} = i32(oh * ${SH}u + ${kh * DH}u) - p.padT;`);
    if (c.rowMasked) L.push(`    let rm${kh} = select(0.0, 1.0, ih${kh} >= 0 && ih${kh} < i32(p.H));`);
    for (let ci = 0; ci < TCW; ci++) {
      L.push(`    let x${ci}r${kh} = (n * p.C + grp * p.Cg + cl${ci}) * HW + u32(clamp(ih${kh}, 0, i32(p.H) - 1)) * p.W;`);
    }
  }
  // Steps of TPW pixels along the row; where TPW does not divide OW the last step's pixels past
  // the row end get dy = 0 (one masked step instead of a scalar tail loop).
  L.push(`    for (var ow = 0u; ow < p.OW; ow += ${TPW}u) {`);
  const ind = '      ';
  const seg = (TPW - 1) * SW + (KW - 1) * DW + 1;
  L.push(`${ind}let cs = i32(ow * ${SW}u) - p.padL;`);
  for (let i = 0; i < TOW; i++) {
    for (let q = 0; q < TPW; q++) {
      L.push(c.dyMasked ? `${ind}let g${i}_${q} = select(0.0, dy[dy${i} + min(ow + ${q}u, p.OW - 1u)], ow + ${q}u < p.OW);` : `${ind}let g${i}_${q} = dy[dy${i} + ow + ${q}u];`);
    }
  }
  for (let e = 0; e < seg; e++) {
    if (c.masked) {
      L.push(`${ind}let cm${e} = select(0.0, 1.0, cs + ${e} >= 0 && cs + ${e} < i32(p.W));`);
      L.push(`${ind}let xo${e} = u32(clamp(cs + ${e}, 0, i32(p.W) - 1));`);
    } else {
      L.push(`${ind}let xo${e} = u32(cs + ${e});`);
    }
  }
  // Reads outside the input are clamped into it and multiplied by 0 (branch-free: branches
  // around blocks of accumulator updates made SwiftShader's compile times explode).
  for (let kh = 0; kh < KH; kh++) {
    for (let e = 0; e < seg; e++) {
      const m = [c.rowMasked ? `rm${kh}` : '', c.masked ? `cm${e}` : ''].filter(Boolean).join(' * ');
      if (m) L.push(`${ind}let m${kh}_${e} = ${m};`);
    }
    for (let ci = 0; ci < TCW; ci++) {
      for (let e = 0; e < seg; e++) {
        const load = `x[x${ci}r${kh} + xo${e}]`;
        L.push(`${ind}let x${ci}_${kh}_${e} = ${c.masked || c.rowMasked ? `${load} * m${kh}_${e}` : load};`);
      }
      for (let i = 0; i < TOW; i++) {
        for (let kw = 0; kw < KW; kw++) {
          for (let q = 0; q < TPW; q++) {
            const a = `a${i}_${ci}_${kh}_${kw}`;
            L.push(`${ind}${a} = fma(g${i}_${q}, x${ci}_${kh}_${q * SW + kw * DW}, ${a});`);
          }
        }
      }
    }
  }
  L.push(`    }`);
  L.push(`  }`);
  // part[split][o][cl][kh][kw]
  L.push(`  let pb = split * p.O * p.Cg * ${KH * KW}u;`);
  for (let i = 0; i < TOW; i++) {
    for (let ci = 0; ci < TCW; ci++) {
      L.push(`  if (obw * ${TOW}u + ${i}u < p.Og && cbw * ${TCW}u + ${ci}u < p.Cg) {`);
      L.push(`    let b = pb + (o${i} * p.Cg + cl${ci}) * ${KH * KW}u;`);
      for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++) L.push(`    part[b + ${kh * KW + kw}u] = a${i}_${ci}_${kh}_${kw};`);
      L.push(`  }`);
    }
  }
  L.push(`}`);
  return L.join('\n');
}

/** Most partial sums a split reduction may hold (floats): 64 MB. */
const MAX_PARTIAL = 16 * 1024 * 1024;

/** dW = ∂L/∂w: [O, C/groups, KH, KW]. */
export function runGroupedConv2dGradWeight(engine: Engine, x: PooledBuffer, dy: PooledBuffer, g: GroupedConvGeometry, tiles = groupedConvTiles): PooledBuffer {
  const Cg = g.C / g.groups;
  const Og = g.O / g.groups;
  const len = g.O * Cg * g.KH * g.KW;
  const rows = g.N * g.OH;
  if (rows * g.OW === 0 || len === 0) return zeros(engine, len);
  // At most maxAccW accumulators (TOW·TCW·KH·KW) where the kernel allows.
  const taps2 = g.KH * g.KW;
  const TOW = evenTile(Og, Math.max(1, Math.min(tiles.TOW, Math.floor(tiles.maxAccW / taps2))));
  const TCW = evenTile(Cg, Math.max(1, Math.min(tiles.TCW, Math.floor(tiles.maxAccW / (TOW * taps2)))));
  let TPW = Math.max(1, Math.min(tiles.TPW, Math.floor(tiles.maxUnrolledW / (TOW * TCW * taps2))));
  const loads = (px: number) => TOW * px + g.KH * TCW * ((px - 1) * g.strideW + (g.KW - 1) * g.dilationW + 1);
  while (TPW > 1 && loads(TPW) > tiles.maxLoadsW) TPW--;
  TPW = evenTile(g.OW, TPW);
  const dyMasked = g.OW % TPW !== 0;
  // Rows n·OH + oh per split: about splitPixels output pixels each, within MAX_PARTIAL.
  const wanted = Math.max(1, Math.ceil((rows * g.OW) / tiles.splitPixels));
  const rowsPer = Math.ceil(rows / Math.max(1, Math.min(wanted, rows, Math.floor(MAX_PARTIAL / len))));
  const splits = Math.ceil(rows / rowsPer);
  const maxCol = (g.OW - 1) * g.strideW + (g.KW - 1) * g.dilationW - g.padLeft;
  // Column masks where a read for a valid pixel can land in the padding, or past the row end
  // for the pixels of a masked step.
  const masked = g.padLeft > 0 || maxCol > g.W - 1 || dyMasked;
  const maxRow = (g.OH - 1) * g.strideH + (g.KH - 1) * g.dilationH - g.padTop;
  const rowMasked = g.padTop > 0 || maxRow > g.H - 1;
  const cfg: WgtConfig = { KH: g.KH, KW: g.KW, SH: g.strideH, SW: g.strideW, DH: g.dilationH, DW: g.dilationW, masked, rowMasked, dyMasked, TOW, TCW, TPW };
  const name =
    `conv2d.grouped.gradWeight.k${g.KH}x${g.KW}.s${g.strideH}x${g.strideW}.d${g.dilationH}x${g.dilationW}` +
    `${masked ? '.masked' : ''}${rowMasked ? '.rowMasked' : ''}${dyMasked ? '.dyMasked' : ''}.t${TOW}x${TCW}x${TPW}`;
  const k = kernel(name, () => wgtSource(cfg));
  const OBW = Math.ceil(Og / TOW);
  const CBW = Math.ceil(Cg / TCW);
  const units = g.groups * OBW * CBW;
  const total = units * splits;
  const part = engine.pool.acquire(splits * len * 4);
  dispatch1d(
    engine,
    k,
    { x, dy, part },
    { C: g.C, H: g.H, W: g.W, O: g.O, OH: g.OH, OW: g.OW, Cg, Og, padT: g.padTop, padL: g.padLeft, OBW, CBW, units, rowsPer, rows, total },
    total,
    groupedConvFlops(g),
  );
  if (splits === 1) return part;
  const out = runReduce(engine, 'sum', part, [splits, len], [0]);
  engine.pool.release(part);
  return out;
}
