import { expect } from 'chai';
import * as kd from '../src/index.js';
import { setup } from './helpers.js';

describe('smoke', () => {
  before(setup);

  it('runs a small forward and backward pass', async () => {
    const a = kd.tensor([[1, 2, 3], [4, 5, 6]], undefined, { requiresGrad: true });
    const b = kd.tensor([0.5, -1, 2], undefined, { requiresGrad: true });
    const loss = a.mul(b).relu().sum();
    expect(await loss.item()).to.equal(0.5 + 6 + 2 + 12);
    loss.backward();
    expect(Array.from(await a.grad!.data(), (v) => v + 0)).to.deep.equal([0.5, 0, 2, 0.5, 0, 2]);
    expect(Array.from(await b.grad!.data())).to.deep.equal([5, 0, 9]);
  });
});
