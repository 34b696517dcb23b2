/**
 * The workgroup-shared tiled matmul: the standard GPU design (as TensorFlow.js's `matmul_packed`
 * and the public WGSL matmul write-ups). A workgroup of wx×wy invocations computes a BM×BN block
 * of C (BM = tm·wy rows, BN = 4·tn4·wx columns). For each slice of bk k-values it
 *
 *   1. loads the BM×bk block of op(A) and the bk×BN block of op(B) cooperatively into
 *      `var<workgroup>` arrays, each invocation a few vec4 slots: vec4 loads along an operand's
 *      contiguous dimension when that is a multiple of 4, four scalar loads otherwise; values
 *      past M, N or K are stored as zeros, so ragged edges and the K tail need no other code;
 *   2. waits at a barrier, then every invocation accumulates its tm×4·tn4 register block as outer
 *      products of a column of the A block and a row of the B block, read as vec4 from k-major
 *      tiles (As[k][m], Bs[k][n]);
 *   3. waits at a second barrier before the next slice overwrites the tiles.
 *
 * Each value loaded from global memory is thus read by wx (A) or wy (B) invocations from workgroup
 * memory. Invocation (tx, ty) owns the row groups ty + r·wy and the column groups tx + j·wx (groups
 * of 4), interleaved so that neighbouring invocations read neighbouring vec4s of the tiles.
 *
 * Both tiles are stored k-major, so an operand contiguous along K (A not transposed, B transposed)
 * is loaded as 4×4 blocks (four vec4s along K) and transposed in registers. The epilogue
 * (epilogue.ts) adds the bias and applies the activation before each output's single store.
 *
 * On the CPU adapters these kernels are several times slower than the register tiles
 * (bench/matmul-plans.ts): there workgroup memory is ordinary memory read lane by lane, and a
 * barrier switches between invocations run as coroutines, so the planner keeps them for GPUs.
 */
import type { Kernel } from '../gpu/engine.js';
import { kernel } from '../gpu/kernel-registry.js';
import type { Activation } from './elementwise-ops.js';
import { epilogue as applyEpilogue, epilogueName } from './epilogue.js';
import type { OperandMode } from './matmul.js';
import type { SharedTile } from './matmul-plan.js';
import { BATCH_OFFSETS, bindings, PARAMS } from './matmul-wgsl.js';

const XYZW = ['x', 'y', 'z', 'w'];

/** The block of C one workgroup computes: [rows, columns]. */
export function sharedBlock(t: SharedTile): [number, number] {
  return [t.tm * t.wy, 4 * t.tn4 * t.wx];
}

/**
 * WGSL that fills one k-major tile (`tile`: vec4s over the non-K dimension d) from operand `x`:
 * `rows` is the tile's extent along d (BM or BN), `dim0`/`dimLen` the global start and length of
 * d, the K slice starts at k0. Values past the ends are stored as zeros.
 */
function loadTile(x: 'a' | 'b', mode: OperandMode, tile: string, rows: number, bk: number, wg: number, base: string, dim0: string, dimLen: string): string[] {
  const L: string[] = [];
  const R4 = rows / 4;
  const contiguousK = (x === 'a') === (mode[0] === 'n');
  const vec = mode[1] === '4';
  // Element (d, k) of op(X), d along the non-K dimension: its index in x's storage.
  const elem = (d: string, k: string) => (contiguousK ? `${base} + (${d}) * K + (${k})` : `${base} + (${k}) * ${dimLen} + (${d})`);
  // A slot: one vec4 of the tile (4 values of d at one k); along K, a 4×4 block (4 d × 4 k), so
  // that each tile vec4 is written whole (no per-component stores to shared vec4s, which some
  // backends emulate as read-modify-write of the whole vector).
  const slots = contiguousK ? (rows * bk) / 16 : (rows * bk) / 4;
  const guard = slots % wg !== 0;
  for (let s = 0; s < Math.ceil(slots / wg); s++) {
    const slot = `lidx + ${s * wg}u`;
    L.push(guard ? `  if (${slot} < ${slots}u) {` : '  {');
    if (contiguousK) {
      L.push(`    let d = ((${slot}) / ${bk / 4}u) * 4u; let kk = ((${slot}) % ${bk / 4}u) * 4u;`);
      L.push(`    let gd = ${dim0} + d; let gk = k0 + kk;`);
      for (let r = 0; r < 4; r++) {
        const cd = `min(gd + ${r}u, ${dimLen} - 1u)`;
        const ok = `gd + ${r}u < ${dimLen}`;
        if (vec) {
          L.push(`    let v${r} = select(vec4<f32>(0.0), ${x}[(${elem(cd, 'min(gk, K - 4u)')}) / 4u], ${ok} && gk < K);`);
        } else {
          const comps = [0, 1, 2, 3].map((c) => `select(0.0, ${x}[${elem(cd, `min(gk + ${c}u, K - 1u)`)}], ${ok} && gk + ${c}u < K)`);
          L.push(`    let v${r} = vec4<f32>(${comps.join(', ')});`);
        }
      }
      for (let c = 0; c < 4; c++) L.push(`    ${tile}[(kk + ${c}u) * ${R4}u + d / 4u] = vec4<f32>(v0.${XYZW[c]}, v1.${XYZW[c]}, v2.${XYZW[c]}, v3.${XYZW[c]});`);
    } else {
      L.push(`    let k = (${slot}) / ${R4}u; let dd = ((${slot}) % ${R4}u) * 4u;`);
      L.push(`    let gd = ${dim0} + dd; let gk = k0 + k;`);
      L.push(`    let ck = min(gk, K - 1u);`);
      if (vec) {
        L.push(`    ${tile}[k * ${R4}u + dd / 4u] = select(vec4<f32>(0.0), ${x}[(${elem(`min(gd, ${dimLen} - 4u)`, 'ck')}) / 4u], gd < ${dimLen} && gk < K);`);
      } else {
        const comps = [0, 1, 2, 3].map((c) => `select(0.0, ${x}[${elem(`min(gd + ${c}u, ${dimLen} - 1u)`, 'ck')}], gd + ${c}u < ${dimLen} && gk < K)`);
        L.push(`    ${tile}[k * ${R4}u + dd / 4u] = vec4<f32>(${comps.join(', ')});`);
      }
    }
    L.push('  }');
  }
  return L;
}

