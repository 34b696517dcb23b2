/**
 * Batched matmul C[b] = op(A[b]) · op(B[b]) (+ bias, ReLU) with transposed operands and broadcast
 * batch dimensions.
 *
 * Three kernel families; planMatmul (matmul-plan.ts) picks one per product and adapter. GPUs get
 * the workgroup-shared tiles (matmul-shared.ts); CPU adapters the register-tiled kernel below.
 *
 * The tiled kernel: each invocation keeps a TM×(4·TN4) block of C in vec4
 * registers and walks K four values at a time. Per step it assembles, for each of its rows i, the
 * four k-values of row i of op(A) as a vec4 `a_i`, and for each column group j the 4×4 block of
 * op(B) as a mat4x4 `m_j`, then accumulates `m_j · a_i` (or `a_i · m_j`): TM·TN4 4×4
 * matrix-vector products, 16 FMAs each. How `a_i` and `m_j` are loaded depends on each operand's
 * layout and alignment (`OperandMode`): vec4 loads along its contiguous dimension when that is a
 * multiple of 4 (NN: K and N; NT: K; TN: M and N; TT: M and K), scalar loads otherwise. K values
 * past the last multiple of 4 go through a short scalar loop. Its tiles are in matmul-plan.ts.
 *
 * Subgroup variant (CPU adapters with the `subgroups` feature): a workgroup is one subgroup of
 * four invocations computing 4·TM consecutive rows and the same 4·TN4 columns. The op(B) block of
 * each k-step is needed by all four, so each loads a quarter of it (n layouts: row k0 + lane; t
 * layouts: a quarter of the columns) and subgroupBroadcast hands every invocation the rest. On
 * SwiftShader a subgroup is the four SIMD lanes of one invocation batch, and a broadcast is a
 * register shuffle while a load is emulated lane by lane, so B's load cost per FMA drops 4×.
 *
 * The general kernel (kept as a simple reference and fallback, selectable with a plan): A is read
 * as A(m, k) = a[aOff + m·aRow + k·aCol] and B(k, n) likewise, so a transposed operand is swapped
 * strides; 4×4 outputs per invocation.
 *
 * Why this shape of kernel (measured on SwiftShader, the CPU Vulkan driver, by
 * bench/swiftshader-limits.ts): each component of a load with a per-invocation index costs about
 * as much as 25–30 FMAs at the adapter's register-resident FMA rate (it is emulated lane by lane,
 * whatever the alignment), and workgroup, private and uniform memory are no cheaper, so the lever
 * is reuse of every loaded value inside one invocation — large register tiles. Those spill (16 SSE
 * registers hold 16 floats per invocation), so their arithmetic alone runs well below that rate;
 * the bench script reports the cap this puts on a tile and how near the kernel comes. Writing the
 * inner product as `mat4x4 · vec4` instead of separate multiply-adds raises the arithmetic rate
 * there. On llvmpipe every storage-buffer load runs lane by lane too, so there as well the tile
 * is sized to load less per FMA (16×16: bench/matmul-plans.ts).
 *
 * Out-of-range rows and columns of a tile read clamped (valid) addresses and are not stored. The
 * epilogue (epilogue.ts) adds `bias[n]` and applies the activation before the single store of
 * each output.
 */
import type { PooledBuffer } from '../gpu/buffer-pool.js';
import type { Engine, Kernel } from '../gpu/engine.js';
import { kernel } from '../gpu/kernel-registry.js';
import type { Activation } from './elementwise-ops.js';
import { epilogue as applyEpilogue, epilogueName } from './epilogue.js';
import { planMatmul, type MatmulPlan, type MatmulTile } from './matmul-plan.js';
import { sharedBlock, sharedMatmulKernel } from './matmul-shared.js';
import { BATCH_OFFSETS, bindings, PARAMS } from './matmul-wgsl.js';

