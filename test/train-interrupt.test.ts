/**
 * fit's stops and resumes (issue 24): a stop anywhere in a run writes a checkpoint of the exact
 * step reached and resuming it gives the uninterrupted run's weights bit for bit (dropout,
 * augmentation, shuffle); at most MAX_QUEUED_STEPS steps are queued ahead of the GPU, so a stop
 * set from outside the loop (a timer, as Ctrl-C would) ends GPU work within 3 steps; a diverging
 * run throws a TrainingDivergedError naming its first non-finite step and checkpoints nothing.
 *
 * The queue bound shows on SwiftShader (KDGPU_ADAPTER=swiftshader), whose queue runs behind the
 * CPU: without the bound the timer test sees 5+ steps of GPU work after the stop. llvmpipe (Dawn's
 * OpenGL ES backend) finishes most of a step's work inside its submission, so there it passes either way.
 * Early stopping's record travels in checkpoints: a resumed run stops at the epoch the uninterrupted
 * one did. (A gradient going non-finite under a finite loss: train-finite.test.ts.)
 */
import { expect } from 'chai';
import * as kd from '../src/index.js';
import { setup } from './helpers.js';

const { nn } = kd;

const mlp = (seed: number) => new nn.Sequential(new nn.Flatten(), new nn.Linear(784, 32, { rng: seed }), new nn.ReLU(), new nn.Dropout(0.25), new nn.Linear(32, 10, { rng: seed + 1 }));

async function weightsOf(m: kd.nn.Module): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (const p of m.parameters()) out.push((await p.data()) as Float32Array);
  return out;
}

