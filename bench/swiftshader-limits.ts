/**
 * What bounds a register-tiled matmul on this adapter, measured in one process: the vec4-FMA
 * ceiling (bench/fma-ceiling.ts), the cost of one storage-buffer load with a per-invocation index,
 * the cost of a subgroupBroadcast, and the arithmetic rate of kdgpu's 16×32 register tile with no
 * memory traffic at all. From these it prints the speed a kernel with that tile can reach at best
 * (its FMAs at the measured arithmetic rate plus its loads and broadcasts at their measured cost)
 * next to kdgpu's matmul at 1024³, each as a share of the ceiling.
 *
 *   npx tsx bench/swiftshader-limits.ts [--reps 5]
 *
 * Why it exists: on SwiftShader every component of a load whose address differs between
 * invocations is emulated lane by lane, and this script shows how many FMAs one such load costs;
 * a matmul must load each value of A and B at least once per register tile, so the tile's reuse
 * (FMAs per load) caps its share of the ceiling whatever the rest of the kernel does.
 */
import * as kd from '../src/index.js';
import type { Kernel } from '../src/index.js';
import { calibrate, makeCeiling } from './fma-ceiling.js';
import { kdMatmul, kdMatmulKernel } from './lib/matmul-runners.js';
import { median } from './lib/timing.js';

const argv = process.argv.slice(2);
const ri = argv.indexOf('--reps');
const REPS = ri >= 0 ? Number(argv[ri + 1]) : 5;
if (!Number.isInteger(REPS) || REPS < 1) throw new Error('--reps must be a positive integer');

const engine = await kd.init();
const GROUPS = 256;
const WG = 64;
const ITERS = 512;
const PER_ITER = 16;

/** Sums PER_ITER values per iteration: loaded with per-invocation indices, broadcast, or computed. */
function accessKernel(kind: 'load' | 'broadcast' | 'none'): Kernel {
  const value = (j: number) =>
    kind === 'load'
      ? `src[(base + lid * 3u + ${j * 5}u) & 1048575u]`
      : kind === 'broadcast'
        ? `subgroupBroadcast(x${j & 3}, ${j & 3}u)`
        : `f32(base + ${j * 5}u)`;
  const body = Array.from({ length: PER_ITER }, (_, j) => `    acc${j & 3} += ${value(j)};`).join('\n');
  return {
    name: `bench.limits.${kind}`,
    source: `${kind === 'broadcast' ? 'enable subgroups;\n' : ''}
@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  var acc0 = 0.0; var acc1 = 0.0; var acc2 = 0.0; var acc3 = 0.0;
  var x0 = f32(lid); var x1 = x0 + 1.0; var x2 = x0 + 2.0; var x3 = x0 + 3.0;
  var base = wid.x * 1024u;
  for (var i = 0u; i < ${ITERS}u; i++) {
${body}
    base += 7u; x0 += 1.0; x1 += 1.0; x2 += 1.0; x3 += 1.0;
  }
  out[gid.x] = acc0 + acc1 + acc2 + acc3 + src[gid.x];
}`,
  };
}

/** The 16×32 register tile's arithmetic alone: TM×TN4 products mat4x4·vec4 per step, no loads. */
const TM = 16;
const TN4 = 8;
const TILE_ITERS = 256;
function tileKernel(): Kernel {
  const L: string[] = [];
  for (let i = 0; i < TM; i++) for (let j = 0; j < TN4; j++) L.push(`  var c${i}_${j} = vec4<f32>(0.0);`);
  L.push(`  for (var it = 0u; it < ${TILE_ITERS}u; it++) {`);
  for (let i = 0; i < TM; i++) L.push(`    let a${i} = x + vec4<f32>(${i}.0);`);
  for (let j = 0; j < TN4; j++) L.push(`    let m${j} = mat4x4<f32>(x * ${j + 1}.0, x, x * 0.5, x + 1.0);`);
  for (let j = 0; j < TN4; j++) for (let i = 0; i < TM; i++) L.push(`    c${i}_${j} += m${j} * a${i};`);
  L.push('    x = x * 0.999;\n  }');
  const sum: string[] = [];
  for (let i = 0; i < TM; i++) for (let j = 0; j < TN4; j++) sum.push(`c${i}_${j}`);
  return {
    name: 'bench.limits.tile',
    source: `
@group(0) @binding(0) var<storage, read_write> out: array<vec4<f32>>;
@compute @workgroup_size(4)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  var x = vec4<f32>(f32(gid.x) * 1e-3);
${L.join('\n')}
  out[gid.x] = ${sum.join(' + ')};
}`,
  };
}

const invocations = GROUPS * WG;
const src = engine.pool.acquire(4 * 1048576);
const out = engine.pool.acquire(invocations * 16);
const timedMs = async (record: () => void) => {
  const t0 = performance.now();
  record();
  await engine.sync();
  return performance.now() - t0;
};

