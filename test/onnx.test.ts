/**
 * ONNX import against ONNX Runtime: every fixture (test/fixtures/make_onnx_fixtures.py, exported
 * by torch.onnx.export, plus a hand-built NHWC graph) runs in kdgpu and in onnxruntime-node on
 * the same seeded inputs, at batch 1 and 7; eval-mode outputs must agree within 1e-4·max|ref|.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as kd from '../src/index.js';
import { randomValues, setup } from './helpers.js';
import { expectWithin, ortRun } from './onnx-helpers.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
const fixture = (name: string) => join(FIXTURES, `onnx_${name}.onnx`);

interface Case {
  name: string;
  /** One sample's shape. */
  sample: number[];
  /** Op types the file holds (asserted, so the fixtures keep testing what they claim to). */
  ops: string[];
  /** The final activation the importer keeps out of the logits. */
  final?: 'Softmax' | 'LogSoftmax';
}

const VIEW_OPS = ['AveragePool', 'BatchNormalization', 'Cast', 'Concat', 'Constant', 'ConstantOfShape', 'Conv', 'Div', 'Gather', 'Gemm', 'LeakyRelu', 'LogSoftmax', 'MaxPool', 'Mul', 'Pad', 'Relu', 'Reshape', 'Shape', 'Sigmoid', 'Slice', 'Sub', 'Tanh', 'Transpose', 'Unsqueeze'];
const CASES: Case[] = [
  { name: 'mnist_cnn_teacher', sample: [1, 28, 28], ops: ['Conv', 'Flatten', 'Gemm', 'MaxPool', 'Relu'] },
  { name: 'resnet8_fused', sample: [3, 32, 32], ops: ['Add', 'Conv', 'Gemm', 'ReduceMean', 'Relu'] },
  { name: 'resnet8_bn', sample: [3, 32, 32], ops: ['Add', 'BatchNormalization', 'Conv', 'Gemm', 'ReduceMean', 'Relu'] },
  { name: 'mobilenetv2_fused', sample: [3, 32, 32], ops: ['Add', 'Clip', 'Constant', 'Conv', 'Flatten', 'Gemm', 'GlobalAveragePool'] },
  { name: 'mobilenetv2_bn', sample: [3, 32, 32], ops: ['Add', 'BatchNormalization', 'Clip', 'Constant', 'Conv', 'Flatten', 'Gemm', 'GlobalAveragePool'] },
  { name: 'view_fused', sample: [1, 12, 12], ops: VIEW_OPS, final: 'LogSoftmax' },
  { name: 'view_bn', sample: [1, 12, 12], ops: VIEW_OPS, final: 'LogSoftmax' },
  {
    name: 'nhwc',
    sample: [8, 8, 3],
    ops: ['Add', 'Cast', 'Clip', 'Constant', 'Conv', 'Gemm', 'Identity', 'MatMul', 'MaxPool', 'Mul', 'Relu', 'Reshape', 'Softmax', 'Tanh', 'Transpose'],
    final: 'Softmax',
  },
];

function logSoftmaxRows(x: ArrayLike<number>, cols: number, log: boolean): Float32Array {
  const out = new Float32Array(x.length);
  for (let r = 0; r < x.length / cols; r++) {
    let m = -Infinity;
    for (let c = 0; c < cols; c++) m = Math.max(m, x[r * cols + c]);
    let s = 0;
    for (let c = 0; c < cols; c++) s += Math.exp(x[r * cols + c] - m);
    for (let c = 0; c < cols; c++) {
      const v = x[r * cols + c] - m - Math.log(s);
      out[r * cols + c] = log ? v : Math.exp(v);
    }
  }
  return out;
}

describe('ONNX import vs ONNX Runtime', function () {
  this.timeout(300_000);
  before(setup);

  for (const c of CASES) {
    describe(c.name, () => {
      it('holds the op types it is meant to test', () => {
        const g = kd.readOnnxFile(fixture(c.name));
        expect([...new Set(g.nodes.map((n) => n.opType))].sort()).to.deep.equal([...c.ops].sort());
      });

      for (const batch of [1, 7]) {
        it(`eval-mode forward equals ONNX Runtime's at batch ${batch}`, async () => {
          const model = kd.loadOnnxFile(fixture(c.name)).eval();
          try {
            expect(model.finalActivation).to.equal(c.final ?? null);
            const shape = [batch, ...c.sample];
            const data = Float32Array.from(randomValues(shape.reduce((p, d) => p * d, 1), 11 + batch, -1.5, 1.5));
            const ref = await ortRun(fixture(c.name), data, shape);
            const got = await kd.tidy(() => kd.noGrad(() => model.call(kd.tensor(data, shape)))).data();
            // With the final (Log)Softmax kept out, compare what the file outputs: softmax of the logits.
            const cols = ref.length / batch;
            const out = c.final ? logSoftmaxRows(got, cols, c.final === 'LogSoftmax') : got;
            expectWithin(out, ref, `${c.name} batch ${batch}`);
            if (c.final) {
              const kept = kd.loadOnnxFile(fixture(c.name), { keepSoftmax: true }).eval();
              const withSoftmax = await kd.tidy(() => kd.noGrad(() => kept.call(kd.tensor(data, shape)))).data();
              kept.dispose();
              expectWithin(withSoftmax, ref, `${c.name} batch ${batch} (keepSoftmax)`);
            }
          } finally {
            model.dispose();
          }
        });
      }
    });
  }
});
