/**
 * Gradient of a dense convolution w.r.t. its weight, dW = ∂L/∂w: [O, C, KH, KW].
 *
 * Where the plan says so (plan.ts: on SwiftShader, for layers wide enough and whose im2col buffer
 * fits; not on llvmpipe, where this file's kernel measured faster), an explicit im2col and a
 * batched matmul (weight-gemm.ts; `npx tsx bench/conv-plans.ts` compares the two). Otherwise
 * this file's kernel: GEMM with M = O, N = C·KH·KW, K = N·OH·OW, split over K (rows n·OH + oh,
 * about `splitPixels` pixels per split, splits.ts) into partial sums, then summed. One invocation
 * owns TOW output channels × TCW input channels × one kh × all KW taps (default 8 × 8 × 3 = 192
 * accumulators); per TPW = 4 pixels of a row it loads TOW·TPW values of dy and TCW row segments
 * of x (see dense.ts for why the tiles are large on CPU adapters). With `allKh` it owns every kh
 * (fewer input channels): each dy value loaded feeds KH times the FMAs, which pays where dy loads
 * dominate (one input channel).
 *
 * Subgroups (when the device has them): subgroups of 4 invocations that differ only in the
 * input-channel block share the dy loads through subgroupBroadcast; same arithmetic, same order,
 * bit-identical results (tested).
 */
import type { PooledBuffer } from '../../gpu/buffer-pool.js';
import { grid, type Engine } from '../../gpu/engine.js';
import { bindings, digit, dispatch1d, invocationIndex, kernel, main1d } from '../../gpu/kernel-registry.js';
import { convFlops, windowOf, type ConvGeometry, type ConvTiles, type Window } from './geometry.js';
import { planConvTiles, weightTile } from './plan.js';
import { reduceSplits, splitRows, zeros } from './splits.js';
import { planWeightGemm, runConv2dGradWeightGemm } from './weight-gemm.js';
import { clamped, inside } from './wgsl.js';

