import { expect } from 'chai';
import * as kd from '../src/index.js';
import {
  collapseSubclassLogits,
  subclassAuxLoss,
  subclassDistillationLoss,
  subclassTeacherLoss,
  SUBCLASS_AUX_EPS,
  type AuxForm,
  type CollapseMode,
} from '../src/kd/subclass.js';
import { assertClose, expectThrow, randomValues, setup } from './helpers.js';

// ---- float64 references, written from the formulas with plain loops ----------------------------

function refCollapse(z: Float64Array, n: number, C: number, S: number, mode: CollapseMode): Float64Array {
  const out = new Float64Array(n * C);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < C; c++) {
      const at = i * C * S + c * S;
      if (mode === 'notebook') {
        let s = 0;
        for (let j = 0; j < S; j++) s += z[at + j];
        out[i * C + c] = s;
      } else {
        let m = -Infinity;
        for (let j = 0; j < S; j++) m = Math.max(m, z[at + j]);
        let s = 0;
        for (let j = 0; j < S; j++) s += Math.exp(z[at + j] - m);
        out[i * C + c] = m + Math.log(s);
      }
    }
  }
  return out;
}

function refAux(z: Float64Array, n: number, K: number, T: number, form: AuxForm): number {
  const v = new Float64Array(n * K);
  for (let i = 0; i < n; i++) {
    let mu = 0;
    for (let k = 0; k < K; k++) mu += z[i * K + k];
    mu /= K;
    let vr = 0;
    for (let k = 0; k < K; k++) vr += (z[i * K + k] - mu) ** 2;
    vr /= K; // population variance
    const scale = 1 / Math.sqrt(vr + SUBCLASS_AUX_EPS) / Math.sqrt(K);
    for (let k = 0; k < K; k++) v[i * K + k] = (z[i * K + k] - mu) * scale;
  }
  const sim = (i: number, j: number) => {
    let s = 0;
    for (let k = 0; k < K; k++) s += v[i * K + k] * v[j * K + k];
    return s / T;
  };
  let total = 0;
  for (let i = 0; i < n; i++) {
    if (form === 'notebook') {
      for (let j = 0; j < n; j++) total += sim(i, j);
    } else {
      const s = Array.from({ length: n }, (_, j) => sim(i, j));
      const m = Math.max(...s);
      total += m + Math.log(s.reduce((a, x) => a + Math.exp(x - m), 0));
    }
  }
  return total / n - Math.log(n) - 1 / T;
}

function logSoftmaxRow(x: ArrayLike<number>, scale = 1): number[] {
  const y = Array.from(x, (t) => t * scale);
  const m = Math.max(...y);
  const l = m + Math.log(y.reduce((a, t) => a + Math.exp(t - m), 0));
  return y.map((t) => t - l);
}

/** mean_i −log softmax(collapse(z)_i)[label_i]. */
function refClassCe(z: Float64Array, labels: number[], C: number, S: number, mode: CollapseMode): number {
  const n = labels.length;
  const cz = refCollapse(z, n, C, S, mode);
  let s = 0;
  for (let i = 0; i < n; i++) s -= logSoftmaxRow(cz.subarray(i * C, (i + 1) * C))[labels[i]];
  return s / n;
}

interface DistillRef {
  C: number;
  S: number;
  T: number;
  alpha: number;
  beta: number;
  Taux: number;
  mode: CollapseMode;
  form: AuxForm;
}

function refStudentLoss(s: Float64Array, t: Float64Array, labels: number[], o: DistillRef): number {
  const n = labels.length;
  const K = o.C * o.S;
  let soft = 0;
  for (let i = 0; i < n; i++) {
    const p = logSoftmaxRow(t.subarray(i * K, (i + 1) * K), 1 / o.T).map(Math.exp);
    const lq = logSoftmaxRow(s.subarray(i * K, (i + 1) * K), 1 / o.T);
    for (let k = 0; k < K; k++) soft -= p[k] * lq[k];
  }
  soft = (o.T * o.T * soft) / n;
  return o.alpha * soft + (1 - o.alpha) * refClassCe(s, labels, o.C, o.S, o.mode) + o.beta * refAux(s, n, K, o.Taux, o.form);
}

