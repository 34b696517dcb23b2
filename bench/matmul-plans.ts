/**
 * A/B of matmul kernel plans on one shape, in one process: each plan runs the same product
 * (after one warm-up run that compiles it and checks it against the first plan's result), then
 * --reps rounds that alternate between the plans; medians of wall-clock GFLOP/s.
 *
 *   npx tsx bench/matmul-plans.ts [--shape 256,784,784] [--trans nt] [--reps 6] [--out FILE.json]
 *
 * The plans: the plain register tiles (8×8, 16×32) and their subgroup variants (src/kernels/matmul.ts),
 * plus two other subgroup tile shapes for comparison. Subgroup plans need the `subgroups` feature.
 */
import * as kd from '../src/index.js';
import { runMatmul, TILE_LARGE, TILE_LARGE_SG, TILE_SMALL, TILE_SMALL_SG, type MatmulPlan } from '../src/kernels/matmul.js';
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
  ['16×32', { kind: 'tiled', tile: TILE_LARGE }],
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
for (let rep = 0; rep <= REPS; rep++) {
  for (const [name, plan] of plans) {
    const t0 = performance.now();
    const out = runMatmul(engine, a.bufferFor('bench'), b.bufferFor('bench'), args, {}, plan);
    await engine.sync();
    const ms = performance.now() - t0;
    if (rep === 0) {
      // Same k order in every tiled plan: the products must agree exactly.
      const got = new Float32Array(await engine.read(out, M * N * 4));
      if (!first) first = got;
      else if (got.some((v, i) => v !== first![i])) throw new Error(`plan ${name} differs from ${plans[0][0]}`);
    } else (gflops[name] ??= []).push((2 * M * N * K) / (ms * 1e6));
    engine.pool.release(out);
  }
}
console.log(`${M}×${N}×${K} ${trans} on ${engine.adapter.description || engine.adapter.vendor}: GFLOP/s, median of ${REPS}`);
for (const [name, v] of Object.entries(gflops)) console.log(`  ${name.padEnd(16)} ${median(v).toFixed(2)}`);

// --out FILE: the medians as JSON, with the plans' tiles (what test/matmul-plans.test.ts holds the planner to).
const outPath = opt('out', '');
if (outPath) {
  const doc = {
    adapter: { kind: engine.adapter.kind, description: engine.adapter.description || engine.adapter.device, subgroups: engine.subgroups },
    date: new Date().toISOString(),
    shape: { M, N, K, trans },
    reps: REPS,
    plans: plans.map(([name, plan]) => ({ name, tile: plan.kind === 'tiled' ? plan.tile : null, gflops: median(gflops[name]) })),
  };
  mkdirSync(dirname(outPath), { recursive: true });
  writeFileSync(`${outPath}.tmp`, `${JSON.stringify(doc, null, 2)}\n`);
  renameSync(`${outPath}.tmp`, outPath);
  console.log(`wrote ${outPath}`);
}
