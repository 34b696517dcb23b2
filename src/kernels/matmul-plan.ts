/** Which matmul kernel runs a product: the register tiles and the choice between them by shape and adapter. */

/** A tiled kernel's register tile and workgroup shape. */
export interface MatmulTile {
  /** Rows of C per invocation (a multiple of 4). */
  tm: number;
  /** vec4 column groups of C per invocation (4·tn4 columns). */
  tn4: number;
  /** Workgroup size. */
  wx: number;
  wy: number;
  /**
   * Subgroup sharing (needs the `subgroups` feature): each workgroup is one subgroup of four
   * invocations that compute 4·tm consecutive rows × the same 4·tn4 columns, so each loads a
   * quarter of the op(B) block and gets the rest by subgroupBroadcast. wx must be 1 and wy 4.
   */
  sg?: boolean;
}

/** How runMatmul computes a product: register-tiled (with its tile) or the general kernel. */
export type MatmulPlan = { kind: 'tiled'; tile: MatmulTile } | { kind: 'general' };

/** Large products on a CPU adapter: a 16×32 block of C per invocation (128 vec4 accumulators). */
export const TILE_LARGE: MatmulTile = { tm: 16, tn4: 8, wx: 2, wy: 4 };
/** Everything else with at least 8 rows: 8×8 per invocation (quick to compile). */
export const TILE_SMALL: MatmulTile = { tm: 8, tn4: 2, wx: 8, wy: 4 };
/**
 * The same two with subgroup sharing of op(B), for CPU adapters with subgroups (SwiftShader: four
 * lanes per subgroup), where they beat the plain tiles: `npx tsx bench/matmul-plans.ts` compares them.
 */
export const TILE_LARGE_SG: MatmulTile = { tm: 16, tn4: 8, wx: 1, wy: 4, sg: true };
export const TILE_SMALL_SG: MatmulTile = { tm: 8, tn4: 2, wx: 1, wy: 4, sg: true };
/** Fewer than 8 rows (vector-matrix products and the like): 4×8 per invocation. */
export const TILE_THIN: MatmulTile = { tm: 4, tn4: 2, wx: 8, wy: 2 };
/**
 * GPUs: 8×8 per invocation (32 vec4 accumulators fit in registers), 128 invocations per
 * workgroup. Not tuned on hardware (none was available); the large CPU tile would spill there.
 */
export const TILE_GPU: MatmulTile = { tm: 8, tn4: 2, wx: 16, wy: 8 };

/**
 * Which kernel runMatmul uses for a product of this shape; `software` says whether the adapter is
 * a CPU implementation such as SwiftShader (the tiles above were measured there), `subgroups`
 * whether the device has subgroup operations, `llvmpipe` whether it is Mesa's llvmpipe, where the
 * 8×8 tile beats the 16×32 one at every size measured (`npx tsx bench/matmul-plans.ts`: its
 * compiler keeps each invocation's loads cheap, so the smaller tile's extra loads cost little).
 */
export function planMatmul(M: number, N: number, K: number, software = true, subgroups = false, llvmpipe = false): MatmulPlan {
  if (M < 8) return { kind: 'tiled', tile: TILE_THIN };
  if (!software) return { kind: 'tiled', tile: TILE_GPU };
  if (llvmpipe) return { kind: 'tiled', tile: TILE_SMALL };
  // The large tile takes a second or two to compile on SwiftShader; from ~256³ on it pays.
  if (M >= 128 && N >= 128 && M * N * K >= 2 ** 24) return { kind: 'tiled', tile: subgroups ? TILE_LARGE_SG : TILE_LARGE };
  // A subgroup tile spans 4·tm rows: below that whole lanes would compute clamped copies of the
  // last row (slower than the plain 8×8 tile: bench/matmul-plans.ts).
  return { kind: 'tiled', tile: subgroups && M >= 4 * TILE_SMALL_SG.tm ? TILE_SMALL_SG : TILE_SMALL };
}