/** Central finite differences of a scalar float64 function. */
function fdGrad(f: (x: Float64Array) => number, x: Float64Array, h = 1e-6): Float64Array {
  const g = new Float64Array(x.length);
  const y = Float64Array.from(x);
  for (let i = 0; i < x.length; i++) {
    y[i] = x[i] + h;
    const a = f(y);
    y[i] = x[i] - h;
    const b = f(y);
    y[i] = x[i];
    g[i] = (a - b) / (2 * h);
  }
  return g;
}

/** float32 gradients against float64 FD: 1e-3 relative, and 1e-3 of the largest entry (+1e-6) absolute. */
function gradTol(ref: ArrayLike<number>) {
  let m = 0;
  for (let i = 0; i < ref.length; i++) m = Math.max(m, Math.abs(ref[i]));
  return { rtol: 1e-3, atol: 1e-3 * m + 1e-6 };
}

const up = (x: Float64Array, shape: number[], requiresGrad = false) => kd.tensor(Float32Array.from(x), shape, { requiresGrad });

function allFinite(a: ArrayLike<number>): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return false;
  return true;
}

/** ±1e4 and small values mixed, float32-exact. */
function extremes(len: number, seed: number): Float64Array {
  const r = randomValues(len, seed);
  return r.map((u) => (u > 0.3 ? 1e4 : u < -0.3 ? -1e4 : Math.fround(u * 5)));
}

// ---- tests ---------------------------------------------------------------------------------

