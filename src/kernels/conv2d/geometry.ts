/** The geometry of a convolution, the register tiles its kernels use, and its FLOPs. */
import type { PooledBuffer } from '../../gpu/buffer-pool.js';
import type { Activation } from '../elementwise-ops.js';

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

/** Geometry of a grouped convolution: C and O divisible by `groups`, weight [O, C/groups, KH, KW]. */
export interface GroupedConvGeometry extends ConvGeometry {
  /** Channel groups (1: a dense convolution; C: depthwise). */
  groups: number;
}

/** What the forward kernels apply before the store: a per-channel bias, then an activation. */
export interface ConvEpilogue {
  bias?: PooledBuffer;
  activation?: Activation;
}

/** Register tiles of the dense kernels; exported for the benchmark's tuning runs. */
export interface ConvTiles {
  /** Forward / input-gradient kernel: output pixels along a row per invocation. */
  TP: number;
  /** Forward / input-gradient kernel: output channels per invocation (multiple of 4). */
  TO: number;
  /** Weight gradient: output channels, input channels and pixels per step. */
  TOW: number;
  TCW: number;
  TPW: number;
  /** Weight gradient: one invocation owns every kernel row rather than one (weight-grad.ts). */
  allKh?: boolean;
  /** Weight/bias gradient: target number of output pixels summed by one invocation. */
  splitPixels: number;
  /** false: never the subgroup variants of the forward, input- and weight-gradient kernels (default: when the device has subgroups). */
  subgroups?: boolean;
  /**
   * Weight gradient through im2col and a batched matmul (weight-gemm.ts): true whenever one
   * image's im2col fits its cap, false never (default: on CPU adapters, for layers wide enough).
   */
  weightGemm?: boolean;
}

export const convTiles: ConvTiles = { TP: 28, TO: 16, TOW: 8, TCW: 8, TPW: 4, splitPixels: 2048 };

/** Register tiles (upper bounds) of the grouped kernels; exported for the benchmark's tuning runs. */
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
   * loads per step: SwiftShader's compile time grows steeply with them (`npx tsx bench/depthwise.ts
   * --tiles '{…}'` runs MobileNetV2's layers with other bounds).
   */
  maxAccW: number;
  maxUnrolledW: number;
  maxLoadsW: number;
  /** Weight gradient: target number of output pixels summed by one invocation. */
  splitPixels: number;
}

export const groupedConvTiles: GroupedConvTiles = { TR: 4, TP: 8, TO: 4, maxUnrolled: 2048, TOW: 4, TCW: 4, TPW: 8, maxAccW: 96, maxUnrolledW: 512, maxLoadsW: 64, splitPixels: 512 };

/** A kernel window, compile-time constants of the generated kernels: size, stride and dilation. */
export interface Window {
  KH: number;
  KW: number;
  SH: number;
  SW: number;
  DH: number;
  DW: number;
}

/** The window of a convolution's geometry. */
export function windowOf(g: ConvGeometry): Window {
  return { KH: g.KH, KW: g.KW, SH: g.strideH, SW: g.strideW, DH: g.dilationH, DW: g.dilationW };
}

/**
 * FLOPs of one convolution, 2 per multiply-add of the forward pass (padding taps included, as
 * the TensorFlow profiler counts them). The input and weight gradients do the same useful work;
 * the zeros a strided input gradient multiplies are not counted.
 */
export function convFlops(g: ConvGeometry): number {
  return 2 * g.N * g.O * g.OH * g.OW * g.C * g.KH * g.KW;
}

/** FLOPs of one grouped convolution: 2 per multiply-add of the forward pass, padding taps included. */
export function groupedConvFlops(g: GroupedConvGeometry): number {
  return 2 * g.N * g.O * g.OH * g.OW * (g.C / g.groups) * g.KH * g.KW;
}

/** `v` rounded up to a multiple of `m`. */
export function roundUp(v: number, m: number): number {
  return Math.ceil(v / m) * m;
}

/** `size` split into equal tiles of at most `max`: the tile size (a row of 9 with max 8 → 5 + 4). */
export function evenTile(size: number, max: number): number {
  return Math.ceil(size / Math.ceil(size / Math.max(1, max)));
}
