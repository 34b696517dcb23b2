import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import * as kd from '../src/index.js';
import { setup } from './helpers.js';

const { nn } = kd;

interface TorchModel {
  params: number;
  state_dict: Record<string, number[]>;
  output_shape: number[];
}
const torchModels = JSON.parse(readFileSync('test/fixtures/models.json', 'utf8')) as Record<string, TorchModel>;

describe('built-in models and their summary', () => {
  before(setup);

  it('gives the reference notebooks\' totals exactly', () => {
    const expected: Record<string, [number, number | null]> = {
      'mnist-cnn-teacher': [1_011_466, 11_021_029],
      'mnist-mlp-student': [1_238_730, 1_237_941],
      'cifar-deep-cnn': [1_186_986, null],
      'cifar-light-cnn': [267_738, null],
    };
    for (const [name, [params, flops]] of Object.entries(expected)) {
      const m = nn.buildModel(name);
      const s = nn.summary(m, nn.MODELS[name].inputShape);
      expect(s.params, `${name} params`).to.equal(params);
      if (flops !== null) expect(s.profilerFlops, `${name} profiler FLOPs`).to.equal(flops);
      m.dispose();
    }
  });

  for (const name of Object.keys(nn.MODELS)) {
    it(`${name} is the same model as its PyTorch definition (names, shapes, count, output)`, () => {
      const ref = torchModels[name];
      expect(ref, `models.json has ${name}`).to.exist;
      const m = nn.buildModel(name);
      const ours = Object.fromEntries([...m.stateDict()].map(([k, t]) => [k, [...t.shape]]));
      expect(ours).to.deep.equal(ref.state_dict);
      expect(m.numParameters()).to.equal(ref.params);
      const s = nn.summary(m, nn.MODELS[name].inputShape);
      expect([1, ...s.layers[s.layers.length - 1].outputShape]).to.deep.equal(ref.output_shape);
      m.dispose();
    });
  }

  it('prints a per-layer table', () => {
    const m = nn.buildModel('mnist-cnn-teacher');
    const text = nn.formatSummary(nn.summary(m, [1, 28, 28]), 'teacher');
    expect(text).to.match(/Conv2d\(1 → 32, 3×3\)\s+\(None, 32, 26, 26\)\s+320/);
    expect(text).to.match(/MaxPool2d\s+\(None, 64, 11, 11\)/);
    expect(text).to.contain('Total params: 1,011,466');
    expect(text).to.contain('11,021,029');
    m.dispose();
  });

  it('rejects unknown model names, listing the known ones', () => {
    expect(() => nn.buildModel('resnet9000')).to.throw(/unknown model 'resnet9000'; built-in models: mnist-cnn-teacher/);
  });
});
