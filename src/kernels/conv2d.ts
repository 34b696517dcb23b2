/**
 * 2-D convolution kernels (implicit GEMM; no im2col buffer): forward, gradient w.r.t. the input,
 * gradient w.r.t. the weight, gradient w.r.t. the bias.
 *
 * Layouts
 *   x, y, dy, dx   NCHW, contiguous f32 (PyTorch's layout; the tensors users see; no transposes).
 *   weight         OIHW as given, repacked per call (one small pass) into the GEMM operand
 *                  "packed": row k = (a·KH + kh)·KW + kw, column n padded to a multiple of the
 *                  register tile, stored as vec4s: packed[k·NB + n/4] (NB = Npad/4). For the
 *                  forward pass a = input channel, n = output channel; for the input gradient
 *                  a = output channel, n = input channel and the taps are flipped.
 *
 * What the tiling optimizes for (measured on SwiftShader, whose Subzero JIT runs 4 invocations
 * per SIMD group): a load whose address differs per invocation is an emulated gather that costs
 * tens of FMAs, and loads dominate; FMAs on registers are cheap and even spilled accumulators
 * cost less than gathers. So each invocation keeps a large block of accumulators and every value
 * it loads feeds as many FMAs as possible. (Fully unrolled kernels with literal weight indices,
 * which SwiftShader loads as one scalar, compiled for minutes and ran slower.)
 *
 * Forward: GEMM with M = N·OH·OW (pixels), N = O, K = C·KH·KW. One invocation computes TP
 * horizontally adjacent output pixels × TO output channels (default up to 28 × 16: a row of 27
 * is one tile; up to 448 accumulators, most of them spilled — measured faster than 14 × 8 or
 * 4 × 8). For each (kh, c) it loads one row segment of SEG = (TP−1)·SW + (KW−1)·DW + 1 input
 * values, shared by all KW taps and TP pixels, and KW·TO/4 vec4 weights shared by the TP
 * pixels: for 3×3 on a row of 27, 29 + 48 scalar loads feed 1296 FMAs.
 * Kernels are generated per geometry (kernel size, stride, dilation and tile are compile-time
 * constants, tap loops unrolled); sizes and padding are uniforms. Where no read for a valid
 * output can leave the input the kernel has no masks; otherwise each segment value is
 * multiplied by a 0/1 mask computed once per (invocation, kh). Bias and ReLU are applied in the
 * epilogue.
 *
 * Input gradient: the same kernel run as the transposed convolution: dy is the input (channels
 * O), the flipped, channel-swapped weight the operand, padding (KH−1)·DH − padT, and for stride
 * s > 1 the input is read "dilated" by s (virtual zeros between dy's pixels, handled by the
 * masks; that wastes s² of the work, acceptable for the rarer strided layers).
 *
 * Weight gradient: on CPU adapters, for layers wide enough and whose im2col buffer fits, an
 * explicit im2col and a batched matmul (conv2d-weight-gemm.ts, 1.2–2.8× faster there). Otherwise
 * this file's kernel: GEMM with M = O, N = C·KH·KW, K = N·OH·OW, split over K (rows n·OH + oh,
 * about 2048 pixels per split) into partial sums — parallelism for layers with few weights, and
 * shorter f32 sums — reduced by a second kernel. One invocation owns TOW output channels × TCW
 * input channels × one kh × all KW taps (default 8 × 8 × 3 = 192 accumulators); per TPW = 4
 * pixels of a row it loads TOW·TPW values of dy and TCW row segments of x.
 *
 * Subgroups (when the device has them): the forward/input-gradient kernel's weight vec4s, the
 * same for a whole workgroup, are loaded a quarter per invocation and handed out with
 * subgroupBroadcast; the weight-gradient kernel runs subgroups of 4 invocations that differ only
 * in the input-channel block and share the dy loads the same way. Same arithmetic, same order:
 * results are bit-identical to the plain kernels (tested), with fewer emulated loads on SwiftShader.
 *
 * Bias gradient: per-channel sums of dy, split over rows the same way.
 */
import type { PooledBuffer } from '../gpu/buffer-pool.js';
import { grid, type Engine } from '../gpu/engine.js';
import { dispatch1d, kernel, reduceSplits, WG } from './conv2d-common.js';
import { planWeightGemm, runConv2dGradWeightGemm } from './conv2d-weight-gemm.js';

