import { expect } from 'chai';
import * as kd from '../src/index.js';
import { setup } from './helpers.js';

const { nn } = kd;

function fashion(count: number, offset = 0, split: 'train' | 'test' = 'train'): kd.ArrayDataset {
  return kd.take(kd.fashionMnistDataset(split), offset, count);
}

async function weightsOf(m: kd.nn.Module): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (const p of m.parameters()) out.push((await p.data()) as Float32Array);
  return out;
}

describe('fit / evaluate', function () {
  this.timeout(600_000);
  before(setup);

  /** A small MLP: the same code paths as the recipe models at a fraction of the cost. */
  const smallMlp = (seed: number) =>
    new nn.Sequential(new nn.Flatten(), new nn.Linear(784, 64, { rng: seed }), new nn.ReLU(), new nn.Linear(64, 10, { rng: seed + 1 }));
  /** A small CNN with dropout, for the resume test. */
  const smallCnn = (seed: number) =>
    new nn.Sequential(
      new nn.Conv2d(1, 4, 3, { rng: seed }),
      new nn.ReLU(),
      new nn.MaxPool2d({ kernel: 2, stride: 2 }),
      new nn.Flatten(),
      new nn.Dropout(0.5),
      new nn.Linear(4 * 13 * 13, 10, { rng: seed + 1 }),
    );

  it('trains an MLP on a Fashion-MNIST subset and reports metrics', async () => {
    const model = smallMlp(1);
    const loader = new kd.GpuLoader(fashion(2000), { batchSize: 100, shuffle: true, seed: 1 });
    const opt = new nn.Adam(model.parameters(), { lr: 5e-3 });
    const losses: number[] = [];
    const res = await nn.fit(model, loader, {
      optimizer: opt,
      epochs: 3,
      validation: fashion(1000, 0, 'test'),
      logEvery: 5,
      callbacks: [{ onLoss: (i) => losses.push(i.loss) }],
    });
    expect(res.history).to.have.length(3);
    expect(res.history[2].loss).to.be.lessThan(res.history[0].loss);
    expect(res.history[2].val!.accuracy).to.be.greaterThan(0.7);
    expect(res.history[2].val!.perClassAccuracy).to.have.length(10);
    expect(res.history[2].val!.macroF1).to.be.within(0.6, 1);
    expect(losses.length).to.be.greaterThan(0); // readbacks arrived without blocking the steps
    loader.dispose();
    opt.dispose();
    model.dispose();
  });

  it('resumes exactly: 2 epochs + checkpoint + 2 epochs equals 4 epochs, with dropout on', async () => {
    const data = fashion(300);
    const run = async (split: boolean) => {
      kd.dropoutSeed(123);
      const model = smallCnn(4);
      const loader = new kd.GpuLoader(data, { batchSize: 50, shuffle: true, seed: 9 });
      const opt = new nn.Adam(model.parameters(), { lr: 1e-3 });
      let ckpt: Uint8Array | null = null;
      if (!split) {
        await nn.fit(model, loader, { optimizer: opt, epochs: 4 });
      } else {
        await nn.fit(model, loader, { optimizer: opt, epochs: 2, checkpoint: (b) => void (ckpt = b) });
        // A fresh process would start from nothing: new model, optimizer, loader and dropout seed.
        model.dispose();
        opt.dispose();
        loader.dispose();
        kd.dropoutSeed(999);
        const model2 = smallCnn(77);
        const loader2 = new kd.GpuLoader(data, { batchSize: 50, shuffle: true, seed: 1 });
        const opt2 = new nn.Adam(model2.parameters(), { lr: 1e-3 });
        await nn.fit(model2, loader2, { optimizer: opt2, epochs: 4, resumeFrom: ckpt! });
        const w = await weightsOf(model2);
        model2.dispose();
        opt2.dispose();
        loader2.dispose();
        return w;
      }
      const w = await weightsOf(model);
      model.dispose();
      opt.dispose();
      loader.dispose();
      return w;
    };
    const straight = await run(false);
    const resumed = await run(true);
    expect(resumed.length).to.equal(straight.length);
    straight.forEach((w, i) => expect(Buffer.compare(Buffer.from(w.buffer), Buffer.from(resumed[i].buffer)), `parameter ${i}`).to.equal(0));
  });

  it('stops early when the validation loss stops improving', async () => {
    const model = smallMlp(2);
    const loader = new kd.GpuLoader(fashion(200), { batchSize: 50 });
    // lr = 0: the validation loss never improves after epoch 1, so with patience 1 training
    // stops after epoch 3.
    const opt = new nn.SGD(model.parameters(), { lr: 0 });
    const res = await nn.fit(model, loader, { optimizer: opt, epochs: 10, validation: fashion(100, 0, 'test'), earlyStopping: { patience: 1 } });
    expect(res.stopReason).to.equal('early-stopping');
    expect(res.history.map((h) => h.epoch)).to.deep.equal([1, 2, 3]);
    loader.dispose();
    opt.dispose();
    model.dispose();
  });
});
