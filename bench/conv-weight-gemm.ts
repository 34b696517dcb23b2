/**
 * A/B of the two conv2d weight-gradient paths (src/kernels/conv2d/weight-grad.ts's direct kernel and
 * src/kernels/conv2d/weight-gemm.ts's im2col + batched matmul), in one process: mnist-cnn-small's
 * second layer at batch 256, the reference teacher's second layer at batch 64 and 256 (whose
 * im2col runs in groups within the cap) and a strided, padded layer; one warm-up run of each (which also checks that the two agree), then --reps
 * rounds alternating between them; medians in ms and GFLOP/s.
 *
 *   npx tsx bench/conv-weight-gemm.ts [--reps 5]
 */
import * as kd from '../src/index.js';
import { convFlops, convTiles, runConv2dGradWeight } from '../src/kernels/conv2d/index.js';
import { planWeightGemm } from '../src/kernels/conv2d/index.js';
import { median } from './lib/timing.js';

const i = process.argv.indexOf('--reps');
const REPS = i >= 0 ? Number(process.argv[i + 1]) : 5;
if (!Number.isInteger(REPS) || REPS < 1) throw new Error('--reps must be a positive integer');
const e = await kd.init();
const cases: [string, number[], number[], kd.Conv2dOptions][] = [
  ['mnist-cnn-small conv2, batch 256', [256, 32, 13, 13], [64, 32, 3, 3], {}],
  ['teacher conv2, batch 64', [64, 32, 26, 26], [64, 32, 3, 3], {}],
  ['teacher conv2, batch 256 (groups of chunks)', [256, 32, 26, 26], [64, 32, 3, 3], {}],
  ['64 → 128, stride 2, padding 1, batch 64', [64, 64, 16, 16], [128, 64, 3, 3], { stride: 2, padding: 1 }],
];
const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
console.log(`${e.adapter.description || e.adapter.vendor}: weight gradient, medians of ${REPS}`);
for (const [label, xs, ws, opts] of cases) {
  const plan = kd.planConv2d(xs, ws, [ws[0]], opts);
  const gemmPlan = planWeightGemm(plan, true, true);
  if (!gemmPlan) {
    console.log(`  ${label}: im2col buffer over the cap, direct kernel only`);
    continue;
  }
  const x = kd.tensor(Float32Array.from({ length: size(xs) }, (_, k) => Math.sin(k)), xs);
  const dy = kd.tensor(Float32Array.from({ length: size(plan.outShape) }, (_, k) => Math.sin(0.3 * k)), plan.outShape);
  const ms: Record<string, number[]> = {};
  const first: Record<string, Float32Array> = {};
  for (let rep = 0; rep <= REPS; rep++) {
    for (const weightGemm of [false, true]) {
      const key = weightGemm ? 'im2col + matmul' : 'direct';
      const t0 = performance.now();
      const out = runConv2dGradWeight(e, x.bufferFor('b'), dy.bufferFor('b'), plan, { ...convTiles, weightGemm });
      await e.sync();
      if (rep > 0) (ms[key] ??= []).push(performance.now() - t0);
      else first[key] = new Float32Array(await e.read(out, size(ws) * 4));
      e.pool.release(out);
    }
  }
  let worst = 0;
  let scale = 0;
  for (let k = 0; k < first.direct.length; k++) {
    worst = Math.max(worst, Math.abs(first.direct[k] - first['im2col + matmul'][k]));
    scale = Math.max(scale, Math.abs(first.direct[k]));
  }
  if (worst > 1e-4 * scale) throw new Error(`${label}: the two paths differ by ${worst} (max |dW| ${scale})`);
  const fl = convFlops(plan);
  const d = median(ms.direct);
  const g = median(ms['im2col + matmul']);
  console.log(
    `  ${label} (${gemmPlan.chunks} chunks of ${gemmPlan.nb} images, ${Math.ceil(gemmPlan.chunks / gemmPlan.groupChunks)} group(s)): direct ${d.toFixed(1)} ms (${(fl / d / 1e6).toFixed(2)} GFLOP/s), ` +
      `im2col + matmul ${g.toFixed(1)} ms (${(fl / g / 1e6).toFixed(2)} GFLOP/s): ${(d / g).toFixed(2)}×`,
  );
  x.dispose();
  dy.dispose();
}
process.exit(0);