/** Geometry of one convolution, after padding has been resolved. */
export interface ConvGeometry {
  /** Batch size. */
  N: number;
  /** Input channels. */
  C: number;
  /** Input height. */
  H: number;
  /** Input width. */
  W: number;
  /** Output channels. */
  O: number;
  /** Kernel height. */
  KH: number;
  /** Kernel width. */
  KW: number;
  /** Output height. */
  OH: number;
  /** Output width. */
  OW: number;
  /** Vertical stride. */
  strideH: number;
  /** Horizontal stride. */
  strideW: number;
  /** Vertical dilation (1: none). */
  dilationH: number;
  /** Horizontal dilation (1: none). */
  dilationW: number;
  /** Zero rows above / columns left of the input (bottom/right padding is implied by OH/OW). */
  padTop: number;
  /** Zero columns left of the input. */
  padLeft: number;
}

/** Register tiles; exported for the benchmark's tuning runs. */
export interface ConvTiles {
  /** Forward / input-gradient kernel: output pixels along a row per invocation. */
  TP: number;
  /** Forward / input-gradient kernel: output channels per invocation (multiple of 4). */
  TO: number;
  /** Weight gradient: output channels, input channels and pixels per step. */
  TOW: number;
  TCW: number;
  TPW: number;
  /** Weight/bias gradient: target number of output pixels summed by one invocation. */
  splitPixels: number;
  /** false: never the subgroup variants of the forward, input- and weight-gradient kernels (default: when the device has subgroups). */
  subgroups?: boolean;
  /**
   * Weight gradient through im2col and a batched matmul (conv2d-weight-gemm.ts): true whenever
   * one image's im2col fits its cap, false never (default: on CPU adapters, for layers wide enough).
   */
  weightGemm?: boolean;
}

export const convTiles: ConvTiles = { TP: 28, TO: 16, TOW: 8, TCW: 8, TPW: 4, splitPixels: 2048 };

/**
 * The forward tile for an output of width OW and O channels: rows split into equal tiles of at
 * most TP pixels (a row of 27 is one tile, 56 → 28 + 28, 30 → 15 + 15), and no more channels
 * than O rounded up to 4.
 */
function fwdTile(OW: number, O: number, tiles: ConvTiles): { TP: number; TO: number } {
  const TP = Math.ceil(OW / Math.ceil(OW / tiles.TP));
  const TO = Math.min(tiles.TO, roundUp(Math.max(O, 1), 4));
  return { TP, TO };
}

/**
 * FLOPs of one convolution, 2 per multiply-add of the forward pass (padding taps included, as
 * the TensorFlow profiler counts them). The input and weight gradients do the same useful work;
 * the zeros a strided input gradient multiplies are not counted.
 */
export function convFlops(g: ConvGeometry): number {
  return 2 * g.N * g.O * g.OH * g.OW * g.C * g.KH * g.KW;
}

// ---- weight packing ---------------------------------------------------------------------------

const PACK_SRC = `
struct Params { A: u32, Nr: u32, Npad: u32, KH: u32, KW: u32, sN: u32, sA: u32, flip: u32, total: u32, }
@group(0) @binding(0) var<storage, read> w: array<f32>;
@group(0) @binding(1) var<storage, read_write> packed: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * ${WG}u;
  if (i >= p.total) { return; }
  let n = i % p.Npad;
  let k = i / p.Npad;
  let kw = k % p.KW;
  let kh = (k / p.KW) % p.KH;
  let a = k / (p.KW * p.KH);
  var v = 0.0;
  if (n < p.Nr) {
    var sh = kh; var sw = kw;
    if (p.flip != 0u) { sh = p.KH - 1u - kh; sw = p.KW - 1u - kw; }
    v = w[n * p.sN + a * p.sA + sh * p.KW + sw];
  }
  packed[i] = v;
}`;

/**
 * Packs an OIHW weight into the GEMM operand described at the top. `forInput`: the operand of
 * the input gradient (a = output channel, n = input channel, taps flipped).
 */
function packWeight(engine: Engine, w: PooledBuffer, g: ConvGeometry, npad: number, forInput: boolean): PooledBuffer {
  const { O, C, KH, KW } = g;
  const A = forInput ? O : C;
  const Nr = forInput ? C : O;
  const total = A * KH * KW * npad;
  const out = engine.pool.acquire(Math.max(total, 4) * 4);
  const k = kernel('conv2d.packWeight', () => PACK_SRC);
  dispatch1d(
    engine,
    k,
    { w, packed: out },
    {
      A,
      Nr,
      Npad: npad,
      KH,
      KW,
      sN: forInput ? KH * KW : C * KH * KW,
      sA: forInput ? C * KH * KW : KH * KW,
      flip: forInput ? 1 : 0,
      total,
    },
    total,
  );
  return out;
}