function sharedSource(am: OperandMode, bm: OperandMode, t: SharedTile, bias: boolean, activation: Activation | undefined): string {
  const { tm: TM, tn4: TN4, wx: WX, wy: WY, bk: BK } = t;
  if (TM % 4 !== 0 || BK % 4 !== 0) throw new Error('kdgpu internal error: shared matmul tm and bk must be multiples of 4');
  const [BM, BN] = sharedBlock(t);
  const BM4 = BM / 4;
  const BN4 = BN / 4;
  const TM4 = TM / 4;
  const WG = WX * WY;
  const L: string[] = [];
  const emit = (s: string) => L.push(s);
  emit(PARAMS);
  emit(bindings(am[1] === '4' ? 'vec4<f32>' : 'f32', bm[1] === '4' ? 'vec4<f32>' : 'f32', bias));
  emit(`var<workgroup> As: array<vec4<f32>, ${BK * BM4}>;`);
  emit(`var<workgroup> Bs: array<vec4<f32>, ${BK * BN4}>;`);
  // No early return: every invocation must reach the barriers. Rows and columns past the end are
  // loaded as zeros and never stored.
  emit(`@compute @workgroup_size(${WX}, ${WY})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(local_invocation_index) lidx: u32) {
  let M = p.M; let N = p.N; let K = p.K;
  let tx = ${WX === 1 ? '0u' : 'lid.x'}; let ty = ${WY === 1 ? '0u' : 'lid.y'};
  let m0 = wid.y * ${BM}u;
  let n0 = wid.x * ${BN}u;
${BATCH_OFFSETS}`);
  for (let r = 0; r < TM; r++) for (let j = 0; j < TN4; j++) emit(`  var c${r}_${j} = vec4<f32>(0.0);`);
  emit(`  for (var k0 = 0u; k0 < K; k0 += ${BK}u) {`);
  L.push(...loadTile('a', am, 'As', BM, BK, WG, 'aBase', 'm0', 'M'));
  L.push(...loadTile('b', bm, 'Bs', BN, BK, WG, 'bBase', 'n0', 'N'));
  emit('    workgroupBarrier();');
  for (let k = 0; k < BK; k++) {
    for (let r = 0; r < TM4; r++) emit(`    let a${k}_${r} = As[${k * BM4}u + ty${r ? ` + ${r * WY}u` : ''}];`);
    for (let j = 0; j < TN4; j++) emit(`    let b${k}_${j} = Bs[${k * BN4}u + tx${j ? ` + ${j * WX}u` : ''}];`);
    for (let r = 0; r < TM; r++) {
      for (let j = 0; j < TN4; j++) emit(`    c${r}_${j} = fma(vec4<f32>(a${k}_${r >> 2}.${XYZW[r & 3]}), b${k}_${j}, c${r}_${j});`);
    }
  }
  emit('    workgroupBarrier();');
  emit('  }');
  emit('  let cBase = wid.z * M * N;');
  for (let j = 0; j < TN4; j++) {
    emit(`  let col${j} = n0 + (tx + ${j * WX}u) * 4u;`);
    if (bias) for (let cc = 0; cc < 4; cc++) emit(`  let bias${j}_${cc} = bias[min(col${j} + ${cc}u, N - 1u)];`);
  }
  for (let r = 0; r < TM; r++) {
    emit(`  { let row = m0 + (ty + ${(r >> 2) * WY}u) * 4u + ${r & 3}u;`);
    emit('    if (row < M) {');
    emit('      let o = cBase + row * N;');
    for (let j = 0; j < TN4; j++) {
      for (let cc = 0; cc < 4; cc++) {
        const v = applyEpilogue(`c${r}_${j}.${XYZW[cc]}`, bias ? `bias${j}_${cc}` : null, activation);
        emit(`      if (col${j} + ${cc}u < N) { c[o + col${j} + ${cc}u] = ${v}; }`);
      }
    }
    emit('    } }');
  }
  emit('}');
  return L.join('\n');
}

/** The workgroup-shared kernel of a tile, for operands read as `modes` (matmul.ts's operandModes), with its epilogue. */
export function sharedMatmulKernel(t: SharedTile, modes: [OperandMode, OperandMode], bias: boolean, activation: Activation | undefined): Kernel {
  const [BM, BN] = sharedBlock(t);
  const name = `matmul.shared.${modes[0]}${modes[1]}.${BM}x${BN}.t${t.tm}x${4 * t.tn4}.k${t.bk}${epilogueName(bias, activation)}`;
  return kernel(name, () => sharedSource(modes[0], modes[1], t, bias, activation));
}