export {
  forcedMatmulPlan,
  MATMUL_PLANS,
  planMatmul,
  SHARED_32,
  SHARED_64,
  SHARED_64X128,
  TILE_GPU,
  TILE_LARGE,
  TILE_LARGE_SG,
  TILE_MID,
  TILE_SMALL,
  TILE_SMALL_SG,
  TILE_THIN,
  type MatmulPlan,
  type MatmulTile,
  type SharedTile,
} from './matmul-plan.js';

export interface MatmulEpilogue {
  /** Length-N bias added to every row. */
  bias?: PooledBuffer;
  /** Applied after the bias (epilogue.ts). */
  activation?: Activation;
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

/** Batch shapes live in `array<vec4<u32>, 2>` uniforms. */
const MAX_BATCH_RANK = 8;

// ---- tiled kernel ----------------------------------------------------------------------------

const XYZW = ['x', 'y', 'z', 'w'];

/**
 * How a kernel reads one operand: its layout (n: op(X) = X, t: op(X) = Xᵀ) and whether its
 * contiguous dimension allows vec4 loads (4) or needs scalar loads (1).
 */
export type OperandMode = 'n4' | 't4' | 'n1' | 't1';

export function operandModes(M: number, N: number, K: number, transA: boolean, transB: boolean): [OperandMode, OperandMode] {
  const am = `${transA ? 't' : 'n'}${(transA ? M : K) % 4 === 0 ? 4 : 1}` as OperandMode;
  const bm = `${transB ? 't' : 'n'}${(transB ? K : N) % 4 === 0 ? 4 : 1}` as OperandMode;
  return [am, bm];
}

function tiledSource(am: OperandMode, bm: OperandMode, t: MatmulTile, bias: boolean, activation: Activation | undefined): string {
  const { tm: TM, tn4: TN4, wx, wy } = t;
  const SG = Boolean(t.sg);
  if (TM % 4 !== 0) throw new Error(`kdgpu internal error: matmul tile rows ${TM} must be a multiple of 4`);
  if (SG && (wx !== 1 || wy !== 4)) throw new Error('kdgpu internal error: a subgroup matmul tile needs a 1×4 workgroup');
  const TN = 4 * TN4;
  const aVec = am.endsWith('4');
  const bVec = bm.endsWith('4');
  const L: string[] = [];
  const emit = (s: string) => L.push(s);
  if (SG) emit('enable subgroups;');
  emit(PARAMS);
  emit(bindings(aVec ? 'vec4<f32>' : 'f32', bVec ? 'vec4<f32>' : 'f32', bias));
  if (SG) {
    // No early return: subgroupBroadcast needs all four invocations; rows and columns past the
    // end are clamped below and never stored.
    emit(`@compute @workgroup_size(1, 4)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) sl: u32) {
  let M = p.M; let N = p.N; let K = p.K;
  let row0 = (wid.y * 4u + sl) * ${TM}u;
  let col0 = wid.x * ${TN}u;
${BATCH_OFFSETS}`);
  } else {
    emit(`@compute @workgroup_size(${wx}, ${wy})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let M = p.M; let N = p.N; let K = p.K;
  let row0 = gid.y * ${TM}u;
  let col0 = gid.x * ${TN}u;
  if (row0 >= M || col0 >= N) { return; }
${BATCH_OFFSETS}`);
  }

  // Per-invocation base indices (vec4 units for vec4 operands, elements otherwise). Rows and
  // columns past the end are clamped to the last one, so every load is in bounds; their results
  // are simply not stored.
  switch (am) {
    case 'n4':
      emit(`  let K4 = K / 4u;`);
      for (let i = 0; i < TM; i++) emit(`  let ar${i} = aBase / 4u + min(row0 + ${i}u, M - 1u) * K4;`);
      break;
    case 't4':
      emit(`  let M4 = M / 4u;`);
      for (let r = 0; r < TM / 4; r++) emit(`  let ag${r} = aBase / 4u + min(row0 / 4u + ${r}u, M4 - 1u);`);
      break;
    case 'n1':
      for (let i = 0; i < TM; i++) emit(`  let ar${i} = aBase + min(row0 + ${i}u, M - 1u) * K;`);
      break;
    case 't1':
      for (let i = 0; i < TM; i++) emit(`  let ar${i} = aBase + min(row0 + ${i}u, M - 1u);`);
      break;
  }
  // With subgroup sharing, invocation sl loads row k0 + sl of the op(B) block (n modes) or its
  // sl-th quarter of the columns (t modes: QN columns from bq0 on).
  const QN = TN / 4;
  switch (bm) {
    case 'n4':
      emit(`  let N4 = N / 4u;`);
      for (let j = 0; j < TN4; j++) emit(`  let bg${j} = bBase / 4u + min(col0 / 4u + ${j}u, N4 - 1u);`);
      break;
    case 'n1':
      for (let c = 0; c < TN; c++) emit(`  let bc${c} = bBase + min(col0 + ${c}u, N - 1u);`);
      break;
    case 't4':
      emit(`  let K4b = K / 4u;`);
      if (SG) for (let q = 0; q < QN; q++) emit(`  let bq${q} = bBase / 4u + min(col0 + sl * ${QN}u + ${q}u, N - 1u) * K4b;`);
      else for (let c = 0; c < TN; c++) emit(`  let bc${c} = bBase / 4u + min(col0 + ${c}u, N - 1u) * K4b;`);
      break;
    case 't1':
      if (SG) for (let q = 0; q < QN; q++) emit(`  let bq${q} = bBase + min(col0 + sl * ${QN}u + ${q}u, N - 1u) * K;`);
      // (also with SG: the K % 4 tail reads whole rows of op(B) in every invocation)
      for (let c = 0; c < TN; c++) emit(`  let bc${c} = bBase + min(col0 + ${c}u, N - 1u) * K;`);
      break;
  }
  for (let i = 0; i < TM; i++) for (let j = 0; j < TN4; j++) emit(`  var c${i}_${j} = vec4<f32>(0.0);`);

  // One step of four k-values k0 … k0+3 (all < K). a${i} holds the four k-values of row i of
  // op(A); m${j} the 4×4 block of op(B) for those k-values and column group j, arranged so that
  // its product with a${i} gives the four outputs of row i in that group.
  emit(`  let KQ = K / 4u;`);
  emit(`  for (var kq = 0u; kq < KQ; kq++) {`);
  emit(`    let k0 = kq * 4u;`);
  switch (am) {
    case 'n4':
      for (let i = 0; i < TM; i++) emit(`    let a${i} = a[ar${i} + kq];`);
      break;
    case 't4':
      for (let kk = 0; kk < 4; kk++) {
        for (let r = 0; r < TM / 4; r++) emit(`    let at${kk}_${r} = a[ag${r} + (k0 + ${kk}u) * M4];`);
      }
      for (let i = 0; i < TM; i++) {
        const r = i >> 2;
        const ii = XYZW[i & 3];
        emit(`    let a${i} = vec4<f32>(at0_${r}.${ii}, at1_${r}.${ii}, at2_${r}.${ii}, at3_${r}.${ii});`);
      }
      break;
    case 'n1':
      for (let i = 0; i < TM; i++) {
        emit(`    let a${i} = vec4<f32>(a[ar${i} + k0], a[ar${i} + k0 + 1u], a[ar${i} + k0 + 2u], a[ar${i} + k0 + 3u]);`);
      }
      break;
    case 't1':
      emit(`    let kM = k0 * M;`);
      for (let i = 0; i < TM; i++) {
        emit(`    let a${i} = vec4<f32>(a[ar${i} + kM], a[ar${i} + kM + M], a[ar${i} + kM + 2u * M], a[ar${i} + kM + 3u * M]);`);
      }
      break;
  }
  // With B's k-values along the matrix columns (n) the product is m·a; along its rows (t), a·m.
  if (SG) {
    const bcast = (v: string, lane: number) => `subgroupBroadcast(${v}, ${lane}u)`;
    switch (bm) {
      case 'n4':
        for (let j = 0; j < TN4; j++) emit(`    let y${j} = b[bg${j} + (k0 + sl) * N4];`);
        break;
      case 'n1':
        emit(`    let kN = (k0 + sl) * N;`);
        for (let j = 0; j < TN4; j++) emit(`    let y${j} = vec4<f32>(${[0, 1, 2, 3].map((cc) => `b[bc${4 * j + cc} + kN]`).join(', ')});`);
        break;
      case 't4':
        for (let q = 0; q < QN; q++) emit(`    let y${q} = b[bq${q} + kq];`);
        break;
      case 't1':
        for (let q = 0; q < QN; q++) emit(`    let y${q} = vec4<f32>(b[bq${q} + k0], b[bq${q} + k0 + 1u], b[bq${q} + k0 + 2u], b[bq${q} + k0 + 3u]);`);
        break;
    }
    if (bm[0] === 'n') {
      for (let j = 0; j < TN4; j++) emit(`    let m${j} = mat4x4<f32>(${[0, 1, 2, 3].map((kk) => bcast(`y${j}`, kk)).join(', ')});`);
    } else {
      for (let c = 0; c < TN; c++) emit(`    let bt${c} = ${bcast(`y${c % QN}`, Math.floor(c / QN))};`);
      for (let j = 0; j < TN4; j++) emit(`    let m${j} = mat4x4<f32>(bt${4 * j}, bt${4 * j + 1}, bt${4 * j + 2}, bt${4 * j + 3});`);
    }
  } else {
    switch (bm) {
      case 'n4':
        for (let j = 0; j < TN4; j++) {
          const cols = [0, 1, 2, 3].map((kk) => `b[bg${j} + (k0 + ${kk}u) * N4]`);
          emit(`    let m${j} = mat4x4<f32>(${cols.join(', ')});`);
        }
        break;
      case 'n1':
        emit(`    let kN = k0 * N;`);
        for (let j = 0; j < TN4; j++) {
          const cols = [0, 1, 2, 3].map((kk) => {
            const off = kk === 0 ? 'kN' : `kN + ${kk === 1 ? '' : `${kk}u * `}N`;
            return `vec4<f32>(${[0, 1, 2, 3].map((cc) => `b[bc${4 * j + cc} + ${off}]`).join(', ')})`;
          });
          emit(`    let m${j} = mat4x4<f32>(${cols.join(', ')});`);
        }
        break;
      case 't4':
        for (let c = 0; c < TN; c++) emit(`    let bt${c} = b[bc${c} + kq];`);
        for (let j = 0; j < TN4; j++) emit(`    let m${j} = mat4x4<f32>(bt${4 * j}, bt${4 * j + 1}, bt${4 * j + 2}, bt${4 * j + 3});`);
        break;
      case 't1':
        for (let c = 0; c < TN; c++) {
          emit(`    let bt${c} = vec4<f32>(b[bc${c} + k0], b[bc${c} + k0 + 1u], b[bc${c} + k0 + 2u], b[bc${c} + k0 + 3u]);`);
        }
        for (let j = 0; j < TN4; j++) emit(`    let m${j} = mat4x4<f32>(bt${4 * j}, bt${4 * j + 1}, bt${4 * j + 2}, bt${4 * j + 3});`);
        break;
    }
  }
  const prod = (i: number, j: number) => (bm[0] === 'n' ? `m${j} * a${i}` : `a${i} * m${j}`);
  for (let j = 0; j < TN4; j++) for (let i = 0; i < TM; i++) emit(`    c${i}_${j} += ${prod(i, j)};`);
  emit(`  }`);

  // K % 4 ≠ 0 is possible unless A's rows or Bᵀ's rows are read as vec4 along K: the last
  // k-values one at a time, as outer products of a column of op(A) and a row of op(B).
  if (am !== 'n4' && bm !== 't4') {
    emit(`  for (var k = KQ * 4u; k < K; k++) {`);
    const av: string[] = [];
    if (am === 't4') {
      for (let r = 0; r < TM / 4; r++) emit(`    let at${r} = a[ag${r} + k * M4];`);
      for (let i = 0; i < TM; i++) av.push(`at${i >> 2}.${XYZW[i & 3]}`);
    } else {
      for (let i = 0; i < TM; i++) {
        emit(`    let a${i} = a[ar${i} + k${am === 't1' ? ' * M' : ''}];`);
        av.push(`a${i}`);
      }
    }
    for (let j = 0; j < TN4; j++) {
      if (bm === 'n4') emit(`    let b${j} = b[bg${j} + k * N4];`);
      else {
        const off = bm === 'n1' ? 'k * N' : 'k';
        emit(`    let b${j} = vec4<f32>(${[0, 1, 2, 3].map((cc) => `b[bc${4 * j + cc} + ${off}]`).join(', ')});`);
      }
    }
    for (let i = 0; i < TM; i++) for (let j = 0; j < TN4; j++) emit(`    c${i}_${j} += ${av[i]} * b${j};`);
    emit(`  }`);
  }

  emit(`  let cBase = wid.z * M * N;`);
  // The bias of each column, loaded once for all TM rows (clamped like the operands).
  if (bias) for (let col = 0; col < TN; col++) emit(`  let bias${col} = bias[min(col0 + ${col}u, N - 1u)];`);
  for (let i = 0; i < TM; i++) {
    emit(`  if (row0 + ${i}u < M) {`);
    emit(`    let o = cBase + (row0 + ${i}u) * N + col0;`);
    for (let j = 0; j < TN4; j++) {
      for (let cc = 0; cc < 4; cc++) {
        const col = 4 * j + cc;
        const v = applyEpilogue(`c${i}_${j}.${XYZW[cc]}`, bias ? `bias${col}` : null, activation);
        emit(`    if (col0 + ${col}u < N) { c[o + ${col}u] = ${v}; }`);
      }
    }
    emit(`  }`);
  }
  emit('}');
  return L.join('\n');
}

// ---- general kernel -------------------------------------------------------------------------

const GTILE = 4;
const GWX = 8;
const GWY = 8;

function generalSource(bias: boolean, activation: Activation | undefined): string {
  return `${PARAMS}
${bindings('f32', 'f32', bias)}

@compute @workgroup_size(${GWX}, ${GWY})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let row0 = gid.y * ${GTILE}u;
  let col0 = gid.x * ${GTILE}u;
  if (row0 >= p.M || col0 >= p.N) { return; }
${BATCH_OFFSETS}
  var acc: array<vec4<f32>, ${GTILE}>;
  // Clamp out-of-range rows/columns to the last valid one: loads stay in bounds, stores skip them.
  var ar: array<u32, ${GTILE}>;
  for (var i = 0u; i < ${GTILE}u; i++) { ar[i] = aBase + min(row0 + i, p.M - 1u) * p.aRow; }
  var bc: vec4<u32>;
  for (var j = 0u; j < ${GTILE}u; j++) { bc[j] = bBase + min(col0 + j, p.N - 1u) * p.bCol; }
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
  for (var i = 0u; i < ${GTILE}u; i++) {
    let r = row0 + i;
    if (r >= p.M) { break; }
    for (var j = 0u; j < ${GTILE}u; j++) {
      let col = col0 + j;
      if (col >= p.N) { break; }
      c[cBase + r * p.N + col] = ${applyEpilogue('acc[i][j]', bias ? 'bias[col]' : null, activation)};
    }
  }
}`;
}

/** The kernel of a plan, for operands read as `modes`, with its epilogue. */
export function matmulKernel(plan: MatmulPlan, modes: [OperandMode, OperandMode], bias: boolean, activation: Activation | undefined): Kernel {
  const epi = epilogueName(bias, activation);
  if (plan.kind === 'general') return kernel(`matmul.general${epi}`, () => generalSource(bias, activation));
  if (plan.kind === 'shared') return sharedMatmulKernel(plan.tile, modes, bias, activation);
  const t = plan.tile;
  const name = `matmul.${modes[0]}${modes[1]}.${t.tm}x${4 * t.tn4}.wg${t.wx}x${t.wy}${t.sg ? '.sg' : ''}${epi}`;
  return kernel(name, () => tiledSource(modes[0], modes[1], t, bias, activation));
}

/**
 * Records C = op(A)·op(B) (+ bias, ReLU) for every batch index and returns C's new buffer
 * ([...batchShape, M, N], contiguous). `plan` overrides the kernel choice (benchmarks, tests).
 */
export function runMatmul(
  engine: Engine,
  a: PooledBuffer,
  b: PooledBuffer,
  args: MatmulArgs,
  epilogue: MatmulEpilogue = {},
  plan?: MatmulPlan,
): PooledBuffer {
  const { M, N, K, transA, transB, batchShape } = args;
  const rank = batchShape.length;
  if (rank > MAX_BATCH_RANK) throw new Error(`kdgpu: matmul: at most ${MAX_BATCH_RANK} batch dimensions, got ${rank}`);
  let batch = 1;
  for (const d of batchShape) batch *= d;
  const out = engine.pool.acquire(Math.max(batch * M * N, 1) * 4);
  if (batch * M * N === 0) return out;
  const maxZ = engine.limits.maxComputeWorkgroupsPerDimension;
  if (batch > maxZ) throw new Error(`kdgpu: matmul: batch of ${batch} matrices exceeds ${maxZ}`);
  const chosen = plan ?? planMatmul(M, N, K, engine.adapter.software, engine.subgroups, engine.adapter.kind === 'llvmpipe');
  if (chosen.kind === 'tiled' && chosen.tile.sg && !engine.subgroups) {
    throw new Error('kdgpu: matmul: a subgroup tile was asked for, but the device has no subgroups feature');
  }
  const k = matmulKernel(chosen, operandModes(M, N, K, transA, transB), Boolean(epilogue.bias), epilogue.activation);
  // A stored M×K (or K×M when transposed); B stored K×N (or N×K).
  const buffers: Record<string, PooledBuffer> = { a, b, c: out };
  if (epilogue.bias) buffers.bias = epilogue.bias;
  let groups: [number, number];
  if (chosen.kind === 'tiled') {
    const t = chosen.tile;
    groups = [Math.ceil(N / (4 * t.tn4 * t.wx)), Math.ceil(M / (t.tm * t.wy))];
  } else if (chosen.kind === 'shared') {
    const [bm, bn] = sharedBlock(chosen.tile);
    groups = [Math.ceil(N / bn), Math.ceil(M / bm)];
  } else {
    groups = [Math.ceil(N / (GTILE * GWX)), Math.ceil(M / (GTILE * GWY))];
  }
  // K = 0 leaves the accumulators at zero: C = bias (or 0), as in PyTorch.
  engine.dispatch(
    k,
    buffers,
    {
      M,
      N,
      K,
      rank,
      aRow: transA ? 1 : K,
      aCol: transA ? M : 1,
      bRow: transB ? 1 : N,
      bCol: transB ? K : 1,
      batchShape: rank ? [...batchShape] : [1],
      aBatch: rank ? [...args.aBatchStrides] : [0],
      bBatch: rank ? [...args.bBatchStrides] : [0],
    },
    [groups[0], groups[1], batch],
    2 * batch * M * N * K,
  );
  return out;
}
