/**
 * A long training loop must not leak: 10,000 steps of a small MLP (forward, backward, SGD update,
 * a fresh batch upload, one submission each) keep every figure of engine.memory() exactly where
 * it was at step 10, and in steady state a step creates no buffer, bind group or pipeline.
 *
 * Shapes are tiny so that the loop costs little on SwiftShader: what is measured is the engine's
 * bookkeeping (pool, bind-group cache, uniform arena, tape, scopes), not arithmetic.
 */
import { expect } from 'chai';
import * as kd from '../src/index.js';
import type { EngineMemory, EngineStats, Tensor } from '../src/index.js';
import { setup } from './helpers.js';

const STEPS = 10_000;
const BATCH = 4;
const IN = 6;
const HIDDEN = 8;
const OUT = 3;
const LR = 0.05;

function randomBatches(count: number, seed: number): { x: Float32Array; y: Float32Array }[] {
  const r = new kd.Random(seed);
  return Array.from({ length: count }, () => {
    const x = Float32Array.from({ length: BATCH * IN }, () => r.normal());
    // A target the network can learn: a fixed linear map of the input, then |·|.
    const y = new Float32Array(BATCH * OUT);
    for (let b = 0; b < BATCH; b++) {
      for (let o = 0; o < OUT; o++) {
        let s = 0;
        for (let i = 0; i < IN; i++) s += x[b * IN + i] * Math.sin(1 + o * IN + i);
        y[b * OUT + o] = Math.abs(s) * 0.5;
      }
    }
    return { x, y };
  });
}

describe('memory: 10,000 training steps', function () {
  this.timeout(300_000);
  before(setup);

  it('keep engine.memory() exactly constant and create nothing new in steady state', async () => {
    const engine = kd.engine();
    await engine.sync();
    const batches = randomBatches(8, 7);
    const y = batches.map((b) => kd.tensor(b.y, [BATCH, OUT]));
    // Seeding backward with the learning rate makes the gradients the SGD steps themselves:
    // one dispatch per parameter update, no fill for the seed.
    const lr = kd.scalar(LR);
    let params: Tensor[] = [
      kd.randn([HIDDEN, IN], { seed: 1, std: 0.4, requiresGrad: true }),
      kd.zeros([HIDDEN], { requiresGrad: true }),
      kd.randn([OUT, HIDDEN], { seed: 2, std: 0.4, requiresGrad: true }),
      kd.zeros([OUT], { requiresGrad: true }),
    ];

    const step = (i: number): Tensor => {
      const batch = i % batches.length;
      const { loss, next } = kd.tidy(() => {
        // A new upload every step, as a data loader would do.
        const x = kd.tensor(batches[batch].x, [BATCH, IN]);
        const [w1, b1, w2, b2] = params;
        const h = kd.linear(x, w1, b1, { relu: true });
        const o = kd.linear(h, w2, b2);
        const d = o.sub(y[batch]);
        const loss = d.pow(2).mean();
        loss.backward(lr);
        const next = kd.noGrad(() => params.map((p) => p.sub(p.grad!)));
        return { loss, next };
      });
      for (const p of params) {
        p.zeroGrad();
        p.dispose();
      }
      for (const p of next) p.requiresGrad = true;
      params = next;
      engine.flush();
      return loss;
    };

    let mem10: EngineMemory | null = null;
    let stats10: EngineStats | null = null;
    let statsWarm: EngineStats | null = null;
    let firstLoss = NaN;
    let lastLoss = NaN;
    const lossAt = new Map<number, number>();
    let firstDrift: string | null = null;
    const t0 = performance.now();
    for (let i = 1; i <= STEPS; i++) {
      const loss = step(i);
      // Occasional readbacks; one before step 10 so its staging buffer exists by then.
      if (i === 1 || i === 5 || i % 1000 === 0) {
        const v = await loss.item();
        lossAt.set(i, v);
        if (i === 1) firstLoss = v;
        lastLoss = v;
      }
      loss.dispose();
      if (i === 10) {
        mem10 = engine.memory();
        stats10 = engine.stats();
      } else if (i > 10 && firstDrift === null) {
        const m = engine.memory();
        if (JSON.stringify(m) !== JSON.stringify(mem10)) firstDrift = `step ${i}: ${JSON.stringify(m)} vs step 10: ${JSON.stringify(mem10)}`;
      }
      if (i === 1000) statsWarm = engine.stats();
    }
    const ms = performance.now() - t0;
    const mem = engine.memory();
    const stats = engine.stats();

    expect(mem, 'engine.memory() at step 10,000 vs step 10').to.deep.equal(mem10);
    expect(firstDrift, 'engine.memory() changed between steps').to.equal(null);
    const perStep = (k: keyof EngineStats, from: EngineStats) => (stats[k] - from[k]) / (STEPS - 1000);
    // Steady state (steps 1,001–10,000): nothing new is created.
    expect(stats.buffersCreated - statsWarm!.buffersCreated, 'buffers created in steady state').to.equal(0);
    expect(stats.bindGroupsCreated - statsWarm!.bindGroupsCreated, 'bind groups created in steady state').to.equal(0);
    expect(stats.pipelinesCreated - statsWarm!.pipelinesCreated, 'pipelines created in steady state').to.equal(0);
    // Since step 10 only the staging buffers already made are reused; no pipeline appeared.
    expect(stats.buffersCreated, 'buffers created after step 10').to.equal(stats10!.buffersCreated);
    expect(stats.pipelinesCreated, 'pipelines created after step 10').to.equal(stats10!.pipelinesCreated);
    // One submission per step (flush), plus one per readback; one upload per step.
    expect(perStep('uploads', statsWarm!)).to.equal(1);
    expect(stats.submissions - statsWarm!.submissions).to.equal(STEPS - 1000 + 9);
    expect(stats.mapAsyncCalls - statsWarm!.mapAsyncCalls).to.equal(9);
    // And it was real training: the loss went down a lot.
    expect(Number.isFinite(lastLoss)).to.equal(true);
    expect(lastLoss, `loss by step: ${JSON.stringify([...lossAt])}`).to.be.lessThan(firstLoss / 10);

    for (const p of [...params, ...y, lr]) p.dispose();
    const live = engine.memory();
    expect(live.liveBuffers, 'live buffers after disposing everything').to.equal(mem10!.liveBuffers - params.length - y.length - 1);
    // eslint-disable-next-line no-console
    console.log(
      `      ${STEPS} steps in ${(ms / 1000).toFixed(1)} s (${(ms / STEPS).toFixed(2)} ms/step, ${perStep('dispatches', statsWarm!)} dispatches/step); ` +
        `loss ${firstLoss.toFixed(4)} → ${lastLoss.toExponential(2)}; memory ${JSON.stringify(mem)}`,
    );
  });
});
