/**
 * The library calls behind the `kdgpu` commands: nn.trainClassifier (optional test set, a stop
 * that returns a checkpoint, bit-exact resuming), nn.createOptimizer's defaults, model resolution
 * with typed errors, kd.hiddenLossConfig's regressor choice, the demo student's spec.
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

/** The ModelSourceError code a call throws (and that it throws one). */
function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).to.be.instanceOf(nn.ModelSourceError);
    return (e as kd.nn.ModelSourceError).code;
  }
  throw new Error('expected a ModelSourceError');
}

describe('the API behind the CLI', function () {
  this.timeout(300_000);
  before(setup);
  const train = () => kd.take(kd.fashionMnistDataset('train'), 0, 600);

  it('trainClassifier: no test set needed; a stop returns a checkpoint that resumes bit-exactly', async () => {
    const straight = mlp(3);
    const full = await nn.trainClassifier(straight, train(), { epochs: 3, batchSize: 100, seed: 5 });
    expect(full.test).to.equal(undefined);
    expect(full.history.map((h) => h.epoch)).to.deep.equal([1, 2, 3]);
    expect(full.lr).to.equal(nn.defaultLearningRate('adam'));

    // Stop after the first epoch's last step, as Ctrl-C would; then resume to epoch 3.
    const stopped = mlp(3);
    const signal = { stopped: false };
    const first = await nn.trainClassifier(stopped, train(), {
      epochs: 3, batchSize: 100, seed: 5, signal, onStop: 'checkpoint', test: kd.take(kd.fashionMnistDataset('test'), 0, 200),
      callbacks: [{ onStepEnd: (s) => { if (s.step === s.stepsPerEpoch - 1) signal.stopped = true; } }],
    });
    expect(first.stopReason).to.equal('signal');
    expect(first.test, 'no test pass after a stop for a checkpoint').to.equal(undefined);
    expect(first.checkpoint).to.be.instanceOf(Uint8Array);
    const rest = await nn.trainClassifier(stopped, train(), { epochs: 3, batchSize: 100, seed: 5, resumeFrom: first.checkpoint, test: kd.take(kd.fashionMnistDataset('test'), 0, 200) });
    expect(rest.history.map((h) => h.epoch)).to.deep.equal([2, 3]);
    expect(rest.history.map((h) => h.loss)).to.deep.equal(full.history.slice(1).map((h) => h.loss));
    expect(await weightsOf(stopped)).to.deep.equal(await weightsOf(straight));
    expect(rest.test!.count).to.equal(200);
  });

  it('trainClassifier names the checkpoint it resumes in errors', async () => {
    const bad = kd.nn.serializeSafetensors([['x', { shape: [1], data: new Float32Array(1) }]], {});
    let msg = '';
    await nn.trainClassifier(mlp(0), train(), { epochs: 1, resumeFrom: bad, resumeName: 'run.ckpt' }).catch((e: Error) => (msg = e.message));
    expect(msg).to.match(/^kdgpu: run\.ckpt is not a kdgpu checkpoint/);
  });

  it('createOptimizer: one set of defaults', () => {
    const p = [kd.zeros([2], { requiresGrad: true })];
    const opts = nn.OPTIMIZER_NAMES.map((n) => nn.createOptimizer(n, p));
    expect(opts.map((o) => o.constructor.name)).to.deep.equal(['Adam', 'AdamW', 'SGD']);
    expect(opts.map((o) => o.lr)).to.deep.equal([1e-3, 1e-3, 0.01]);
    expect(() => nn.createOptimizer('adam', p, { momentum: 0.9 })).to.throw(/momentum applies to 'sgd'/);
    for (const o of opts) o.dispose();
    p[0].dispose();
  });

  it('model resolution: from metadata, with error codes', () => {
    const spec = kd.transferStudentSpec([1, 28, 28], 10, [16]);
    const src = nn.specModel(spec, 'x');
    expect(src.name).to.equal('mlp-16');
    expect(nn.modelFromMetadata(nn.modelMetadata(src)).spec).to.deep.equal(spec);
    expect(nn.modelFromMetadata({ [nn.META_MODEL]: 'mnist-mlp-student' }).name).to.equal('mnist-mlp-student');
    expect(codeOf(() => nn.modelFromMetadata({}))).to.equal('no-model-in-metadata');
    expect(codeOf(() => nn.modelFromMetadata({ [nn.META_SPEC]: '{' }))).to.equal('bad-metadata');
    expect(codeOf(() => nn.builtinModel('no-such-model'))).to.equal('unknown-model');
    expect(codeOf(() => nn.specModel({ inputShape: [3], layers: [{ type: 'conv2d', out: 1, kernel: 1 }] }, 's'))).to.equal('bad-spec');
    const fashion = kd.take(kd.fashionMnistDataset('test'), 0, 1);
    nn.checkInputs(src, fashion, 'Fashion-MNIST');
    expect(codeOf(() => nn.checkInputs(nn.builtinModel('cifar-light-cnn'), fashion, 'Fashion-MNIST'))).to.equal('data-mismatch');
  });

  it('hiddenLossConfig picks the FitNets regressor from the taps\' shapes', () => {
    const conv = (c: number) => new nn.Sequential(new nn.Conv2d(1, c, 3, { rng: 1 }), new nn.ReLU(), new nn.Flatten(), new nn.Linear(c * 26 * 26, 10, { rng: 2 }));
    const shape = [1, 28, 28];
    const same = kd.hiddenLossConfig(conv(4), conv(4), { kind: 'mse', weight: 1, studentTap: '1', teacherTap: '1', inputShape: shape });
    expect(same.regressor).to.equal(null);
    const maps = kd.hiddenLossConfig(conv(4), conv(8), { kind: 'mse', weight: 1, studentTap: '1', teacherTap: '1', inputShape: shape });
    expect(maps.regressor).to.equal('conv1x1 4 → 8 channels');
    expect(maps.config.regressor).to.be.instanceOf(nn.Conv2d);
    const flat = kd.hiddenLossConfig(mlp(0), mlp(1), { kind: 'mse', weight: 1, studentTap: '2', teacherTap: '1', inputShape: shape });
    expect([flat.studentShape, flat.teacherShape, flat.regressor]).to.deep.equal([[32], [32], null]);
    expect(() => kd.hiddenLossConfig(conv(4), mlp(0), { kind: 'mse', weight: 1, studentTap: '1', teacherTap: '2', inputShape: shape })).to.throw(/no linear or 1×1-conv regressor/);
    expect(() => kd.hiddenLossConfig(conv(4), mlp(0), { kind: 'cosine', weight: 1, studentTap: '1', teacherTap: '0', inputShape: shape })).to.throw(/multiple of the other/);
  });
});
