/**
 * Grouped 2-D convolution (PyTorch's `groups`; depthwise is G = C): forward with a fused
 * epilogue (bias, activation), and gradient w.r.t. the input. The weight gradient is in
 * grouped-weight-grad.ts; the bias gradient does not depend on the groups (bias-grad.ts).
 *
 * Layouts: x, y, dy, dx NCHW contiguous f32; weight [O, C/G, KH, KW] as PyTorch stores it. With
 * G groups, Cg = C/G and Og = O/G, output channel o reads input channels g·Cg … g·Cg + Cg − 1 of
 * its group g = floor(o / Og). Depthwise (G = C, Cg = 1) is the case tuned for.
 *
 * Why the tiling (see dense.ts's header: on SwiftShader a load whose address differs per
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
 * access). The block size, and the vec4 loads and stores it does without, were chosen by
 * `npx tsx bench/depthwise.ts` on SwiftShader (larger blocks compile much longer).
 *
 * Input gradient: the transposed convolution of dy (O channels in G groups of Og) with the weight
 * repacked per call to [C, Og, KH, KW], taps flipped. For stride s it runs per phase (s_H·s_W
 * dispatches of the same kernel): the dx pixels ph, ph + s, ph + 2s, … of a row are reached only
 * by the flipped taps k with (ph + k·D − P) divisible by s (P = (K−1)·D − pad), from consecutive
 * dy pixels — a stride-1 convolution over dy with those taps, stored every s-th pixel. No work is
 * spent on the zeros of a "dilated" dy (reading it that way was several times slower on
 * MobileNetV2's first stride-2 layer: `npx tsx bench/depthwise.ts`).
 */
import type { PooledBuffer } from '../../gpu/buffer-pool.js';
import type { Engine } from '../../gpu/engine.js';
import { bindings, digit, dispatch1d, kernel, main1d, type StorageBinding, guardedIndex, head1d } from '../../gpu/kernel-registry.js';
import type { Activation } from '../elementwise-ops.js';
import { epilogue, epilogueName } from '../epilogue.js';
import { evenTile, groupedConvFlops, groupedConvTiles, type ConvEpilogue, type GroupedConvGeometry, type GroupedConvTiles } from './geometry.js';
import { clamped, maskLine } from './wgsl.js';

// ---- forward (and transposed) convolution ------------------------------------------------------

/** One kernel tap along an axis: its index into the weight and its input offset. */
interface Tap {
  k: number;
  off: number;
}

/** The taps the forward kernel applies and its strides (the taps carry the dilation). */
interface TapWindow {
  /** Kernel size of the weight's layout [groups·Og, Cg, KH, KW]. */
  KH: number;
  KW: number;
  rowTaps: Tap[];
  colTaps: Tap[];
  SH: number;
  SW: number;
}

/**
 * What one dispatch of the forward kernel computes, per axis: output o (0 ≤ o < OH) reads input
 * positions o·S − pad + tap.off with weight tap tap.k, and is stored at position o·oS + oOff of
 * an output plane of OHs × OWs (so a phase of the input gradient can fill every SH-th row).
 */
interface FwdRun extends TapWindow {
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
  padT: number;
  padL: number;
  OHs: number;
  OWs: number;
  oSH: number;
  oSW: number;
  oOffH: number;
  oOffW: number;
}

interface FwdConfig extends TapWindow {
  masked: boolean;
  TR: number;
  TP: number;
  TO: number;
  bias: boolean;
  activation: Activation | undefined;
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
  const bias: StorageBinding | null = c.bias ? ['bias', 'read', 'array<f32>'] : null;
  L.push(bindings(['x', 'read', 'array<f32>'], ['w', 'read', 'array<f32>'], bias, ['y', 'read_write', 'array<f32>']));
  L.push(main1d());
  L.push(guardedIndex('t', 'p.tiles'));
  // Neighbouring invocations take neighbouring blocks of the same channels (shared weights).
  L.push(digit('t', 'p.OWT', 'owt', 't1'));
  L.push(digit('t1', 'p.OHT', 'oht', 't2'));
  L.push(digit('t2', 'p.blocks', 'ob', 'n'));
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
      L.push(`  ${maskLine(`cm${e}`, `c0 + ${e}`, 'i32(p.W)')}`);
      L.push(`  let co${e} = ${clamped(`c0 + ${e}`, 'i32(p.W)')};`);
    } else {
      L.push(`  let co${e} = u32(c0 + ${e});`);
    }
  }
  L.push(`  let r0 = i32(oh0 * ${SH}u) - p.padT;`);
  for (const i of rows) {
    if (masked) {
      L.push(`  ${maskLine(`rm${i}`, `r0 + ${i}`, 'i32(p.H)')}`);
      L.push(`  let ro${i} = ${clamped(`r0 + ${i}`, 'i32(p.H)')} * p.W;`);
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
        const store = `y[yb${j} + yc] = ${epilogue(`a${r}_${q}_${j}`, c.bias ? `b${j}` : null, c.activation)};`;
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
  epi: ConvEpilogue,
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
    `${masked ? '.masked' : ''}.t${TR}x${TP}x${TO}${epilogueName(Boolean(epi.bias), epi.activation)}`;
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
    1,
    flops,
  );
}

/** y = conv(x, w) (+ bias) (then ReLU or ReLU6): [N, O, OH, OW]. */
export function runGroupedConv2d(
  engine: Engine,
  x: PooledBuffer,
  w: PooledBuffer,
  g: GroupedConvGeometry,
  epi: ConvEpilogue = {},
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
      ...{ N: g.N, Cg: g.C / g.groups, H: g.H, W: g.W, groups: g.groups, Og: g.O / g.groups, OH: g.OH, OW: g.OW },
      ...{ KH: g.KH, KW: g.KW, rowTaps: axis(g.KH, g.dilationH), colTaps: axis(g.KW, g.dilationW) },
      ...{ SH: g.strideH, SW: g.strideW, padT: g.padTop, padL: g.padLeft },
      // stored densely
      ...{ OHs: g.OH, OWs: g.OW, oSH: 1, oSW: 1, oOffH: 0, oOffW: 0 },
    },
    epi,
    tiles,
    groupedConvFlops(g),
  );
  return y;
}

// ---- input gradient -----------------------------------------------------------------------------

const PACK_SRC = () => `
struct Params { Cg: u32, Og: u32, KH: u32, KW: u32, total: u32, }
${head1d('i', 'p.total', ['w', 'read', 'array<f32>'], ['packed', 'read_write', 'array<f32>'])}
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
  dispatch1d(engine, kernel('conv2d.grouped.packTransposed', PACK_SRC), { w, packed: out }, { Cg, Og, KH: g.KH, KW: g.KW, total }, total);
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
          ...{ N: g.N, Cg: g.O / g.groups, H: g.OH, W: g.OW, groups: g.groups, Og: g.C / g.groups, OH: rows.count, OW: cols.count },
          ...{ KH: g.KH, KW: g.KW, rowTaps: rows.taps, colTaps: cols.taps, SH: 1, SW: 1, padT: rows.pad, padL: cols.pad },
          // every stride-th row and column of dx, from (ph, pw)
          ...{ OHs: g.H, OWs: g.W, oSH: g.strideH, oSW: g.strideW, oOffH: ph, oOffW: pw },
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
