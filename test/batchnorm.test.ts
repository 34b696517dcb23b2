/**
 * Batch normalization: PyTorch fixtures (nn.BatchNorm2d/1d in float64: training forward and
 * gradients, running statistics after 1 and 3 batches, eval forward and gradients), a float64 CPU
 * reference (its gradient checked by finite differences), Keras conventions, frozen (inference-only)
 * layers, state_dict round trips, and a training loop that reads nothing back and keeps memory flat.
 */
import { expect } from 'chai';
import * as kd from '../src/index.js';
import { BatchNorm1d, BatchNorm2d, type BatchNormLayerOptions } from '../src/nn/batchnorm.js';
import { batchNorm1d, batchNorm2d } from '../src/autograd/ops-batchnorm.js';
import { batchNormChunks } from '../src/kernels/batchnorm.js';
import { loadFixture, type FixtureTensor } from './fixtures.js';
import { assertClose, expectThrow, randomValues, setup, type Tolerance } from './helpers.js';

const { nn } = kd;

interface BnCase {
  name: string;
  shape: number[];
  kind: '1d' | '2d';
  momentum: number | null;
  eps: number;
  affine: boolean;
  track: boolean;
  offset?: number;
}

// ---- float64 reference ----------------------------------------------------------------------

interface Geo {
  N: number;
  C: number;
  S: number;
}

function geoOf(shape: readonly number[]): Geo {
  return { N: shape[0], C: shape[1], S: shape.slice(2).reduce((a, b) => a * b, 1) };
}

/** Per-channel mean and biased variance (two passes, float64). */
function moments(x: ArrayLike<number>, g: Geo): { mean: Float64Array; varB: Float64Array } {
  const mean = new Float64Array(g.C);
  const varB = new Float64Array(g.C);
  const n = g.N * g.S;
  for (let c = 0; c < g.C; c++) {
    let s = 0;
    for (let i = 0; i < g.N; i++) for (let j = 0; j < g.S; j++) s += x[(i * g.C + c) * g.S + j];
    const m = s / n;
    let q = 0;
    for (let i = 0; i < g.N; i++) for (let j = 0; j < g.S; j++) q += (x[(i * g.C + c) * g.S + j] - m) ** 2;
    mean[c] = m;
    varB[c] = q / n;
  }
  return { mean, varB };
}

/** y, and given gy the gradients of x, weight and bias; with `stats` (running) instead of batch moments. */
function bnRef(
  x: ArrayLike<number>,
  g: Geo,
  w: ArrayLike<number> | null,
  b: ArrayLike<number> | null,
  eps: number,
  gy: ArrayLike<number>,
  stats: { mean: ArrayLike<number>; var: ArrayLike<number> } | null,
): { y: Float64Array; gx: Float64Array; gw: Float64Array; gb: Float64Array } {
  const batch = stats === null;
  const { mean, varB } = batch ? moments(x, g) : { mean: stats.mean, varB: stats.var };
  const n = g.N * g.S;
  const y = new Float64Array(x.length);
  const gx = new Float64Array(x.length);
  const gw = new Float64Array(g.C);
  const gb = new Float64Array(g.C);
  for (let c = 0; c < g.C; c++) {
    const inv = 1 / Math.sqrt(varB[c] + eps);
    const wc = w ? w[c] : 1;
    const bc = b ? b[c] : 0;
    let sg = 0;
    let sgx = 0;
    for (let i = 0; i < g.N; i++) {
      for (let j = 0; j < g.S; j++) {
        const at = (i * g.C + c) * g.S + j;
        const xh = (x[at] - mean[c]) * inv;
        y[at] = wc * xh + bc;
        sg += gy[at];
        sgx += gy[at] * xh;
      }
    }
    gw[c] = sgx;
    gb[c] = sg;
    for (let i = 0; i < g.N; i++) {
      for (let j = 0; j < g.S; j++) {
        const at = (i * g.C + c) * g.S + j;
        const xh = (x[at] - mean[c]) * inv;
        gx[at] = batch ? ((wc * inv) / n) * (n * gy[at] - sg - xh * sgx) : wc * inv * gy[at];
      }
    }
  }
  return { y, gx, gw, gb };
}

