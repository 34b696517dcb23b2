import { expect } from 'chai';
import * as kd from '../src/index.js';
import { setup } from './helpers.js';

const { nn } = kd;

describe('training step in steady state', function () {
  this.timeout(900_000);
  before(setup);

  it('3,000 steps of mnist-mlp-student (784-784-784-10) at batch 8: flat memory; per step one submission, no readback, nothing created', async () => {
    const e = kd.engine();
    const steps = 3000;
    const data = kd.take(kd.fashionMnistDataset('train'), 0, steps * 8);
    // The full model (about 90 ms a step on SwiftShader: this test takes some 5 minutes).
    const model = nn.buildModel('mnist-mlp-student', { seed: 1 });
    const loader = new kd.GpuLoader(data, { batchSize: 8, shuffle: true, seed: 0 });
    const opt = new nn.Adam(model.parameters(), { lr: 1e-4 });
    const perStep: kd.EngineStats[] = [];
    let at10: kd.EngineMemory | null = null;
    let atLast: kd.EngineMemory | null = null;
    let prev = e.stats();
    const t0 = performance.now();
    await nn.fit(model, loader, {
      optimizer: opt,
      epochs: 1,
      logEvery: 0,
      callbacks: [
        {
          onStepEnd: ({ step }) => {
            const now = e.stats();
            if (step >= 10) {
              perStep.push({
                submissions: now.submissions - prev.submissions,
                mapAsyncCalls: now.mapAsyncCalls - prev.mapAsyncCalls,
                buffersCreated: now.buffersCreated - prev.buffersCreated,
                bindGroupsCreated: now.bindGroupsCreated - prev.bindGroupsCreated,
                pipelinesCreated: now.pipelinesCreated - prev.pipelinesCreated,
                dispatches: now.dispatches - prev.dispatches,
                uploads: now.uploads - prev.uploads,
              });
            }
            if (step === 9) at10 = e.memory();
            if (step === steps - 1) atLast = e.memory();
            prev = now;
          },
        },
      ],
    });
    const atEnd = atLast!;
    const secs = (performance.now() - t0) / 1000;
    console.log(`      ${steps} steps in ${secs.toFixed(1)} s; ${perStep[0].dispatches} dispatches/step; memory ${JSON.stringify(atEnd)}`);
    expect(perStep).to.have.length(steps - 10);
    for (const [i, s] of perStep.entries()) {
      const ctx = `step ${i + 10}: ${JSON.stringify(s)}`;
      expect(s.submissions, ctx).to.equal(1);
      expect(s.mapAsyncCalls, ctx).to.equal(0);
      expect(s.buffersCreated, ctx).to.equal(0);
      expect(s.bindGroupsCreated, ctx).to.equal(0);
      expect(s.pipelinesCreated, ctx).to.equal(0);
      expect(s.uploads, ctx).to.equal(0);
    }
    expect(atEnd).to.deep.equal(at10);
    loader.dispose();
    opt.dispose();
    model.dispose();
  });
});
