/**
 * What fusing conv + bias + ReLU + max-pool could save in mnist-cnn-small's training step, timed by
 * A/B in one process (llvmpipe has no timestamp queries): the whole step (batch --batch) alternates
 * with the work a fusion would remove or merge — the backward's ReLU gradient of each conv layer
 * (an elementwise pass over the conv output: read dy and y, write dz; a pool backward that masks
 * by the pooled value could produce dz directly) and each max-pool's forward and backward over
 * that output (what a pool fused into the conv epilogue would fold in) —, each run on its own,
 * waited for. Medians of --reps; the shares of the step say what a fusion could gain at most.
 *
 *   npx tsx bench/conv-fusion.ts [--batch 256] [--reps 7]
 */
import * as kd from '../src/index.js';
import { activationGrad } from '../src/autograd/ops-elementwise.js';
import { kdTrainStep } from './lib/steps-kdgpu.js';
import { median, randArray } from './lib/timing.js';

const argv = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : dflt;
};
const B = Number(opt('batch', '256'));
const REPS = Number(opt('reps', '7'));
const engine = await kd.init();

// mnist-cnn-small: conv1 → [B, 32, 26, 26] → maxpool 2 → conv2 → [B, 64, 11, 11] → maxpool 2.
const convOuts: [string, number[]][] = [
  ['conv1', [B, 32, 26, 26]],
  ['conv2', [B, 64, 11, 11]],
];
const count = (s: number[]) => s.reduce((a, b) => a * b, 1);
type Job = { name: string; run(): Promise<void>; dispose(): void };
const jobs: Job[] = [];
const step = kdTrainStep(engine, 'mnist-cnn-small', B);
jobs.push({ name: 'training step', run: async () => void (await step.run()), dispose: () => step.dispose() });
for (const [layer, shape] of convOuts) {
  const y = kd.tensor(randArray(count(shape), 1), shape).relu();
  const g = kd.tensor(randArray(count(shape), 2), shape);
  jobs.push({
    name: `${layer} ReLU gradient`,
    async run() {
      kd.noGrad(() => activationGrad('bench', 'relu', g, y)).dispose();
      await engine.sync();
    },
    dispose() {
      y.dispose();
      g.dispose();
    },
  });
  const x = kd.tensor(randArray(count(shape), 3), shape, { requiresGrad: true });
  const pooled = kd.noGrad(() => kd.maxPool2d(x, { kernel: 2 }));
  const dp = kd.tensor(randArray(count([...pooled.shape]), 4), [...pooled.shape]);
  pooled.dispose();
  jobs.push({
    name: `${layer} max-pool forward + backward`,
    async run() {
      const p = kd.maxPool2d(x, { kernel: 2 });
      p.backward(dp);
      p.dispose();
      x.grad?.dispose();
      x.grad = null;
      await engine.sync();
    },
    dispose() {
      x.dispose();
      dp.dispose();
    },
  });
}
const ms: Record<string, number[]> = {};
for (let rep = 0; rep <= REPS; rep++) {
  for (const j of jobs) {
    const t0 = performance.now();
    await j.run();
    if (rep > 0) (ms[j.name] ??= []).push(performance.now() - t0);
  }
}
const stepMs = median(ms['training step']);
console.log(`mnist-cnn-small, batch ${B}, on ${engine.adapter.description || engine.adapter.kind}: medians of ${REPS} alternating runs`);
for (const j of jobs) {
  const m = median(ms[j.name]);
  console.log(`  ${j.name.padEnd(34)} ${m.toFixed(1).padStart(7)} ms${j.name === 'training step' ? '' : `  (${((100 * m) / stepMs).toFixed(1)}% of the step)`}`);
}
for (const j of jobs) j.dispose();
process.exit(0);
