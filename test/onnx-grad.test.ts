/**
 * Gradients through each imported ONNX op against an independent reference: central finite
 * differences of ONNX Runtime's forward. For loss = Σ y ⊙ r (r fixed random weights), kdgpu's
 * d loss / d x must match (f(x + h·eᵢ) − f(x − h·eᵢ)) / 2h on 12 input coordinates per case,
 * within 2e-2·max|grad| (float32 differences). Coordinates within h of a kink (ReLU, max, clip),
 * where the difference quotient at h and h/2 disagree, are not used; at least 8 must remain.
 */
import { expect } from 'chai';
import * as ort from 'onnxruntime-node';
import * as kd from '../src/index.js';
import { randomValues, setup } from './helpers.js';
import { CASES, caseBytes } from './onnx-op-cases.js';

describe('ONNX op gradients vs finite differences of ONNX Runtime', function () {
  this.timeout(120_000);
  before(setup);

  for (const c of CASES) {
    it(c.name, async () => {
      const bytes = caseBytes(c);
      const shape = [3, ...c.sample];
      const n = shape.reduce((p, d) => p * d, 1);
      const [lo, hi] = c.range ?? [-1.5, 1.5];
      const x0 = Float32Array.from(randomValues(n, 7, lo, hi));
      const session = await ort.InferenceSession.create(bytes);
      try {
        const f64 = async (x: Float32Array, r: Float64Array | null): Promise<{ sum: number; size: number }> => {
          const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x, shape) });
          const y = out[session.outputNames[0]].data as Float32Array;
          let s = 0;
          if (r) for (let i = 0; i < y.length; i++) s += y[i] * r[i];
          return { sum: s, size: y.length };
        };
        const { size } = await f64(x0, null);
        const r = randomValues(size, 8, -1, 1);
        const model = kd.loadOnnx(bytes, { source: `${c.name}.onnx`, keepSoftmax: true }).eval();
        const x = kd.tensor(x0, shape, { requiresGrad: true });
        const loss = kd.tidy(() => {
          const y = model.call(x);
          return y.mul(kd.tensor(Float32Array.from(r), [...y.shape])).sum();
        });
        loss.backward();
        const grad = await x.grad!.data();
        let maxG = 0;
        for (const g of grad) maxG = Math.max(maxG, Math.abs(g));
        const pick = Array.from(randomValues(12, 9, 0, n - 1), (v) => Math.round(v));
        const h = 1e-2;
        const fd = async (i: number, step: number) => {
          const xp = Float32Array.from(x0);
          const xm = Float32Array.from(x0);
          xp[i] += step;
          xm[i] -= step;
          return ((await f64(xp, r)).sum - (await f64(xm, r)).sum) / (xp[i] - xm[i]);
        };
        let used = 0;
        for (const i of pick) {
          const [a, b] = [await fd(i, h), await fd(i, h / 2)];
          if (Math.abs(a - b) > 1e-2 * Math.max(maxG, 1e-3)) continue; // a kink within h
          used++;
          expect(Math.abs(grad[i] - b), `${c.name}: d loss / d x[${i}] = ${grad[i]}, finite difference ${b}`).to.be.at.most(2e-2 * Math.max(maxG, 1e-3));
        }
        expect(used, 'coordinates away from kinks').to.be.at.least(8);
        loss.dispose();
        x.dispose();
        model.dispose();
      } finally {
        await session.release();
      }
    });
  }
});
