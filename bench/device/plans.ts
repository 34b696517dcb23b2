/**
 * The device bundle's A/B of the GPU matmul plans: each plan (the workgroup-shared kernels of
 * src/kernels/matmul-shared.ts, the GPU register tile, and what planMatmul picks on this adapter)
 * runs square products of each size, forced; medians of alternating repetitions, and each plan's
 * result against the first plan's (so a plan that computes garbage on this GPU shows). On a GPU
 * this says which plan planMatmul should pick for hardware adapters.
 */
import * as kd from '../../src/index.js';
import { MATMUL_PLANS, planMatmul, runMatmul, type MatmulPlan } from '../../src/kernels/matmul.js';
import { median } from '../lib/timing.js';

/** The plans timed, by their MATMUL_PLANS names. */
export const GPU_PLAN_NAMES = ['tiled-gpu', 'shared-64x64', 'shared-32x32', 'shared-64x128'];
export const PLAN_SIZES = [1024, 2048, 4096];
export const PLAN_SIZES_SMALL = [64, 128];

/** One plan at one size. */
export interface PlanTiming {
  plan: string;
  size: number;
  /** Median ms per product. */
  ms: number;
  gflops: number;
  /** Largest |difference| from the first plan's product, relative to its largest |value|. */
  relDiff: number;
}

/** The plans timed on one adapter, with which one planMatmul picks there. */
export interface PlanBench {
  timings: PlanTiming[];
  planner: string;
}

const nameOf = (p: MatmulPlan): string => Object.entries(MATMUL_PLANS).find(([, q]) => JSON.stringify(q) === JSON.stringify(p))?.[0] ?? JSON.stringify(p);

/** Times each GPU plan (forced) on n×n×n products; `reps` alternating repetitions after a warm-up. */
export async function runPlanBench(engine: kd.Engine, o: { small: boolean; reps?: number; log: (line: string) => void }): Promise<PlanBench> {
  const sizes = o.small ? PLAN_SIZES_SMALL : PLAN_SIZES;
  const reps = o.reps ?? (o.small ? 2 : 5);
  const plans: [string, MatmulPlan][] = GPU_PLAN_NAMES.map((n) => [n, MATMUL_PLANS[n]]);
  const a0 = engine.adapter;
  const planner = nameOf(planMatmul(1024, 1024, 1024, a0.software, engine.subgroups, a0.kind === 'llvmpipe'));
  const timings: PlanTiming[] = [];
  for (const n of sizes) {
    const a = kd.tensor(Float32Array.from({ length: n * n }, (_, i) => Math.sin(i)), [n, n]);
    const b = kd.tensor(Float32Array.from({ length: n * n }, (_, i) => Math.cos(i * 0.7)), [n, n]);
    const args = { M: n, N: n, K: n, transA: false, transB: false, batchShape: [], aBatchStrides: [], bBatchStrides: [] };
    // Products per timed repetition: enough for ~50 ms, so that the submit/sync cost is small (from the warm-up).
    const inner: Record<string, number> = {};
    const ms: Record<string, number[]> = {};
    const rel: Record<string, number> = {};
    let first: Float32Array | null = null;
    let scale = 0;
    for (const [name, plan] of plans) {
      const t0 = performance.now();
      const out = runMatmul(engine, a.bufferFor('bench'), b.bufferFor('bench'), args, {}, plan);
      const got = new Float32Array(await engine.read(out, n * n * 4));
      engine.pool.release(out);
      const t = performance.now() - t0;
      if (!first) {
        first = got;
        scale = got.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      }
      rel[name] = got.reduce((m, v, i) => Math.max(m, Math.abs(v - first![i])), 0) / (scale || 1);
      inner[name] = Math.max(1, Math.min(50, Math.floor(50 / Math.max(t, 0.1))));
    }
    for (let r = 0; r < reps; r++) {
      for (const [name, plan] of plans) {
        const t0 = performance.now();
        for (let i = 0; i < inner[name]; i++) engine.pool.release(runMatmul(engine, a.bufferFor('bench'), b.bufferFor('bench'), args, {}, plan));
        await engine.sync();
        (ms[name] ??= []).push((performance.now() - t0) / inner[name]);
      }
    }
    for (const [name] of plans) {
      const m = median(ms[name]);
      timings.push({ plan: name, size: n, ms: m, gflops: (2 * n * n * n) / (m * 1e6), relDiff: rel[name] });
      o.log(`  matmul ${n} ${name.padEnd(14)} ${m.toFixed(3).padStart(9)} ms ${((2 * n * n * n) / (m * 1e6)).toFixed(1).padStart(8)} GFLOP/s  (max rel. diff ${rel[name].toExponential(1)})`);
    }
    a.dispose();
    b.dispose();
  }
  return { timings, planner };
}

/** The timings as a Markdown table: one row per size, one column per plan (GFLOP/s, the best in bold). */
export function planMarkdown(p: PlanBench): string {
  const names = [...new Set(p.timings.map((t) => t.plan))];
  const sizes = [...new Set(p.timings.map((t) => t.size))];
  const lines = [`| matmul | ${names.join(' | ')} |`, `| ---: | ${names.map(() => '---:').join(' | ')} |`];
  for (const n of sizes) {
    const row = p.timings.filter((t) => t.size === n);
    const best = Math.max(...row.map((t) => t.gflops));
    lines.push(`| ${n} | ${names.map((nm) => {
      const t = row.find((x) => x.plan === nm)!;
      const s = `${t.gflops.toFixed(1)}${t.relDiff > 1e-4 ? ' (differs!)' : ''}`;
      return t.gflops === best ? `**${s}**` : s;
    }).join(' | ')} |`);
  }
  lines.push('', `GFLOP/s, each plan forced (KDGPU_MATMUL_PLAN names); planMatmul picks ${p.planner} for 1024³ on this adapter.`);
  return lines.join('\n');
}