// ---- forward (and transposed) convolution ------------------------------------------------------

interface FwdConfig {
  KH: number;
  KW: number;
  SH: number;
  SW: number;
  DH: number;
  DW: number;
  /** Input dilation (virtual zeros between input pixels), for the transposed convolution. */
  IDH: number;
  IDW: number;
  masked: boolean;
  TP: number;
  TO: number;
  bias: boolean;
  relu: boolean;
  /** Share the weight loads of a subgroup (see fwdSource). */
  sg: boolean;
}

function fwdSource(c: FwdConfig): string {
  const { KH, KW, SH, SW, DH, DW, IDH, IDW, masked, TP, TO, sg } = c;
  const Q = TO / 4;
  const SEG = (TP - 1) * SW + (KW - 1) * DW + 1;
  // The KW·Q weight vec4s of one (kh, ci) step are the same for every invocation of a workgroup
  // (they depend on ob = gid.z only). With subgroups each invocation loads every fourth of them
  // and subgroupBroadcast hands out the rest: a quarter of the weight loads, which SwiftShader
  // emulates lane by lane. That needs all invocations present: no early return, the tile index
  // is clamped instead and the stores are skipped.
  const E = KW * Q;
  const S = Math.ceil(E / 4);
  const L: string[] = [];
  if (sg) L.push('enable subgroups;');
  L.push(`struct Params { C: u32, H: u32, W: u32, HV: i32, WV: i32, OH: u32, OW: u32, OWT: u32, tiles: u32,
  padT: i32, padL: i32, O: u32, NB: u32, xN: u32, yN: u32, }`);
  L.push(`@group(0) @binding(0) var<storage, read> x: array<f32>;`);
  L.push(`@group(0) @binding(1) var<storage, read> w: array<vec4<f32>>;`);
  if (c.bias) L.push(`@group(0) @binding(2) var<storage, read> bias: array<f32>;`);
  L.push(`@group(0) @binding(3) var<storage, read_write> y: array<f32>;`);
  L.push(`@group(0) @binding(4) var<uniform> p: Params;`);
  L.push(`@compute @workgroup_size(${WG})`);
  L.push(`fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>${sg ? ', @builtin(subgroup_invocation_id) sl: u32' : ''}) {`);
  if (sg) {
    L.push(`  let tRaw = gid.x + gid.y * nwg.x * ${WG}u;`);
    L.push(`  let live = tRaw < p.tiles;`);
    L.push(`  let t = min(tRaw, p.tiles - 1u);`);
  } else {
    L.push(`  let t = gid.x + gid.y * nwg.x * ${WG}u;`);
    L.push(`  if (t >= p.tiles) { return; }`);
  }
  L.push(`  let ob = gid.z;`);
  L.push(`  let owt = t % p.OWT;`);
  L.push(`  let r = t / p.OWT;`);
  L.push(`  let oh = r % p.OH;`);
  L.push(`  let n = r / p.OH;`);
  L.push(`  let ow0 = owt * ${TP}u;`);
  L.push(`  let HW = p.H * p.W;`);
  L.push(`  let xn = n * p.xN;`);
  // Column offsets (and masks) of the row segment: fixed for the whole invocation.
  L.push(`  let c0 = i32(ow0 * ${SW}u) - p.padL;`);
  for (let e = 0; e < SEG; e++) {
    if (masked) {
      const div = IDW > 1 ? ` && ((c0 + ${e}) % ${IDW}) == 0` : '';
      L.push(`  let cm${e} = select(0.0, 1.0, c0 + ${e} >= 0 && c0 + ${e} < p.WV${div});`);
      L.push(`  let co${e} = u32(clamp(c0 + ${e}, 0, p.WV - 1))${IDW > 1 ? ` / ${IDW}u` : ''};`);
    } else {
      L.push(`  let co${e} = u32(c0 + ${e});`);
    }
  }
  for (let j = 0; j < TP; j++) for (let q = 0; q < Q; q++) L.push(`  var a${j}_${q} = vec4<f32>(0.0);`);
  // Row offsets (and masks) of the KH kernel rows: fixed for the whole invocation. The channel
  // loop is the only loop, with the KH rows unrolled inside it.
  for (let kh = 0; kh < KH; kh++) {
    L.push(`  let rv${kh} = i32(oh * ${SH}u + ${kh * DH}u) - p.padT;`);
    if (masked) {
      const div = IDH > 1 ? ` && (rv${kh} % ${IDH}) == 0` : '';
      L.push(`  let rm${kh} = select(0.0, 1.0, rv${kh} >= 0 && rv${kh} < p.HV${div});`);
      L.push(`  let ro${kh} = (u32(clamp(rv${kh}, 0, p.HV - 1))${IDH > 1 ? ` / ${IDH}u` : ''}) * p.W;`);
      for (let e = 0; e < SEG; e++) L.push(`  let m${kh}_${e} = cm${e} * rm${kh};`);
    } else {
      L.push(`  let ro${kh} = u32(rv${kh}) * p.W;`);
    }
  }
  L.push(`  var xi = xn;`);
  L.push(`  var wi = ob * ${Q}u;`);
  L.push(`  for (var ci = 0u; ci < p.C; ci++) {`);
  for (let kh = 0; kh < KH; kh++) {
    L.push(`    {`);
    for (let e = 0; e < SEG; e++) L.push(`      let x${e} = x[xi + ro${kh} + co${e}]${masked ? ` * m${kh}_${e}` : ''};`);
    const wk = `wi + ${kh * KW}u * p.NB`;
    if (sg) {
      for (let s4 = 0; s4 < S; s4++) {
        L.push(`      let e${s4} = min(${4 * s4}u + sl, ${E - 1}u);`);
        L.push(`      let y${s4} = w[${wk} + (e${s4} / ${Q}u) * p.NB + e${s4} % ${Q}u];`);
      }
    }
    for (let kw = 0; kw < KW; kw++) {
      for (let q = 0; q < Q; q++) {
        const e = kw * Q + q;
        if (sg) L.push(`      let w${kw}_${q} = subgroupBroadcast(y${e >> 2}, ${e & 3}u);`);
        else L.push(`      let w${kw}_${q} = w[${wk} + ${kw}u * p.NB + ${q}u];`);
        for (let j = 0; j < TP; j++) {
          const ee = j * SW + kw * DW;
          L.push(`      a${j}_${q} = fma(vec4<f32>(x${ee}), w${kw}_${q}, a${j}_${q});`);
        }
      }
    }
    L.push(`    }`);
  }
  L.push(`    xi += HW;`);
  L.push(`    wi += ${KH * KW}u * p.NB;`);
  L.push(`  }`);
  // Epilogue: bias, ReLU, stores of the valid pixels and channels.
  L.push(`  let yb = n * p.yN + oh * p.OW + ow0;`);
  L.push(`  let OHW = p.OH * p.OW;`);
  // Each channel's bias once for all TP pixels (clamped like the channels; past O it is not stored).
  if (c.bias) for (let o = 0; o < TO; o++) L.push(`  let bias${o} = bias[min(ob * ${TO}u + ${o}u, p.O - 1u)];`);
  for (let j = 0; j < TP; j++) {
    L.push(`  if (${sg ? 'live && ' : ''}ow0 + ${j}u < p.OW) {`);
    for (let q = 0; q < Q; q++) {
      for (let i = 0; i < 4; i++) {
        const o = `ob * ${TO}u + ${q * 4 + i}u`;
        let v = `a${j}_${q}[${i}]`;
        if (c.bias) v = `${v} + bias${q * 4 + i}`;
        if (c.relu) v = `max(${v}, 0.0)`;
        L.push(`    if (${o} < p.O) { y[yb + (${o}) * OHW + ${j}u] = ${v}; }`);
      }
    }
    L.push(`  }`);
  }
  L.push(`}`);
  return L.join('\n');
}