/** Running statistics after training batches (PyTorch's update, or the biased variance). */
function runningRef(xs: ArrayLike<number>[], g: Geo, momentum: number | null, unbiased: boolean): { mean: Float64Array; var: Float64Array } {
  const rm = new Float64Array(g.C);
  const rv = new Float64Array(g.C).fill(1);
  const n = g.N * g.S;
  xs.forEach((x, k) => {
    const f = momentum === null ? 1 / (k + 1) : momentum;
    const { mean, varB } = moments(x, g);
    for (let c = 0; c < g.C; c++) {
      rm[c] = (1 - f) * rm[c] + f * mean[c];
      rv[c] = (1 - f) * rv[c] + f * (unbiased ? (varB[c] * n) / (n - 1) : varB[c]);
    }
  });
  return { mean: rm, var: rv };
}

/** Largest |x − channel mean|. */
function spread(x: ArrayLike<number>, g: Geo): number {
  const { mean } = moments(x, g);
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - mean[Math.floor(i / g.S) % g.C]));
  return m;
}

async function read(t: kd.Tensor | null): Promise<Float32Array | Int32Array> {
  expect(t, 'tensor').to.not.equal(null);
  return t!.data();
}

function upload(f: FixtureTensor, requiresGrad = false): kd.Tensor {
  return kd.tensor(f.data, f.shape, { requiresGrad });
}

