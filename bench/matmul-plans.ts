/**
 * A/B of matmul kernel plans on one shape, in one process: each plan runs the same product
 * (after one warm-up run that compiles it and checks it against the first plan's result), then
 * --reps rounds that alternate between the plans; medians of wall-clock GFLOP/s.
 *
 *   npx tsx bench/matmul-plans.ts [--shape 256,784,784] [--trans nt] [--reps 6] [--out FILE.json]
 *
 * The plans: the plain register tiles (8×8, 16×16, 16×32) and their subgroup variants
 * (src/kernels/matmul.ts), two other subgroup tile shapes for comparison, and the GPU plans (the
 * workgroup-shared kernels of src/kernels/matmul-shared.ts and the GPU register tile), which the
 * planner picks for hardware adapters only. Subgroup plans need the `subgroups` feature. Besides
 * the wall-clock medians it prints GFLOP per CPU-second of this process (llvmpipe and SwiftShader
 * run in it), which other load on the machine disturbs less.
 */
import * as kd from '../src/index.js';
import { MATMUL_PLANS, runMatmul, TILE_LARGE, TILE_LARGE_SG, TILE_MID, TILE_SMALL, TILE_SMALL_SG, type MatmulPlan } from '../src/kernels/matmul.js';
import { median } from './lib/timing.js';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

const argv = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : dflt;
};
const [M, N, K] = opt('shape', '1024,1024,1024').split(',').map(Number);
const trans = opt('trans', 'nn');
const tA = trans[0] === 't';
const tB = trans[1] === 't';
const REPS = Number(opt('reps', '6'));
const engine = await kd.init();
const plans: [string, MatmulPlan][] = [
  ['8×8', { kind: 'tiled', tile: TILE_SMALL }],
  ['16×16', { kind: 'tiled', tile: TILE_MID }],
  ['16×32', { kind: 'tiled', tile: TILE_LARGE }],
  ['GPU 8×8', MATMUL_PLANS['tiled-gpu']],
  ['shared 64×64', MATMUL_PLANS['shared-64x64']],
  ['shared 32×32', MATMUL_PLANS['shared-32x32']],
  ['shared 64×128', MATMUL_PLANS['shared-64x128']],
];
if (engine.subgroups) {
  plans.push(
    ['8×8 subgroup', { kind: 'tiled', tile: TILE_SMALL_SG }],
    ['16×32 subgroup', { kind: 'tiled', tile: TILE_LARGE_SG }],
    ['8×32 subgroup', { kind: 'tiled', tile: { tm: 8, tn4: 8, wx: 1, wy: 4, sg: true } }],
    ['16×16 subgroup', { kind: 'tiled', tile: { tm: 16, tn4: 4, wx: 1, wy: 4, sg: true } }],
  );
}
const a = kd.tensor(Float32Array.from({ length: M * K }, (_, i) => Math.sin(i)), tA ? [K, M] : [M, K]);
const b = kd.tensor(Float32Array.from({ length: N * K }, (_, i) => Math.cos(i * 0.7)), tB ? [N, K] : [K, N]);
const args = { M, N, K, transA: tA, transB: tB, batchShape: [], aBatchStrides: [], bBatchStrides: [] };
let first: Float32Array | null = null;
const gflops: Record<string, number[]> = {};
const cpuGflops: Record<string, number[]> = {};
for (let rep = 0; rep <= REPS; rep++) {
  for (const [name, plan] of plans) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const out = runMatmul(engine, a.bufferFor('bench'), b.bufferFor('bench'), args, {}, plan);
    await engine.sync();
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(c0);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    if (rep === 0) {
      // The plans sum over k in different orders (and the shared kernels with fused multiply-adds):
      // agreement to float32 rounding, relative to the largest output.
      const got = new Float32Array(await engine.read(out, M * N * 4));
      if (!first) first = got;
      else {
        const scale = first.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        const worst = got.reduce((m, v, i) => Math.max(m, Math.abs(v - first![i])), 0);
        if (!(worst <= 1e-4 * scale)) throw new Error(`plan ${name} differs from ${plans[0][0]} by ${worst} (largest output ${scale})`);
      }
    } else {
      (gflops[name] ??= []).push((2 * M * N * K) / (ms * 1e6));
      (cpuGflops[name] ??= []).push((2 * M * N * K) / (cpuMs * 1e6));
    }
    engine.pool.release(out);
  }
}
console.log(`${M}×${N}×${K} ${trans} on ${engine.adapter.description || engine.adapter.vendor}: medians of ${REPS}, GFLOP/s and GFLOP per CPU-second`);
for (const [name, v] of Object.entries(gflops)) console.log(`  ${name.padEnd(16)} ${median(v).toFixed(2).padStart(7)}  ${median(cpuGflops[name]).toFixed(2).padStart(7)}`);

// --out FILE: the medians as JSON, with the plans' tiles (what test/matmul-plans.test.ts holds the planner to).
const outPath = opt('out', '');
if (outPath) {
  const doc = {
    adapter: { kind: engine.adapter.kind, description: engine.adapter.description || engine.adapter.device, subgroups: engine.subgroups },
    date: new Date().toISOString(),
    shape: { M, N, K, trans },
    reps: REPS,
    plans: plans.map(([name, plan]) => ({
      name,
      kind: plan.kind,
      tile: plan.kind === 'general' ? null : plan.tile,
      gflops: median(gflops[name]),
      cpuGflops: median(cpuGflops[name]),
    })),
  };
  mkdirSync(dirname(outPath), { recursive: true });
  writeFileSync(`${outPath}.tmp`, `${JSON.stringify(doc, null, 2)}\n`);
  renameSync(`${outPath}.tmp`, outPath);
  console.log(`wrote ${outPath}`);
}
