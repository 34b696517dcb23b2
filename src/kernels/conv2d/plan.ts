/**
 * Which register tiles and which weight-gradient formulation the dense convolution runs, per
 * adapter kind and pass. The choices follow the A/B numbers that `npx tsx bench/conv-plans.ts
 * --out` commits to bench/results/conv-plans-<adapter>-<layer>.json (test/conv-plans.test.ts
 * holds the planner to them): llvmpipe vectorizes 8 invocations per SIMD group with LLVM and
 * wants other tiles than SwiftShader's 4-wide Subzero JIT, for which `convTiles` was tuned.
 */
import type { AdapterKind } from '../../gpu/adapter.js';
import { convTiles, roundUp, type ConvGeometry, type ConvTiles } from './geometry.js';
import { planWeightGemm } from './weight-gemm.js';

/** A pass of a dense convolution: forward, input gradient, weight gradient. */
export type ConvPass = 'fwd' | 'dx' | 'dw';

/**
 * The forward / input-gradient tile actually run for an output of width OW and O channels: rows
 * split into equal tiles of at most `tiles.TP` pixels (a row of 27 is one tile, 56 → 28 + 28),
 * and no more channels than O rounded up to 4.
 */
export function forwardTile(OW: number, O: number, tiles: Pick<ConvTiles, 'TP' | 'TO'>): { TP: number; TO: number } {
  const TP = Math.ceil(OW / Math.ceil(OW / tiles.TP));
  const TO = Math.min(tiles.TO, roundUp(Math.max(O, 1), 4));
  return { TP, TO };
}

/**
 * The direct weight-gradient tile actually run: at most ~192 accumulators (TOW·TCW·KW, times KH
 * with `allKh`), so wider kernels take fewer input channels.
 */
export function weightTile(g: ConvGeometry, tiles: Pick<ConvTiles, 'TOW' | 'TCW' | 'TPW' | 'allKh'>): { TOW: number; TCW: number; TPW: number; allKh: boolean } {
  const allKh = Boolean(tiles.allKh) && g.KH > 1;
  const TOW = Math.min(tiles.TOW, g.O);
  const TCW = Math.max(1, Math.min(tiles.TCW, g.C, Math.floor(192 / (TOW * g.KW * (allKh ? g.KH : 1)))));
  return { TOW, TCW, TPW: tiles.TPW, allKh };
}

/**
 * The layer shapes the committed numbers cover, told apart by what their kernels see: 'thin', a
 * first layer with few input taps (C·KH·KW < 32: one input channel; its input gradient has one
 * output channel); 'wide', rows of at least 16 output pixels; 'narrow', shorter rows.
 */
export type ConvShapeClass = 'thin' | 'wide' | 'narrow';

/** The shape class of a geometry (see ConvShapeClass). */
export function convShapeClass(g: ConvGeometry): ConvShapeClass {
  if (g.C * g.KH * g.KW < 32) return 'thin';
  return g.OW >= 16 ? 'wide' : 'narrow';
}

type Choice = Partial<ConvTiles>;

/**
 * Per adapter kind, pass and shape class: the candidate (convCandidates) that ran fastest in the
 * committed numbers (bench/results/conv-plans-<kind>-<layer>.json; conv1 is 'thin', the
 * teacher's conv2 'wide', mnist-cnn-small's conv2 'narrow').
 */
const MEASURED: Partial<Record<AdapterKind, Record<ConvPass, Record<ConvShapeClass, Choice>>>> = {
  llvmpipe: {
    fwd: { thin: { TP: 28, TO: 16 }, wide: { TP: 28, TO: 16 }, narrow: { TP: 28, TO: 8 } },
    dx: { thin: { TP: 16 }, wide: { TP: 28, TO: 16 }, narrow: { TP: 28, TO: 8 } },
    dw: { thin: { weightGemm: false, allKh: true }, wide: { weightGemm: false, allKh: true }, narrow: { weightGemm: false, TCW: 4 } },
  },
  swiftshader: {
    fwd: { thin: { TP: 16 }, wide: {}, narrow: { TO: 8 } },
    dx: { thin: {}, wide: {}, narrow: {} },
    dw: { thin: { allKh: true }, wide: {}, narrow: {} },
  },
};

/**
 * The tiles for one pass of a dense convolution on an adapter of this kind: for llvmpipe and
 * SwiftShader, what bench/conv-plans.ts measured fastest for the layer's shape class (an empty
 * choice: `convTiles` was fastest); elsewhere
 * (GPUs, other software adapters) `convTiles` and the weight gradient's default formulation
 * (planWeightGemm).
 */
export function planConvTiles(kind: AdapterKind, pass: ConvPass, g: ConvGeometry): ConvTiles {
  const choice = MEASURED[kind]?.[pass][convShapeClass(g)];
  return choice ? { ...convTiles, ...choice } : convTiles;
}

/**
 * The plans bench/conv-plans.ts measures for a pass (the tiles the planner may pick from):
 * forward and input gradient, the direct kernel's TP × TO tiles; weight gradient, the direct
 * kernel's TOW × TCW × TPW tiles (one kernel row or all per invocation) and the im2col + matmul
 * formulation.
 */
export function convCandidates(pass: ConvPass): ConvTiles[] {
  const out: ConvTiles[] = [];
  if (pass === 'dw') {
    for (const [TOW, TCW] of [[8, 8], [4, 8], [8, 4], [4, 4], [16, 4]]) {
      for (const TPW of [4, 8]) out.push({ ...convTiles, TOW, TCW, TPW, weightGemm: false });
    }
    for (const [TOW, TPW] of [[8, 4], [16, 4], [8, 8]]) out.push({ ...convTiles, TOW, TCW: 8, TPW, allKh: true, weightGemm: false });
    out.push({ ...convTiles, weightGemm: true });
  } else {
    for (const TP of [28, 16, 8, 4]) for (const TO of [16, 8, 4]) out.push({ ...convTiles, TP, TO });
  }
  return out;
}

/** What a plan runs for one pass: the direct kernel's effective tile, or the im2col + matmul formulation. */
export type ConvPlanKey =
  | { formulation: 'direct'; TP: number; TO: number }
  | { formulation: 'direct'; TOW: number; TCW: number; TPW: number; allKh?: true }
  | { formulation: 'im2col-gemm' };

/**
 * What `tiles` runs for this pass and geometry (tiles clamped to the layer's channels; for the
 * weight gradient, whether planWeightGemm takes the im2col + matmul path), so that plans that
 * run the same kernel compare equal.
 */
export function convPlanKey(pass: ConvPass, g: ConvGeometry, t: ConvTiles, software = true): ConvPlanKey {
  if (pass === 'fwd') return { formulation: 'direct', ...forwardTile(g.OW, g.O, t) };
  if (pass === 'dx') return { formulation: 'direct', ...forwardTile(g.W, g.C, t) };
  if (planWeightGemm(g, software, t.weightGemm)) return { formulation: 'im2col-gemm' };
  const { TOW, TCW, TPW, allKh } = weightTile(g, t);
  return allKh ? { formulation: 'direct', TOW, TCW, TPW, allKh } : { formulation: 'direct', TOW, TCW, TPW };
}
