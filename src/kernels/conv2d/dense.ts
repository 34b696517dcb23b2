/**
 * Dense 2-D convolution (implicit GEMM; no im2col buffer): forward and gradient w.r.t. the input.
 * The weight gradient is in weight-grad.ts (or weight-gemm.ts), the bias gradient in bias-grad.ts.
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
 * pixels: for 3×3 on a row of 27, 29 + 48 scalar loads feed 1296 FMAs. Which tile runs on which
 * adapter kind and layer shape: plan.ts (from bench/conv-plans.ts's numbers).
 * Kernels are generated per geometry (kernel size, stride, dilation and tile are compile-time
 * constants, tap loops unrolled); sizes and padding are uniforms. Where no read for a valid
 * output can leave the input the kernel has no masks; otherwise each segment value is
 * multiplied by a 0/1 mask computed once per (invocation, kh). Bias and activation are applied in
 * the epilogue (epilogue.ts).
 *
 * Input gradient: the same kernel run as the transposed convolution: dy is the input (channels
 * O), the flipped, channel-swapped weight the operand, padding (KH−1)·DH − padT, and for stride
 * s > 1 the input is read "dilated" by s (virtual zeros between dy's pixels, handled by the
 * masks; that wastes s² of the work, acceptable for the rarer strided layers).
 *
 * Subgroups (when the device has them): the forward/input-gradient kernel's weight vec4s, the
 * same for a whole workgroup, are loaded a quarter per invocation and handed out with
 * subgroupBroadcast. Same arithmetic, same order: results are bit-identical to the plain kernels
 * (tested), with fewer emulated loads on SwiftShader.
 */
import type { PooledBuffer } from '../../gpu/buffer-pool.js';
import type { Engine } from '../../gpu/engine.js';
import { bindings, dispatch1d, invocationIndex, kernel, main1d, type StorageBinding, guardedIndex, head1d, digit } from '../../gpu/kernel-registry.js';
import type { Activation } from '../elementwise-ops.js';
import { epilogue, epilogueName } from '../epilogue.js';
import { convFlops, roundUp, type ConvEpilogue, type ConvGeometry, type ConvTiles, type Window } from './geometry.js';
import { forwardTile, planConvTiles } from './plan.js';
import { clamped, maskLine } from './wgsl.js';

// ---- weight packing ---------------------------------------------------------------------------

