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

/**
 * A workgroup-shared tiled kernel's shape (matmul-shared.ts): the workgroup computes a
 * (tm·wy)×(4·tn4·wx) block of C, staging bk-deep slices of op(A) and op(B) in workgroup memory;
 * each invocation accumulates tm×4·tn4 outputs from them.
 */
export interface SharedTile {
  /** Rows of C per invocation (a multiple of 4). */
  tm: number;
  /** vec4 column groups of C per invocation. */
  tn4: number;
  /** Workgroup size. */
  wx: number;
  wy: number;
  /** K values staged per step (a multiple of 4). */
  bk: number;
}

/** How runMatmul computes a product: register-tiled, workgroup-shared tiled (each with its tile) or the general kernel. */
export type MatmulPlan = { kind: 'tiled'; tile: MatmulTile } | { kind: 'shared'; tile: SharedTile } | { kind: 'general' };

/** Large products on a CPU adapter: a 16×32 block of C per invocation (128 vec4 accumulators). */
export const TILE_LARGE: MatmulTile = { tm: 16, tn4: 8, wx: 2, wy: 4 };
/**
 * llvmpipe, products of at least 16 rows and 128 columns: 16×16 per invocation. There every load from a storage
 * buffer runs lane by lane, so loads per FMA decide the speed; 16×16 halves them against 8×8, and
 * larger tiles lose more to spilled accumulators than they save (`npx tsx bench/matmul-plans.ts`).
 */
export const TILE_MID: MatmulTile = { tm: 16, tn4: 4, wx: 8, wy: 4 };
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
 * GPUs without workgroup memory: 8×8 per invocation (32 vec4 accumulators fit in registers), 128
 * invocations per workgroup. Kept as an option beside the shared kernels (not measured on hardware).
 */
export const TILE_GPU: MatmulTile = { tm: 8, tn4: 2, wx: 16, wy: 8 };

/** GPUs: a 64×64 block per workgroup of 16×16, 4×4 outputs per invocation, K staged 16 at a time. */
export const SHARED_64: SharedTile = { tm: 4, tn4: 1, wx: 16, wy: 16, bk: 16 };
/** GPUs, small products (more workgroups in flight): a 32×32 block per 8×8 workgroup, 4×4 per invocation. */
export const SHARED_32: SharedTile = { tm: 4, tn4: 1, wx: 8, wy: 8, bk: 16 };
/** GPUs, large products: a 64×128 block per 16×16 workgroup, 4×8 per invocation (more reuse per shared load). */
export const SHARED_64X128: SharedTile = { tm: 4, tn4: 2, wx: 16, wy: 16, bk: 16 };

/**
 * Every plan by name: what `KDGPU_MATMUL_PLAN` (see forcedMatmulPlan), the A/B bench and the
 * device bundle's bench name them by.
 */
export const MATMUL_PLANS: Readonly<Record<string, MatmulPlan>> = {
  'tiled-8x8': { kind: 'tiled', tile: TILE_SMALL },
  'tiled-16x16': { kind: 'tiled', tile: TILE_MID },
  'tiled-16x32': { kind: 'tiled', tile: TILE_LARGE },
  'tiled-8x8-sg': { kind: 'tiled', tile: TILE_SMALL_SG },
  'tiled-16x32-sg': { kind: 'tiled', tile: TILE_LARGE_SG },
  'tiled-4x8': { kind: 'tiled', tile: TILE_THIN },
  'tiled-gpu': { kind: 'tiled', tile: TILE_GPU },
  'shared-64x64': { kind: 'shared', tile: SHARED_64 },
  'shared-32x32': { kind: 'shared', tile: SHARED_32 },
  'shared-64x128': { kind: 'shared', tile: SHARED_64X128 },
  general: { kind: 'general' },
};

/**
 * The plan named by the environment variable `KDGPU_MATMUL_PLAN` (a key of MATMUL_PLANS), read
 * here and nowhere else, on every call (so a test may set it and unset it): when set, every
 * product whose plan is left to the planner (planMatmul, the conv weight-gradient GEMM) runs
 * that plan, e.g. to test the GPU kernels on a CPU adapter. Plans passed to runMatmul explicitly
 * are kept. Undefined when unset (or outside Node); an unknown name throws.
 */
export function forcedMatmulPlan(): MatmulPlan | undefined {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const name = env?.KDGPU_MATMUL_PLAN;
  if (!name) return undefined;
  const plan = MATMUL_PLANS[name];
  if (!plan) throw new Error(`kdgpu: KDGPU_MATMUL_PLAN=${name} names no matmul plan; known: ${Object.keys(MATMUL_PLANS).join(', ')}`);
  return plan;
}

/**
 * Which kernel runMatmul uses for a product of this shape; `software` says whether the adapter is
 * a CPU implementation such as SwiftShader (the tiles above were measured there), `subgroups`
 * whether the device has subgroup operations, `llvmpipe` whether it is Mesa's llvmpipe, where the
 * 16×16 tile beats both the 8×8 and the 16×32 ones on large products (`npx tsx
 * bench/matmul-plans.ts`). Hardware adapters get the workgroup-shared kernels (matmul-shared.ts),
 * not yet measured on a GPU: the device bundle's bench times them. `KDGPU_MATMUL_PLAN` overrides
 * the choice (forcedMatmulPlan).
 */
export function planMatmul(M: number, N: number, K: number, software = true, subgroups = false, llvmpipe = false): MatmulPlan {
  const forced = forcedMatmulPlan();
  if (forced) return forced;
  if (M < 8) return { kind: 'tiled', tile: TILE_THIN };
  // GPUs: workgroup-shared tiles; the 32×32 block keeps more workgroups in flight on small products.
  if (!software) return { kind: 'shared', tile: M * N >= 512 * 512 ? SHARED_64 : SHARED_32 };
  // llvmpipe: 16×16 from 16 rows and 128 columns on (fewer columns leave lanes of its 128-column
  // workgroups idle; bench/matmul-plans.ts at 256×64×784 and 64×288×968 shows both sides).
  if (llvmpipe) return { kind: 'tiled', tile: M >= 16 && N >= 128 ? TILE_MID : TILE_SMALL };
  // The large tile takes a second or two to compile on SwiftShader; from ~256³ on it pays.
  if (M >= 128 && N >= 128 && M * N * K >= 2 ** 24) return { kind: 'tiled', tile: subgroups ? TILE_LARGE_SG : TILE_LARGE };
  // A subgroup tile spans 4·tm rows: below that whole lanes would compute clamped copies of the
  // last row (slower than the plain 8×8 tile: bench/matmul-plans.ts).
  return { kind: 'tiled', tile: subgroups && M >= 4 * TILE_SMALL_SG.tm ? TILE_SMALL_SG : TILE_SMALL };
}