process.stdout.write('calibrating the FMA ceiling… ');
const cal = await calibrate(engine);
const ceiling = makeCeiling(engine, cal.best);
console.log(`${cal.best.chains} chains × ${cal.best.unroll}`);
const kinds = engine.subgroups ? (['none', 'load', 'broadcast'] as const) : (['none', 'load'] as const);
const TILE_GROUPS = 128;
const tileFlops = TILE_GROUPS * 4 * TILE_ITERS * TM * TN4 * 32;
const mm = kdMatmul(engine, 1024, 1024, 1024);
const runs: Record<string, () => Promise<number>> = {
  ceiling: () => timedMs(() => ceiling.run()),
  tile: () => timedMs(() => engine.dispatch(tileKernel(), { out }, null, [TILE_GROUPS])),
  matmul: async () => {
    const t0 = performance.now();
    await mm.run();
    return performance.now() - t0;
  },
};
for (const k of kinds) runs[k] = () => timedMs(() => engine.dispatch(accessKernel(k), { src, out }, null, [GROUPS]));
const ms: Record<string, number[]> = {};
for (let rep = 0; rep <= REPS; rep++) {
  for (const [name, run] of Object.entries(runs)) {
    const t = await run();
    if (rep > 0) (ms[name] ??= []).push(t); // rep 0 compiles
  }
}
mm.dispose();
ceiling.dispose();
engine.pool.release(src);
engine.pool.release(out);

const med = (name: string) => median(ms[name]);
const ceilingGflops = ceiling.flops / (med('ceiling') * 1e6);
// One invocation's FMA takes 2 / ceiling ns (2 FLOPs per FMA); costs below are in those units.
const fmaNs = 2 / ceilingGflops;
const perAccessNs = (k: string) => ((med(k) - med('none')) * 1e6) / (invocations * ITERS * PER_ITER);
const loadNs = perAccessNs('load');
const bcastNs = engine.subgroups ? perAccessNs('broadcast') : 0;
const tileGflops = tileFlops / (med('tile') * 1e6);
const matmulGflops = (2 * 1024 ** 3) / (med('matmul') * 1e6);

/**
 * Best case of a register tile TMr rows × 4·TN4r columns per invocation, with op(B) shared by a
 * subgroup of four (each invocation loads one k-row of it and broadcasts it): per step of four
 * k-values, 16·TMr·TN4r FMAs, 4·TMr + 4·TN4r loaded floats and 16·TN4r broadcast floats (none
 * without subgroups, where every invocation loads all 16·TN4r floats of op(B) instead).
 */
function tileBound(tm: number, tn4: number): number {
  const fmas = 16 * tm * tn4;
  const loads = 4 * tm + (engine.subgroups ? 4 * tn4 : 16 * tn4);
  const bcasts = engine.subgroups ? 16 * tn4 : 0;
  const ns = fmas * (2 / tileGflops) + loads * loadNs + bcasts * bcastNs;
  return (2 * fmas) / ns;
}
const pct = (g: number) => `${((100 * g) / ceilingGflops).toFixed(0)}% of the ceiling`;
console.log(`\n${engine.adapter.description || engine.adapter.vendor}: medians of ${REPS} alternating repetitions`);
console.log(`  vec4-FMA ceiling (${cal.best.chains}×${cal.best.unroll}):            ${ceilingGflops.toFixed(2)} GFLOP/s`);
console.log(`  one f32 load, per-invocation index:        ${loadNs.toFixed(3)} ns per invocation = ${(loadNs / fmaNs).toFixed(1)} FMAs at the ceiling`);
if (engine.subgroups) console.log(`  one f32 subgroupBroadcast:                 ${bcastNs.toFixed(3)} ns per invocation = ${(bcastNs / fmaNs).toFixed(1)} FMAs`);
console.log(`  16×32 register tile, arithmetic only:      ${tileGflops.toFixed(2)} GFLOP/s (${pct(tileGflops)})`);
for (const [tm, tn4] of [
  [16, 8],
  [16, 16],
  [32, 16],
]) {
  console.log(`  bound of a ${tm}×${4 * tn4} tile (arithmetic at that rate + its loads): ${tileBound(tm, tn4).toFixed(2)} GFLOP/s (${pct(tileBound(tm, tn4))})`);
}
console.log(`  kdgpu matmul 1024³ (${kdMatmulKernel(engine, 1024, 1024, 1024)}):  ${matmulGflops.toFixed(2)} GFLOP/s (${pct(matmulGflops)}; ${((100 * matmulGflops) / tileBound(TM, TN4)).toFixed(0)}% of its tile's bound)`);
process.exit(0);
