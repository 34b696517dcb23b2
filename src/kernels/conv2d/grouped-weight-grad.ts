/**
 * Gradient of a grouped convolution w.r.t. its weight (see grouped.ts for the layouts and the
 * tiling's reasons).
 *
 * dW[o, c, kh, kw] = Σ over n, oh, ow of dy[n, o, oh, ow]·x[n, g·Cg + c, …],
 * split over rows n·OH + oh (about `splitPixels` output pixels per split) into partial sums —
 * parallelism for layers with few weights and short f32 sums — then summed over the splits by
 * the reduction kernel. One invocation owns TOW output channels × TCW input channels of one group
 * × all KH·KW taps; per step of TPW pixels of a row it loads TOW·TPW values of dy and, for each
 * kh, TCW row segments of x (masked to 0 outside the input; branch-free, as branches around the
 * accumulator updates made compile times explode). TPW divides the row into equal steps; where
 * it cannot, dy is masked past the row end.
 */
import type { PooledBuffer } from '../../gpu/buffer-pool.js';
import type { Engine } from '../../gpu/engine.js';
import { bindings, digit, dispatch1d, kernel, main1d, guardedIndex } from '../../gpu/kernel-registry.js';
import { evenTile, groupedConvFlops, groupedConvTiles, windowOf, type GroupedConvGeometry, type Window } from './geometry.js';
import { reduceSplits, splitRows, zeros } from './splits.js';
import { clamped, maskLine } from './wgsl.js';

interface WgtConfig extends Window {
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
  L.push(bindings(['x', 'read', 'array<f32>'], ['dy', 'read', 'array<f32>'], ['part', 'read_write', 'array<f32>']));
  L.push(main1d());
  L.push(guardedIndex('t', 'p.total'));
  L.push(digit('t', 'p.units', 'unit', 'split'));
  L.push(digit('unit', 'p.CBW', 'cbw', 'u1'));
  L.push(digit('u1', 'p.OBW', 'obw', 'grp'));
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
    if (c.rowMasked) L.push(`    ${maskLine(`rm${kh}`, `ih${kh}`, 'i32(p.H)')}`);
    for (let ci = 0; ci < TCW; ci++) {
      L.push(`    let x${ci}r${kh} = (n * p.C + grp * p.Cg + cl${ci}) * HW + ${clamped(`ih${kh}`, 'i32(p.H)')} * p.W;`);
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
      L.push(`${ind}${maskLine(`cm${e}`, `cs + ${e}`, 'i32(p.W)')}`);
      L.push(`${ind}let xo${e} = ${clamped(`cs + ${e}`, 'i32(p.W)')};`);
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
  L.push(`    }`, `  }`);
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

/** dW = ∂L/∂w: [O, C/groups, KH, KW]. */
export function runGroupedConv2dGradWeight(engine: Engine, x: PooledBuffer, dy: PooledBuffer, g: GroupedConvGeometry, tiles = groupedConvTiles): PooledBuffer {
  const Cg = g.C / g.groups;
  const Og = g.O / g.groups;
  const len = g.O * Cg * g.KH * g.KW;
  if (g.N * g.OH * g.OW === 0 || len === 0) return zeros(engine, len);
  // At most maxAccW accumulators (TOW·TCW·KH·KW) where the kernel allows.
  const taps2 = g.KH * g.KW;
  const TOW = evenTile(Og, Math.max(1, Math.min(tiles.TOW, Math.floor(tiles.maxAccW / taps2))));
  const TCW = evenTile(Cg, Math.max(1, Math.min(tiles.TCW, Math.floor(tiles.maxAccW / (TOW * taps2)))));
  let TPW = Math.max(1, Math.min(tiles.TPW, Math.floor(tiles.maxUnrolledW / (TOW * TCW * taps2))));
  const loads = (px: number) => TOW * px + g.KH * TCW * ((px - 1) * g.strideW + (g.KW - 1) * g.dilationW + 1);
  while (TPW > 1 && loads(TPW) > tiles.maxLoadsW) TPW--;
  TPW = evenTile(g.OW, TPW);
  const dyMasked = g.OW % TPW !== 0;
  const { rowsPer, splits, rows } = splitRows(g, tiles.splitPixels, len);
  const maxCol = (g.OW - 1) * g.strideW + (g.KW - 1) * g.dilationW - g.padLeft;
  // Column masks where a read for a valid pixel can land in the padding, or past the row end
  // for the pixels of a masked step.
  const masked = g.padLeft > 0 || maxCol > g.W - 1 || dyMasked;
  const maxRow = (g.OH - 1) * g.strideH + (g.KH - 1) * g.dilationH - g.padTop;
  const rowMasked = g.padTop > 0 || maxRow > g.H - 1;
  const cfg: WgtConfig = { ...windowOf(g), masked, rowMasked, dyMasked, TOW, TCW, TPW };
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
    1,
    groupedConvFlops(g),
  );
  if (splits === 1) return part;
  const out = reduceSplits(engine, part, len, splits);
  engine.pool.release(part);
  return out;
}
