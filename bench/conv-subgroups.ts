/**
 * A/B of the conv2d kernels with and without subgroup-shared loads (src/kernels/conv2d/dense.ts, weight-grad.ts), in one
 * process: forward, input gradient and weight gradient of mnist-cnn-small's two conv layers at
 * batch 256 and the reference teacher's second layer at batch 64; one warm-up, then --reps rounds
 * alternating between the two; medians in ms. Needs the `subgroups` feature to compare anything.
 *
 *   npx tsx bench/conv-subgroups.ts [--reps 5]
 */
import * as kd from '../src/index.js';
import { convTiles, runConv2d, runConv2dGradInput, runConv2dGradWeight } from '../src/kernels/conv2d/index.js';
import { median } from './lib/timing.js';

const i = process.argv.indexOf('--reps');
const REPS = i >= 0 ? Number(process.argv[i + 1]) : 5;
const e = await kd.init();
if (!e.subgroups) console.log('this device has no subgroups: both columns run the plain kernels');
const cases: [string, number[], number[]][] = [
  ['mnist-cnn-small conv1, batch 256', [256, 1, 28, 28], [32, 1, 3, 3]],
  ['mnist-cnn-small conv2, batch 256', [256, 32, 13, 13], [64, 32, 3, 3]],
  ['teacher conv2, batch 64', [64, 32, 26, 26], [64, 32, 3, 3]],
];
const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
for (const [label, xs, ws] of cases) {
  const plan = kd.planConv2d(xs, ws, [ws[0]], {});
  const x = kd.tensor(Float32Array.from({ length: size(xs) }, (_, k) => Math.sin(k)), xs);
  const w = kd.tensor(Float32Array.from({ length: size(ws) }, (_, k) => Math.cos(k)), ws);
  const dy = kd.tensor(Float32Array.from({ length: size(plan.outShape) }, (_, k) => Math.sin(0.3 * k)), plan.outShape);
  const ms: Record<string, number[]> = {};
  const time = async (key: string, rep: number, run: () => ReturnType<typeof e.pool.acquire>) => {
    const t0 = performance.now();
    const out = run();
    await e.sync();
    if (rep > 0) (ms[key] ??= []).push(performance.now() - t0);
    e.pool.release(out);
  };
  for (let rep = 0; rep <= REPS; rep++) {
    for (const sg of [true, false]) {
      // The direct weight-gradient kernel in both columns (not the im2col + matmul path, bench/conv-weight-gemm.ts).
      const tiles = { ...convTiles, subgroups: sg, weightGemm: false };
      const tag = sg ? 'subgroup' : 'plain';
      await time(`forward ${tag}`, rep, () => runConv2d(e, x.bufferFor('b'), w.bufferFor('b'), plan, {}, tiles));
      await time(`input gradient ${tag}`, rep, () => runConv2dGradInput(e, dy.bufferFor('b'), w.bufferFor('b'), plan, tiles));
      await time(`weight gradient ${tag}`, rep, () => runConv2dGradWeight(e, x.bufferFor('b'), dy.bufferFor('b'), plan, tiles));
    }
  }
  console.log(`${label}: ms, median of ${REPS}`);
  for (const part of ['forward', 'input gradient', 'weight gradient']) {
    const s = median(ms[`${part} subgroup`]);
    const p = median(ms[`${part} plain`]);
    console.log(`  ${part.padEnd(16)} subgroup ${s.toFixed(1).padStart(7)}   plain ${p.toFixed(1).padStart(7)}   plain ÷ subgroup ${(p / s).toFixed(2)}×`);
  }
  for (const t of [x, w, dy]) t.dispose();
}
