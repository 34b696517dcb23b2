import { expect } from 'chai';
import * as kd from '../src/index.js';
import { loadFixture } from './fixtures.js';
import { assertClose, setup, expectThrow } from './helpers.js';

interface PoolCase {
  name: string;
  op: 'maxPool2d' | 'avgPool2d' | 'globalAvgPool2d' | 'avgPool1d';
  shape: number[];
  kernel?: number | [number, number];
  stride?: number | [number, number];
  padding?: number | [number, number] | 'same' | 'valid';
  countIncludePad?: boolean;
}

function run(c: PoolCase, x: kd.Tensor): kd.Tensor {
  switch (c.op) {
    case 'maxPool2d':
      return kd.maxPool2d(x, { kernel: c.kernel!, stride: c.stride, padding: c.padding, countIncludePad: c.countIncludePad });
    case 'avgPool2d':
      return kd.avgPool2d(x, { kernel: c.kernel!, stride: c.stride, padding: c.padding, countIncludePad: c.countIncludePad });
    case 'globalAvgPool2d':
      return kd.globalAvgPool2d(x);
    case 'avgPool1d':
      return kd.avgPool1d(x, {
        kernel: c.kernel as number,
        stride: c.stride as number | undefined,
        padding: c.padding as number | undefined,
        countIncludePad: c.countIncludePad,
      });
  }
}

