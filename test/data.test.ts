import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as kd from '../src/index.js';
import { setup } from './helpers.js';

function toy(count: number, sampleShape = [2, 3]): kd.ArrayDataset {
  const n = sampleShape.reduce((p, v) => p * v, 1);
  const x = Float32Array.from({ length: count * n }, (_, i) => Math.floor(i / n) * 100 + (i % n));
  const y = Int32Array.from({ length: count }, (_, i) => i % 10);
  return { x, y, sampleShape, count };
}

describe('datasets and the GPU loader', () => {
  before(setup);

  it('splits train/validation with a seed, disjoint and complete', () => {
    const d = toy(50);
    const a = kd.trainValSplit(d, 0.2, 7);
    const b = kd.trainValSplit(d, 0.2, 7);
    expect(a.val.count).to.equal(10);
    expect(a.train.count).to.equal(40);
    expect(Array.from(a.val.y)).to.deep.equal(Array.from(b.val.y));
    const ids = [...a.train.x.filter((_, i) => i % 6 === 0), ...a.val.x.filter((_, i) => i % 6 === 0)].map((v) => v / 100).sort((p, q) => p - q);
    expect(ids).to.deep.equal(Array.from({ length: 50 }, (_, i) => i));
    expect(Array.from(kd.trainValSplit(d, 0.2, 8).val.y)).to.not.deep.equal(Array.from(a.val.y));
  });

  it('normalizes per channel', () => {
    const d: kd.ArrayDataset = { x: Float32Array.from([0, 2, 10, 30, 4, 6, 20, 40]), y: new Int32Array(2), sampleShape: [2, 2], count: 2 };
    const s = kd.channelStats(d);
    expect(s.mean).to.deep.equal([3, 25]);
    const n = kd.normalize(d, s.mean, s.std);
    const st = kd.channelStats(n);
    expect(st.mean[0]).to.be.closeTo(0, 1e-6);
    expect(st.std[1]).to.be.closeTo(1, 1e-6);
    expect(() => kd.normalize(d, [0], [1])).to.throw(/normalize: 1 means and 1 stds for 2 channels/);
  });

  it('batches on the GPU with and without drop_last, shuffled reproducibly', async () => {
    const d = toy(23);
    for (const dropLast of [false, true]) {
      const loader = new kd.GpuLoader(d, { batchSize: 5, dropLast });
      expect(loader.length).to.equal(dropLast ? 4 : 5);
      const sizes: number[] = [];
      let seen = 0;
      for (const { x, y } of loader.epoch()) {
        sizes.push(y.size);
        const xs = await x.data();
        const ys = await y.data();
        for (let i = 0; i < y.size; i++) {
          expect(xs[i * 6] / 100).to.equal(seen + i);
          expect(ys[i]).to.equal((seen + i) % 10);
        }
        seen += y.size;
        x.dispose();
        y.dispose();
      }
      expect(sizes).to.deep.equal(dropLast ? [5, 5, 5, 5] : [5, 5, 5, 5, 3]);
      loader.dispose();
    }
    const orders = async (seed: number) => {
      const loader = new kd.GpuLoader(d, { batchSize: 8, shuffle: true, seed });
      const epochs: number[][] = [];
      for (let e = 0; e < 2; e++) {
        const ids: number[] = [];
        for (const { x, y } of loader.epoch()) {
          const xs = await x.data();
          const ys = await y.data();
          for (let i = 0; i < y.size; i++) {
            ids.push(xs[i * 6] / 100);
            expect(ys[i]).to.equal(ids[ids.length - 1] % 10); // labels travel with their images
          }
          x.dispose();
          y.dispose();
        }
        epochs.push(ids);
      }
      loader.dispose();
      return epochs;
    };
    const a = await orders(3);
    const b = await orders(3);
    expect(a).to.deep.equal(b);
    expect(a[0]).to.not.deep.equal(a[1]);
    expect([...a[0]].sort((p, q) => p - q)).to.deep.equal(Array.from({ length: 23 }, (_, i) => i));
  });

  it('keeps a set larger than one binding in shards and gathers every batch across them', async () => {
    // 23 samples of 6 floats (24 bytes): 5 rows per 120-byte shard, so 5 shards, the last with 3.
    const d = toy(23);
    const whole = new kd.GpuLoader(d, { batchSize: 8, shuffle: true, seed: 5 });
    const sharded = new kd.GpuLoader(d, { batchSize: 8, shuffle: true, seed: 5, shardBytes: 130 });
    expect(whole.xShards.length).to.equal(1);
    expect(sharded.xShards.map((t) => t.shape[0])).to.deep.equal([5, 5, 5, 5, 3]);
    expect(sharded.rowsPerShard).to.equal(5);
    expect(() => sharded.x).to.throw(/5 shards/);
    for (let epoch = 0; epoch < 2; epoch++) {
      const a = [...whole.epoch()];
      const b = [...sharded.epoch()];
      expect(b.length).to.equal(a.length);
      for (let i = 0; i < a.length; i++) {
        expect(Array.from(await b[i].x.data())).to.deep.equal(Array.from(await a[i].x.data()));
        expect(Array.from(await b[i].y.data())).to.deep.equal(Array.from(await a[i].y.data()));
        for (const t of [a[i].x, a[i].y, b[i].x, b[i].y]) t.dispose();
      }
    }
    whole.dispose();
    sharded.dispose();
    expect(() => new kd.GpuLoader(d, { batchSize: 4, shardBytes: 0 })).to.throw(/shardBytes must be a positive integer/);
    expect(() => new kd.GpuLoader(d, { batchSize: 4, shardBytes: 10 })).to.throw(/one sample needs 24 bytes/);
  });

  it('reads the CIFAR-10 binary format and rejects broken files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kdgpu-cifar-'));
    const rec = (label: number, v: number) => {
      const r = new Uint8Array(kd.CIFAR_RECORD);
      r[0] = label;
      r.fill(v, 1);
      return r;
    };
    for (let b = 1; b <= 5; b++) writeFileSync(join(dir, `data_batch_${b}.bin`), Buffer.concat([rec(b, 255), rec(9, 0)]));
    writeFileSync(join(dir, 'test_batch.bin'), rec(3, 51));
    const train = kd.loadCifar10('train', dir);
    expect(train.count).to.equal(10);
    expect(train.sampleShape).to.deep.equal([3, 32, 32]);
    expect(Array.from(train.y)).to.deep.equal([1, 9, 2, 9, 3, 9, 4, 9, 5, 9]);
    expect(train.x[0]).to.equal(1);
    const test = kd.loadCifar10('test', dir);
    expect(test.x[100]).to.be.closeTo(0.2, 1e-7);
    writeFileSync(join(dir, 'test_batch.bin'), rec(3, 1).subarray(0, 100));
    expect(() => kd.loadCifar10('test', dir)).to.throw(/test_batch\.bin: 100 bytes is not a whole number of CIFAR-10 records/);
    writeFileSync(join(dir, 'test_batch.bin'), rec(12, 1));
    expect(() => kd.loadCifar10('test', dir)).to.throw(/test_batch\.bin: record 0 has label 12/);
  });
});