describe('fit: stop anywhere, resume exactly; stop on NaN', function () {
  this.timeout(600_000);
  before(setup);
  const train = () => kd.take(kd.fashionMnistDataset('train'), 0, 700); // 7 steps of 100 per epoch
  const opts = { epochs: 2, batchSize: 100, seed: 5, augment: { flip: 0.5, brightness: [0.9, 1.1] as const } };

  it('a stop before the first step, inside epoch 1, at its end, inside epoch 2 and during the last step resumes to the same weights', async () => {
    const straight = mlp(3);
    const full = await nn.trainClassifier(straight, train(), opts);
    const want = await weightsOf(straight);
    // Global steps (0-based) after which the stop is set; -1: before the first step.
    for (const at of [-1, 2, 6, 9, 13]) {
      const model = mlp(3);
      const signal = { stopped: at === -1 };
      const written: number[] = [];
      let recorded = 0;
      const first = await nn.trainClassifier(model, train(), {
        ...opts,
        signal,
        onStop: 'checkpoint',
        checkpoint: (_b, epoch) => void written.push(epoch),
        callbacks: [
          {
            onStepEnd: (s) => {
              recorded++;
              if (s.globalStep === at) signal.stopped = true;
            },
          },
        ],
      });
      expect(first.stopReason, `stop at ${at}`).to.equal('signal');
      expect(recorded, `stop at ${at}: no step after the stop`).to.equal(at + 1);
      expect(first.checkpoint).to.be.instanceOf(Uint8Array);
      const meta = JSON.parse(kd.nn.parseSafetensors(first.checkpoint!, 'ckpt').metadata.kdgpu) as { epoch: number; step: number };
      const done = at + 1;
      expect({ epoch: meta.epoch, step: meta.step }, `stop at ${at}`).to.deep.equal(done % 7 === 0 ? { epoch: done / 7, step: 0 } : { epoch: Math.floor(done / 7), step: done % 7 });
      expect(written.at(-1), 'the checkpoint callback got the stop').to.equal(meta.epoch);
      const rest = await nn.trainClassifier(model, train(), { ...opts, resumeFrom: first.checkpoint });
      expect(rest.stopReason).to.equal('epochs');
      expect(await weightsOf(model), `stop at ${at}: weights`).to.deep.equal(want);
      // The resumed epoch's mean loss includes the steps before the stop.
      const last = rest.history.at(-1);
      if (last) expect(last.loss, `stop at ${at}: loss of epoch ${last.epoch}`).to.equal(full.history[last.epoch - 1].loss);
      model.dispose();
    }
    straight.dispose();
  });

  it(`mnist-cnn-small at batch 256: a stop set from a timer ends GPU work within 3 steps (at most ${nn.MAX_QUEUED_STEPS} queued)`, async () => {
    const e = kd.engine();
    const model = nn.buildModel('mnist-cnn-small', { seed: 0 });
    const loader = new kd.GpuLoader(kd.take(kd.fashionMnistDataset('train'), 0, 256 * 12), { batchSize: 256, shuffle: true, seed: 0 });
    const opt = new nn.Adam(model.parameters(), { lr: 1e-3 });
    const signal = { stopped: false };
    let recorded = 0;
    let completed = 0;
    let lag = 0;
    let atStop: { recorded: number; completed: number } | null = null;
    const r = await nn.fit(model, loader, {
      optimizer: opt,
      epochs: 1,
      logEvery: 0,
      signal,
      callbacks: [
        {
          onStepEnd: () => {
            recorded++;
            lag = Math.max(lag, recorded - completed);
            void e.device.queue.onSubmittedWorkDone().then(() => completed++);
            // Like Ctrl-C: the stop comes from outside the loop, between its turns.
            if (recorded === 4) setTimeout(() => ((atStop = { recorded, completed }), (signal.stopped = true)), 0);
          },
        },
      ],
    });
    await e.sync();
    expect(r.stopReason).to.equal('signal');
    expect(atStop).to.not.equal(null);
    const ranAfter = recorded - atStop!.completed;
    console.log(`      stop with ${atStop!.recorded} steps recorded, ${atStop!.completed} finished; ${recorded} recorded in all; at most ${lag} unfinished at a step's end`);
    expect(ranAfter, 'steps of GPU work after the stop').to.be.at.most(3);
    expect(lag, 'steps unfinished when a step is recorded').to.be.at.most(nn.MAX_QUEUED_STEPS + 1);
    loader.dispose();
    opt.dispose();
    model.dispose();
  });

  it('a diverging run (lr 1e308) throws naming step 1 and its first weight, at every logEvery, and checkpoints nothing', async () => {
    for (const logEvery of [1, 3, 0]) {
      const model = mlp(1);
      let checkpoints = 0;
      let recorded = 0;
      const finiteLosses: number[] = [];
      let err: unknown = null;
      await nn
        .trainClassifier(model, train(), {
          epochs: 2,
          batchSize: 100,
          lr: 1e308,
          logEvery,
          checkpoint: () => void checkpoints++,
          callbacks: [{ onStepEnd: () => void recorded++, onLoss: (l) => void finiteLosses.push(l.loss) }],
        })
        .catch((e: unknown) => (err = e));
      expect(err, `logEvery ${logEvery}`).to.be.instanceOf(nn.TrainingDivergedError);
      const d = err as kd.nn.TrainingDivergedError;
      expect(checkpoints, 'no checkpoint').to.equal(0);
      expect(finiteLosses, 'no loss reported').to.deep.equal([]);
      // lr is infinite in f32: Adam's first update makes every weight ±∞ or NaN (the loss of step 1 is finite).
      expect([d.epoch, d.step, d.what, d.parameter]).to.deep.equal([1, 1, 'weight', '1.weight']);
      expect(d.message).to.equal(
        "kdgpu: training diverged: the updated weight '1.weight' is not finite at step 1 (epoch 1, step 1 of 7); stopped without writing weights or a checkpoint after it (try a lower learning rate)",
      );
      // Found by the first read: after step logEvery, or at the epoch's end (7 steps) with logEvery 0.
      expect(recorded, 'steps recorded before the stop').to.be.within(logEvery || 7, logEvery ? logEvery + nn.MAX_QUEUED_STEPS : 7);
      model.dispose();
    }
  });

  it("early stopping's record is checkpointed: resumed after epoch 2 the run stops after epoch 3, as without the stop", async () => {
    // lr 0: the validation loss never improves after epoch 1, so with patience 1 training stops after epoch 3.
    const run = async (resumeFrom?: Uint8Array) => {
      const model = mlp(4);
      const loader = new kd.GpuLoader(kd.take(train(), 0, 200), { batchSize: 50 });
      const opt = new nn.SGD(model.parameters(), { lr: 0 });
      const checkpoints: Uint8Array[] = [];
      const validation = kd.take(kd.fashionMnistDataset('test'), 0, 100);
      const r = await nn.fit(model, loader, { optimizer: opt, epochs: 10, validation, earlyStopping: { patience: 1 }, checkpoint: (b) => void checkpoints.push(b), resumeFrom });
      loader.dispose();
      opt.dispose();
      model.dispose();
      return { epochs: r.history.map((h) => h.epoch), stopReason: r.stopReason, checkpoints };
    };
    const straight = await run();
    expect([straight.epochs, straight.stopReason]).to.deep.equal([[1, 2, 3], 'early-stopping']);
    const record = (b: Uint8Array) => (JSON.parse(kd.nn.parseSafetensors(b, 'ckpt').metadata.kdgpu) as { earlyStopping: { best: number; bad: number } }).earlyStopping;
    expect(straight.checkpoints.map((b) => record(b).bad)).to.deep.equal([0, 1, 2]);
    const resumed = await run(straight.checkpoints[1]);
    expect([resumed.epochs, resumed.stopReason], 'resumed after epoch 2').to.deep.equal([[3], 'early-stopping']);
    expect(record(resumed.checkpoints[0])).to.deep.equal(record(straight.checkpoints[2]));
    const done = await run(straight.checkpoints[2]);
    expect([done.epochs, done.stopReason], 'resumed after epoch 3').to.deep.equal([[], 'early-stopping']);
  });

  it('checkpointBytes refuses non-finite weights', async () => {
    const model = mlp(2);
    const w = model.parameters()[0];
    const data = (await w.data()) as Float32Array;
    data[5] = NaN;
    w.engine.writeInto(w.bufferFor('test'), data);
    const opt = new nn.Adam(model.parameters(), { lr: 1e-3 });
    let msg = '';
    await nn.checkpointBytes(model, opt, null, 3).catch((e: Error) => (msg = e.message));
    expect(msg).to.match(/^kdgpu: training diverged: a weight is not finite after epoch 3 \(1\.weight\[5\] = NaN\)/);
    opt.dispose();
    model.dispose();
  });
});