describe('pooling', () => {
  before(setup);
  const fx = loadFixture('pool.safetensors');
  const cases = JSON.parse(fx.meta.cases) as PoolCase[];

  for (const c of cases) {
    it(`${c.name}: ${c.op} ${JSON.stringify(c.shape)} matches PyTorch forward and backward`, async () => {
      const xf = fx.get(`${c.name}.x`);
      const x = kd.tensor(xf.data, xf.shape, { requiresGrad: true });
      const y = run(c, x);
      const yRef = fx.get(`${c.name}.y`);
      expect(y.shape).to.deep.equal(yRef.shape);
      assertClose(await y.data(), yRef.data, {}, `${c.name} forward`);
      const gy = kd.tensor(fx.get(`${c.name}.gy`).data, yRef.shape);
      y.backward(gy);
      // (a gradient routed to the wrong cell would be off by O(1); the reference sums in float64)
      assertClose(await x.grad!.data(), fx.get(`${c.name}.gx`).data, {}, `${c.name} backward`);
      for (const t of [x, y, gy]) t.dispose();
    });
  }

  it('max pooling ties: the first cell of each window in row-major order takes the whole gradient', async () => {
    const x = kd.full([1, 1, 3, 4], 2, { requiresGrad: true });
    const y = kd.maxPool2d(x, { kernel: 2, stride: 1 });
    expect(Array.from(await y.data())).to.deep.equal(new Array(6).fill(2));
    y.sum().backward();
    // windows start at (0,0) (0,1) (0,2) (1,0) (1,1) (1,2): each routes 1 to its top-left cell
    expect(Array.from(await x.grad!.data())).to.deep.equal([1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 0, 0]);
  });

  it('max pooling propagates NaN like PyTorch (the last NaN of a window takes the gradient)', async () => {
    // both paths: windows inside the input (no padding) and the padded kernel
    for (const padding of [0, 1]) {
      const x = kd.tensor([1, NaN, 3, 4, NaN, 0, 5, 6], [1, 1, 2, 4], { requiresGrad: true });
      const y = kd.maxPool2d(x, { kernel: 2, stride: 2, padding });
      const got = Array.from(await y.data());
      y.sum().backward();
      const g = Array.from(await x.grad!.data());
      if (padding === 0) {
        expect(Number.isNaN(got[0]) && got[1] === 6, `padding 0: ${got}`).to.equal(true);
        expect(g, 'padding 0 gradient').to.deep.equal([0, 0, 0, 0, 1, 0, 0, 1]);
      } else {
        // windows (rows −1..0 / 1..2, columns −1..0, 1..2, 3..4): [1] [NaN 3] [4] / [NaN] [0 5] [6]
        expect(got.slice(0, 3).map((v) => (Number.isNaN(v) ? 'NaN' : v)), 'padding 1 top row').to.deep.equal([1, 'NaN', 4]);
        expect(got.slice(3).map((v) => (Number.isNaN(v) ? 'NaN' : v)), 'padding 1 bottom row').to.deep.equal(['NaN', 5, 6]);
        expect(g, 'padding 1 gradient').to.deep.equal([1, 1, 0, 1, 1, 0, 1, 1]);
      }
      for (const t of [x, y]) t.dispose();
    }
  });

  it('max pooling backward writes every input cell, also the rows and columns no window reaches', async () => {
    // Recycled buffers are not cleared: leave dirty ones of the gradient's size in the pool first.
    for (const [shape, kernel, stride] of [
      [[2, 3, 9, 7], 2, 2],
      [[1, 2, 11, 13], 3, 3],
      [[1, 2, 8, 10], 2, 3],
    ] as [number[], number, number][]) {
      const dirty = Array.from({ length: 4 }, () => kd.full(shape, 123));
      for (const d of dirty) await d.data();
      for (const d of dirty) d.dispose();
      const n = shape.reduce((a, b) => a * b, 1);
      const x = kd.tensor(Float32Array.from({ length: n }, (_, i) => Math.sin(i * 1.7)), shape, { requiresGrad: true });
      const y = kd.maxPool2d(x, { kernel, stride });
      y.sum().backward();
      const g = Array.from(await x.grad!.data());
      const outs = y.shape.reduce((a, b) => a * b, 1);
      // every output routes exactly 1 to one cell; all other cells are 0
      expect(g.filter((v) => v === 1).length, `${JSON.stringify(shape)} k${kernel} s${stride}: ones`).to.equal(outs);
      expect(g.filter((v) => v !== 0 && v !== 1).length, `${JSON.stringify(shape)} k${kernel} s${stride}: stale cells`).to.equal(0);
      for (const t of [x, y]) t.dispose();
    }
  });

  it("'same' pads bottom/right and padded cells never win a max (all-negative input)", async () => {
    const x = kd.tensor([-5, -4, -3, -2, -1], [1, 1, 1, 5], { requiresGrad: true });
    // out = ceil(5/2) = 3, total pad = (3−1)·2 + 2 − 5 = 1, all at the right
    const y = kd.maxPool2d(x, { kernel: [1, 2], stride: [1, 2], padding: 'same' });
    expect(y.shape).to.deep.equal([1, 1, 1, 3]);
    expect(Array.from(await y.data())).to.deep.equal([-4, -2, -1]);
    const a = kd.avgPool2d(x, { kernel: [1, 2], stride: [1, 2], padding: 'same' });
    expect(Array.from(await a.data())).to.deep.equal([-4.5, -2.5, -1]); // TF: the padded cell is not counted
    const ai = kd.avgPool2d(x, { kernel: [1, 2], stride: [1, 2], padding: 'same', countIncludePad: true });
    expect(Array.from(await ai.data())).to.deep.equal([-4.5, -2.5, -0.5]);
  });

  it("'valid' is no padding, and stride defaults to the kernel", async () => {
    const x = kd.tensor(Float32Array.from({ length: 2 * 7 * 5 }, (_, i) => Math.sin(i)), [1, 2, 7, 5]);
    const a = kd.maxPool2d(x, { kernel: 3, padding: 'valid' });
    const b = kd.maxPool2d(x, { kernel: 3, stride: 3, padding: 0 });
    expect(a.shape).to.deep.equal([1, 2, 2, 1]);
    expect(Array.from(await a.data())).to.deep.equal(Array.from(await b.data()));
  });

  it('avgPool1d shrinks a teacher hidden vector [N, D] to a student width, gradient spread evenly', async () => {
    const h = kd.tensor(Float32Array.from({ length: 3 * 8 }, (_, i) => i), [3, 8], { requiresGrad: true });
    const s = kd.avgPool1d(h, { kernel: 2 });
    expect(s.shape).to.deep.equal([3, 4]);
    expect(Array.from(await s.data())).to.deep.equal([0.5, 2.5, 4.5, 6.5, 8.5, 10.5, 12.5, 14.5, 16.5, 18.5, 20.5, 22.5]);
    s.sum().backward();
    expect(Array.from(await h.grad!.data())).to.deep.equal(new Array(24).fill(0.5));
  });

  it('globalAvgPool2d gives [N, C]', async () => {
    const x = kd.tensor(Float32Array.from({ length: 2 * 3 * 2 * 2 }, (_, i) => i), [2, 3, 2, 2]);
    const y = kd.globalAvgPool2d(x);
    expect(y.shape).to.deep.equal([2, 3]);
    expect(Array.from(await y.data())).to.deep.equal([1.5, 5.5, 9.5, 13.5, 17.5, 21.5]);
  });

  it('records nothing under noGrad and frees its index buffer', async () => {
    const x = kd.rand([2, 3, 6, 6], { seed: 1, requiresGrad: true });
    const before = kd.engine().memory().liveBuffers;
    const y = kd.noGrad(() => kd.maxPool2d(x, { kernel: 2 }));
    expect(y.requiresGrad).to.equal(false);
    expect(kd.engine().memory().liveBuffers).to.equal(before + 1);
    y.dispose();
    x.dispose();
  });

  it('bad input: errors name the op, the shapes and what was expected', () => {
    const x = kd.zeros([2, 3, 4, 5]);
    expectThrow(() => kd.maxPool2d(x, { kernel: 7 }), 'maxPool2d', 'kernel 7', 'larger than the padded input', '[2, 3, 4, 5]');
    expectThrow(() => kd.avgPool2d(x, { kernel: [2, 8], padding: 1 }), 'avgPool2d', 'kernel 8', 'along W', '5 + 2·1 = 7');
    expectThrow(() => kd.maxPool2d(x, { kernel: 2, padding: 2 }), 'maxPool2d', 'padding 2', 'half the kernel size 2');
    expectThrow(() => kd.maxPool2d(kd.zeros([4, 5]), { kernel: 2 }), 'maxPool2d', '[4, 5]', 'rank 2', '4-D input [N, C, H, W]');
    expectThrow(() => kd.avgPool2d(kd.zeros([1, 1, 1, 4, 5]), { kernel: 2 }), 'avgPool2d', 'rank 5');
    expectThrow(() => kd.globalAvgPool2d(kd.zeros([3, 4, 5])), 'globalAvgPool2d', '[3, 4, 5]', '4-D input');
    expectThrow(() => kd.maxPool2d(x, { kernel: 0 }), 'maxPool2d', 'kernel must be an integer ≥ 1', 'got 0');
    expectThrow(() => kd.maxPool2d(x, { kernel: 2, stride: [1, 0] }), 'maxPool2d', 'stride', '[1,0]');
    expectThrow(() => kd.maxPool2d(x, { kernel: 2, padding: 'full' as 'same' }), 'maxPool2d', "'full'", "'valid' or 'same'");
    expectThrow(() => kd.maxPool2d(kd.zeros([1, 1, 4, 4], { dtype: 'int32' }), { kernel: 2 }), 'maxPool2d', 'float32', 'int32');
    expectThrow(() => kd.avgPool1d(kd.zeros([4, 6]), { kernel: 9 }), 'avgPool1d', 'kernel 9', 'the last axis', '[4, 6]');
    expectThrow(() => kd.avgPool1d(kd.scalar(1), { kernel: 1 }), 'avgPool1d', 'rank ≥ 1');
    expectThrow(() => kd.avgPool1d(kd.zeros([4, 6]), { kernel: 2, stride: 1.5 }), 'avgPool1d', 'stride', '1.5');
    x.dispose();
  });
});
