import { expect } from 'chai';
import * as kd from '../src/index.js';
import { loadFixture } from './fixtures.js';
import { setup } from './helpers.js';

const { nn } = kd;

/** 50 Adam steps from PyTorch's initial weights on the same batches, dropout off. */
describe('training parity with PyTorch, step for step', function () {
  this.timeout(600_000);
  before(setup);

  // The bounds: losses within 1e-3 for steps 11–50, weights within 1e-3 after step 50.
  // Measured: CNN 9.2e-6 / 7.7e-5; MLP 6.0e-4 / 2.7e-3. The MLP's weights miss 1e-3 through one
  // ReLU pre-activation of ~4e-6 that lands on the other side of zero at step 32 (a near-eps
  // gradient at step 1, amplified by Adam to ~2.5e-5 in a few weights, moves it). That event is
  // f32 luck, not a kdgpu error: PyTorch itself, with the MLP's input features merely permuted
  // (the same function summed in another order), gives exactly 6.0e-4 / 2.7e-3 against its own
  // unpermuted run for 1 of 6 permutations (bench/parity_sensitivity.py). Hence 3e-3 for it.
  const lateLoss = 1e-3;
  const lateWeights: Record<string, number> = { 'mnist-mlp-student': 3e-3, 'mnist-cnn-small': 1e-3 };
  for (const name of ['mnist-mlp-student', 'mnist-cnn-small']) {
    it(`${name}: Adam, 50 steps of batch 32`, async () => {
      const fx = loadFixture(`parity-${name}.safetensors`);
      const steps = Number(fx.meta.steps);
      const batch = Number(fx.meta.batch);
      const model = nn.buildModel(name, { seed: 99 });
      const init = new Map<string, kd.Tensor>();
      for (const [k] of model.stateDict()) {
        const t = fx.get(`init.${k}`);
        init.set(k, kd.tensor(t.data, t.shape));
      }
      model.loadStateDict(init);
      model.eval(); // dropout off, as in the fixture
      const data = kd.take(kd.fashionMnistDataset('train'), 0, steps * batch);
      const loader = new kd.GpuLoader(data, { batchSize: batch }); // file order, as the fixture
      const opt = new nn.Adam(model.parameters(), { lr: Number(fx.meta.lr) });
      const losses: kd.Tensor[] = [];
      for (const { x, y } of loader.epoch()) {
        const loss = kd.tidy(() => {
          const l = kd.softmaxCrossEntropy(model.call(x), y);
          opt.zeroGrad();
          l.backward();
          return l;
        });
        opt.step();
        losses.push(loss);
        x.dispose();
        y.dispose();
      }
      const ref = fx.get('losses').data;
      let worstLate = 0;
      for (let s = 0; s < steps; s++) {
        const got = await losses[s].item();
        const rel = Math.abs(got - ref[s]) / Math.abs(ref[s]);
        if (process.env.KDGPU_PARITY_TRACE) console.log(`      step ${s + 1}: rel ${rel.toExponential(2)}`);
        if (s >= 10) worstLate = Math.max(worstLate, rel);
        expect(rel, `step ${s + 1}: loss ${got} vs PyTorch ${ref[s]}`).to.be.at.most(s < 10 ? 1e-4 : lateLoss);
      }
      let worstW = 0;
      for (const [k, p] of model.namedParameters()) {
        const want = fx.get(`final.${k}`).data;
        const got = await p.data();
        let d = 0;
        let n = 0;
        for (let i = 0; i < want.length; i++) {
          d += (got[i] - want[i]) ** 2;
          n += want[i] ** 2;
        }
        worstW = Math.max(worstW, Math.sqrt(d / n));
        expect(Math.sqrt(d / n), `${k}: ‖Δw‖/‖w‖ after step ${steps}`).to.be.at.most(lateWeights[name]);
      }
      console.log(`      worst loss difference, steps 11–${steps}: ${worstLate.toExponential(2)}; worst ‖Δw‖/‖w‖: ${worstW.toExponential(2)}`);
      losses.forEach((l) => l.dispose());
      loader.dispose();
      opt.dispose();
      model.dispose();
    });
  }
});
