/**
 * Model specs are bounded from the JSON alone: a few bytes cannot ask for billions of weights,
 * activations, layers or classes; each bound names the layer and how to raise it.
 */
import { expect } from 'chai';
import { nn } from '../src/index.js';

const mlp = (hidden: number, classes = 10) => ({ inputShape: [784], layers: [{ type: 'linear', out: hidden }, { type: 'relu' }, { type: 'linear', out: classes }] });

describe('model spec bounds', () => {
  it('counts the parameters as the built model has them', () => {
    const parsed = nn.parseModelSpec(mlp(256), 'mlp.json');
    expect(parsed.params).to.equal(784 * 256 + 256 + 256 * 10 + 10);
    const conv = nn.parseModelSpec({ inputShape: [3, 8, 8], layers: [{ type: 'conv2d', out: 4, kernel: 3 }, { type: 'flatten' }, { type: 'linear', out: 2 }] }, 'c.json');
    expect(conv.params).to.equal(4 * (3 * 9 + 1) + 4 * 6 * 6 * 2 + 2);
  });

  it('refuses a 5·10⁷-wide Linear before building anything, naming the layer and the way to raise the bound', () => {
    expect(() => nn.parseModelSpec(mlp(5e7), 'wide.json')).to.throw(
      /^kdgpu: model spec wide\.json: layers\[0\] \(linear\): brings the parameters to 39,250,000,000, more than the limit of 100,000,000 \(raise it with limits\.params or --max-params\)$/,
    );
    expect(() => nn.buildFromSpec(mlp(5e7) as nn.ModelSpec)).to.throw(/more than the limit of 100,000,000/);
    expect(nn.parseModelSpec(mlp(200_000), 'raised.json', { params: 2e8 }).params).to.be.above(1e8);
  });

  it('bounds activations, layers and classes', () => {
    const big = { inputShape: [1, 4000, 4000], layers: [{ type: 'conv2d', out: 16, kernel: 1 }, { type: 'flatten' }, { type: 'linear', out: 2 }] };
    expect(() => nn.parseModelSpec(big, 'act.json')).to.throw(/layers\[0\] \(conv2d\): brings the activations of one sample to 272,000,000/);
    const deep = { inputShape: [4], layers: Array.from({ length: 1001 }, () => ({ type: 'relu' })).concat([{ type: 'linear', out: 2 } as never]) };
    expect(() => nn.parseModelSpec(deep, 'deep.json')).to.throw(/the spec has 1,002, more than the limit of 1,000/);
    expect(() => nn.parseModelSpec(mlp(8, 200_000), 'cls.json')).to.throw(/the last layer gives 200,000, more than the limit of 100,000 \(raise it with limits\.classes\)/);
    expect(nn.SPEC_LIMITS.params).to.equal(1e8);
  });
});