interface FwdRun {
  /** Input as read: [N, C, H, W] real; read with input dilation ID (virtual size (H−1)·ID + 1). */
  C: number;
  H: number;
  W: number;
  IDH: number;
  IDW: number;
  O: number;
  OH: number;
  OW: number;
  N: number;
  KH: number;
  KW: number;
  SH: number;
  SW: number;
  DH: number;
  DW: number;
  padT: number;
  padL: number;
}

function runFwd(
  engine: Engine,
  x: PooledBuffer,
  packed: PooledBuffer,
  r: FwdRun,
  npad: number,
  bias: PooledBuffer | undefined,
  relu: boolean,
  tiles: ConvTiles,
  flops: number,
): PooledBuffer {
  const { TP, TO } = fwdTile(r.OW, r.O, tiles);
  const outSize = r.N * r.O * r.OH * r.OW;
  const y = engine.pool.acquire(Math.max(outSize, 1) * 4);
  if (outSize === 0) return y;
  const HV = (r.H - 1) * r.IDH + 1;
  const WV = (r.W - 1) * r.IDW + 1;
  const maxRow = (r.OH - 1) * r.SH + (r.KH - 1) * r.DH - r.padT;
  // Columns past the last valid pixel of a row only feed discarded accumulators (they read the
  // next row, or are clamped by robust buffer access), so masks are needed only where a read for
  // a valid pixel can leave the (virtual) input.
  const maxNeededCol = (r.OW - 1) * r.SW + (r.KW - 1) * r.DW - r.padL;
  const masked = r.padT > 0 || r.padL > 0 || r.IDH > 1 || r.IDW > 1 || maxRow > HV - 1 || maxNeededCol > WV - 1;
  const cfg: FwdConfig = {
    KH: r.KH,
    KW: r.KW,
    SH: r.SH,
    SW: r.SW,
    DH: r.DH,
    DW: r.DW,
    IDH: r.IDH,
    IDW: r.IDW,
    masked,
    TP,
    TO,
    bias: Boolean(bias),
    relu,
    sg: tiles.subgroups !== false && engine.subgroups,
  };
  const name = `conv2d.fwd.k${r.KH}x${r.KW}.s${r.SH}x${r.SW}.d${r.DH}x${r.DW}${r.IDH > 1 || r.IDW > 1 ? `.id${r.IDH}x${r.IDW}` : ''}${masked ? '.masked' : ''}.t${TP}x${TO}${cfg.sg ? '.sg' : ''}${bias ? '.bias' : ''}${relu ? '.relu' : ''}`;
  const k = kernel(name, () => fwdSource(cfg));
  const OWT = Math.ceil(r.OW / TP);
  const count = r.N * r.OH * OWT;
  const buffers: Record<string, PooledBuffer> = { x, w: packed, y };
  if (bias) buffers.bias = bias;
  dispatch1d(
    engine,
    k,
    buffers,
    {
      C: r.C,
      H: r.H,
      W: r.W,
      HV,
      WV,
      OH: r.OH,
      OW: r.OW,
      OWT,
      tiles: count,
      padT: r.padT,
      padL: r.padL,
      O: r.O,
      NB: npad / 4,
      xN: r.C * r.H * r.W,
      yN: r.O * r.OH * r.OW,
    },
    count,
    npad / TO,
    flops,
  );
  return y;
}

