import { expect } from 'chai';
import * as kd from '../src/index.js';
import { ProgressBar } from '../src/nn/progress.js';
import type { EpochLog, LossInfo } from '../src/nn/train.js';
import { setup } from './helpers.js';

/** A writable that records what is written; isTTY as asked. */
function fakeStream(isTTY: boolean) {
  const chunks: string[] = [];
  return { chunks, isTTY, columns: 120, write: (s: string) => chunks.push(s), text: () => chunks.join('') };
}

const loss = (epoch: number, step: number, value: number): LossInfo => ({ epoch, step, stepsPerEpoch: 8, globalStep: (epoch - 1) * 8 + step, loss: value, imagesPerSecond: 1000 });
const epochLog = (epoch: number, val?: number): EpochLog => ({
  epoch,
  loss: 0.5,
  seconds: 2,
  imagesPerSecond: 256,
  lr: 1e-3,
  ...(val === undefined ? {} : { val: { count: 10, accuracy: val, perClassAccuracy: [], macroF1: 0.5, confusion: [], loss: 0.4 } }),
});

/** Drives the callbacks the way fit does for one epoch of 8 steps with logEvery 4. */
function runEpoch(bar: ProgressBar, epoch: number, val?: number): void {
  bar.onEpochStart(epoch, 8);
  for (let s = 0; s < 8; s++) bar.onStepEnd({ epoch, step: s, stepsPerEpoch: 8, globalStep: (epoch - 1) * 8 + s });
  bar.onLoss(loss(epoch, 3, 1.25));
  bar.onLoss(loss(epoch, 7, 0.75));
  bar.onEpochEnd(epochLog(epoch, val));
}

describe('ProgressBar', () => {
  it('writes one plain line per epoch when the stream is not a terminal', () => {
    const s = fakeStream(false);
    const bar = new ProgressBar({ stream: s, epochs: 2, batchSize: 32 });
    expect(bar.tty).to.equal(false);
    runEpoch(bar, 1, 0.8125);
    runEpoch(bar, 2);
    const lines = s.text().split('\n').filter(Boolean);
    expect(lines).to.have.length(2);
    expect(lines[0]).to.match(/^epoch 1\/2 +loss 0\.5000 +val_loss 0\.4000 +val_acc 0\.8125 +256 img\/s +2\.0 s$/);
    expect(lines[1]).to.match(/^epoch 2\/2 +loss 0\.5000 +256 img\/s/);
    expect(s.text()).not.to.include('\x1b');
  });

  it('draws a bar on a terminal from loss readbacks only, and leaves no timer behind', () => {
    const s = fakeStream(true);
    const bar = new ProgressBar({ stream: s, epochs: 3 });
    expect(bar.tty).to.equal(true);
    bar.onEpochStart(1, 8);
    for (let i = 0; i < 8; i++) bar.onStepEnd({ epoch: 1, step: i, stepsPerEpoch: 8, globalStep: i });
    // Submitted steps are not completed steps: the bar still shows 0/8.
    expect(s.text()).to.include('0/8');
    expect(s.text()).not.to.include('8/8');
    bar.onLoss(loss(1, 3, 1.25));
    expect(bar.loss).to.equal(1.25);
    bar.onEpochEnd(epochLog(1, 0.75));
    const text = s.text();
    expect(text).to.include('epoch 1/3');
    expect(text).to.include('8/8');
    expect(text).to.include('loss 0.5000');
    expect(text).to.include('val acc 0.7500');
    expect(text).to.include('\x1b['); // cursor control: it is a live bar
    // A readback of a finished epoch arriving late changes nothing.
    const before = s.chunks.length;
    bar.onLoss(loss(1, 7, 0.1));
    expect(s.chunks.length).to.equal(before);
    // stop() on a finished bar is harmless; no render timer is left (mocha would hang otherwise).
    bar.stop();
  });

  it('can be forced to plain lines on a terminal', () => {
    const s = fakeStream(true);
    const bar = new ProgressBar({ stream: s, plain: true });
    runEpoch(bar, 1);
    expect(s.text()).to.match(/^epoch 1 +loss 0\.5000/);
  });

  describe('in fit', function () {
    this.timeout(120_000);
    before(setup);

    it('adds no readback of its own', async () => {
      const data = kd.take(kd.fashionMnistDataset('test'), 0, 256);
      const readbacks = async (callbacks: kd.nn.TrainCallbacks[]) => {
        const model = new kd.nn.Sequential(new kd.nn.Flatten(), new kd.nn.Linear(784, 10, { rng: 1 }));
        const loader = new kd.GpuLoader(data, { batchSize: 32, shuffle: true, seed: 0 });
        const e = kd.engine();
        const before = e.stats().mapAsyncCalls;
        await kd.nn.fit(model, loader, { optimizer: new kd.nn.SGD(model.parameters(), { lr: 0.1 }), epochs: 2, logEvery: 2, callbacks });
        await e.sync();
        loader.dispose();
        return e.stats().mapAsyncCalls - before;
      };
      const s = fakeStream(false);
      const withBar = await readbacks([new ProgressBar({ stream: s, epochs: 2, batchSize: 32 })]);
      const bare = await readbacks([{ onLoss() {} }]);
      expect(withBar).to.equal(bare);
      expect(s.text().split('\n').filter(Boolean)).to.have.length(2);
    });
  });
});
