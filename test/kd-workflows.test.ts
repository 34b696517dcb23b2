/**
 * Teachers, the teacher-output cache and the distillation workflows, end to end on small
 * Fashion-MNIST subsets and on CIFAR-10 binary files the test writes.
 */
import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as kd from '../src/index.js';
import { assertClose, expectThrow, setup } from './helpers.js';

function mlp(hidden: number, seed: number, classes = 10): kd.nn.Module {
  const l = { rng: seed };
  return new kd.nn.Sequential(new kd.nn.Flatten(), new kd.nn.Linear(784, hidden, l), new kd.nn.ReLU(), new kd.nn.Linear(hidden, classes, l));
}

async function weights(m: kd.nn.Module): Promise<Float32Array[]> {
  return Promise.all(m.parameters().map(async (p) => (await p.data()) as Float32Array));
}

describe('kd teachers, cache and workflows', function () {
  this.timeout(300_000);
  let train: kd.ArrayDataset;
  let test: kd.ArrayDataset;
  before(async () => {
    await setup();
    const all = kd.fashionMnistDataset('train');
    train = kd.take(all, 0, 600);
    test = kd.take(kd.fashionMnistDataset('test'), 0, 300);
  });

  it('batch.gather returns per-sample rows in the batch order', async () => {
    const loader = new kd.GpuLoader(train, { batchSize: 64, shuffle: true, seed: 3 });
    const ids = kd.tensor(Float32Array.from({ length: train.count }, (_, i) => i), [train.count, 1]);
    for (const b of loader.epoch()) {
      const g = b.gather(ids);
      const [idx, y] = [await g.data(), await b.y.data()];
      expect(g.shape).to.deep.equal([b.y.size, 1]);
      for (let i = 0; i < y.length; i++) expect(y[i]).to.equal(train.y[idx[i]]);
      for (const t of [g, b.x, b.y]) t.dispose();
    }
    expectThrow(() => {
      for (const b of loader.epoch()) b.gather(kd.zeros([5, 2]));
    }, 'gather', `${train.count} rows`, '[5, 2]');
    ids.dispose();
    loader.dispose();
  });

  it('a teacher runs without tape in eval mode; an ensemble averages logits or probabilities', async () => {
    const members = [mlp(16, 1), mlp(16, 2), mlp(16, 3)];
    const x = kd.tensor(train.x.subarray(0, 5 * 784), [5, 1, 28, 28]);
    const z = await Promise.all(members.map(async (m) => (await kd.noGrad(() => m.call(x)).data()) as Float32Array));
    const single = new kd.Teacher(members[0]);
    const raw1 = single.raw(x);
    expect(raw1.requiresGrad).to.equal(false);
    assertClose(await raw1.data(), z[0], {}, 'single teacher');
    const avg = new kd.Teacher(members, { combine: 'logits' });
    assertClose(await avg.raw(x).data(), Float64Array.from(z[0], (_, i) => (z[0][i] + z[1][i] + z[2][i]) / 3), {}, 'mean logits');
    expect(avg.forwardPasses).to.equal(3);
    const probs = new kd.Teacher(members, { combine: 'probs' });
    const raw = probs.raw(x);
    expect(raw.shape).to.deep.equal([5, 3, 10]);
    for (const T of [1, 4]) {
      const lp = await probs.logProbs(raw, T).data();
      const ref = new Float64Array(50);
      for (let i = 0; i < 5; i++) {
        for (const zk of z) {
          const row = Array.from(zk.subarray(i * 10, i * 10 + 10), (v) => v / T);
          const m = Math.max(...row);
          const s = row.reduce((a, v) => a + Math.exp(v - m), 0);
          row.forEach((v, c) => (ref[i * 10 + c] += Math.exp(v - m) / s / 3));
        }
      }
      assertClose(lp, ref.map(Math.log), { rtol: 1e-5, atol: 1e-5 }, `log mean probabilities T=${T}`);
    }
    members[0].train();
    expect(single.training).to.equal(false);
    single.train();
    expect(single.training, 'a Teacher stays in eval mode').to.equal(false);
    expectThrow(() => new kd.Teacher([]), 'at least one model');
  });

  it('the cache serves teacher outputs once per (teacher weights, data, transform) and notices in-place edits', async () => {
    const cache = new kd.TeacherCache();
    const teacher = new kd.Teacher(mlp(16, 5));
    const a = await cache.get(teacher, train);
    const passes = teacher.forwardPasses;
    expect(a.hit).to.equal(false);
    expect(passes).to.be.greaterThan(0);
    const b = await cache.get(teacher, train);
    expect(b.hit).to.equal(true);
    expect(teacher.forwardPasses, 'a hit runs no teacher forward pass').to.equal(passes);
    // Edit one weight in place: same tensor objects, different contents.
    const w = teacher.parameters()[0];
    const vals = (await w.data()) as Float32Array;
    vals[7] += 0.5;
    w.engine.writeInto(w.bufferFor('test'), vals);
    const c = await cache.get(teacher, train);
    expect(c.hit, 'an edited teacher misses').to.equal(false);
    expect(c.teacherHash).to.not.equal(a.teacherHash);
    const d = await cache.get(teacher, train, { transform: { normalize: [0.5, 0.5] } });
    expect(d.hit, 'other transform settings miss').to.equal(false);
    const changed = { ...train, x: train.x.slice() };
    changed.x[100] = 1 - changed.x[100];
    const e = await cache.get(teacher, changed);
    expect(e.hit, 'other data misses').to.equal(false);
    expect(e.dataHash).to.not.equal(a.dataHash);
    expect((await cache.get(teacher, train)).hit).to.equal(true);
    // Views with the same weights but another forward pass get their own entries.
    const inner = mlp(16, 6, 20);
    const [a1, a2] = [new kd.Teacher(new kd.SubclassCollapse(inner, 10, 2, 'logsumexp')), new kd.Teacher(new kd.SubclassCollapse(inner, 10, 2, 'notebook'))];
    const k1 = await cache.key(a1, train);
    const k2 = await cache.key(a2, train);
    expect(k1.teacherHash).to.equal(k2.teacherHash);
    expect(k1.key, 'collapse mode is part of the key').to.not.equal(k2.key);
    cache.clear();
  });

  it('with a valid cache a distillation epoch runs no teacher forward pass; alpha = 0 is the scratch run exactly', async () => {
    const teacher = new kd.Teacher(mlp(32, 11));
    await kd.trainModel(teacher.members[0], train, { epochs: 1, test, batchSize: 64, role: 'teacher' });
    const cache = new kd.TeacherCache();
    await cache.get(teacher, train);
    const before = teacher.forwardPasses;
    const cfg = { epochs: 2, test, batchSize: 64, seed: 4, temperature: 4, cache };
    const kdRun = await kd.distill(mlp(24, 9), teacher, train, { ...cfg, alpha: 0.5 });
    expect(teacher.forwardPasses, 'teacher forward passes during 2 cached epochs').to.equal(before);
    expect(kdRun.history).to.have.length(2);
    expect(kdRun.hashes.teacher).to.match(/^[0-9a-f]{64}$/);
    expect(kdRun.config.alpha).to.equal(0.5);
    expect(kdRun.test.accuracy).to.be.within(0, 1);
    // Same seed → same initial weights, batches and dropout; alpha 0 leaves only the label loss.
    const s1 = mlp(24, 9);
    const s2 = mlp(24, 9);
    await kd.trainModel(s1, train, { epochs: 1, test, batchSize: 64, seed: 4 });
    await kd.distill(s2, teacher, train, { ...cfg, epochs: 1, alpha: 0 });
    const [w1, w2] = [await weights(s1), await weights(s2)];
    w1.forEach((w, i) => expect(Buffer.from(w.buffer).equals(Buffer.from(w2[i].buffer)), `parameter ${i}`).to.equal(true));
    // Without a cache the teacher runs on every batch.
    const n0 = teacher.forwardPasses;
    await kd.distill(mlp(24, 9), teacher, train, { ...cfg, epochs: 1, cache: false });
    expect(teacher.forwardPasses - n0).to.equal(Math.ceil(train.count / 64));
    cache.clear();
  });

  it('a teacher → assistant → student chain is one call', async () => {
    const teacher = mlp(32, 21);
    await kd.trainModel(teacher, train, { epochs: 1, test, batchSize: 100 });
    const r = await kd.distillChain(teacher, mlp(16, 22), mlp(8, 23), train, { epochs: 1, test, batchSize: 100, temperature: 2, alpha: 0.7 });
    expect(r.assistant.name).to.equal('assistant');
    expect(r.student.hashes.teacher).to.not.equal(r.assistant.hashes.teacher);
    expect(r.student.test.accuracy).to.be.within(0, 1);
  });

  it('hidden-representation distillation (cosine; regressor + MSE) trains a conv student from a conv teacher on Fashion-MNIST', async () => {
    const small = kd.take(train, 0, 64);
    const teacher = kd.nn.buildModel('mnist-cnn-teacher', { seed: 1 });
    const cos = await kd.distill(kd.nn.buildModel('mnist-cnn-ta', { seed: 2 }), teacher, small, {
      epochs: 1, test: kd.take(test, 0, 32), batchSize: 32, temperature: 4, alpha: 0.5,
      hidden: { kind: 'cosine', weight: 1, studentTap: '5', teacherTap: '5' },
    });
    expect(cos.config.hidden).to.equal('cosine');
    expect(Number.isFinite(cos.history[0].loss)).to.equal(true);
    const regressor = new kd.nn.Conv2d(32, 64, 3, { padding: 1, rng: 3 });
    const r0 = await weights(regressor);
    const mse = await kd.distill(kd.nn.buildModel('mnist-cnn-ta', { seed: 2 }), teacher, small, {
      epochs: 1, test: kd.take(test, 0, 32), batchSize: 32, temperature: 4, alpha: 0.5,
      hidden: { kind: 'mse', weight: 1, studentTap: '5', teacherTap: '5', regressor },
    });
    expect(Number.isFinite(mse.history[0].loss)).to.equal(true);
    const r1 = await weights(regressor);
    expect(r1[0].some((v, i) => v !== r0[0][i]), 'the regressor trains with the student').to.equal(true);
  });

  it('hidden-representation workflows run on CIFAR-10 binary files (DeepNN teacher, LightNN student)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kdgpu-cifar-'));
    const rec = kd.CIFAR_RECORD;
    const bytes = new Uint8Array(32 * rec);
    for (let i = 0; i < 32; i++) {
      bytes[i * rec] = i % 10;
      for (let j = 1; j < rec; j++) bytes[i * rec + j] = (i * 31 + j * 7) % 256;
    }
    writeFileSync(join(dir, 'test_batch.bin'), bytes);
    const data = kd.loadCifar10('test', dir);
    expect(data.sampleShape).to.deep.equal([3, 32, 32]);
    const teacher = kd.nn.buildModel('cifar-deep-cnn', { seed: 0 });
    const common = { epochs: 1, test: data, batchSize: 16, temperature: 2, weights: { kd: 0.25, ce: 0.75 } };
    const cos = await kd.distill(kd.nn.buildModel('cifar-light-cnn', { seed: 1 }), teacher, data, {
      ...common, hidden: { kind: 'cosine', weight: 0.25, studentTap: 'flatten', teacherTap: 'flatten' },
    });
    const mse = await kd.distill(kd.nn.buildModel('cifar-light-cnn', { seed: 1 }), teacher, data, {
      ...common, hidden: { kind: 'mse', weight: 0.25, studentTap: 'features', teacherTap: 'features', regressor: new kd.nn.Conv2d(16, 32, 3, { padding: 1, rng: 2 }) },
    });
    for (const r of [cos, mse]) expect(Number.isFinite(r.history[0].loss)).to.equal(true);
  });
});