function roundUp(v: number, m: number): number {
  return Math.ceil(v / m) * m;
}

export interface ConvEpilogue {
  bias?: PooledBuffer;
  relu?: boolean;
}

/** y = conv(x, w) (+ bias) (then ReLU): [N, O, OH, OW]. */
export function runConv2d(engine: Engine, x: PooledBuffer, w: PooledBuffer, g: ConvGeometry, epi: ConvEpilogue = {}, tiles = convTiles): PooledBuffer {
  const npad = roundUp(g.O, fwdTile(g.OW, g.O, tiles).TO);
  const packed = packWeight(engine, w, g, npad, false);
  const y = runFwd(
    engine,
    x,
    packed,
    {
      N: g.N,
      C: g.C,
      H: g.H,
      W: g.W,
      IDH: 1,
      IDW: 1,
      O: g.O,
      OH: g.OH,
      OW: g.OW,
      KH: g.KH,
      KW: g.KW,
      SH: g.strideH,
      SW: g.strideW,
      DH: g.dilationH,
      DW: g.dilationW,
      padT: g.padTop,
      padL: g.padLeft,
    },
    npad,
    epi.bias,
    epi.relu ?? false,
    tiles,
    convFlops(g),
  );
  engine.pool.release(packed);
  return y;
}

/** dx = ∂L/∂x given dy = ∂L/∂y: [N, C, H, W] (the transposed convolution of dy). */
export function runConv2dGradInput(engine: Engine, dy: PooledBuffer, w: PooledBuffer, g: ConvGeometry, tiles = convTiles): PooledBuffer {
  const npad = roundUp(g.C, fwdTile(g.W, g.C, tiles).TO);
  const packed = packWeight(engine, w, g, npad, true);
  const dx = runFwd(
    engine,
    dy,
    packed,
    {
      N: g.N,
      C: g.O,
      H: g.OH,
      W: g.OW,
      IDH: g.strideH,
      IDW: g.strideW,
      O: g.C,
      OH: g.H,
      OW: g.W,
      KH: g.KH,
      KW: g.KW,
      SH: 1,
      SW: 1,
      DH: g.dilationH,
      DW: g.dilationW,
      padT: (g.KH - 1) * g.dilationH - g.padTop,
      padL: (g.KW - 1) * g.dilationW - g.padLeft,
    },
    npad,
    undefined,
    false,
    tiles,
    convFlops(g),
  );
  engine.pool.release(packed);
  return dx;
}

