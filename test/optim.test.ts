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

/**
 * The finite flag the updates write (issue 24), against a float64 reference: per element, the
 * gradient, the new weight and the new state rounded to f32 (Math.fround) are tested; the first
 * step with a non-finite one is recorded with the smallest of (gradient, weight, state) × parameter.
 * Parameters of 7 (f32 kernels), 12 (vec4 kernels) and 1 element.
 */
describe('optimizers: the finite flag', () => {
  before(setup);
  const SIZES = [7, 12, 1];
  const MAX = 3.4028234663852886e38;
  type Kind = 'gradient' | 'weight' | 'state';
  type Opt = { name: string; make: (p: kd.Tensor[]) => kd.nn.Optimizer; lr: number; momentum?: number; adam?: boolean };
  const OPTS: Opt[] = [
    { name: 'sgd', make: (p) => new nn.SGD(p, { lr: 0.5 }), lr: 0.5 },
    { name: 'sgd momentum', make: (p) => new nn.SGD(p, { lr: 0.5, momentum: 0.9 }), lr: 0.5, momentum: 0.9 },
    { name: 'adam', make: (p) => new nn.Adam(p, { lr: 0.5 }), lr: 0.5, adam: true },
  ];

  /** Float64 reference of the updates; returns the first flagged step and what, or null. */
  function reference(o: Opt, w0: number[][], grads: number[][][], firstStep: number): { step: number; what: Kind; param: number } | null {
    const w = w0.map((p) => p.map(Math.fround));
    const s1 = w0.map((p) => p.map(() => 0));
    const s2 = w0.map((p) => p.map(() => 0));
    const rank: Kind[] = ['gradient', 'weight', 'state'];
    for (const [s, gs] of grads.entries()) {
      let found: { what: Kind; param: number } | null = null;
      const consider = (what: Kind, param: number) => {
        if (!found || rank.indexOf(what) < rank.indexOf(found.what) || (what === found.what && param < found.param)) found = { what, param };
      };
      for (const [pi, g] of gs.entries()) {
        for (let i = 0; i < g.length; i++) {
          const gi = Math.fround(g[i]);
          let state: number[] = [];
          if (o.adam) {
            const [b1, b2] = [0.9, 0.999];
            s1[pi][i] = Math.fround(b1 * s1[pi][i] + (1 - b1) * gi);
            s2[pi][i] = Math.fround(b2 * s2[pi][i] + (1 - b2) * gi * gi);
            const t = s + 1;
            w[pi][i] = Math.fround(w[pi][i] - ((o.lr / (1 - b1 ** t)) * s1[pi][i]) / (Math.sqrt(s2[pi][i]) / Math.sqrt(1 - b2 ** t) + 1e-8));
            state = [s1[pi][i], s2[pi][i]];
          } else if (o.momentum) {
            s1[pi][i] = Math.fround(s === 0 ? gi : o.momentum * s1[pi][i] + gi);
            w[pi][i] = Math.fround(w[pi][i] - o.lr * s1[pi][i]);
            state = [s1[pi][i]];
          } else {
            w[pi][i] = Math.fround(w[pi][i] - o.lr * gi);
          }
          if (!Number.isFinite(gi)) consider('gradient', pi);
          if (!Number.isFinite(w[pi][i])) consider('weight', pi);
          if (state.some((v) => !Number.isFinite(v))) consider('state', pi);
        }
      }
      if (found) return { step: firstStep + s, ...(found as { what: Kind; param: number }) };
    }
    return null;
  }

  /** Gradients of 4 steps: small values, with `inject` entries [step, param, index, value] put in. */
  const gradsWith = (inject: [number, number, number, number][]) =>
    Array.from({ length: 4 }, (_, s) =>
      SIZES.map((n, p) => {
        const g = Array.from({ length: n }, (_, i) => Math.sin(1 + s * 7 + p * 3 + i) * 0.1);
        for (const [is, ip, ii, v] of inject) if (is === s && ip === p) g[ii] = v;
        return g;
      }),
    );
  const W0 = SIZES.map((n, p) => Array.from({ length: n }, (_, i) => Math.cos(p + i)));
  const CASES: [string, [number, number, number, number][], number[][]?][] = [
    ['finite extremes (±max, subnormal, −0)', [[0, 0, 1, MAX], [1, 1, 6, -MAX], [2, 1, 3, 1.4e-45], [3, 2, 0, -0]]],
    ['Inf gradient in the vec4 parameter and NaN in another at step 2, NaN earlier parameter at step 3', [[2, 1, 5, Infinity], [2, 2, 0, NaN], [3, 0, 3, NaN]]],
    ['−Inf gradient at step 0 in the last parameter', [[0, 2, 0, -Infinity]]],
    // 3e38 − 0.5·(−2e38) = 4e38 overflows f32: the weight, not the gradient.
    ['a weight overflowing', [[1, 0, 2, -2e38]], SIZES.map((n, p) => Array.from({ length: n }, (_, i) => (p === 0 && i === 2 ? 3e38 : Math.cos(p + i))))],
  ];

  for (const o of OPTS) {
    for (const [name, inject, w0 = W0] of CASES) {
      it(`${o.name}: ${name}`, async () => {
        const params = w0.map((w) => kd.tensor(new Float32Array(w), [w.length], { requiresGrad: true }));
        const opt = o.make(params);
        const grads = gradsWith(inject);
        for (const [s, gs] of grads.entries()) {
          params.forEach((p, i) => {
            p.zeroGrad();
            p.grad = kd.tensor(new Float32Array(gs[i]), [gs[i].length]);
          });
          opt.finiteFlag.step = 100 + s;
          opt.step();
        }
        const got = await opt.finiteFlag.read();
        const want = reference(o, w0, grads, 100);
        expect(got.firstStep === null ? null : { step: got.firstStep, ...(got.what as { what: Kind; param: number }) }).to.deep.equal(want);
        // Plain SGD moves ±max by half once: nothing to flag. Momentum piles it past max, Adam's v overflows.
        expect(want === null, 'the reference flags nothing').to.equal(name.startsWith('finite') && o.name === 'sgd');
        opt.dispose();
        params.forEach((p) => p.dispose());
      });
    }
  }
});
