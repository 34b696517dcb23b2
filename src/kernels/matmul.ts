/**
 * Batched matmul C[b] = A[b] · B[b] (+ bias, ReLU) with transposed operands and broadcast batch
 * dimensions.
 *
 * Layout: A is read as A(m, k) = a[aOff + m·aRow + k·aCol], B(k, n) = b[bOff + k·bRow + n·bCol],
 * so a transposed operand is just swapped strides. Each invocation computes a 4×4 block of C in
 * registers (16 accumulators); a workgroup of 8×8 invocations covers 32×32.
 */
import type { PooledBuffer } from '../gpu/buffer-pool.js';
import type { Engine, Kernel } from '../gpu/engine.js';

export interface MatmulEpilogue {
  /** Length-N bias added to every row. */
  bias?: PooledBuffer;
  relu?: boolean;
}

export interface MatmulArgs {
  M: number;
  N: number;
  K: number;
  transA: boolean;
  transB: boolean;
  /** Output batch shape, and each operand's element strides over it (0 where broadcast). */
  batchShape: readonly number[];
  aBatchStrides: readonly number[];
  bBatchStrides: readonly number[];
}

const TILE = 4;
const WGX = 8;
const WGY = 8;

function source(bias: boolean, relu: boolean, batchRank: number): string {
  const batchOffsets =
    batchRank === 0
      ? '  let aBase = 0u; let bBase = 0u;'
      : `  var aBase = 0u; var bBase = 0u;
  { var rem = wid.z;
    for (var d = ${batchRank - 1}i; d >= 0i; d--) {
      let q = u32(d);
      let e = p.batchShape[q / 4u][q % 4u];
      let c = rem % e; rem = rem / e;
      aBase += c * p.aBatch[q / 4u][q % 4u];
      bBase += c * p.bBatch[q / 4u][q % 4u];
    } }`;
  return `
struct Params { M: u32, N: u32, K: u32, aRow: u32, aCol: u32, bRow: u32, bCol: u32,
  batchShape: array<vec4<u32>, 2>, aBatch: array<vec4<u32>, 2>, bBatch: array<vec4<u32>, 2>, }
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
${bias ? '@group(0) @binding(2) var<storage, read> bias: array<f32>;' : ''}
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(${WGX}, ${WGY})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let row0 = gid.y * ${TILE}u;
  let col0 = gid.x * ${TILE}u;
  if (row0 >= p.M || col0 >= p.N) { return; }
${batchOffsets}
  var acc: array<vec4<f32>, ${TILE}>;
  // Clamp out-of-range rows/columns to the last valid one: loads stay in bounds, stores skip them.
  var ar: array<u32, ${TILE}>;
  for (var i = 0u; i < ${TILE}u; i++) { ar[i] = aBase + min(row0 + i, p.M - 1u) * p.aRow; }
  var bc: vec4<u32>;
  for (var j = 0u; j < ${TILE}u; j++) { bc[j] = bBase + min(col0 + j, p.N - 1u) * p.bCol; }
  for (var k = 0u; k < p.K; k++) {
    let bo = k * p.bRow;
    let bv = vec4<f32>(b[bc.x + bo], b[bc.y + bo], b[bc.z + bo], b[bc.w + bo]);
    let ao = k * p.aCol;
    acc[0] += a[ar[0] + ao] * bv;
    acc[1] += a[ar[1] + ao] * bv;
    acc[2] += a[ar[2] + ao] * bv;
    acc[3] += a[ar[3] + ao] * bv;
  }
  let cBase = wid.z * p.M * p.N;
  for (var i = 0u; i < ${TILE}u; i++) {
    let r = row0 + i;
    if (r >= p.M) { break; }
    for (var j = 0u; j < ${TILE}u; j++) {
      let col = col0 + j;
      if (col >= p.N) { break; }
      var v = acc[i][j];
      ${bias ? 'v += bias[col];' : ''}
      ${relu ? 'v = max(v, 0.0);' : ''}
      c[cBase + r * p.N + col] = v;
    }
  }
}`;
}

const cache = new Map<string, Kernel>();

export function runMatmul(
  engine: Engine,
  a: PooledBuffer,
  b: PooledBuffer,
  args: MatmulArgs,
  epilogue: MatmulEpilogue = {},
): PooledBuffer {
  const { M, N, K, transA, transB, batchShape } = args;
  let batch = 1;
  for (const d of batchShape) batch *= d;
  const out = engine.pool.acquire(Math.max(batch * M * N, 1) * 4);
  if (batch * M * N === 0) return out;
  const maxZ = engine.limits.maxComputeWorkgroupsPerDimension;
  if (batch > maxZ) throw new Error(`kdgpu: matmul: batch of ${batch} matrices exceeds ${maxZ}`);
  const bias = Boolean(epilogue.bias);
  const relu = Boolean(epilogue.relu);
  const rank = batchShape.length;
  const key = `${bias}|${relu}|${rank}`;
  let k = cache.get(key);
  if (!k) {
    k = { name: `matmul.tiled4x4${bias ? '.bias' : ''}${relu ? '.relu' : ''}${rank ? `.batch${rank}` : ''}`, source: source(bias, relu, rank) };
    cache.set(key, k);
  }
  // A stored M×K (or K×M when transposed); B stored K×N (or N×K).
  const aRow = transA ? 1 : K;
  const aCol = transA ? M : 1;
  const bRow = transB ? 1 : N;
  const bCol = transB ? K : 1;
  const buffers: Record<string, PooledBuffer> = { a, b, c: out };
  if (epilogue.bias) buffers.bias = epilogue.bias;
  // K = 0 leaves the accumulators at zero: C = bias (or 0), as in PyTorch.
  engine.dispatch(
    k,
    buffers,
    {
      M,
      N,
      K,
      aRow,
      aCol,
      bRow,
      bCol,
      batchShape: rank ? [...batchShape] : [1],
      aBatch: rank ? [...args.aBatchStrides] : [0],
      bBatch: rank ? [...args.bBatchStrides] : [0],
    },
    [Math.ceil(N / (TILE * WGX)), Math.ceil(M / (TILE * WGY)), batch],
  );
  return out;
}