describe('kd subclass distillation', () => {
  before(setup);

  describe('collapseSubclassLogits', () => {
    const shapes: [number, number, number][] = [[1, 3, 5], [3, 4, 5], [7, 2, 10], [33, 3, 5], [5, 1, 4], [4, 6, 1]];
    for (const mode of ['logsumexp', 'notebook'] as const) {
      it(`${mode}: matches the float64 reference on n×(C·S) = ${shapes.map(([n, C, S]) => `${n}×${C}·${S}`).join(', ')}`, async () => {
        for (const [n, C, S] of shapes) {
          const zv = randomValues(n * C * S, 100 + n * 7 + C, -3, 3);
          const z = up(zv, [n, C * S]);
          const y = collapseSubclassLogits(z, C, S, mode);
          expect([...y.shape]).to.deep.equal([n, C]);
          assertClose(await y.data(), refCollapse(zv, n, C, S, mode), { rtol: 2e-6, atol: 2e-6 }, `${mode} ${n}×${C}·${S}`);
          z.dispose();
          y.dispose();
        }
      });
    }

    it('logsumexp is the default, and softmax of its class logits sums the subclass probabilities', async () => {
      const [n, C, S] = [4, 3, 5];
      const zv = randomValues(n * C * S, 3, -4, 4);
      const z = up(zv, [n, C * S]);
      const a = await collapseSubclassLogits(z, C, S).data();
      expect(Array.from(a)).to.deep.equal(Array.from(await collapseSubclassLogits(z, C, S, 'logsumexp').data()));
      const pc = await kd.softmax(collapseSubclassLogits(z, C, S)).data();
      const ps = await kd.softmax(z).data();
      const summed = Array.from({ length: n * C }, (_, i) => {
        let s = 0;
        for (let j = 0; j < S; j++) s += ps[i * S + j];
        return s;
      });
      assertClose(pc, summed, { rtol: 1e-5, atol: 1e-6 }, 'class probabilities');
    });

    for (const mode of ['logsumexp', 'notebook'] as const) {
      it(`${mode}: gradient matches float64 central differences`, async () => {
        for (const [n, C, S] of [[3, 4, 5], [7, 3, 5]] as const) {
          const zv = randomValues(n * C * S, 50 + n, -3, 3);
          const gv = randomValues(n * C, 60 + n);
          const z = up(zv, [n, C * S], true);
          const g = up(gv, [n, C]);
          const y = collapseSubclassLogits(z, C, S, mode);
          y.backward(g);
          const f = (x: Float64Array) => refCollapse(x, n, C, S, mode).reduce((a, v, i) => a + v * gv[i], 0);
          const want = fdGrad(f, zv);
          assertClose(await z.grad!.data(), want, gradTol(want), `d collapse / dz ${mode} ${n}×${C}·${S}`);
          for (const t of [z, g, y]) t.dispose();
        }
      });
    }

    it('logits of ±1e4 give finite, correct class logits and gradients', async () => {
      const [n, C, S] = [6, 4, 5];
      const zv = extremes(n * C * S, 11);
      const z = up(zv, [n, C * S], true);
      const y = collapseSubclassLogits(z, C, S);
      const yv = await y.data();
      expect(allFinite(yv)).to.equal(true);
      assertClose(yv, refCollapse(zv, n, C, S, 'logsumexp'), { rtol: 1e-6, atol: 1e-5 }, 'collapse of ±1e4');
      kd.sum(y).backward();
      const gz = await z.grad!.data();
      expect(allFinite(gz)).to.equal(true);
      // d Σ lse / dz is the per-class softmax: each class's S entries sum to 1
      for (let r = 0; r < n * C; r++) {
        let s = 0;
        for (let j = 0; j < S; j++) s += gz[r * S + j];
        expect(s).to.be.closeTo(1, 1e-5);
      }
      z.dispose();
      y.dispose();
    });
  });

  describe('subclassAuxLoss', () => {
    const cases: [number, number, number][] = [
      // n, C·S, T
      [1, 15, 1],
      [3, 20, 0.5],
      [7, 15, 2],
      [33, 20, 1],
      [5, 2, 4],
    ];
    for (const form of ['paper', 'notebook'] as const) {
      it(`${form}: matches the float64 reference and its finite-difference gradient (n·K·T = ${cases.map((c) => c.join('·')).join(', ')})`, async () => {
        for (const [n, K, T] of cases) {
          const zv = randomValues(n * K, 200 + n * 3 + K, -2, 2);
          const z = up(zv, [n, K], true);
          const loss = subclassAuxLoss(z, { temperature: T, form });
          expect([...loss.shape]).to.deep.equal([]);
          const want = refAux(zv, n, K, T, form);
          const got = await loss.item();
          expect(Math.abs(got - want), `${form} n=${n} K=${K} T=${T}: ${got} vs ${want}`).to.be.lessThan(2e-6 * (1 + Math.abs(want) + 1 / T + Math.log(n)));
          loss.backward();
          const gWant = fdGrad((x) => refAux(x, n, K, T, form), zv);
          assertClose(await z.grad!.data(), gWant, gradTol(gWant), `${form} d aux / dz n=${n} K=${K} T=${T}`);
          z.dispose();
          loss.dispose();
        }
      });
    }

    it("'paper' is the default; it lies in [−log n, 0] for random rows and differs from 'notebook'", async () => {
      const [n, K, T] = [7, 15, 0.5];
      const z = up(randomValues(n * K, 9, -2, 2), [n, K]);
      const a = await subclassAuxLoss(z, { temperature: T }).item();
      expect(a).to.equal(await subclassAuxLoss(z, { temperature: T, form: 'paper' }).item());
      expect(a).to.be.within(-Math.log(n), 0);
      expect(Math.abs(a - (await subclassAuxLoss(z, { temperature: T, form: 'notebook' }).item()))).to.be.greaterThan(0.1);
      z.dispose();
    });

    it("identical rows: the 'paper' form is log n + 1/T − log n − 1/T = 0", async () => {
      for (const [n, T] of [[1, 1], [7, 0.5], [33, 4]] as const) {
        const K = 20;
        const row = randomValues(K, 77, -3, 3);
        const zv = new Float64Array(n * K);
        for (let i = 0; i < n; i++) zv.set(row, i * K);
        // the reference is 0 up to the eps in the variance: (q − 1)/T with q = var/(var + eps)
        expect(Math.abs(refAux(zv, n, K, T, 'paper'))).to.be.lessThan(1e-7);
        const z = up(zv, [n, K]);
        const got = await subclassAuxLoss(z, { temperature: T }).item();
        expect(Math.abs(got), `n=${n} T=${T}: ${got}`).to.be.lessThan(2e-6);
        z.dispose();
      }
    });

    it('logits of ±1e4 (and a constant row) give a finite loss and gradient', async () => {
      const [n, K] = [9, 15];
      const zv = extremes(n * K, 21);
      zv.fill(1e4, 0, K); // a constant row: v = 0 thanks to eps, not NaN
      for (const form of ['paper', 'notebook'] as const) {
        for (const T of [0.05, 1, 20]) {
          const z = up(zv, [n, K], true);
          const loss = subclassAuxLoss(z, { temperature: T, form });
          const got = await loss.item();
          const want = refAux(zv, n, K, T, form);
          expect(Math.abs(got - want), `${form} T=${T}: ${got} vs ${want}`).to.be.lessThan(1e-4 * (1 + Math.abs(want) + 1 / T));
          loss.backward();
          expect(allFinite(await z.grad!.data()), `${form} T=${T} gradient`).to.equal(true);
          z.dispose();
          loss.dispose();
        }
      }
    });

    it('rejects bad shapes, dtypes, temperatures and forms, naming the op and the shape', () => {
      const z = kd.zeros([4, 6]);
      expectThrow(() => subclassAuxLoss(kd.zeros([4, 6, 1]), { temperature: 1 }), 'subclassAuxLoss', '2-D', '[4, 6, 1]');
      expectThrow(() => subclassAuxLoss(kd.zeros([4]), { temperature: 1 }), 'subclassAuxLoss', '2-D', '[4]');
      expectThrow(() => subclassAuxLoss(kd.zeros([0, 6]), { temperature: 1 }), 'subclassAuxLoss', '[0, 6]', 'n ≥ 1');
      expectThrow(() => subclassAuxLoss(kd.zeros([4, 1]), { temperature: 1 }), 'subclassAuxLoss', '[4, 1]', 'C·S ≥ 2');
      expectThrow(() => subclassAuxLoss(kd.zeros([4, 6], { dtype: 'int32' }), { temperature: 1 }), 'subclassAuxLoss', 'float32', 'int32');
      for (const T of [0, -1, NaN, Infinity]) expectThrow(() => subclassAuxLoss(z, { temperature: T }), 'subclassAuxLoss', 'temperature', '> 0', '[4, 6]');
      expectThrow(() => subclassAuxLoss(z, { temperature: 1, form: 'exact' as AuxForm }), 'subclassAuxLoss', "'exact'");
      z.dispose();
    });
  });

  describe('collapse errors', () => {
    it('rejects bad shapes, C, S and modes', () => {
      const z = kd.zeros([4, 15]);
      expectThrow(() => collapseSubclassLogits(z, 4, 4), 'collapseSubclassLogits', '[4, 15]', '15 columns', '4·4 = 16');
      expectThrow(() => collapseSubclassLogits(z, 0, 15), 'collapseSubclassLogits', 'C', '≥ 1');
      expectThrow(() => collapseSubclassLogits(z, 3, 2.5), 'collapseSubclassLogits', 'S', '2.5');
      expectThrow(() => collapseSubclassLogits(kd.zeros([15]), 3, 5), 'collapseSubclassLogits', '2-D', '[15]');
      expectThrow(() => collapseSubclassLogits(z, 3, 5, 'mean' as CollapseMode), 'collapseSubclassLogits', "'mean'");
      z.dispose();
    });
  });

  describe('teacher and student losses', () => {
    const [n, C, S] = [7, 3, 5];
    const K = C * S;
    const labels = Array.from({ length: n }, (_, i) => (i * 2) % C);

    for (const o of [
      { C, S, T: 4, alpha: 0.7, beta: 0.5, Taux: 4, mode: 'logsumexp', form: 'paper' },
      { C, S, T: 2, alpha: 0.3, beta: 1, Taux: 0.5, mode: 'notebook', form: 'notebook' },
    ] as DistillRef[]) {
      it(`subclassDistillationLoss (T=${o.T}, alpha=${o.alpha}, beta=${o.beta}, Taux=${o.Taux}, ${o.mode}, ${o.form}) matches the reference and FD; no gradient reaches the teacher`, async () => {
        const sv = randomValues(n * K, 301, -2, 2);
        const tv = randomValues(n * K, 302, -3, 3);
        const s = up(sv, [n, K], true);
        const t = up(tv, [n, K], true);
        const loss = subclassDistillationLoss(s, t, labels, C, S, {
          temperature: o.T,
          alpha: o.alpha,
          beta: o.beta,
          auxTemperature: o.Taux,
          collapse: o.mode,
          form: o.form,
        });
        const want = refStudentLoss(sv, tv, labels, o);
        assertClose([await loss.item()], [want], { rtol: 1e-5, atol: 1e-5 }, 'student loss');
        loss.backward();
        const gWant = fdGrad((x) => refStudentLoss(x, tv, labels, o), sv);
        assertClose(await s.grad!.data(), gWant, gradTol(gWant), 'd loss / d student');
        expect(t.grad).to.equal(null);
        for (const x of [s, t, loss]) x.dispose();
      });
    }

    it('subclassTeacherLoss = CE(collapse) + beta·aux, with its FD gradient', async () => {
      const zv = randomValues(n * K, 401, -2, 2);
      const z = up(zv, [n, K], true);
      const labelsT = kd.tensor(Int32Array.from(labels));
      const loss = subclassTeacherLoss(z, labelsT, C, S, { temperature: 0.5, beta: 2 });
      const ref = (x: Float64Array) => refClassCe(x, labels, C, S, 'logsumexp') + 2 * refAux(x, n, K, 0.5, 'paper');
      assertClose([await loss.item()], [ref(zv)], { rtol: 1e-5, atol: 1e-5 }, 'teacher loss');
      loss.backward();
      const gWant = fdGrad(ref, zv);
      assertClose(await z.grad!.data(), gWant, gradTol(gWant), 'd teacher loss / dz');
      for (const x of [z, labelsT, loss]) x.dispose();
    });

    it('frees every intermediate: live buffers return to the baseline after backward and dispose', async () => {
      const live = () => kd.engine().memory().liveBuffers;
      const s = up(randomValues(n * K, 501), [n, K], true);
      const t = up(randomValues(n * K, 502), [n, K]);
      const base = live();
      for (let step = 0; step < 2; step++) {
        const loss = subclassDistillationLoss(s, t, labels, C, S, { temperature: 2, alpha: 0.5, beta: 0.5 });
        loss.backward();
        loss.dispose();
        s.zeroGrad();
        await kd.engine().sync();
        expect(live(), `step ${step}`).to.equal(base);
      }
      s.dispose();
      t.dispose();
    });

    it('rejects bad weights, temperatures, shapes and labels', () => {
      const s = kd.zeros([n, K]);
      const opts = { temperature: 2, alpha: 0.5, beta: 0.1 };
      const op = 'subclassDistillationLoss';
      expectThrow(() => subclassDistillationLoss(s, kd.zeros([n, K + 1]), labels, C, S, opts), op, `[${n}, ${K + 1}]`, `[${n}, ${K}]`, 'same shape');
      expectThrow(() => subclassDistillationLoss(s, s, labels, C, 4, opts), op, `${K} columns`, '3·4 = 12');
      expectThrow(() => subclassDistillationLoss(s, s, labels, C, S, { ...opts, alpha: 1.5 }), op, 'alpha', '[0, 1]');
      expectThrow(() => subclassDistillationLoss(s, s, labels, C, S, { ...opts, beta: -1 }), op, 'beta');
      expectThrow(() => subclassDistillationLoss(s, s, labels, C, S, { ...opts, temperature: 0 }), op, 'temperature', '> 0');
      expectThrow(() => subclassDistillationLoss(s, s, labels, C, S, { ...opts, auxTemperature: -2 }), op, 'auxTemperature');
      expectThrow(() => subclassDistillationLoss(s, s, [0, 1], C, S, opts), 'softmaxCrossEntropy', '2 labels');
      expectThrow(() => subclassTeacherLoss(s, labels.map(() => C), C, S, { temperature: 1, beta: 0 }), 'softmaxCrossEntropy', `label ${C}`, `[0, ${C})`);
      expectThrow(() => subclassTeacherLoss(s, labels, C, S, { temperature: NaN, beta: 1 }), 'subclassTeacherLoss', 'temperature');
      s.dispose();
    });
  });
});
