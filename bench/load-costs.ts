/**
 * What one load costs on this adapter, by kind of load, in one process: each kernel sums 16 loaded
 * values per loop iteration (a baseline kernel sums computed values instead), and the difference
 * per access is the load's cost, also given in FMAs at the adapter's vec4-FMA ceiling. From the
 * per-component cost it prints the best speed of a register-tiled matmul whose every A and B value
 * is loaded once per TM×TN tile step (loads + FMAs at the measured costs), next to kdgpu's matmul at
 * 1024³.
 *
 *   npx tsx bench/load-costs.ts [--reps 7]
 *
 * Why it exists: on llvmpipe (Mesa 22.3) a matmul's speed is set by how many values each
 * invocation loads per FMA, and no kind of load is cheap — storage loads with a per-invocation
 * index, with an index that is the same for every invocation, vec4 and mat4x4 loads, and
 * uniform-buffer loads all cost a few tenths of a nanosecond per component per invocation.
 */
import * as kd from '../src/index.js';
import { calibrate, makeCeiling } from './fma-ceiling.js';
import { kdMatmul, kdMatmulKernel } from './lib/matmul-runners.js';
import { median } from './lib/timing.js';

const argv = process.argv.slice(2);
const ri = argv.indexOf('--reps');
const REPS = ri >= 0 ? Number(argv[ri + 1]) : 7;
if (!Number.isInteger(REPS) || REPS < 1) throw new Error('--reps must be a positive integer');

const engine = await kd.init();
const dev = engine.device;
const GROUPS = 256;
const WG = 64;
const ITERS = 512;
const PER_ITER = 16;
const UBO_VEC4S = Math.min(engine.limits.maxUniformBufferBindingSize, 16384) / 16;

/** Each kind: the WGSL of the j-th value summed per iteration, and its components per access. */
const KINDS: Record<string, { value: (j: number) => string; comps: number; what: string }> = {
  none: { value: (j) => `f32(i + ${j}u)`, comps: 0, what: 'computed (baseline)' },
  lane: { value: (j) => `s1[(i * 16u + lid * 3u + ${j * 5}u) & 1048575u]`, comps: 1, what: 'storage f32, per-invocation index' },
  same: { value: (j) => `s1[(i * 16u + ${j * 5}u) & 1048575u]`, comps: 1, what: 'storage f32, index the same for all invocations' },
  vec4: { value: (j) => `dot(s4[(i * 16u + lid * 3u + ${j * 5}u) & 262143u], vec4<f32>(1.0))`, comps: 4, what: 'storage vec4, per-invocation index' },
  mat4: { value: (j) => `dot(s16[(i * 16u + lid * 3u + ${j * 5}u) & 65535u] * vec4<f32>(1.0), vec4<f32>(1.0))`, comps: 16, what: 'storage mat4x4, per-invocation index' },
  ubo: { value: (j) => `u[(i * 16u + ${j}u) % ${UBO_VEC4S}u].x`, comps: 1, what: 'uniform buffer f32, same index for all' },
  ubo4: { value: (j) => `dot(u[(i * 16u + ${j}u) % ${UBO_VEC4S}u], vec4<f32>(1.0))`, comps: 4, what: 'uniform buffer vec4, same index for all' },
};

function source(kind: string): string {
  const body = Array.from({ length: PER_ITER }, (_, j) => `    acc${j & 3} += ${KINDS[kind].value(j)};`).join('\n');
  return `
@group(0) @binding(0) var<uniform> u: array<vec4<f32>, ${UBO_VEC4S}>;
@group(0) @binding(1) var<storage, read> s1: array<f32>;
@group(0) @binding(2) var<storage, read> s4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> s16: array<mat4x4<f32>>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  var acc0 = 0.0; var acc1 = 0.0; var acc2 = 0.0; var acc3 = 0.0;
  for (var i = 0u; i < ${ITERS}u; i++) {
${body}
  }
  out[gid.x] = acc0 + acc1 + acc2 + acc3 + u[0].y + s1[0] + s4[0].y + s16[0][1].y;
}`;
}

const ubo = dev.createBuffer({ size: UBO_VEC4S * 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
const src = dev.createBuffer({ size: 4 * 1048576, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
const out = dev.createBuffer({ size: GROUPS * WG * 4, usage: GPUBufferUsage.STORAGE });
const runners: Record<string, () => Promise<number>> = {};
for (const kind of Object.keys(KINDS)) {
  const pipeline = dev.createComputePipeline({ layout: 'auto', compute: { module: dev.createShaderModule({ code: source(kind) }), entryPoint: 'main' } });
  const group = dev.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [ubo, src, src, src, out].map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
  runners[kind] = async () => {
    const t0 = performance.now();
    const enc = dev.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(GROUPS);
    pass.end();
    dev.queue.submit([enc.finish()]);
    await dev.queue.onSubmittedWorkDone();
    return performance.now() - t0;
  };
}
const cal = await calibrate(engine);
const ceiling = makeCeiling(engine, cal.best);
runners.ceiling = async () => {
  const t0 = performance.now();
  ceiling.run();
  await engine.sync();
  return performance.now() - t0;
};
const mm = kdMatmul(engine, 1024, 1024, 1024);
runners.matmul = async () => {
  const t0 = performance.now();
  await mm.run();
  return performance.now() - t0;
};
const ms: Record<string, number[]> = {};
for (let rep = 0; rep <= REPS; rep++) {
  for (const [name, run] of Object.entries(runners)) {
    const t = await run();
    if (rep > 0) (ms[name] ??= []).push(t); // rep 0 compiles
  }
}
const med = (k: string) => median(ms[k]);
const ceilingGflops = ceiling.flops / (med('ceiling') * 1e6);
const fmaNs = 2 / ceilingGflops; // one invocation's FMA at the ceiling, in ns of this machine
const a = engine.adapter;
console.log(`${a.description || a.vendor} (${a.kind}); vec4-FMA ceiling ${ceilingGflops.toFixed(1)} GFLOP/s; medians of ${REPS}`);
const perComp: Record<string, number> = {};
for (const [kind, k] of Object.entries(KINDS)) {
  if (kind === 'none') continue;
  const ns = ((med(kind) - med('none')) * 1e6) / (GROUPS * WG * ITERS * PER_ITER);
  perComp[kind] = ns / k.comps;
  console.log(`  ${k.what.padEnd(50)} ${ns.toFixed(3)} ns per access = ${(ns / fmaNs).toFixed(0)} FMAs; ${(ns / k.comps).toFixed(3)} ns per component`);
}
// A TM×TN register tile per step of one k loads TM values of A and TN of B (vec4 loads) for TM·TN FMAs.
const loadNs = perComp.vec4;
for (const t of [8, 16, 24, 32]) {
  const nsPerStep = 2 * t * loadNs + t * t * fmaNs;
  console.log(`  a ${t}×${t} register tile with vec4 loads, no spills: at most ${((2 * t * t) / nsPerStep).toFixed(1)} GFLOP/s`);
}
console.log(`  kdgpu matmul 1024³ (${kdMatmulKernel(engine, 1024, 1024, 1024)}): ${((2 * 1024 ** 3) / (med('matmul') * 1e6)).toFixed(1)} GFLOP/s`);
mm.dispose();
ceiling.dispose();
kd.shutdown();
