import { expect } from 'chai';
import * as kd from '../src/index.js';
import { loadFixture } from './fixtures.js';
import { setup } from './helpers.js';

const { nn } = kd;

/** PyTorch's names for the fixture MLP: 0 = Linear(6, 9), 1 = ReLU, 2 = Linear(9, 4). */
function makeModel(fx: ReturnType<typeof loadFixture>): kd.nn.Sequential {
  const model = new nn.Sequential(new nn.Linear(6, 9, { rng: 1 }), new nn.ReLU(), new nn.Linear(9, 4, { rng: 2 }));
  const state = new Map<string, kd.Tensor>();
  for (const name of ['0.weight', '0.bias', '2.weight', '2.bias']) {
    const t = fx.get(`init.${name}`);
    state.set(name, kd.tensor(t.data, t.shape));
  }
  model.loadStateDict(state);
  return model;
}

function relNorm(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    d += (a[i] - b[i]) ** 2;
    n += b[i] ** 2;
  }
  return Math.sqrt(d / n);
}

type Make = (p: kd.Tensor[]) => { opt: kd.nn.Optimizer; sched?: kd.nn.LRScheduler };
const CONFIGS: Record<string, Make> = {
  sgd: (p) => ({ opt: new nn.SGD(p, { lr: 0.1 }) }),
  sgd_momentum: (p) => ({ opt: new nn.SGD(p, { lr: 0.05, momentum: 0.9, dampening: 0.1 }) }),
  sgd_nesterov: (p) => ({ opt: new nn.SGD(p, { lr: 0.05, momentum: 0.9, nesterov: true }) }),
  sgd_weight_decay: (p) => ({ opt: new nn.SGD(p, { lr: 0.05, momentum: 0.5, weightDecay: 0.1 }) }),
  adam: (p) => ({ opt: new nn.Adam(p, { lr: 0.01 }) }),
  adam_weight_decay: (p) => ({ opt: new nn.Adam(p, { lr: 0.01, weightDecay: 0.05 }) }),
  adamw: (p) => ({ opt: new nn.AdamW(p, { lr: 0.01, weightDecay: 0.1 }) }),
  adam_clip: (p) => ({ opt: new nn.Adam(p, { lr: 0.01, clipNorm: 0.5 }) }),
  sgd_step_lr: (p) => {
    const opt = new nn.SGD(p, { lr: 0.1, momentum: 0.9 });
    return { opt, sched: new nn.StepLR(opt, 3, 0.5) };
  },
  adam_cosine: (p) => {
    const opt = new nn.Adam(p, { lr: 0.02 });
    return { opt, sched: new nn.CosineAnnealingLR(opt, 4, 0.001) };
  },
};

describe('optimizers: 10-step parity with torch.optim', () => {
  before(setup);
  const fx = loadFixture('optim.safetensors');
  const x = fx.get('x');
  const y = fx.get('y');

  for (const [name, make] of Object.entries(CONFIGS)) {
    it(name, async () => {
      const model = makeModel(fx);
      const { opt, sched } = make(model.parameters());
      const ref = fx.get(`${name}.losses`).data;
      const losses: kd.Tensor[] = [];
      for (let s = 0; s < 10; s++) {
        const loss = kd.tidy(() => {
          const xb = kd.tensor(x.data.subarray(s * 30, (s + 1) * 30), [5, 6]);
          const yb = kd.tensor(y.data.subarray(s * 20, (s + 1) * 20), [5, 4]);
          const l = model.call(xb).sub(yb).pow(2).mean();
          opt.zeroGrad();
          l.backward();
          return l;
        });
        opt.step();
        sched?.step();
        losses.push(loss);
      }
      for (let s = 0; s < 10; s++) {
        const got = await losses[s].item();
        expect(Math.abs(got - ref[s]) / Math.abs(ref[s]), `${name} step ${s + 1}: loss ${got} vs ${ref[s]}`).to.be.at.most(1e-4);
      }
      for (const [pname, p] of model.namedParameters()) {
        const want = fx.get(`${name}.final.${pname}`).data;
        expect(relNorm(await p.data(), want), `${name}: ${pname}`).to.be.at.most(1e-4);
      }
      losses.forEach((l) => l.dispose());
      opt.dispose();
      model.dispose();
    });
  }
});
