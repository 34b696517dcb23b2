/**
 * The adapter's vec4 FMA ceiling: a WGSL shader that does nothing but independent vec4 FMA
 * chains in registers (no memory traffic inside the loop), dispatched through kdgpu's engine and
 * timed like every other kernel (to completion).
 *
 * A shader's loop overhead matters on a CPU implementation such as SwiftShader: with one FMA per
 * chain per iteration the loop bookkeeping costs about as much as the FMAs. So the ceiling is the
 * best of a few shapes (chains × FMAs per chain per iteration), chosen by a quick calibration;
 * `SIMPLE_LOOP` is the naive one-FMA-per-iteration form, reported for comparison.
 */
import type { Engine, Kernel } from '../src/index.js';

export interface CeilingShape {
  /** Independent vec4 accumulators. */
  chains: number;
  /** FMAs per chain per loop iteration. */
  unroll: number;
}

export const SIMPLE_LOOP: CeilingShape = { chains: 8, unroll: 1 };
/**
 * On SwiftShader (one SSE register per vec4 component, 16 registers) the fastest shapes keep every
 * chain in registers: 2 chains (8 registers) unrolled 8–16 times ran at 22–26 GFLOP/s here where
 * 4×4 ran at 13–18 and 16×4 (spilled) at 11, so the register-resident shapes must be candidates or
 * the "ceiling" understates the adapter.
 */
export const CANDIDATES: CeilingShape[] = [
  { chains: 1, unroll: 16 },
  { chains: 2, unroll: 8 },
  { chains: 2, unroll: 16 },
  { chains: 4, unroll: 4 },
  { chains: 4, unroll: 8 },
  { chains: 8, unroll: 4 },
  { chains: 16, unroll: 4 },
];

const WG = 64;

export function ceilingKernel(s: CeilingShape): Kernel {
  const init = Array.from({ length: s.chains }, (_, i) => `  var a${i} = vec4<f32>(f32(gid.x) * ${(i + 1) * 1e-7}, ${i}.0, 1.0, 2.0);`);
  const body = Array.from({ length: s.unroll }, () =>
    Array.from({ length: s.chains }, (_, i) => `a${i} = fma(a${i}, m, c);`).join(' '),
  );
  const sum = Array.from({ length: s.chains }, (_, i) => `a${i}`).join(' + ');
  return {
    name: `bench.fma-ceiling.${s.chains}x${s.unroll}`,
    source: `
struct Params { iters: u32, mul: f32, }
@group(0) @binding(0) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(1) var<uniform> p: Params;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let m = vec4<f32>(p.mul);
  let c = vec4<f32>(1e-6);
${init.join('\n')}
  for (var i = 0u; i < p.iters; i++) {
    ${body.join('\n    ')}
  }
  // Every chain feeds the output, so none of the work can be dropped.
  out[gid.x] = ${sum};
}`,
  };
}

/** A prepared ceiling measurement: `run()` records one dispatch of `flops` FLOPs. */
export interface Ceiling {
  shape: CeilingShape;
  flops: number;
  run(): void;
  dispose(): void;
}

/** About `targetFlops` of FMA work per run (2 FLOPs per FMA lane). */
export function makeCeiling(engine: Engine, shape: CeilingShape, targetFlops = 2e9): Ceiling {
  const groups = 256;
  const kernel = ceilingKernel(shape);
  const perIter = groups * WG * shape.chains * shape.unroll * 8;
  const iters = Math.max(1, Math.round(targetFlops / perIter));
  const out = engine.pool.acquire(groups * WG * 16);
  return {
    shape,
    flops: perIter * iters,
    run: () => engine.dispatch(kernel, { out }, { iters, mul: 0.9999 }, [groups]),
    dispose: () => engine.pool.release(out),
  };
}

/** Wall-clock GFLOP/s of one run, to completion. */
export async function timeCeiling(engine: Engine, c: Ceiling): Promise<number> {
  const t0 = performance.now();
  c.run();
  await engine.sync();
  return c.flops / ((performance.now() - t0) * 1e6);
}

/** Picks the fastest candidate shape (median of `reps` runs each, after a warm-up run). */
export async function calibrate(engine: Engine, reps = 3): Promise<{ best: CeilingShape; results: { shape: CeilingShape; gflops: number }[] }> {
  const results: { shape: CeilingShape; gflops: number }[] = [];
  for (const shape of CANDIDATES) {
    const c = makeCeiling(engine, shape, 1e9);
    await timeCeiling(engine, c);
    const g: number[] = [];
    for (let r = 0; r < reps; r++) g.push(await timeCeiling(engine, c));
    g.sort((x, y) => x - y);
    results.push({ shape, gflops: g[g.length >> 1] });
    c.dispose();
  }
  const best = results.reduce((x, y) => (y.gflops > x.gflops ? y : x)).shape;
  return { best, results };
}
