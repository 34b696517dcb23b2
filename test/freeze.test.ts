import { expect } from 'chai';
import * as kd from '../src/index.js';
import { setup } from './helpers.js';

const { nn } = kd;

const smallCnn = (seed: number) =>
  new nn.Sequential(
    new nn.Conv2d(1, 4, 3, { rng: seed }),
    new nn.ReLU(),
    new nn.MaxPool2d({ kernel: 2, stride: 2 }),
    new nn.Conv2d(4, 6, 3, { rng: seed + 1 }),
    new nn.ReLU(),
    new nn.Flatten(),
    new nn.Linear(6 * 11 * 11, 16, { rng: seed + 2 }),
    new nn.ReLU(),
    new nn.Linear(16, 10, { rng: seed + 3 }),
  );

async function snapshot(m: kd.nn.Module): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const [n, p] of m.namedParameters()) out.set(n, (await p.data()) as Float32Array);
  return out;
}

describe('freezing and head replacement', function () {
  this.timeout(300_000);
  before(setup);

  it('freezeUntil keeps the frozen layers bit-identical through training; they hold no optimizer state and get no gradient', async () => {
    const model = smallCnn(3);
    const frozen = nn.freezeUntil(model, '6'); // both convs frozen, the two Linear layers train
    expect(frozen).to.deep.equal(['0', '1', '2', '3', '4', '5']);
    const trainable = model.trainableParameters();
    expect(trainable.map((p) => p.shape)).to.deep.equal([[16, 726], [16], [10, 16], [10]]);
    const before = await snapshot(model);
    const opt = new nn.Adam(model.trainableParameters(), { lr: 1e-2 });
    const loader = new kd.GpuLoader(kd.take(kd.fashionMnistDataset('train'), 0, 64), { batchSize: 16, shuffle: true, seed: 1 });
    await nn.fit(model, loader, { optimizer: opt, epochs: 1 });
    const after = await snapshot(model);
    for (const [n, w] of before) {
      const same = w.every((v, i) => Object.is(v, after.get(n)![i]));
      expect(same, `${n} ${n.startsWith('0.') || n.startsWith('3.') ? 'frozen, must not change' : 'trainable, must change'}`).to.equal(n.startsWith('0.') || n.startsWith('3.'));
    }
    // Optimizer state: two moments for each trainable tensor, none for frozen ones.
    const state = opt.stateTensors().map(([, t]) => t.size);
    expect(state.reduce((a, b) => a + b, 0)).to.equal(2 * trainable.reduce((s, p) => s + p.size, 0));
    for (const [n, p] of model.namedParameters()) if (n.startsWith('0.') || n.startsWith('3.')) expect(p.grad, `${n} grad`).to.equal(null);
    loader.dispose();
    opt.dispose();
    model.dispose();
  });

  it('a frozen mark survives loading weights; unfreeze restores training', async () => {
    const model = smallCnn(1);
    nn.freeze(model, ['0']);
    const other = smallCnn(2);
    model.loadStateDict(other.stateDict());
    expect(model.namedParameters().filter(([, p]) => !p.requiresGrad).map(([n]) => n)).to.deep.equal(['0.weight', '0.bias']);
    nn.unfreeze(model);
    expect(model.trainableParameters()).to.have.length(model.parameters().length);
    expect(() => nn.freeze(model, ['nope'])).to.throw(/no module 'nope'/);
    model.dispose();
  });

  it('replaceHead puts a new N-class Linear on top, and the model trains with it', async () => {
    const model = smallCnn(4);
    const path = nn.replaceHead(model, 3, { seed: 9 });
    expect(path).to.equal('8');
    const logits = kd.noGrad(() => (model.forward(kd.zeros([2, 1, 28, 28])) as kd.Tensor));
    expect(logits.shape).to.deep.equal([2, 3]);
    logits.dispose();
    expect(model.stateDict().get('8.weight')!.shape).to.deep.equal([3, 16]);
    expect(() => nn.replaceHead(model, 0)).to.throw(/positive integer/);
    model.dispose();
  });
});