// ---- weight and bias gradients ------------------------------------------------------------------

interface WgtConfig {
  KH: number;
  KW: number;
  SH: number;
  SW: number;
  DH: number;
  DW: number;
  masked: boolean;
  TOW: number;
  TCW: number;
  TPW: number;
  /**
   * Subgroup variant (needs TPW = 4): a workgroup is one subgroup of 4 invocations with the same
   * output channels, kh and rows and 4 consecutive input-channel blocks; they need the same dy
   * values, so invocation `sl` loads pixel ow + sl of each of the TOW dy rows and
   * subgroupBroadcast hands out the other three (a quarter of the dy loads).
   */
  sg: boolean;
}

function wgtSource(c: WgtConfig): string {
  const { KH, KW, SW, SH, DH, DW, TOW, TCW, TPW, sg } = c;
  if (sg && TPW !== 4) throw new Error('kdgpu internal error: the subgroup weight-gradient kernel needs TPW = 4');
  const L: string[] = [];
  if (sg) L.push('enable subgroups;');
  L.push(`struct Params { N: u32, C: u32, H: u32, W: u32, O: u32, OH: u32, OW: u32, padT: i32, padL: i32,
  OBW: u32, CBW: u32, units: u32, rowsPer: u32, rows: u32, total: u32, }`);
  L.push(`@group(0) @binding(0) var<storage, read> x: array<f32>;`);
  L.push(`@group(0) @binding(1) var<storage, read> dy: array<f32>;`);
  L.push(`@group(0) @binding(2) var<storage, read_write> part: array<f32>;`);
  L.push(`@group(0) @binding(3) var<uniform> p: Params;`);
  if (sg) {
    // units and total count subgroups here; p.CBW is the number of groups of 4 channel blocks.
    L.push(`@compute @workgroup_size(4)`);
    L.push(`fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(subgroup_invocation_id) sl: u32) {`);
    L.push(`  let t = wid.x + wid.y * nwg.x;`);
  } else {
    L.push(`@compute @workgroup_size(${WG})`);
    L.push(`fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {`);
    L.push(`  let t = gid.x + gid.y * nwg.x * ${WG}u;`);
  }
  L.push(`  if (t >= p.total) { return; }`);
  L.push(`  let unit = t % p.units;`);
  L.push(`  let split = t / p.units;`);
  L.push(`  let kh = unit % ${KH}u;`);
  L.push(`  let cb = ${sg ? `((unit / ${KH}u) % p.CBW) * 4u + sl` : `(unit / ${KH}u) % p.CBW`};`);
  L.push(`  let obk = unit / (${KH}u * p.CBW);`);
  L.push(`  let OHW = p.OH * p.OW;`);
  L.push(`  let HW = p.H * p.W;`);
  // Channel indices, clamped (duplicates are computed and not stored).
  for (let i = 0; i < TOW; i++) L.push(`  let o${i} = min(obk * ${TOW}u + ${i}u, p.O - 1u);`);
  for (let ci = 0; ci < TCW; ci++) L.push(`  let c${ci} = min(cb * ${TCW}u + ${ci}u, p.C - 1u);`);
  for (let i = 0; i < TOW; i++) for (let ci = 0; ci < TCW; ci++) for (let kw = 0; kw < KW; kw++) L.push(`  var a${i}_${ci}_${kw} = 0.0;`);
  L.push(`  let r0 = split * p.rowsPer;`);
  L.push(`  let r1 = min(r0 + p.rowsPer, p.rows);`);
  L.push(`  for (var r = r0; r < r1; r++) {`);
  L.push(`    let oh = r % p.OH;`);
  L.push(`    let n = r / p.OH;`);
  L.push(`    let ih = i32(oh * ${SH}u + kh * ${DH}u) - p.padT;`);
  L.push(`    if (ih < 0 || ih >= i32(p.H)) { continue; }`);
  L.push(`    let dyr = n * p.O * OHW + oh * p.OW;`);
  for (let i = 0; i < TOW; i++) L.push(`    let dy${i} = dyr + o${i} * OHW;`);
  for (let ci = 0; ci < TCW; ci++) L.push(`    let x${ci}r = (n * p.C + c${ci}) * HW + u32(ih) * p.W;`);
  // One step over `px` pixels of the row starting at `ow` (the main loop: TPW; the tail: 1).
  const body = (px: number, masked: boolean): void => {
    const seg = (px - 1) * SW + (KW - 1) * DW + 1;
    const ind = '      ';
    L.push(`${ind}let cs = i32(ow * ${SW}u) - p.padL;`);
    if (sg && px === 4) {
      for (let i = 0; i < TOW; i++) L.push(`${ind}let y${i} = dy[dy${i} + ow + sl];`);
      for (let i = 0; i < TOW; i++) for (let j = 0; j < px; j++) L.push(`${ind}let g${i}_${j} = subgroupBroadcast(y${i}, ${j}u);`);
    } else {
      for (let i = 0; i < TOW; i++) {
        for (let j = 0; j < px; j++) L.push(`${ind}let g${i}_${j} = dy[dy${i} + ow + ${j}u];`);
      }
    }
    for (let e = 0; e < seg; e++) {
      if (masked) {
        L.push(`${ind}let ok${e} = cs + ${e} >= 0 && cs + ${e} < i32(p.W);`);
        L.push(`${ind}let xo${e} = u32(clamp(cs + ${e}, 0, i32(p.W) - 1));`);
      } else {
        L.push(`${ind}let xo${e} = u32(cs + ${e});`);
      }
    }
    for (let ci = 0; ci < TCW; ci++) {
      for (let e = 0; e < seg; e++) {
        const load = `x[x${ci}r + xo${e}]`;
        L.push(`${ind}let x${ci}_${e} = ${masked ? `select(0.0, ${load}, ok${e})` : load};`);
      }
      for (let i = 0; i < TOW; i++) {
        for (let kw = 0; kw < KW; kw++) {
          for (let j = 0; j < px; j++) {
            const e = j * SW + kw * DW;
            L.push(`${ind}a${i}_${ci}_${kw} = fma(g${i}_${j}, x${ci}_${e}, a${i}_${ci}_${kw});`);
          }
        }
      }
    }
  };
  L.push(`    var ow = 0u;`);
  L.push(`    for (; ow + ${TPW}u <= p.OW; ow += ${TPW}u) {`);
  body(TPW, c.masked);
  L.push(`    }`);
  L.push(`    for (; ow < p.OW; ow++) {`);
  body(1, c.masked);
  L.push(`    }`);
  L.push(`  }`);
  // part[split][o][c][kh][kw]
  L.push(`  let pb = split * p.O * p.C * ${KH * KW}u;`);
  for (let i = 0; i < TOW; i++) {
    for (let ci = 0; ci < TCW; ci++) {
      L.push(`  if (obk * ${TOW}u + ${i}u < p.O && cb * ${TCW}u + ${ci}u < p.C) {`);
      L.push(`    let b = pb + ((o${i} * p.C + c${ci}) * ${KH}u + kh) * ${KW}u;`);
      for (let kw = 0; kw < KW; kw++) L.push(`    part[b + ${kw}u] = a${i}_${ci}_${kw};`);
      L.push(`  }`);
    }
  }
  L.push(`}`);
  return L.join('\n');
}

