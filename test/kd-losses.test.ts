/**
 * Distillation losses against PyTorch fixtures (test/fixtures/make_kd_fixtures.py) and against
 * the closed forms: KL ≥ 0, zero for a student equal to its teacher, and the KL form's gradient
 * T·(softmax(s/T) − softmax(t/T)) / N.
 */
import { expect } from 'chai';
import * as kd from '../src/index.js';
import { loadFixture } from './fixtures.js';
import { assertClose, expectThrow, randomValues, setup } from './helpers.js';

const fx = loadFixture('kd.safetensors');
const cases = JSON.parse(fx.meta.cases) as { name: string; kind: string; T?: number; alpha?: number; labelT?: number }[];

function leaf(name: string): kd.Tensor {
  const f = fx.get(name);
  return kd.tensor(f.data as Float32Array, f.shape, { requiresGrad: true });
}

function softmaxRows(x: ArrayLike<number>, n: number, c: number, T: number): Float64Array {
  const out = new Float64Array(n * c);
  for (let i = 0; i < n; i++) {
    let m = -Infinity;
    for (let j = 0; j < c; j++) m = Math.max(m, x[i * c + j] / T);
    let s = 0;
    for (let j = 0; j < c; j++) s += Math.exp(x[i * c + j] / T - m);
    for (let j = 0; j < c; j++) out[i * c + j] = Math.exp(x[i * c + j] / T - m) / s;
  }
  return out;
}

async function lossAndGrad(x: kd.Tensor, f: () => kd.Tensor): Promise<[number, Float32Array]> {
  const l = f();
  l.backward();
  const v = await l.item();
  const g = (await x.grad!.data()) as Float32Array;
  l.dispose();
  x.zeroGrad();
  return [v, g];
}

