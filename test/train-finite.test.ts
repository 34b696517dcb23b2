/**
 * The finite flag (issue 24): a loss that stays finite while a gradient goes NaN stops `fit` with a
 * TrainingDivergedError naming the step and the parameter. Bound tested: the first non-finite value
 * at step s (1-based) is found by the first flag read at or after s — the read at the end of the
 * `logEvery` window holding s, at step K = ⌈s / logEvery⌉·logEvery, or the epoch's end when
 * `logEvery` is 0 — and the loop has recorded at most MAX_QUEUED_STEPS steps past K when it stops.
 * No onLoss callback reports the window holding s or a later one, and nothing is checkpointed.
 */
import { expect } from 'chai';
import * as kd from '../src/index.js';
import { setup } from './helpers.js';

const { nn } = kd;

const mlp = (seed: number) => new nn.Sequential(new nn.Flatten(), new nn.Linear(784, 32, { rng: seed }), new nn.ReLU(), new nn.Dropout(0.25), new nn.Linear(32, 10, { rng: seed + 1 }));

/** 15 steps of 100 per epoch. */
const STEPS = 15;
/** The step (1-based) whose loss stays finite while the gradient of '4.bias' is NaN. */
const BAD = 7;

/**
 * Cross-entropy plus, at step BAD, 0 · √(0 · Σ bias): the value adds 0, but √'s derivative at 0 is
 * infinite, so the bias gets 0 · ∞ = NaN.
 */
const poisonedLoss =
  (model: kd.nn.Sequential): kd.nn.LossFn =>
  (out, y, _x, batch) => {
    const ce = nn.crossEntropyLoss(out, y, _x, batch);
    if (batch.index !== BAD - 1) return ce;
    const bias = model.namedParameters().find(([n]) => n === '4.bias')![1];
    return ce.add(kd.sqrt(bias.mul(0).sum()).mul(0));
  };

describe('fit: the finite flag stops a run whose gradient goes non-finite', function () {
  this.timeout(600_000);
  before(setup);
  const data = () => kd.take(kd.fashionMnistDataset('train'), 0, STEPS * 100);

  for (const optimizer of ['adam', 'sgd'] as const) {
    for (const logEvery of [1, 3, 5, 0]) {
      it(`${optimizer}, logEvery ${logEvery}: names step ${BAD} and '4.bias', within the bound, with no checkpoint`, async () => {
        const model = mlp(1);
        const losses: number[] = [];
        const reported: number[] = [];
        let recorded = 0;
        let checkpoints = 0;
        let err: unknown = null;
        await nn
          .trainClassifier(model, data(), {
            epochs: 2,
            batchSize: 100,
            optimizer,
            lr: 1e-3,
            logEvery,
            loss: poisonedLoss(model),
            checkpoint: () => void checkpoints++,
            callbacks: [{ onStepEnd: () => void recorded++, onLoss: (l) => void (losses.push(l.loss), reported.push(l.globalStep + 1)) }],
          })
          .catch((e: unknown) => (err = e));
        expect(err, 'the error').to.be.instanceOf(nn.TrainingDivergedError);
        const d = err as kd.nn.TrainingDivergedError;
        expect([d.epoch, d.step, d.what, d.parameter]).to.deep.equal([1, BAD, 'gradient', '4.bias']);
        expect(d.message).to.equal(
          `kdgpu: training diverged: the gradient of '4.bias' is not finite at step ${BAD} (epoch 1, step ${BAD} of ${STEPS}); stopped without writing weights or a checkpoint after it (try a lower learning rate)`,
        );
        expect(checkpoints, 'checkpoints').to.equal(0);
        // The losses read were finite: the loss never was anything else.
        expect(losses.every(Number.isFinite), `losses ${losses.join(', ')}`).to.equal(true);
        const found = logEvery === 0 ? STEPS : Math.min(STEPS, Math.ceil(BAD / logEvery) * logEvery);
        expect(reported, 'windows reported').to.deep.equal(logEvery === 0 ? [] : Array.from({ length: Math.floor((BAD - 1) / logEvery) }, (_, i) => (i + 1) * logEvery));
        expect(recorded, 'steps recorded').to.be.within(found, Math.min(STEPS, found + nn.MAX_QUEUED_STEPS));
        model.dispose();
      });
    }
  }

  it('a stop requested after the NaN step writes no checkpoint: the stop reads the flag first', async () => {
    const model = mlp(3);
    const signal = { stopped: false };
    let checkpoints = 0;
    let err: unknown = null;
    await nn
      .trainClassifier(model, data(), {
        epochs: 2,
        batchSize: 100,
        logEvery: 0,
        loss: poisonedLoss(model),
        signal,
        onStop: 'checkpoint',
        checkpoint: () => void checkpoints++,
        callbacks: [{ onStepEnd: (s) => void (s.globalStep === BAD && (signal.stopped = true)) }],
      })
      .catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(nn.TrainingDivergedError);
    expect((err as kd.nn.TrainingDivergedError).step).to.equal(BAD);
    expect(checkpoints).to.equal(0);
    model.dispose();
  });

  it('fit without callbacks, logEvery 0 (read at the epoch end): the NaN gradient, and an infinite loss at the first step', async () => {
    const loader = new kd.GpuLoader(data(), { batchSize: 100 });
    const cases: [(m: kd.nn.Sequential) => kd.nn.LossFn, string][] = [
      [poisonedLoss, `the gradient of '4.bias' is not finite at step ${BAD} (epoch 1, step ${BAD} of ${STEPS})`],
      // + log(0) = −∞: the loss itself (its gradient is infinite too; the loss comes first).
      [(m) => (out, y, x, b) => nn.crossEntropyLoss(out, y, x, b).add(kd.log(m.parameters()[3].mul(0).sum())), `the training loss is not finite at step 1 (epoch 1, step 1 of ${STEPS})`],
    ];
    for (const [loss, want] of cases) {
      const model = mlp(2);
      const opt = new nn.SGD(model.parameters(), { lr: 1e-3, momentum: 0.9 });
      let msg = '';
      await nn.fit(model, loader, { optimizer: opt, epochs: 1, logEvery: 0, loss: loss(model) }).catch((e: Error) => (msg = e.message));
      expect(msg).to.match(new RegExp(`^kdgpu: training diverged: ${want.replace(/[()]/g, '\\$&')};`));
      opt.dispose();
      model.dispose();
    }
    loader.dispose();
  });
});
