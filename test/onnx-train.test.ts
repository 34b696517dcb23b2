/**
 * Imported ONNX models behave like any kdgpu Module: one fine-tuning step's gradients equal
 * PyTorch's (test/fixtures/onnx_grads.safetensors, from make_onnx_fixtures.py: ResNet-8 with its
 * BatchNormalization nodes in train mode — batch statistics — and the view model in eval mode),
 * state_dict names are the exporter's, freezing and distillation work, summaries count the layers.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as kd from '../src/index.js';
import { loadFixture } from './fixtures.js';
import { setup } from './helpers.js';
import { expectWithin } from './onnx-helpers.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
const fixture = (name: string) => join(FIXTURES, `onnx_${name}.onnx`);

describe('ONNX import: training, freezing, distillation', function () {
  this.timeout(300_000);
  before(setup);

  for (const [name, train] of [['resnet8_bn', true], ['view_bn', false]] as const) {
    it(`${name}: one fine-tuning step's gradients equal PyTorch's (${train ? 'train' : 'eval'} mode)`, async () => {
      const ref = loadFixture('onnx_grads.safetensors');
      const model = kd.loadOnnxFile(fixture(name)).train(train);
      try {
        const x = ref.get(`${name}.input`);
        const labels = ref.get(`${name}.labels`).data as Int32Array;
        const loss = kd.tidy(() => kd.softmaxCrossEntropy(model.call(kd.tensor(x.data as Float32Array, x.shape)), labels));
        expectWithin([await loss.item()], ref.get(`${name}.loss`).data, `${name} loss`);
        loss.backward();
        const tensors = model.onnxTensors();
        const names = [...ref.tensors.keys()].filter((k) => k.startsWith(`${name}.grad.`));
        // Every PyTorch parameter is an ONNX initializer with the same name, and gets the same gradient.
        expect(names.length).to.equal(model.parameters().length);
        for (const k of names) {
          const p = tensors.get(k.slice(`${name}.grad.`.length));
          expect(p, `${k}: no such parameter`).to.not.equal(undefined);
          expectWithin(await p!.grad!.data(), ref.get(k).data, k);
        }
        loss.dispose();
      } finally {
        model.dispose();
      }
    });
  }

  it('evaluates the trained mnist-cnn-teacher twin to PyTorch\'s Fashion-MNIST test accuracy', async () => {
    const ref = JSON.parse(readFileSync(join(FIXTURES, 'onnx_mnist_cnn_teacher.json'), 'utf8')) as { accuracy: number; count: number; predictions: number[] };
    const model = kd.loadOnnxFile(fixture('mnist_cnn_teacher'));
    try {
      const test = kd.fashionMnistDataset('test');
      const logits = await kd.nn.predict(model, test, 500);
      let differ = 0;
      let right = 0;
      for (let i = 0; i < test.count; i++) {
        let best = 0;
        for (let c = 1; c < 10; c++) if (logits[i * 10 + c] > logits[i * 10 + best]) best = c;
        if (best !== ref.predictions[i]) differ++;
        if (best === test.y[i]) right++;
      }
      expect(test.count).to.equal(ref.count);
      expect(differ, 'test images classified differently from PyTorch').to.equal(0);
      expect(right / test.count).to.be.closeTo(ref.accuracy, 1e-6);
    } finally {
      model.dispose();
    }
  });

  it('keeps the exporter\'s state_dict names, builds kdgpu layers, and summarizes', () => {
    const model = kd.loadOnnxFile(fixture('resnet8_bn'));
    try {
      const names = [...model.stateDict().keys()];
      expect(names).to.include.members(['conv1.weight', 'bn1.running_var', 'layer1.0.conv2.weight', 'layer2.0.downsample.0.weight', 'fc.weight', 'fc.bias']);
      expect(model.namedModules().find(([n]) => n === 'layer2.0.downsample.1')?.[1]).to.be.instanceOf(kd.nn.BatchNorm);
      expect(model.namedModules().find(([n]) => n === 'fc')?.[1]).to.be.instanceOf(kd.nn.Linear);
      expect(model.inputShape).to.deep.equal([3, 32, 32]);
      const s = kd.nn.summary(model, model.inputShape!);
      expect(s.params).to.equal(model.numParameters());
      const convs = s.layers.filter((l) => l.type === 'Conv2d');
      expect(convs.length).to.equal(9);
      // conv1: 3→16, 3×3 on 32×32: 32·32·16·27 MACs.
      expect(convs[0].macs).to.equal(32 * 32 * 16 * 27);
    } finally {
      model.dispose();
    }
    // Fused exports name weights 'onnx::Conv_12'; the node names ('/layer2/layer2.0/downsample/downsample.0/Conv') give the paths.
    const fused = kd.loadOnnxFile(fixture('resnet8_fused'));
    expect([...fused.stateDict().keys()]).to.deep.equal([
      'conv1.weight', 'conv1.bias', 'layer1.0.conv1.weight', 'layer1.0.conv1.bias', 'layer1.0.conv2.weight', 'layer1.0.conv2.bias',
      'layer2.0.conv1.weight', 'layer2.0.conv1.bias', 'layer2.0.conv2.weight', 'layer2.0.conv2.bias', 'layer2.0.downsample.0.weight', 'layer2.0.downsample.0.bias',
      'layer3.0.conv1.weight', 'layer3.0.conv1.bias', 'layer3.0.conv2.weight', 'layer3.0.conv2.bias', 'layer3.0.downsample.0.weight', 'layer3.0.downsample.0.bias',
      'fc.weight', 'fc.bias',
    ]);
    fused.dispose();
  });

  it('freezes by module path: frozen layers get no gradient', () => {
    const model = kd.loadOnnxFile(fixture('resnet8_bn')).eval();
    try {
      kd.nn.freeze(model, ['layer1']);
      const frozen = model.namedParameters().filter(([n]) => n.startsWith('layer1.'));
      expect(frozen.length).to.be.greaterThan(0);
      expect(frozen.every(([, p]) => !p.requiresGrad)).to.equal(true);
      const loss = kd.tidy(() => kd.softmaxCrossEntropy(model.call(kd.randn([2, 3, 32, 32], { seed: 1 })), [1, 2]));
      loss.backward();
      expect(frozen.every(([, p]) => !p.grad)).to.equal(true);
      expect(model.namedParameters().find(([n]) => n === 'fc.weight')![1].grad).to.not.equal(undefined);
      loss.dispose();
    } finally {
      model.dispose();
    }
  });

  it('teaches: an imported teacher distills into a built-in student', async () => {
    const teacher = kd.loadOnnxFile(fixture('mnist_cnn_teacher'));
    const student = kd.nn.buildModel('mnist-mlp-student', { seed: 1 });
    const images = new Float32Array(64 * 784).map((_, i) => ((i * 2654435761) % 1000) / 1000);
    const labels = new Int32Array(64).map((_, i) => i % 10);
    const train = kd.fromImageSet({ images, labels, count: 64, rows: 28, cols: 28 });
    const record = await kd.distill(student, teacher, train, { epochs: 1, seed: 1, temperature: 4, alpha: 0.5, cache: false, test: train });
    expect(record.history.length).to.equal(1);
    expect(Number.isFinite(record.history[0].loss)).to.equal(true);
    student.dispose();
    teacher.dispose();
  });

  it('is a ModelSource for the CLI: name, input shape and classes from the file, build() imports it', async () => {
    const src = kd.onnxModelSource(fixture('mnist_cnn_teacher'));
    expect(src.name).to.equal('onnx_mnist_cnn_teacher.onnx');
    expect(src.inputShape).to.deep.equal([1, 28, 28]);
    expect(src.classes).to.equal(10);
    const m = src.build();
    expect(m).to.be.instanceOf(kd.OnnxModel);
    const y = kd.noGrad(() => m.call(kd.zeros([2, 784])));
    expect(y.shape).to.deep.equal([2, 10]);
    y.dispose();
    m.dispose();
  });

  it('preprocesses: scale and per-channel mean/std equal doing it by hand', async () => {
    const x = kd.rand([2, 3, 32, 32], { seed: 5 });
    const mean = [0.4914, 0.4822, 0.4465];
    const std = [0.247, 0.243, 0.261];
    const a = kd.loadOnnxFile(fixture('resnet8_fused'), { preprocess: { scale: 2, mean, std } }).eval();
    const b = kd.loadOnnxFile(fixture('resnet8_fused')).eval();
    const manual = kd.tidy(() => x.mul(2).sub(kd.tensor(mean, [1, 3, 1, 1])).div(kd.tensor(std, [1, 3, 1, 1])));
    const ya = await kd.noGrad(() => a.call(x)).data();
    const yb = await kd.noGrad(() => b.call(manual)).data();
    expectWithin(ya, yb, 'preprocessed');
    a.dispose();
    b.dispose();
  });
});