/** Most partial sums a split reduction may hold (floats): 64 MB. */
const MAX_PARTIAL = 16 * 1024 * 1024;

/**
 * Rows (n·OH + oh) per split: about `splitPixels` output pixels each, at least one row, and no
 * more splits than `len` outputs per split can hold within MAX_PARTIAL.
 */
function splitRows(g: ConvGeometry, tiles: ConvTiles, len: number): { rowsPer: number; splits: number; rows: number } {
  const rows = g.N * g.OH;
  const wanted = Math.max(1, Math.ceil((rows * g.OW) / tiles.splitPixels));
  const splits = Math.max(1, Math.min(wanted, rows, Math.floor(MAX_PARTIAL / Math.max(len, 1))));
  const rowsPer = Math.max(1, Math.ceil(rows / splits));
  return { rowsPer, splits: Math.max(1, Math.ceil(rows / rowsPer)), rows };
}

/** dW = ∂L/∂w: [O, C, KH, KW]. */
export function runConv2dGradWeight(engine: Engine, x: PooledBuffer, dy: PooledBuffer, g: ConvGeometry, tiles = convTiles): PooledBuffer {
  const len = g.O * g.C * g.KH * g.KW;
  if (g.N * g.OH * g.OW === 0 || len === 0) {
    const out = engine.pool.acquire(Math.max(len, 1) * 4);
    if (len > 0) engine.dispatch(kernel('conv2d.zero', () => ZERO_SRC), { out }, { len }, grid(Math.ceil(len / WG)));
    return out;
  }
  const gemm = planWeightGemm(g, engine.adapter.software, tiles.weightGemm);
  if (gemm) return runConv2dGradWeightGemm(engine, x, dy, g, gemm);
  // At most ~192 accumulators (TOW·TCW·KW): wider kernels take fewer input channels.
  const TOW = Math.min(tiles.TOW, g.O);
  const TCW = Math.max(1, Math.min(tiles.TCW, g.C, Math.floor(192 / (TOW * g.KW))));
  const TPW = tiles.TPW;
  const { rowsPer, splits, rows } = splitRows(g, tiles, len);
  const maxNeededCol = (g.OW - 1) * g.strideW + (g.KW - 1) * g.dilationW - g.padLeft;
  // Masks where a read can land in the padding (only pixels < OW are ever visited).
  const masked = g.padLeft > 0 || maxNeededCol > g.W - 1;
  const OBW = Math.ceil(g.O / TOW);
  const CBW = Math.ceil(g.C / TCW);
  // With fewer than 4 channel blocks most lanes of a subgroup would duplicate the last one.
  const sg = tiles.subgroups !== false && engine.subgroups && TPW === 4 && CBW >= 4;
  const cfg: WgtConfig = { KH: g.KH, KW: g.KW, SH: g.strideH, SW: g.strideW, DH: g.dilationH, DW: g.dilationW, masked, TOW, TCW, TPW, sg };
  const name = `conv2d.gradWeight.k${g.KH}x${g.KW}.s${g.strideH}x${g.strideW}.d${g.dilationH}x${g.dilationW}${masked ? '.masked' : ''}.t${TOW}x${TCW}x${TPW}${sg ? '.sg' : ''}`;
  const k = kernel(name, () => wgtSource(cfg));
  const blocks = sg ? Math.ceil(CBW / 4) : CBW;
  const units = OBW * blocks * g.KH;
  const total = units * splits;
  const part = engine.pool.acquire(splits * len * 4);
  const u = { N: g.N, C: g.C, H: g.H, W: g.W, O: g.O, OH: g.OH, OW: g.OW, padT: g.padTop, padL: g.padLeft, OBW, CBW: blocks, units, rowsPer, rows, total };
  if (sg) engine.dispatch(k, { x, dy, part }, u, [...grid(total, engine.limits.maxComputeWorkgroupsPerDimension), 1], convFlops(g));
  else dispatch1d(engine, k, { x, dy, part }, u, total, 1, convFlops(g));
  const out = reduceSplits(engine, part, len, splits);
  engine.pool.release(part);
  return out;
}

