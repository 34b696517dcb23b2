/**
 * Convolution weight gradient as an explicit GEMM (used on CPU adapters):
 *
 *   dW[o, (c, kh, kw)] = Σ over chunks of images Σ over their output pixels q of
 *                        dyᶜ[o, q] · colsᶜ[q, (c, kh, kw)]
 *
 * cols (im2col) holds, for every output pixel, the C·KH·KW input values its kernel window covers
 * (zeros in the padding); dyᶜ is dy regrouped as one [O, pixels] matrix per chunk of images. The
 * chunks are the batch of one batched matmul (../matmul.ts), whose [chunks, O, C·KH·KW]
 * partial results one more pass sums. Images past N (the last chunk is padded so that every
 * chunk's pixel count is a multiple of 4, for the matmul's vec4 loads) are zeros in both.
 *
 * Why, on SwiftShader: the direct weight-gradient kernel (weight-grad.ts) feeds ~14 FMAs per gathered
 * value with scalar FMAs on 192 spilled accumulators, while the matmul's register tile feeds ~21
 * per gather with mat4×vec4 products; writing cols and regrouping dy costs less than the
 * difference (`npx tsx bench/conv-weight-gemm.ts` times both paths on four layers). The price is
 * memory: cols is N·OH·OW × C·KH·KW floats, so a layer whose cols would exceed MAX_COLS_BYTES runs
 * in groups of chunks, one im2col buffer at a time, each group adding its sum to the result (a
 * single image past the cap: the direct kernel). GPUs keep the direct kernel (not measured there).
 */
import type { PooledBuffer } from '../../gpu/buffer-pool.js';
import type { Engine } from '../../gpu/engine.js';
import { bindings, dispatch1d, kernel, main1d, guardedIndex, digit } from '../../gpu/kernel-registry.js';
import { forcedMatmulPlan, planMatmul, runMatmul, TILE_LARGE, TILE_LARGE_SG, type MatmulPlan } from '../matmul.js';
import type { ConvGeometry } from './geometry.js';
import { reduceSplits } from './splits.js';

/** The largest cols buffer the GEMM path may allocate (beyond it: the direct kernel). */
export const MAX_COLS_BYTES = 64 * 2 ** 20;
/** About this many pixels per chunk: long enough sums for the matmul, enough chunks to share out. */
const CHUNK_PIXELS = 4096;