describe('kd losses', function () {
  this.timeout(60_000);
  before(setup);

  for (const c of cases.filter((k) => k.kind === 'kd')) {
    it(`soft-target and combined losses match PyTorch: ${c.name} (T=${c.T}, alpha=${c.alpha})`, async () => {
      const s = leaf(`${c.name}.student`);
      const t = leaf(`${c.name}.teacher`);
      t.requiresGrad = false;
      const yf = fx.get(`${c.name}.labels`);
      const y = kd.tensor(yf.data as Int32Array, yf.shape, { dtype: 'int32' });
      const T = c.T!;
      for (const form of ['kl', 'ce'] as const) {
        const [v, g] = await lossAndGrad(s, () => kd.hintonLoss(s, t, { temperature: T, form }));
        assertClose([v], fx.get(`${c.name}.${form}`).data, { rtol: 2e-5, atol: 1e-6 }, `${form} value`);
        assertClose(g, fx.get(`${c.name}.grad_${form}`).data, { rtol: 1e-4 }, `${form} grad`);
        const [vc, gc] = await lossAndGrad(s, () =>
          kd.kdLoss(s, kd.teacherLogProbs(t, T), y, { temperature: T, alpha: c.alpha, form, labelTemperature: c.labelT }),
        );
        assertClose([vc], fx.get(`${c.name}.combined_${form}`).data, { rtol: 2e-5, atol: 1e-6 }, `combined ${form} value`);
        assertClose(gc, fx.get(`${c.name}.grad_combined_${form}`).data, { rtol: 1e-4 }, `combined ${form} grad`);
      }
      for (const z of [s, t, y]) z.dispose();
    });
  }

  it('the KL form is ≥ 0, 0 for a student equal to its teacher, with gradient T·(q − p)/N', async () => {
    for (const [n, c, T] of [
      [1, 10, 1],
      [7, 3, 2],
      [33, 10, 4],
      [5, 17, 16],
      [64, 10, 64],
    ]) {
      const sv = Float32Array.from(randomValues(n * c, n + c, -6, 6));
      const tv = Float32Array.from(randomValues(n * c, 3 * n + c, -6, 6));
      const s = kd.tensor(sv, [n, c], { requiresGrad: true });
      const t = kd.tensor(tv, [n, c]);
      const [v, g] = await lossAndGrad(s, () => kd.hintonLoss(s, t, { temperature: T }));
      expect(v, `KL at n=${n} c=${c} T=${T}`).to.be.greaterThan(0);
      const p = softmaxRows(tv, n, c, T);
      const q = softmaxRows(sv, n, c, T);
      // float32 softmax values carry ~1e-7 absolute error each, scaled by T/N in the gradient.
      const ref = Float64Array.from(q, (qi, i) => (T * (qi - p[i])) / n);
      assertClose(g, ref, { rtol: 1e-4, atol: 1e-6 * Math.max(...ref.map(Math.abs)) + (2e-7 * T) / n }, `grad n=${n} c=${c} T=${T}`);
      const [same] = await lossAndGrad(s, () => kd.hintonLoss(s, kd.noGrad(() => kd.clone(s)), { temperature: T }));
      expect(Math.abs(same), `KL(student ‖ itself) n=${n} c=${c} T=${T}`).to.be.lessThan(1e-6);
      // The CE form differs from KL by T²·H(p) (a constant): same gradient.
      const [vce, gce] = await lossAndGrad(s, () => kd.hintonLoss(s, t, { temperature: T, form: 'ce' }));
      let h = 0;
      for (let i = 0; i < p.length; i++) if (p[i] > 0) h -= p[i] * Math.log(p[i]);
      expect(vce).to.be.closeTo(v + (T * T * h) / n, 1e-4 * Math.max(1, Math.abs(vce)));
      assertClose(gce, ref, { rtol: 1e-4, atol: 1e-6 * Math.max(...ref.map(Math.abs)) + (2e-7 * T) / n }, `ce grad n=${n}`);
      s.dispose();
      t.dispose();
    }
  });

  it('weights {kd, ce} and alpha are the same weighting; alpha weighs the distillation term', async () => {
    const s = kd.tensor(Float32Array.from(randomValues(40, 1, -3, 3)), [4, 10], { requiresGrad: true });
    const t = kd.tensor(Float32Array.from(randomValues(40, 2, -3, 3)), [4, 10]);
    const y = kd.tensor(new Int32Array([1, 0, 9, 3]), [4], { dtype: 'int32' });
    const lp = kd.teacherLogProbs(t, 4);
    const [a] = await lossAndGrad(s, () => kd.kdLoss(s, lp, y, { temperature: 4, alpha: 0.25 }));
    const [b] = await lossAndGrad(s, () => kd.kdLoss(s, lp, y, { temperature: 4, weights: { kd: 0.25, ce: 0.75 } }));
    const [kdOnly] = await lossAndGrad(s, () => kd.kdLoss(s, lp, y, { temperature: 4, alpha: 1 }));
    const [ceOnly] = await lossAndGrad(s, () => kd.kdLoss(s, lp, y, { temperature: 4, alpha: 0 }));
    expect(a).to.be.closeTo(b, 1e-6);
    expect(a).to.be.closeTo(0.25 * kdOnly + 0.75 * ceOnly, 1e-5);
    const [soft] = await lossAndGrad(s, () => kd.softTargetLoss(s, lp, { temperature: 4 }));
    expect(kdOnly).to.be.closeTo(soft, 1e-6);
    for (const z of [s, t, y, lp]) z.dispose();
  });

  for (const c of cases.filter((k) => k.kind === 'cosine' || k.kind === 'mse')) {
    it(`${c.kind} hidden loss matches PyTorch: ${c.name}`, async () => {
      const s = leaf(`${c.name}.student`);
      const t = leaf(`${c.name}.teacher`);
      t.requiresGrad = false;
      const [v, g] = await lossAndGrad(s, () => (c.kind === 'cosine' ? kd.cosineHiddenLoss(s, t) : kd.hintMseLoss(s, t)));
      assertClose([v], fx.get(`${c.name}.loss`).data, { rtol: 1e-5, atol: 1e-6 }, 'loss');
      assertClose(g, fx.get(`${c.name}.grad`).data, { rtol: 1e-4 }, 'grad');
      s.dispose();
      t.dispose();
    });
  }

  it('bad options and shapes are clear errors', () => {
    const s = kd.zeros([2, 10]);
    const t = kd.zeros([2, 10]);
    const y = kd.tensor(new Int32Array([0, 1]), [2], { dtype: 'int32' });
    expectThrow(() => kd.hintonLoss(s, t, { temperature: 0 }), 'temperature', '> 0', '0');
    expectThrow(() => kd.hintonLoss(s, t, { temperature: -1 }), 'temperature');
    expectThrow(() => kd.hintonLoss(s, t, { temperature: NaN }), 'temperature');
    expectThrow(() => kd.kdLoss(s, t, y, { temperature: 2, alpha: 1.5 }), 'alpha', '[0, 1]', '1.5');
    expectThrow(() => kd.kdLoss(s, t, y, { temperature: 2, alpha: 0.5, weights: { kd: 1, ce: 1 } }), 'either alpha or weights');
    expectThrow(() => kd.kdLoss(s, t, y, { temperature: 2, weights: { kd: -1, ce: 1 } }), 'weights.kd');
    expectThrow(() => kd.softTargetLoss(s, kd.zeros([2, 9]), { temperature: 2 }), 'softTargetLoss', '[2, 10]', '[2, 9]');
    expectThrow(() => kd.cosineHiddenLoss(kd.zeros([2, 10]), kd.zeros([2, 15])), 'cosineHiddenLoss', '10', '15', 'multiples');
    expectThrow(() => kd.hintMseLoss(kd.zeros([2, 10]), kd.zeros([2, 12])), 'hintMseLoss', 'regressor');
  });
});