const PACK_SRC = () => `
struct Params { A: u32, Nr: u32, Npad: u32, KH: u32, KW: u32, sN: u32, sA: u32, flip: u32, total: u32, }
${head1d('i', 'p.total', ['w', 'read', 'array<f32>'], ['packed', 'read_write', 'array<f32>'])}
${digit('i', 'p.Npad', 'n', 'k')}
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
  const k = kernel('conv2d.packWeight', PACK_SRC);
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

interface FwdConfig extends Window {
  /** Input dilation (virtual zeros between input pixels), for the transposed convolution. */
  IDH: number;
  IDW: number;
  masked: boolean;
  TP: number;
  TO: number;
  bias: boolean;
  activation: Activation | undefined;
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
  const bias: StorageBinding | null = c.bias ? ['bias', 'read', 'array<f32>'] : null;
  L.push(bindings(['x', 'read', 'array<f32>'], ['w', 'read', 'array<vec4<f32>>'], bias, ['y', 'read_write', 'array<f32>']));
  L.push(main1d(sg ? ', @builtin(subgroup_invocation_id) sl: u32' : ''));
  if (sg) {
    L.push(`  ${invocationIndex('tRaw')}`);
    L.push(`  let live = tRaw < p.tiles;`);
    L.push(`  let t = min(tRaw, p.tiles - 1u);`);
  } else {
    L.push(guardedIndex('t', 'p.tiles'));
  }
  L.push(`  let ob = gid.z;`);
  L.push(digit('t', 'p.OWT', 'owt', 'r'));
  L.push(digit('r', 'p.OH', 'oh', 'n'));
  L.push(`  let ow0 = owt * ${TP}u;`);
  L.push(`  let HW = p.H * p.W;`);
  L.push(`  let xn = n * p.xN;`);
  // Column offsets (and masks) of the row segment: fixed for the whole invocation.
  L.push(`  let c0 = i32(ow0 * ${SW}u) - p.padL;`);
  for (let e = 0; e < SEG; e++) {
    if (masked) {
      const div = IDW > 1 ? ` && ((c0 + ${e}) % ${IDW}) == 0` : '';
      L.push(`  ${maskLine(`cm${e}`, `c0 + ${e}`, 'p.WV', div)}`);
      L.push(`  let co${e} = ${clamped(`c0 + ${e}`, 'p.WV')}${IDW > 1 ? ` / ${IDW}u` : ''};`);
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
      L.push(`  ${maskLine(`rm${kh}`, `rv${kh}`, 'p.HV', div)}`);
      L.push(`  let ro${kh} = (${clamped(`rv${kh}`, 'p.HV')}${IDH > 1 ? ` / ${IDH}u` : ''}) * p.W;`);
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
  // Epilogue: bias, activation, stores of the valid pixels and channels.
  L.push(`  let yb = n * p.yN + oh * p.OW + ow0;`);
  L.push(`  let OHW = p.OH * p.OW;`);
  // Each channel's bias once for all TP pixels (clamped like the channels; past O it is not stored).
  if (c.bias) for (let o = 0; o < TO; o++) L.push(`  let bias${o} = bias[min(ob * ${TO}u + ${o}u, p.O - 1u)];`);
  for (let j = 0; j < TP; j++) {
    L.push(`  if (${sg ? 'live && ' : ''}ow0 + ${j}u < p.OW) {`);
    for (let q = 0; q < Q; q++) {
      for (let i = 0; i < 4; i++) {
        const o = `ob * ${TO}u + ${q * 4 + i}u`;
        const v = epilogue(`a${j}_${q}[${i}]`, c.bias ? `bias${q * 4 + i}` : null, c.activation);
        L.push(`    if (${o} < p.O) { y[yb + (${o}) * OHW + ${j}u] = ${v}; }`);
      }
    }
    L.push(`  }`);
  }
  L.push(`}`);
  return L.join('\n');
}

/** Input as read: [N, C, H, W] real; read with input dilation ID (virtual size (H−1)·ID + 1). */
interface FwdRun extends Window {
  C: number;
  H: number;
  W: number;
  IDH: number;
  IDW: number;
  O: number;
  OH: number;
  OW: number;
  N: number;
  padT: number;
  padL: number;
}

function runFwd(
  engine: Engine,
  x: PooledBuffer,
  packed: PooledBuffer,
  r: FwdRun,
  npad: number,
  epi: ConvEpilogue,
  tiles: ConvTiles,
  flops: number,
): PooledBuffer {
  const { TP, TO } = forwardTile(r.OW, r.O, tiles);
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
    bias: Boolean(epi.bias),
    activation: epi.activation,
    sg: tiles.subgroups !== false && engine.subgroups,
  };
  const name = `conv2d.fwd.k${r.KH}x${r.KW}.s${r.SH}x${r.SW}.d${r.DH}x${r.DW}${r.IDH > 1 || r.IDW > 1 ? `.id${r.IDH}x${r.IDW}` : ''}${masked ? '.masked' : ''}.t${TP}x${TO}${cfg.sg ? '.sg' : ''}${epilogueName(Boolean(epi.bias), epi.activation)}`;
  const k = kernel(name, () => fwdSource(cfg));
  const OWT = Math.ceil(r.OW / TP);
  const count = r.N * r.OH * OWT;
  const buffers: Record<string, PooledBuffer> = { x, w: packed, y };
  if (epi.bias) buffers.bias = epi.bias;
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

/** y = conv(x, w) (+ bias) (then the activation): [N, O, OH, OW]. */
export function runConv2d(
  engine: Engine,
  x: PooledBuffer,
  w: PooledBuffer,
  g: ConvGeometry,
  epi: ConvEpilogue = {},
  tiles: ConvTiles = planConvTiles(engine.adapter.kind, 'fwd', g),
): PooledBuffer {
  const npad = roundUp(g.O, forwardTile(g.OW, g.O, tiles).TO);
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
    epi,
    tiles,
    convFlops(g),
  );
  engine.pool.release(packed);
  return y;
}

/** dx = ∂L/∂x given dy = ∂L/∂y: [N, C, H, W] (the transposed convolution of dy). */
export function runConv2dGradInput(engine: Engine, dy: PooledBuffer, w: PooledBuffer, g: ConvGeometry, tiles: ConvTiles = planConvTiles(engine.adapter.kind, 'dx', g)): PooledBuffer {
  const npad = roundUp(g.C, forwardTile(g.W, g.C, tiles).TO);
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
    {},
    tiles,
    convFlops(g),
  );
  engine.pool.release(packed);
  return dx;
}
