/**
 * A/B of the row-wise softmax plans (src/kernels/softmax.ts: 'workgroup' and 'thread') in one
 * process: for each row count and row length L, a log-softmax forward + backward runs under
 * each plan (after a warm-up that compiles it and checks both plans agree), then --reps rounds
 * alternating between the plans; medians of wall-clock ms. --out writes the numbers that
 * softmax-plan.ts's thresholds and test/softmax-plans.test.ts follow.
 *
 *   npx tsx bench/softmax-plans.ts [--rows 1,4,16,256] [--lengths 10,100,1000,16000] [--reps 7] [--out FILE.json]
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import * as kd from '../src/index.js';
import { runSoftmax, runSoftmaxBackward } from '../src/kernels/softmax.js';
import { planSoftmax, type SoftmaxPlan } from '../src/kernels/softmax-plan.js';
import { median } from './lib/timing.js';

const argv = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : dflt;
};
const rowCounts = opt('rows', '1,4,16,256').split(',').map(Number);
const lengths = opt('lengths', '10,100,1000,16000').split(',').map(Number);
const REPS = Number(opt('reps', '7'));
const out = argv.includes('--out') ? opt('out', '') : null;
const PLANS: SoftmaxPlan[] = ['workgroup', 'thread'];
// Enough rows per timed run that the dispatch overhead does not hide the kernels.
const ROUNDS = 8;

const engine = await kd.init();
const results: { L: number; rows: number; ms: Record<SoftmaxPlan, number>; planned: SoftmaxPlan }[] = [];
for (const [rows, L] of rowCounts.flatMap((r) => lengths.map((l) => [r, l]))) {
  const x = kd.tensor(Float32Array.from({ length: rows * L }, (_, i) => Math.sin(i * 0.37) * 5), [rows, L]);
  const g = kd.tensor(Float32Array.from({ length: rows * L }, (_, i) => Math.cos(i * 0.11)), [rows, L]);
  const dims = { outer: rows, L, inner: 1 };
  const run = (plan: SoftmaxPlan) => {
    let last = null;
    for (let r = 0; r < ROUNDS; r++) {
      const y = runSoftmax(engine, x.bufferFor('bench'), dims, true, plan);
      const gx = runSoftmaxBackward(engine, g.bufferFor('bench'), y, dims, true, plan);
      engine.pool.release(y);
      if (last) engine.pool.release(last);
      last = gx;
    }
    return last!;
  };
  const first: Float32Array[] = [];
  for (const plan of PLANS) {
    const gx = run(plan);
    first.push(new Float32Array(await engine.read(gx, rows * L * 4)));
    engine.pool.release(gx);
  }
  const diff = first[0].reduce((m, v, i) => Math.max(m, Math.abs(v - first[1][i])), 0);
  if (!(diff <= 1e-4)) throw new Error(`L=${L}: the plans disagree by ${diff}`);
  const ms: Record<SoftmaxPlan, number[]> = { workgroup: [], thread: [] };
  for (let rep = 0; rep < REPS; rep++) {
    for (const plan of rep % 2 ? [...PLANS].reverse() : PLANS) {
      await engine.sync();
      const t0 = performance.now();
      engine.pool.release(run(plan));
      await engine.sync();
      ms[plan].push(performance.now() - t0);
    }
  }
  const med = { workgroup: median(ms.workgroup), thread: median(ms.thread) };
  const planned = planSoftmax(L, rows, engine.adapter.kind);
  results.push({ L, rows, ms: med, planned });
  console.log(`L=${L} rows=${rows}: workgroup ${med.workgroup.toFixed(2)} ms, thread ${med.thread.toFixed(2)} ms (${ROUNDS} forward+backward each); planner: ${planned}`);
  x.dispose();
  g.dispose();
}
if (out) {
  const a = engine.adapter;
  const file = { bench: 'bench/softmax-plans.ts', date: new Date().toISOString(), adapter: { kind: a.kind, description: a.description || a.vendor }, reps: REPS, roundsPerRun: ROUNDS, results };
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(`${out}.tmp`, `${JSON.stringify(file, null, 2)}\n`);
  renameSync(`${out}.tmp`, out);
  console.log(`wrote ${out}`);
}
kd.shutdown();
