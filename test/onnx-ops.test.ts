/**
 * Each ONNX op the importer supports, in small hand-encoded graphs on awkward shapes (odd sizes,
 * asymmetric and SAME_LOWER padding, ceil_mode, negative axes, broadcasting, opset-dependent
 * forms), against ONNX Runtime: |Δ| ≤ 1e-4·max|ref| at batch 3.
 */
import { expect } from 'chai';
import * as kd from '../src/index.js';
import { randomValues, setup } from './helpers.js';
import { encodeModel, expectWithin, ortRun } from './onnx-helpers.js';
import { CASES, caseBytes, encode, one } from './onnx-op-cases.js';

describe('ONNX ops vs ONNX Runtime (awkward shapes)', function () {
  this.timeout(120_000);
  before(setup);

  for (const c of CASES) {
    it(c.name, async () => {
      const bytes = caseBytes(c);
      const shape = [3, ...c.sample];
      const [lo, hi] = c.range ?? [-1.5, 1.5];
      const data = Float32Array.from(randomValues(shape.reduce((p, d) => p * d, 1), 99, lo, hi));
      const ref = await ortRun(bytes, data, shape);
      const model = kd.loadOnnx(bytes, { source: `${c.name}.onnx`, keepSoftmax: true }).eval();
      try {
        const y = kd.noGrad(() => model.call(kd.tensor(data, shape)));
        expectWithin(await y.data(), ref, c.name);
        y.dispose();
      } finally {
        model.dispose();
      }
    });
  }

  it('strips only a final Softmax, and reports it', () => {
    const bytes = encodeModel(encode, one('Softmax', []), {}, [4]);
    const m = kd.loadOnnx(bytes);
    expect(m.finalActivation).to.equal('Softmax');
    expect(kd.loadOnnx(bytes, { keepSoftmax: true }).finalActivation).to.equal(null);
  });
});