const ZERO_SRC = `
struct Params { len: u32, }
@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<uniform> p: Params;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * ${WG}u;
  if (i < p.len) { out[i] = 0.0; }
}`;

const BIAS_SRC = `
struct Params { O: u32, OHW: u32, OW: u32, rowsPer: u32, rows: u32, OH: u32, total: u32, }
@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read_write> part: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * ${WG}u;
  if (t >= p.total) { return; }
  let o = t % p.O;
  let split = t / p.O;
  let r0 = split * p.rowsPer;
  let r1 = min(r0 + p.rowsPer, p.rows);
  var s0 = 0.0; var s1 = 0.0; var s2 = 0.0; var s3 = 0.0;
  for (var r = r0; r < r1; r++) {
    let oh = r % p.OH;
    let n = r / p.OH;
    let b = (n * p.O + o) * p.OHW + oh * p.OW;
    var i = 0u;
    for (; i + 4u <= p.OW; i += 4u) {
      s0 += dy[b + i]; s1 += dy[b + i + 1u]; s2 += dy[b + i + 2u]; s3 += dy[b + i + 3u];
    }
    for (; i < p.OW; i++) { s0 += dy[b + i]; }
  }
  part[split * p.O + o] = (s0 + s1) + (s2 + s3);
}`;

/** db = ∂L/∂bias: [O], the per-channel sums of dy. */
export function runConv2dGradBias(engine: Engine, dy: PooledBuffer, g: ConvGeometry, tiles = convTiles): PooledBuffer {
  const { rowsPer, splits, rows } = splitRows(g, tiles, g.O);
  if (rows * g.OW === 0) {
    const out = engine.pool.acquire(Math.max(g.O, 1) * 4);
    engine.dispatch(kernel('conv2d.zero', () => ZERO_SRC), { out }, { len: g.O }, grid(Math.ceil(g.O / WG)));
    return out;
  }
  const total = splits * g.O;
  const part = engine.pool.acquire(total * 4);
  dispatch1d(
    engine,
    kernel('conv2d.gradBias', () => BIAS_SRC),
    { dy, part },
    { O: g.O, OHW: g.OH * g.OW, OW: g.OW, rowsPer, rows, OH: g.OH, total },
    total,
  );
  const out = reduceSplits(engine, part, g.O, splits);
  engine.pool.release(part);
  return out;
}