interface WgtConfig extends Window {
  masked: boolean;
  /** allKh: some kernel row of a valid output can leave the input (padding): rows are masked. */
  rowMasked: boolean;
  /**
   * One invocation owns every kernel row (KH·KW taps) instead of one: each dy value it loads
   * feeds KH times as many FMAs (the layers with one input channel, where dy loads dominate).
   */
  allKh: boolean;
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
  const { KH, KW, SW, SH, DH, DW, TOW, TCW, TPW, sg, allKh } = c;
  if (sg && TPW !== 4) throw new Error('kdgpu internal error: the subgroup weight-gradient kernel needs TPW = 4');
  if (sg && allKh) throw new Error('kdgpu internal error: the all-rows weight-gradient kernel has no subgroup variant');
  // Kernel rows per invocation (KHI) and invocations per output/input channel block (KHU).
  const KHI = allKh ? KH : 1;
  const KHU = KH / KHI;
  const L: string[] = [];
  if (sg) L.push('enable subgroups;');
  L.push(`struct Params { N: u32, C: u32, H: u32, W: u32, O: u32, OH: u32, OW: u32, padT: i32, padL: i32,
  OBW: u32, CBW: u32, units: u32, rowsPer: u32, rows: u32, total: u32, }`);
  L.push(bindings(['x', 'read', 'array<f32>'], ['dy', 'read', 'array<f32>'], ['part', 'read_write', 'array<f32>']));
  if (sg) {
    // units and total count subgroups here; p.CBW is the number of groups of 4 channel blocks.
    L.push(`@compute @workgroup_size(4)`);
    L.push(`fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(subgroup_invocation_id) sl: u32) {`);
    L.push(`  let t = wid.x + wid.y * nwg.x;`);
  } else {
    L.push(main1d());
    L.push(`  ${invocationIndex('t')}`);
  }
  L.push(`  if (t >= p.total) { return; }`);
  L.push(digit('t', 'p.units', 'unit', 'split'));
  L.push(`  let kh = (unit % ${KHU}u) * ${KHI}u;`);
  L.push(`  let cb = ${sg ? `((unit / ${KHU}u) % p.CBW) * 4u + sl` : `(unit / ${KHU}u) % p.CBW`};`);
  L.push(`  let obk = unit / (${KHU}u * p.CBW);`);
  L.push(`  let OHW = p.OH * p.OW;`);
  L.push(`  let HW = p.H * p.W;`);
  // Channel indices, clamped (duplicates are computed and not stored).
  for (let i = 0; i < TOW; i++) L.push(`  let o${i} = min(obk * ${TOW}u + ${i}u, p.O - 1u);`);
  for (let ci = 0; ci < TCW; ci++) L.push(`  let c${ci} = min(cb * ${TCW}u + ${ci}u, p.C - 1u);`);
  const acc = (i: number, ci: number, kk: number, kw: number) => `a${i}_${ci}_${kk}_${kw}`;
  for (let i = 0; i < TOW; i++) for (let ci = 0; ci < TCW; ci++) for (let kk = 0; kk < KHI; kk++) for (let kw = 0; kw < KW; kw++) L.push(`  var ${acc(i, ci, kk, kw)} = 0.0;`);
  L.push(`  let r0 = split * p.rowsPer;`);
  L.push(`  let r1 = min(r0 + p.rowsPer, p.rows);`);
  L.push(`  for (var r = r0; r < r1; r++) {`);
  L.push(`    let oh = r % p.OH;`);
  L.push(`    let n = r / p.OH;`);
  if (allKh) {
    // Rows outside the input (padding) read a clamped row times a 0/1 mask.
    for (let kk = 0; kk < KHI; kk++) {
      L.push(`    let ih${kk} = i32(oh * ${SH}u + ${kk * DH}u) - p.padT;`);
      if (c.rowMasked) L.push(`    let rm${kk} = select(0.0, 1.0, ${inside(`ih${kk}`, 'i32(p.H)')});`);
      for (let ci = 0; ci < TCW; ci++) L.push(`    let x${ci}r${kk} = (n * p.C + c${ci}) * HW + ${clamped(`ih${kk}`, 'i32(p.H)')} * p.W;`);
    }
  } else {
    L.push(`    let ih = i32(oh * ${SH}u + kh * ${DH}u) - p.padT;`);
    L.push(`    if (ih < 0 || ih >= i32(p.H)) { continue; }`);
    for (let ci = 0; ci < TCW; ci++) L.push(`    let x${ci}r0 = (n * p.C + c${ci}) * HW + u32(ih) * p.W;`);
  }
  L.push(`    let dyr = n * p.O * OHW + oh * p.OW;`);
  for (let i = 0; i < TOW; i++) L.push(`    let dy${i} = dyr + o${i} * OHW;`);
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
        L.push(`${ind}let ok${e} = ${inside(`cs + ${e}`, 'i32(p.W)')};`);
        L.push(`${ind}let xo${e} = ${clamped(`cs + ${e}`, 'i32(p.W)')};`);
      } else {
        L.push(`${ind}let xo${e} = u32(cs + ${e});`);
      }
    }
    for (let kk = 0; kk < KHI; kk++) {
      for (let ci = 0; ci < TCW; ci++) {
        const v = `x${ci}_${kk}_`;
        for (let e = 0; e < seg; e++) {
          let load = `x[x${ci}r${kk} + xo${e}]`;
          if (masked) load = `select(0.0, ${load}, ok${e})`;
          if (allKh && c.rowMasked) load = `${load} * rm${kk}`;
          L.push(`${ind}let ${v}${e} = ${load};`);
        }
        for (let i = 0; i < TOW; i++) {
          for (let kw = 0; kw < KW; kw++) {
            for (let j = 0; j < px; j++) {
              const e = j * SW + kw * DW;
              L.push(`${ind}${acc(i, ci, kk, kw)} = fma(g${i}_${j}, ${v}${e}, ${acc(i, ci, kk, kw)});`);
            }
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
  L.push(`    }`, `  }`);
  // part[split][o][c][kh][kw]
  L.push(`  let pb = split * p.O * p.C * ${KH * KW}u;`);
  for (let i = 0; i < TOW; i++) {
    for (let ci = 0; ci < TCW; ci++) {
      L.push(`  if (obk * ${TOW}u + ${i}u < p.O && cb * ${TCW}u + ${ci}u < p.C) {`);
      L.push(`    let b = pb + ((o${i} * p.C + c${ci}) * ${KH}u + kh) * ${KW}u;`);
      for (let kk = 0; kk < KHI; kk++) for (let kw = 0; kw < KW; kw++) L.push(`    part[b + ${kk * KW + kw}u] = ${acc(i, ci, kk, kw)};`);
      L.push(`  }`);
    }
  }
  L.push(`}`);
  return L.join('\n');
}

/** dW = ∂L/∂w: [O, C, KH, KW]. */
export function runConv2dGradWeight(engine: Engine, x: PooledBuffer, dy: PooledBuffer, g: ConvGeometry, tiles: ConvTiles = planConvTiles(engine.adapter.kind, 'dw', g)): PooledBuffer {
  const len = g.O * g.C * g.KH * g.KW;
  if (g.N * g.OH * g.OW === 0 || len === 0) return zeros(engine, len);
  const gemm = planWeightGemm(g, engine.adapter.software, tiles.weightGemm);
  if (gemm) return runConv2dGradWeightGemm(engine, x, dy, g, gemm);
  const { TOW, TCW, TPW, allKh } = weightTile(g, tiles);
  const { rowsPer, splits, rows } = splitRows(g, tiles.splitPixels, len);
  const maxNeededCol = (g.OW - 1) * g.strideW + (g.KW - 1) * g.dilationW - g.padLeft;
  // Masks where a read can land in the padding (only pixels < OW are ever visited).
  const masked = g.padLeft > 0 || maxNeededCol > g.W - 1;
  const rowMasked = g.padTop > 0 || (g.OH - 1) * g.strideH + (g.KH - 1) * g.dilationH - g.padTop > g.H - 1;
  const OBW = Math.ceil(g.O / TOW);
  const CBW = Math.ceil(g.C / TCW);
  // With fewer than 4 channel blocks most lanes of a subgroup would duplicate the last one.
  const sg = tiles.subgroups !== false && engine.subgroups && TPW === 4 && CBW >= 4 && !allKh;
  const cfg: WgtConfig = { ...windowOf(g), masked, rowMasked, allKh, TOW, TCW, TPW, sg };
  const name = `conv2d.gradWeight.k${g.KH}x${g.KW}.s${g.strideH}x${g.strideW}.d${g.dilationH}x${g.dilationW}${masked ? '.masked' : ''}${allKh ? `.rows${rowMasked ? 'Masked' : ''}` : ''}.t${TOW}x${TCW}x${TPW}${sg ? '.sg' : ''}`;
  const k = kernel(name, () => wgtSource(cfg));
  const blocks = sg ? Math.ceil(CBW / 4) : CBW;
  const units = OBW * blocks * (allKh ? 1 : g.KH);
  const total = units * splits;
  const part = engine.pool.acquire(splits * len * 4);
  const u = { N: g.N, C: g.C, H: g.H, W: g.W, O: g.O, OH: g.OH, OW: g.OW, padT: g.padTop, padL: g.padLeft, OBW, CBW: blocks, units, rowsPer, rows, total };
  if (sg) engine.dispatch(k, { x, dy, part }, u, [...grid(total, engine.limits.maxComputeWorkgroupsPerDimension), 1], convFlops(g));
  else dispatch1d(engine, k, { x, dy, part }, u, total, 1, convFlops(g));
  const out = reduceSplits(engine, part, len, splits);
  engine.pool.release(part);
  return out;
}