export interface WeightGemmPlan {
  /** Images per chunk (the last chunk padded with zero images). */
  nb: number;
  chunks: number;
  /**
   * Chunks per group: one im2col buffer holds a group's chunks (at most MAX_COLS_BYTES); groups
   * run one after the other, each adding its sum to the result.
   */
  groupChunks: number;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/**
 * The chunking for this geometry, or null where the direct kernel is used: `force` true takes
 * the GEMM path whenever one chunk of at least one image fits in `maxColsBytes`, false never; by
 * default only on CPU adapters and for layers wide enough for the matmul's tiles (O ≥ 16,
 * C·KH·KW ≥ 32).
 */
export function planWeightGemm(g: ConvGeometry, software: boolean, force?: boolean, maxColsBytes = MAX_COLS_BYTES): WeightGemmPlan | null {
  if (force === false) return null;
  const P = g.OH * g.OW;
  const CKK = g.C * g.KH * g.KW;
  if (force === undefined && !(software && g.O >= 16 && CKK >= 32)) return null;
  // nb·P must be a multiple of 4: nb a multiple of 4 / gcd(P, 4).
  const step = 4 / gcd(P, 4);
  const imageBytes = P * CKK * 4;
  const target = Math.max(1, Math.min(g.N, Math.round((g.N * P) / CHUNK_PIXELS)));
  let nb = Math.ceil(Math.ceil(g.N / target) / step) * step;
  // A chunk bigger than the cap gets fewer images (a multiple of step); none at all: the direct kernel.
  if (nb * imageBytes > maxColsBytes) nb = Math.floor(maxColsBytes / imageBytes / step) * step;
  if (nb < step) return null;
  const chunks = Math.ceil(g.N / nb);
  const groupChunks = Math.min(chunks, Math.floor(maxColsBytes / (nb * imageBytes)));
  return { nb, chunks, groupChunks };
}

const IM2COL_SRC = (KH: number, KW: number) => {
  const L: string[] = [];
  for (let kh = 0; kh < KH; kh++) {
    L.push(`  let ih${kh} = i32(oh * p.SH + ${kh}u * p.DH) - p.padT;`);
    L.push(`  let rowOk${kh} = live && ih${kh} >= 0 && ih${kh} < i32(p.H);`);
    L.push(`  let xr${kh} = xb + u32(clamp(ih${kh}, 0, i32(p.H) - 1)) * p.W;`);
  }
  const inner: string[] = [`    let iw = i32(ow * p.SW) - p.padL;`];
  for (let kw = 0; kw < KW; kw++) {
    inner.push(`    let colOk${kw} = iw + i32(${kw}u * p.DW) >= 0 && iw + i32(${kw}u * p.DW) < i32(p.W);`);
    inner.push(`    let xc${kw} = u32(clamp(iw + i32(${kw}u * p.DW), 0, i32(p.W) - 1));`);
  }
  for (let kh = 0; kh < KH; kh++) {
    for (let kw = 0; kw < KW; kw++) {
      inner.push(`    cols[o + ${kh * KW + kw}u] = select(0.0, x[xr${kh} + xc${kw}], rowOk${kh} && colOk${kw});`);
    }
  }
  return `
struct Params { N: u32, C: u32, H: u32, W: u32, OH: u32, OW: u32, SH: u32, SW: u32, DH: u32, DW: u32,
  padT: i32, padL: i32, rows: u32, n0: u32, }
${bindings(['x', 'read', 'array<f32>'], ['cols', 'read_write', 'array<f32>'])}
${main1d()}
  // One invocation per (image n0 + m of the padded batch, input channel c, output row oh): the
  // KH·KW window values of channel c for each pixel of that row, at image m of the group.
${guardedIndex('t', 'p.rows')}
${digit('t', 'p.OH', 'oh', 'q')}
${digit('q', 'p.C', 'c', 'm')}
  let n = p.n0 + m;
  let live = n < p.N;
  let CKK = p.C * ${KH * KW}u;
  let xb = (min(n, p.N - 1u) * p.C + c) * p.H * p.W;
${L.join('\n')}
  var o = (m * p.OH + oh) * p.OW * CKK + c * ${KH * KW}u;
  for (var ow = 0u; ow < p.OW; ow++) {
${inner.join('\n')}
    o += CKK;
  }
}`;
};

const REGROUP_SRC = () => `
struct Params { N: u32, O: u32, P: u32, nb: u32, rows: u32, chunk0: u32, }
${bindings(['dy', 'read', 'array<f32>'], ['dyc', 'read_write', 'array<f32>'])}
${main1d()}
  // One invocation per (chunk of the group, output channel o, image nl of the chunk),
  // t = (chunk·O + o)·nb + nl: dyc[chunk][o][nl·P + q] = dy[(chunk0 + chunk)·nb + nl][o][q], zeros
  // past the last image.
${guardedIndex('t', 'p.rows')}
${digit('t', 'p.nb', 'nl', 'q')}
  let o = q % p.O;
  let n = (p.chunk0 + q / p.O) * p.nb + nl;
  let dst = t * p.P;
  if (n >= p.N) {
    for (var i = 0u; i < p.P; i++) { dyc[dst + i] = 0.0; }
    return;
  }
  let src = (n * p.O + o) * p.P;
  for (var i = 0u; i < p.P; i++) { dyc[dst + i] = dy[src + i]; }
}`;

/** dW = ∂L/∂w: [O, C, KH, KW], through im2col and a batched matmul (see the file's comment). */
export function runConv2dGradWeightGemm(engine: Engine, x: PooledBuffer, dy: PooledBuffer, g: ConvGeometry, plan: WeightGemmPlan): PooledBuffer {
  const { nb, chunks, groupChunks } = plan;
  const P = g.OH * g.OW;
  const CKK = g.C * g.KH * g.KW;
  const Kc = nb * P;
  const len = g.O * CKK;
  // 64 output channels fill the large tile's 4 × 16 rows; fewer would leave most lanes idle
  // (llvmpipe: the 8×8 tile, as planMatmul says).
  const llvmpipe = engine.adapter.kind === 'llvmpipe';
  const mm: MatmulPlan = forcedMatmulPlan() ?? (g.O >= 48 && !llvmpipe ? { kind: 'tiled', tile: engine.subgroups ? TILE_LARGE_SG : TILE_LARGE } : planMatmul(g.O, CKK, Kc, engine.adapter.software, engine.subgroups, llvmpipe));
  const im2col = kernel(`conv2d.im2col.k${g.KH}x${g.KW}`, () => IM2COL_SRC(g.KH, g.KW));
  const regroup = kernel('conv2d.regroupDy', REGROUP_SRC);
  let out: PooledBuffer | undefined;
  for (let chunk0 = 0; chunk0 < chunks; chunk0 += groupChunks) {
    const gc = Math.min(groupChunks, chunks - chunk0);
    const colRows = gc * nb * g.C * g.OH;
    const cols = engine.pool.acquire(gc * Kc * CKK * 4);
    dispatch1d(
      engine,
      im2col,
      { x, cols },
      { N: g.N, C: g.C, H: g.H, W: g.W, OH: g.OH, OW: g.OW, SH: g.strideH, SW: g.strideW, DH: g.dilationH, DW: g.dilationW, padT: g.padTop, padL: g.padLeft, rows: colRows, n0: chunk0 * nb },
      colRows,
    );
    const dyRows = gc * g.O * nb;
    const dyc = engine.pool.acquire(dyRows * P * 4);
    dispatch1d(engine, regroup, { dy, dyc }, { N: g.N, O: g.O, P, nb, rows: dyRows, chunk0 }, dyRows);
    const part = runMatmul(
      engine,
      dyc,
      cols,
      { M: g.O, N: CKK, K: Kc, transA: false, transB: false, batchShape: [gc], aBatchStrides: [g.O * Kc], bBatchStrides: [Kc * CKK] },
      {},
      mm,
    );
    engine.pool.release(cols);
    engine.pool.release(dyc);
    if (chunks === 1) return part;
    out = reduceSplits(engine, part, len, gc, out);
    engine.pool.release(part);
  }
  return out!;
}
