/**
 * Each conv layer's passes beside the GEMM of the same M·N·K, before and after the per-adapter
 * conv plans, in one process: for every layer and pass, three runs alternate --reps times after a
 * warm-up — the pass with `convTiles` and the default weight-gradient formulation (what every
 * adapter ran before src/kernels/conv2d/plan.ts), the pass with the planner's plan, and kdgpu's
 * matmul at the pass's M·N·K (bench/lib/suite-conv-cases.ts kdGemmPieces). Medians of GFLOP/s and
 * conv ÷ GEMM ratios. (The suite's conv section measures the planner's plan beside the peers.)
 *
 *   npx tsx bench/conv-vs-gemm.ts [--batch 256] [--reps 5] [--layer conv1|teacher-conv2|small-conv2]
 */
import * as kd from '../src/index.js';
import type { PooledBuffer } from '../src/gpu/buffer-pool.js';
import { convFlops, convTiles, planConvTiles, runConv2d, runConv2dGradBias, runConv2dGradInput, runConv2dGradWeight, type ConvPass, type ConvTiles } from '../src/kernels/conv2d/index.js';
import { CONV_LAYERS, CONV_PASSES, kdGemmPieces, layerTensors, passGemm } from './lib/suite-conv-cases.js';
import { median } from './lib/timing.js';

const argv = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : dflt;
};
const B = Number(opt('batch', '256'));
const REPS = Number(opt('reps', '5'));
const layers = CONV_LAYERS.filter((l) => opt('layer', '') === '' || l.name.replace(/ /g, '-') === opt('layer', ''));
const engine = await kd.init();
const kind = engine.adapter.kind;
console.log(`${engine.adapter.description || kind} (${kind}), batch ${B}: GFLOP/s, medians of ${REPS} alternating runs`);
console.log(`  ${'pass'.padEnd(20)} ${'before'.padStart(7)} ${'after'.padStart(7)} ${'GEMM'.padStart(7)}  before÷GEMM  after÷GEMM  M×N×K`);
for (const l of layers) {
  const { g, tensors, xb, wb, bb, dyb } = layerTensors(l, B);
  const flops = convFlops(g);
  for (const pass of CONV_PASSES) {
    const conv = (t: ConvTiles) => async () => {
      const outs: PooledBuffer[] =
        pass === 'fwd'
          ? [runConv2d(engine, xb, wb, g, { bias: bb, activation: 'relu' }, t)]
          : pass === 'dx'
            ? [runConv2dGradInput(engine, dyb, wb, g, t)]
            : [runConv2dGradWeight(engine, xb, dyb, g, t), runConv2dGradBias(engine, dyb, g)];
      await engine.sync();
      for (const o of outs) engine.pool.release(o);
    };
    const { M, N, K } = passGemm(g, pass);
    const gemm = kdGemmPieces(engine, M, N, K);
    const jobs: [string, () => Promise<void>][] = [
      ['before', conv(convTiles)],
      ['after', conv(planConvTiles(kind, pass as ConvPass, g))],
      ['gemm', () => gemm.run()],
    ];
    const ms: Record<string, number[]> = {};
    for (let rep = 0; rep <= REPS; rep++) {
      for (const [name, run] of jobs) {
        const t0 = performance.now();
        await run();
        if (rep > 0) (ms[name] ??= []).push(performance.now() - t0);
      }
    }
    gemm.dispose();
    // Each at its own FLOPs: the input gradient's GEMM (M = B·H·W) is larger than the conv's (B·OH·OW).
    const gf = (name: string, fl: number) => fl / (median(ms[name]) * 1e6);
    const [bf, af, gm] = [gf('before', flops), gf('after', flops), gf('gemm', 2 * M * N * K)];
    console.log(`  ${`${l.name} ${pass}`.padEnd(20)} ${bf.toFixed(2).padStart(7)} ${af.toFixed(2).padStart(7)} ${gm.toFixed(2).padStart(7)}  ${(bf / gm).toFixed(2).padStart(11)}  ${(af / gm).toFixed(2).padStart(10)}  ${M}×${N}×${K}`);
  }
  for (const v of tensors) v.dispose();
}
process.exit(0);