describe('batch norm', function () {
  this.timeout(300_000);
  before(setup);

  describe('matches PyTorch nn.BatchNorm2d / nn.BatchNorm1d (float64 fixtures)', () => {
    const fx = loadFixture('batchnorm.safetensors');
    const cases = JSON.parse(fx.meta.cases) as BnCase[];
    for (const c of cases) {
      const opts = `${c.kind} ${JSON.stringify(c.shape)} momentum ${c.momentum} eps ${c.eps}${c.affine ? '' : ' affine=false'}${c.track ? '' : ' no running stats'}`;
      it(`${c.name}: ${opts}`, async () => {
        const f = (k: string) => fx.get(`${c.name}.${k}`);
        // The mean is known to about an ulp of the data's spread around it (as from any float32
        // implementation): the running mean's absolute tolerance is 1e-6 of the larger of that
        // spread and the largest running mean (the default).
        const dataSpread = Math.max(...['x1', 'x2', 'x3'].map((k) => spread(f(k).data, geoOf(c.shape))));
        const tolMean = (ref: string): Tolerance => ({ atol: 1e-6 * Math.max(dataSpread, ...Array.from(f(ref).data, Math.abs)) });
        // these cases exist to run several workgroups per channel, combined by the finishing passes
        if (c.name.startsWith('chunks')) expect(batchNormChunks(geoOf(c.shape)), 'chunks per channel').to.be.above(1);
        const Layer = c.kind === '1d' ? BatchNorm1d : BatchNorm2d;
        const C = c.shape[1];
        const bn = new Layer(C, { eps: c.eps, momentum: c.momentum, affine: c.affine, trackRunningStats: c.track });
        if (c.affine) {
          bn.setParameter('weight', upload(f('weight')));
          bn.setParameter('bias', upload(f('bias')));
        }
        const gy = upload(f('gy'));
        const x1 = upload(f('x1'), true);
        // training forward and backward
        const y1 = bn.call(x1);
        expect(y1.shape).to.deep.equal(c.shape);
        assertClose(await y1.data(), f('y1').data, {}, `${c.name} training forward`);
        y1.backward(gy);
        assertClose(await read(x1.grad), f('gx1').data, {}, `${c.name} training input gradient`);
        if (c.affine) {
          assertClose(await read(bn.weight!.grad), f('gw1').data, {}, `${c.name} training weight gradient`);
          assertClose(await read(bn.bias!.grad), f('gb1').data, {}, `${c.name} training bias gradient`);
        }
        if (c.track) {
          assertClose(await read(bn.runningMean), f('rm1').data, tolMean('rm1'), `${c.name} running_mean after 1 batch`);
          assertClose(await read(bn.runningVar), f('rv1').data, {}, `${c.name} running_var after 1 batch`);
          expect(Array.from(await read(bn.numBatchesTracked))).to.deep.equal(Array.from(f('nbt1').data));
          expect(bn.numBatchesTracked!.dtype).to.equal('int32');
          expect(bn.numBatchesTracked!.shape).to.deep.equal([]);
        } else {
          expect(bn.namedBuffers()).to.deep.equal([]);
        }
        // two more training batches (no gradient: the statistics are updated all the same)
        const x2 = upload(f('x2'));
        const x3 = upload(f('x3'));
        kd.noGrad(() => {
          bn.call(x2).dispose();
          bn.call(x3).dispose();
        });
        if (c.track) {
          assertClose(await read(bn.runningMean), f('rm3').data, tolMean('rm3'), `${c.name} running_mean after 3 batches`);
          assertClose(await read(bn.runningVar), f('rv3').data, {}, `${c.name} running_var after 3 batches`);
          expect(Array.from(await read(bn.numBatchesTracked))).to.deep.equal(Array.from(f('nbt3').data));
        }
        // eval mode
        bn.eval();
        bn.zeroGrad();
        x1.zeroGrad();
        const ye = bn.call(x1);
        assertClose(await ye.data(), f('ye').data, {}, `${c.name} eval forward`);
        ye.backward(gy);
        assertClose(await read(x1.grad), f('gxe').data, {}, `${c.name} eval input gradient`);
        if (c.affine) {
          assertClose(await read(bn.weight!.grad), f('gwe').data, {}, `${c.name} eval weight gradient`);
          assertClose(await read(bn.bias!.grad), f('gbe').data, {}, `${c.name} eval bias gradient`);
        }
        if (c.track) {
          // eval mode left the running statistics alone
          assertClose(await read(bn.runningMean), f('rm3').data, tolMean('rm3'), `${c.name} running_mean after eval`);
          expect(Array.from(await read(bn.numBatchesTracked))).to.deep.equal(Array.from(f('nbt3').data));
        }
        for (const t of [gy, x1, x2, x3, y1, ye]) t.dispose();
        bn.dispose();
      });
    }
  });

  describe('matches a float64 CPU reference', () => {
    it('the reference gradient agrees with central finite differences', () => {
      const shape = [3, 2, 2, 3];
      const g = geoOf(shape);
      const x = randomValues(36, 1, -2, 2);
      const w = [0.7, -1.3];
      const b = [0.2, 0.5];
      const gy = randomValues(36, 2);
      const loss = (xv: ArrayLike<number>, wv: ArrayLike<number>, bv: ArrayLike<number>) => {
        const { y } = bnRef(xv, g, wv, bv, 1e-5, gy, null);
        return y.reduce((s, v, i) => s + v * gy[i], 0);
      };
      const ref = bnRef(x, g, w, b, 1e-5, gy, null);
      const h = 1e-6;
      const fd = (vals: number[] | Float64Array, at: number, f: (v: Float64Array) => number) => {
        const p = Float64Array.from(vals);
        const m = Float64Array.from(vals);
        p[at] += h;
        m[at] -= h;
        return (f(p) - f(m)) / (2 * h);
      };
      for (let i = 0; i < x.length; i++) {
        expect(Math.abs(fd(x, i, (v) => loss(v, w, b)) - ref.gx[i]), `∂x[${i}]`).to.be.below(1e-7);
      }
      for (let c = 0; c < 2; c++) {
        expect(Math.abs(fd(w, c, (v) => loss(x, v, b)) - ref.gw[c]), `∂w[${c}]`).to.be.below(1e-7);
        expect(Math.abs(fd(b, c, (v) => loss(x, w, v)) - ref.gb[c]), `∂b[${c}]`).to.be.below(1e-7);
      }
    });

    const shapes: { shape: number[]; lo?: number; hi?: number; chunks?: boolean }[] = [
      { shape: [2, 3, 3, 5] },
      { shape: [5, 1, 4, 8] },
      { shape: [1, 9, 3, 7] },
      { shape: [33, 4, 1, 1] },
      { shape: [2, 2, 37, 29], lo: -50, hi: 30, chunks: true },
      { shape: [3, 2, 20, 20], lo: 999, hi: 1001 }, // large mean, vec4
      { shape: [19, 2, 24, 20], lo: 999, hi: 1001, chunks: true }, // large mean, vec4, several chunks
      { shape: [11, 6] },
      { shape: [3, 4, 13] },
    ];
    for (const [k, { shape, lo = -1, hi = 1, chunks = false }] of shapes.entries()) {
      it(`${JSON.stringify(shape)} in [${lo}, ${hi})${chunks ? ', several chunks per channel' : ''}: training and eval forward, input/weight/bias gradients`, async () => {
        const g = geoOf(shape);
        expect(batchNormChunks(g) > 1, 'chunks per channel > 1').to.equal(chunks);
        const size = shape.reduce((a, b) => a * b, 1);
        const xv = randomValues(size, 10 + k, lo, hi);
        const wv = randomValues(g.C, 20 + k, 0.5, 2);
        const bv = randomValues(g.C, 30 + k);
        const gyv = randomValues(size, 40 + k);
        const rmv = randomValues(g.C, 50 + k, lo, hi);
        const rvv = randomValues(g.C, 60 + k, 0.5, 2);
        const op = shape.length === 4 ? batchNorm2d : batchNorm1d;
        const x = kd.tensor(Float32Array.from(xv), shape, { requiresGrad: true });
        const w = kd.tensor(Float32Array.from(wv), [g.C], { requiresGrad: true });
        const b = kd.tensor(Float32Array.from(bv), [g.C], { requiresGrad: true });
        const gy = kd.tensor(Float32Array.from(gyv), shape);
        for (const training of [true, false]) {
          const stats = training ? null : { mean: rmv, var: rvv };
          const ref = bnRef(xv, g, wv, bv, 1e-5, gyv, stats);
          const rm = kd.tensor(Float32Array.from(rmv), [g.C]);
          const rv = kd.tensor(Float32Array.from(rvv), [g.C]);
          const y = op(x, w, b, training ? null : rm, training ? null : rv, { training });
          const what = `${training ? 'training' : 'eval'}`;
          assertClose(await y.data(), ref.y, {}, `${what} forward`);
          y.backward(gy);
          assertClose(await read(x.grad), ref.gx, {}, `${what} input gradient`);
          assertClose(await read(w.grad), ref.gw, {}, `${what} weight gradient`);
          assertClose(await read(b.grad), ref.gb, {}, `${what} bias gradient`);
          for (const t of [x, w, b]) t.zeroGrad();
          for (const t of [y, rm, rv]) t.dispose();
        }
        for (const t of [x, w, b, gy]) t.dispose();
      });
    }

    it('gradients only where asked: weight and bias alone (input without requiresGrad), input alone', async () => {
      const shape = [4, 3, 5, 5];
      const g = geoOf(shape);
      const xv = randomValues(300, 5);
      const gyv = randomValues(300, 6);
      const ref = bnRef(xv, g, [1, 1, 1], [0, 0, 0], 1e-5, gyv, null);
      const x = kd.tensor(Float32Array.from(xv), shape);
      const w = kd.ones([3], { requiresGrad: true });
      const b = kd.zeros([3], { requiresGrad: true });
      const gy = kd.tensor(Float32Array.from(gyv), shape);
      batchNorm2d(x, w, b, null, null, { training: true }).backward(gy);
      assertClose(await read(w.grad), ref.gw, {}, 'weight gradient');
      assertClose(await read(b.grad), ref.gb, {}, 'bias gradient');
      const xg = kd.tensor(Float32Array.from(xv), shape, { requiresGrad: true });
      const y = batchNorm2d(xg, null, null, null, null, { training: true });
      y.backward(gy);
      assertClose(await read(xg.grad), ref.gx, {}, 'input gradient without affine parameters');
      for (const t of [x, w, b, gy, xg, y]) t.dispose();
    });

    it('the running variance: unbiased (PyTorch) or biased (Keras 3), momentum and cumulative average', async () => {
      const shape = [3, 2, 3, 3];
      const g = geoOf(shape);
      const xs = [0, 1, 2].map((k) => randomValues(54, 70 + k, -1 + k, 2 + k));
      for (const [momentum, unbiased] of [
        [0.3, true],
        [0.3, false],
        [null, false],
      ] as const) {
        const rm = kd.zeros([2]);
        const rv = kd.ones([2]);
        const count = kd.zeros([], { dtype: 'int32' });
        for (const xv of xs) {
          const x = kd.tensor(Float32Array.from(xv), shape);
          batchNorm2d(x, null, null, rm, rv, { training: true, momentum, numBatchesTracked: count, unbiasedRunningVar: unbiased }).dispose();
          x.dispose();
        }
        const ref = runningRef(xs, g, momentum, unbiased);
        const what = `momentum ${momentum}, ${unbiased ? 'unbiased' : 'biased'}`;
        assertClose(await rm.data(), ref.mean, {}, `running mean, ${what}`);
        assertClose(await rv.data(), ref.var, {}, `running var, ${what}`);
        expect(await count.item()).to.equal(3);
        for (const t of [rm, rv, count]) t.dispose();
      }
    });
  });

  describe('layers', () => {
    it('defaults: PyTorch (eps 1e-5, momentum 0.1, affine, running stats) and its state_dict names', async () => {
      const bn = new BatchNorm2d(3);
      expect([bn.eps, bn.momentum, bn.affine, bn.trackRunningStats, bn.unbiasedRunningVar, bn.inferenceOnly]).to.deep.equal([1e-5, 0.1, true, true, true, false]);
      expect([...bn.stateDict().keys()]).to.deep.equal(['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']);
      expect(bn.parameters()).to.have.length(2);
      expect(Array.from(await bn.weight!.data())).to.deep.equal([1, 1, 1]);
      expect(Array.from(await bn.bias!.data())).to.deep.equal([0, 0, 0]);
      expect(Array.from(await bn.runningMean!.data())).to.deep.equal([0, 0, 0]);
      expect(Array.from(await bn.runningVar!.data())).to.deep.equal([1, 1, 1]);
      expect(await bn.numBatchesTracked!.item()).to.equal(0);
      expect(bn.describe()).to.equal('BatchNorm2d(3)');
      bn.dispose();
      const plain = new BatchNorm1d(4, { affine: false, trackRunningStats: false });
      expect(plain.stateDict().size).to.equal(0);
      expect(plain.describe()).to.equal('BatchNorm1d(4, affine=false, no running stats)');
      plain.dispose();
    });

    it('keras: eps 1e-3, momentum 0.01 (Keras 0.99); tf.keras keeps the unbiased running variance for 4-D inputs, the biased one for 2-D/3-D; Keras 3 the biased one', async () => {
      const settings = (o: BatchNormLayerOptions, two = true) => {
        const bn = two ? new BatchNorm2d(2, o) : new BatchNorm1d(2, o);
        const r = [bn.eps, bn.momentum, bn.unbiasedRunningVar];
        bn.dispose();
        return r;
      };
      const m = 1 - 0.99;
      expect(settings({ keras: true })).to.deep.equal([1e-3, m, true]);
      expect(settings({ keras: 'tf.keras' }, false)).to.deep.equal([1e-3, m, false]);
      expect(settings({ keras: 'keras3' })).to.deep.equal([1e-3, m, false]);
      expect(settings({ keras: 'keras3' }, false)).to.deep.equal([1e-3, m, false]);
      expect(settings({ keras: true, eps: 1e-5, momentum: 0.1, runningVar: 'biased' })).to.deep.equal([1e-5, 0.1, false]);
      expect(settings({ runningVar: 'biased' })).to.deep.equal([1e-5, 0.1, false]);
      // and the layer uses them: three Keras-3 batches, against the float64 reference
      const shape = [4, 2, 3, 1];
      const xs = [0, 1, 2].map((k) => randomValues(24, 80 + k, -2, 2 + k));
      const bn = new BatchNorm2d(2, { keras: 'keras3' });
      for (const xv of xs) {
        const x = kd.tensor(Float32Array.from(xv), shape);
        bn.call(x).dispose();
        x.dispose();
      }
      const ref = runningRef(xs, geoOf(shape), m, false);
      assertClose(await read(bn.runningMean), ref.mean, {}, 'keras3 moving_mean');
      assertClose(await read(bn.runningVar), ref.var, {}, 'keras3 moving_variance');
      bn.dispose();
    });

    it('inferenceOnly: in training mode the layer normalizes with (and keeps) the running statistics, like eval mode', async () => {
      const shape = [3, 2, 4, 3];
      const bn = new BatchNorm2d(2);
      const warm = kd.randn(shape, { seed: 3, mean: 2, std: 3 });
      bn.call(warm).dispose();
      const before = { rm: Array.from(await read(bn.runningMean)), rv: Array.from(await read(bn.runningVar)), n: await bn.numBatchesTracked!.item() };
      bn.inferenceOnly = true;
      const x = kd.randn(shape, { seed: 4, requiresGrad: true });
      const gy = kd.randn(shape, { seed: 5 });
      expect(bn.training).to.equal(true);
      const y = bn.call(x);
      y.backward(gy);
      const frozen = { y: await y.data(), gx: await read(x.grad), gw: await read(bn.weight!.grad) };
      expect(Array.from(await read(bn.runningMean))).to.deep.equal(before.rm);
      expect(Array.from(await read(bn.runningVar))).to.deep.equal(before.rv);
      expect(await bn.numBatchesTracked!.item()).to.equal(before.n);
      const ref = bnRef(await x.data(), geoOf(shape), [1, 1], [0, 0], 1e-5, await gy.data(), { mean: before.rm, var: before.rv });
      assertClose(frozen.y, ref.y, {}, 'frozen forward');
      assertClose(frozen.gx, ref.gx, {}, 'frozen input gradient');
      assertClose(frozen.gw, ref.gw, {}, 'frozen weight gradient');
      // the same numbers as eval mode
      bn.inferenceOnly = false;
      bn.eval();
      const ye = bn.call(x);
      assertClose(await ye.data(), frozen.y, { rtol: 0, atol: 0 }, 'eval forward');
      for (const t of [warm, x, gy, y, ye]) t.dispose();
      bn.dispose();
    });

    it('save and load round-trip a model with BatchNorm2d (num_batches_tracked stays int32 [])', async () => {
      const make = () => new nn.Sequential(new nn.Conv2d(2, 3, 3, { rng: 1, padding: 1 }), new BatchNorm2d(3), new nn.ReLU());
      const model = make();
      for (let k = 0; k < 2; k++) {
        const x = kd.randn([2, 2, 5, 5], { seed: 10 + k, mean: 1, std: 2 });
        model.call(x).dispose();
        x.dispose();
      }
      const bytes = await nn.weightsToBytes(model);
      const copy = make();
      nn.loadWeightsFromBytes(copy, bytes, 'bn.safetensors');
      const a = model.stateDict();
      const b = copy.stateDict();
      expect([...b.keys()]).to.deep.equal([...a.keys()]);
      for (const [name, t] of a) {
        const u = b.get(name)!;
        expect([u.dtype, ...u.shape], name).to.deep.equal([t.dtype, ...t.shape]);
        expect(Array.from(await u.data()), name).to.deep.equal(Array.from(await t.data()));
      }
      expect(await (copy.layers[1] as BatchNorm2d).numBatchesTracked!.item()).to.equal(2);
      // the loaded buffers are the layer's buffers: eval outputs agree
      model.eval();
      copy.eval();
      const x = kd.randn([1, 2, 5, 5], { seed: 20 });
      expect(Array.from(await copy.call(x).data())).to.deep.equal(Array.from(await model.call(x).data()));
      x.dispose();
      model.dispose();
      copy.dispose();
    });

    it('loads a PyTorch state_dict with an int64 scalar num_batches_tracked', async () => {
      const fx = loadFixture('batchnorm.safetensors');
      const f = (k: string) => fx.get(`odd_channels.${k}`);
      // what safetensors.torch.save_file(bn.state_dict()) writes: F32 tensors and an I64 scalar
      const entries: [string, string, number[], Uint8Array][] = [
        ['weight', 'F32', [5], new Uint8Array(f('weight').data.buffer)],
        ['bias', 'F32', [5], new Uint8Array(f('bias').data.buffer)],
        ['running_mean', 'F32', [5], new Uint8Array(f('rm3').data.buffer)],
        ['running_var', 'F32', [5], new Uint8Array(f('rv3').data.buffer)],
        ['num_batches_tracked', 'I64', [], new Uint8Array(BigInt64Array.of(3n).buffer)],
      ];
      const header: Record<string, unknown> = {};
      let off = 0;
      for (const [name, dtype, shape, data] of entries) {
        header[name] = { dtype, shape, data_offsets: [off, off + data.length] };
        off += data.length;
      }
      const json = new TextEncoder().encode(JSON.stringify(header));
      const bytes = new Uint8Array(8 + json.length + off);
      new DataView(bytes.buffer).setBigUint64(0, BigInt(json.length), true);
      bytes.set(json, 8);
      let at = 8 + json.length;
      for (const [, , , data] of entries) {
        bytes.set(data, at);
        at += data.length;
      }
      const bn = new BatchNorm2d(5);
      nn.loadWeightsFromBytes(bn, bytes, 'torch-bn.safetensors');
      expect(bn.numBatchesTracked!.dtype).to.equal('int32');
      expect(bn.numBatchesTracked!.shape).to.deep.equal([]);
      expect(await bn.numBatchesTracked!.item()).to.equal(3);
      bn.eval();
      const x = upload(f('x1'));
      assertClose(await bn.call(x).data(), f('ye').data, {}, 'eval forward with the loaded state');
      // and training goes on counting from 3
      bn.train();
      bn.call(x).dispose();
      expect(await bn.numBatchesTracked!.item()).to.equal(4);
      x.dispose();
      bn.dispose();
    });
  });

  describe('GPU work', () => {
    it('a training forward records its running-statistics update without reading back or submitting', async () => {
      const e = kd.engine();
      const bn = new BatchNorm2d(5);
      const x = kd.randn([4, 5, 6, 7], { seed: 1, requiresGrad: true });
      await e.sync();
      const before = e.stats();
      const y = bn.call(x);
      const after = e.stats();
      expect(after.mapAsyncCalls - before.mapAsyncCalls, 'readbacks').to.equal(0);
      expect(after.submissions - before.submissions, 'submissions').to.equal(0);
      expect(after.uploads - before.uploads, 'uploads').to.equal(0);
      expect(after.dispatches - before.dispatches, 'dispatches (stats, finish, apply)').to.equal(3);
      expect(await bn.numBatchesTracked!.item()).to.equal(1);
      y.dispose();
      x.dispose();
      bn.dispose();
    });

    it('forward + backward + SGD in a loop of steps: one submission per step, no readback, engine.memory() flat', async () => {
      const e = kd.engine();
      const shape = [6, 8, 5, 4];
      const bn = new BatchNorm2d(8);
      const conv = new nn.Conv2d(3, 8, 3, { rng: 2, padding: 1 });
      const opt = new nn.SGD([...conv.parameters(), ...bn.parameters()], { lr: 0.01, momentum: 0.9 });
      const x = kd.randn([6, 3, 5, 4], { seed: 7 });
      const gy = kd.randn(shape, { seed: 8 });
      let memAt5: kd.EngineMemory | null = null;
      let statsAt5: kd.EngineStats | null = null;
      const steps = 40;
      for (let i = 1; i <= steps; i++) {
        kd.tidy(() => {
          const y = bn.call(conv.call(x));
          y.backward(gy);
        });
        opt.step();
        opt.zeroGrad();
        if (i === 5) {
          memAt5 = e.memory();
          statsAt5 = e.stats();
        }
      }
      const stats = e.stats();
      expect(e.memory(), 'engine.memory() at the last step vs step 5').to.deep.equal(memAt5);
      expect(stats.mapAsyncCalls - statsAt5!.mapAsyncCalls, 'readbacks').to.equal(0);
      expect(stats.submissions - statsAt5!.submissions, 'submissions').to.equal(steps - 5);
      expect(stats.buffersCreated - statsAt5!.buffersCreated, 'buffers created').to.equal(0);
      expect(stats.bindGroupsCreated - statsAt5!.bindGroupsCreated, 'bind groups created').to.equal(0);
      expect(stats.pipelinesCreated - statsAt5!.pipelinesCreated, 'pipelines created').to.equal(0);
      expect(stats.uploads - statsAt5!.uploads, 'uploads').to.equal(0);
      expect(await bn.numBatchesTracked!.item()).to.equal(steps);
      for (const t of [x, gy]) t.dispose();
      opt.dispose();
      bn.dispose();
      conv.dispose();
    });
  });

  it('bad input: errors name the op, the shapes and what was expected', () => {
    const x = kd.zeros([2, 3, 4, 5]);
    const c3 = kd.zeros([3]);
    const c4 = kd.zeros([4]);
    expectThrow(() => batchNorm2d(kd.zeros([2, 3, 4]), null, null, null, null, { training: true }), 'kdgpu: batchNorm2d', '[2, 3, 4]', '4-D input [N, C, H, W]');
    expectThrow(() => batchNorm1d(kd.zeros([2, 3, 4, 5]), null, null, null, null, { training: true }), 'kdgpu: batchNorm1d', 'rank 4', '[N, C]');
    expectThrow(() => batchNorm2d(x, c4, c4, null, null, { training: true }), 'kdgpu: batchNorm2d', 'weight', 'shape [3]', '[2, 3, 4, 5]', 'got float32 [4]');
    expectThrow(() => batchNorm2d(x, c3, null, null, null, { training: true }), 'batchNorm2d', 'both weight and bias');
    expectThrow(() => batchNorm2d(x, null, null, c3, null, { training: true }), 'batchNorm2d', 'both runningMean and runningVar');
    expectThrow(() => batchNorm2d(x, null, null, null, null, { training: false }), 'batchNorm2d', 'evaluation mode', 'runningMean and runningVar');
    expectThrow(() => batchNorm2d(kd.zeros([1, 3, 1, 1]), null, null, null, null, { training: true }), 'batchNorm2d', 'more than 1 value per channel', '[1, 3, 1, 1]');
    expectThrow(() => batchNorm2d(x, null, null, c3, kd.ones([3]), { training: true, momentum: null }), 'batchNorm2d', 'momentum null', 'numBatchesTracked');
    expectThrow(() => batchNorm2d(x, null, null, null, null, { training: true, momentum: 1.5 }), 'batchNorm2d', 'momentum', '1.5');
    expectThrow(() => batchNorm2d(x, null, null, null, null, { training: true, eps: -1 }), 'batchNorm2d', 'eps', '-1');
    expectThrow(() => batchNorm2d(x, null, null, c3, kd.ones([3]), { training: true, numBatchesTracked: kd.zeros([]) }), 'batchNorm2d', 'numBatchesTracked', 'int32', 'float32');
    expectThrow(() => batchNorm2d(kd.zeros([2, 3, 4, 5], { dtype: 'int32' }), null, null, null, null), 'batchNorm2d', 'float32', 'int32');
    expectThrow(() => new BatchNorm2d(0), 'kdgpu: BatchNorm2d(0)', 'positive integer');
    expectThrow(() => new BatchNorm2d(3, { momentum: 0.99 + 1 }), 'BatchNorm2d(3)', 'momentum', "Keras's momentum 0.99 is 0.01 here");
    expectThrow(() => new BatchNorm2d(3, { keras: 'keras2' as 'keras3' }), 'BatchNorm2d(3)', 'keras', 'keras2');
    expectThrow(() => new BatchNorm2d(3, { runningVar: 'sample' as 'biased' }), 'BatchNorm2d(3)', 'runningVar', 'sample');
    const bn = new BatchNorm2d(4);
    expectThrow(() => bn.call(x), 'kdgpu: BatchNorm2d(4)', 'input [2, 3, 4, 5] has 3 channels', 'expected 4');
    bn.dispose();
    const disposed = kd.zeros([2, 3, 4, 5]);
    disposed.dispose();
    expectThrow(() => batchNorm2d(disposed, null, null, null, null, { training: true }), 'batchNorm2d', 'was disposed');
    for (const t of [x, c3, c4]) t.dispose();
  });
});
