/**
 * Reductions, forward and gradient, on the GPU against the float64 reference: sum, mean, max and
 * min over single axes, several (adjacent and not) axes, all axes, negative axes, with and without
 * keepdims; argmax/argmin with ties; shapes from rank 0 to 4, size-1 dimensions, odd sizes, long
 * rows (multi-iteration loops in every invocation) and 70,000 outputs (the 2-D workgroup grid).
 */
import { expect } from 'chai';
import * as kd from '../src/index.js';
import { layoutFor } from '../src/kernels/reduce.js';
import { setup } from './helpers.js';
import { checkOp, expectClose, fmtShape, rnd, up } from './op-check.js';
import { argReduce, checkGradient, map, nd, reduce, reduceGrad, type Axes, type Nd, type ReduceName } from './reference.js';

const GPU: Record<ReduceName, (x: kd.Tensor, axes?: Axes, opts?: kd.ReduceOptions) => kd.Tensor> = {
  sum: kd.sum,
  mean: kd.mean,
  max: kd.max,
  min: kd.min,
};

const fmtAxes = (a: Axes): string => (a === undefined ? 'all' : a === null ? 'null' : typeof a === 'number' ? String(a) : `[${a.join(', ')}]`);

/** [shape, axes] cases; each runs with keepdims false and true. */
const CASES: [number[], Axes][] = [
  [[], undefined],
  [[], 0],
  [[], -1],
  [[1], 0],
  [[1, 1], undefined],
  [[1, 1], 0],
  [[1, 1], [0, 1]],
  [[7, 13], 0],
  [[7, 13], 1],
  [[7, 13], -1],
  [[7, 13], -2],
  [[7, 13], [0, 1]],
  [[7, 13], null],
  [[13, 5], 0],
  [[13, 5], 1],
  [[13, 5], undefined],
  [[2, 3, 4, 5], [0, 2]],
  [[2, 3, 4, 5], [1, 3]],
  [[2, 3, 4, 5], [1, 2]],
  [[2, 3, 4, 5], [-1, -3]],
  [[2, 3, 4, 5], [0, 1, 2, 3]],
  [[2, 3, 4, 5], 3],
  [[1, 7, 1, 13], [0, 2]],
  [[1, 7, 1, 13], [1, 3]],
  [[1, 7, 1, 13], 2],
  [[3, 1000], 1],
  [[3, 1000], 0],
  [[3, 1000], undefined],
  [[70000], undefined],
  [[70000], 0],
  [[70000, 3], 1],
  [[70000, 3], 0],
  [[3, 70000, 1], [0, 2]],
];

describe('reductions', () => {
  before(setup);

  describe('the float64 reference gradients agree with central finite differences', () => {
    for (const kind of ['sum', 'mean', 'max', 'min'] as ReduceName[]) {
      it(kind, () => {
        for (const [shape, axes, keepdims] of [
          [[2, 3], 0, false],
          [[2, 3], -1, true],
          [[2, 3, 2], [0, 2], false],
          [[3, 4], undefined, false],
        ] as [number[], Axes, boolean][]) {
          // distinct values, so max/min have no ties and finite differences see a smooth function
          const x = rnd(shape, 60 + shape.length, -2, 2);
          const seed = rnd(reduce(kind, x, axes, keepdims).shape, 61);
          checkGradient(`${kind} ${fmtShape(shape)} axes ${fmtAxes(axes)}`, ([a]) => reduce(kind, a, axes, keepdims), ([a], g) => [reduceGrad(kind, a, axes, keepdims, g)], [x], seed);
        }
      });
    }

    it('catches a deliberately wrong reference gradient (mean without the 1/n)', () => {
      const x = rnd([3, 4], 70);
      const seed = rnd([3], 71);
      expect(() =>
        checkGradient('mean (wrong)', ([a]) => reduce('mean', a, 1), ([a], g) => [reduceGrad('sum', a, 1, false, g)], [x], seed),
      ).to.throw(/finite differences/);
    });
  });

  for (const kind of ['sum', 'mean', 'max', 'min'] as ReduceName[]) {
    it(`${kind}: forward and gradient over ${CASES.length * 2} shape/axes/keepdims cases`, async () => {
      let seed = 3000;
      for (const [shape, axes] of CASES) {
        for (const keepdims of [false, true]) {
          const x = rnd(shape, seed++, -3, 3);
          await checkOp(
            `${kind} ${fmtShape(shape)} axes ${fmtAxes(axes)}${keepdims ? ' keepdims' : ''}`,
            [x],
            ([t]) => GPU[kind](t, axes, { keepdims }),
            ([a]) => reduce(kind, a, axes, keepdims),
            ([a], g) => [reduceGrad(kind, a, axes, keepdims, g)],
            seed++,
          );
        }
      }
    });
  }

  it('both layouts are covered: one invocation per output (short rows, many outputs) and one workgroup per output', () => {
    expect(layoutFor(91, 1)).to.equal('thread'); // [7, 13] axis 0 … or any row of ≤ 256
    expect(layoutFor(70000, 3)).to.equal('thread');
    expect(layoutFor(3, 70000)).to.equal('workgroup'); // [70000, 3] axis 0: a 1094-iteration loop per invocation
    expect(layoutFor(1, 70000)).to.equal('workgroup');
    expect(layoutFor(3, 1000)).to.equal('workgroup');
  });

  it('the 2-D grid: 4,194,305 outputs (> 65535 workgroups of 64 invocations)', async () => {
    const n = 4194305;
    const x = rnd([n, 1], 3800);
    const t = up(x);
    await expectClose(kd.sum(t, 1), reduce('sum', x, 1), `sum [${n}, 1] axis 1`);
    await expectClose(kd.max(t, -1, { keepdims: true }), reduce('max', x, -1, true), `max [${n}, 1] axis -1 keepdims`);
    const arg = await kd.argmax(t, 1).data();
    expect(arg.length).to.equal(n);
    expect(arg.every((v) => v === 0)).to.equal(true);
    t.dispose();
  });

  it('method forms: x.sum(axes, {keepdims}), x.mean(), x.max(), x.min()', async () => {
    const x = rnd([4, 6], 3500);
    const t = up(x);
    await expectClose(t.sum(1, { keepdims: true }), reduce('sum', x, 1, true), 'x.sum(1, keepdims)');
    await expectClose(t.mean(), reduce('mean', x), 'x.mean()');
    await expectClose(t.max(0), reduce('max', x, 0), 'x.max(0)');
    await expectClose(t.min([0, 1]), reduce('min', x, [0, 1]), 'x.min([0, 1])');
  });

  it('max and min share the gradient equally among tied extrema', async () => {
    // small integers: many ties per row and column
    const x = map(rnd([7, 13], 3600, 0, 4), Math.floor);
    let seed = 3601;
    for (const kind of ['max', 'min'] as const) {
      for (const axes of [0, 1, undefined, [0, 1]] as Axes[]) {
        await checkOp(`${kind} with ties, axes ${fmtAxes(axes)}`, [x], ([t]) => GPU[kind](t, axes), ([a]) => reduce(kind, a, axes), ([a], g) => [reduceGrad(kind, a, axes, false, g)], seed++);
      }
    }
    const t = kd.tensor([3, 1, 3, 3, 2], undefined, { requiresGrad: true });
    kd.max(t).backward();
    expect(Array.from(await t.grad!.data())).to.deep.equal([1 / 3, 0, 1 / 3, 1 / 3, 0].map(Math.fround));
  });

  it('sums of many elements keep float32 accuracy (compensated sums)', async () => {
    // 4,000,037 values in [-1, 1): |Σx| ≈ 177 against Σ|x| ≈ 2e6. A plain float32 fold of 62,500
    // values per invocation is off by 3.3e-5 relative here (measured), beyond the 1e-5 bar; the
    // compensated sum is within 3e-7.
    const big = rnd([4_000_037], 4, -1, 1);
    const bt = up(big);
    await expectClose(kd.sum(bt), reduce('sum', big), 'sum of 4,000,037 values in [-1, 1)');
    bt.dispose();
    // positive values, per row and per column
    for (const [shape, axes] of [
      [[1_000_003], undefined],
      [[2, 500_001], 1],
      [[300_007, 3], 0],
    ] as [number[], Axes][]) {
      const x = rnd(shape, 3700, 0.5, 1.5);
      const t = up(x);
      await expectClose(kd.sum(t, axes), reduce('sum', x, axes), `sum ${fmtShape(shape)} axes ${fmtAxes(axes)}`, { atol: 0 });
      await expectClose(kd.mean(t, axes), reduce('mean', x, axes), `mean ${fmtShape(shape)} axes ${fmtAxes(axes)}`, { atol: 0 });
      t.dispose();
    }
  });

  it('NaN propagates through max, min, argmax and argmin; ±∞ through sums', async () => {
    const t = kd.tensor([
      [1, NaN, 3],
      [4, 5, 6],
      [NaN, -1, NaN],
    ]);
    expect(Array.from(await kd.max(t, 1).data())).to.deep.equal([NaN, 6, NaN]);
    expect(Array.from(await kd.min(t, 1).data())).to.deep.equal([NaN, 4, NaN]);
    expect(Array.from(await kd.argmax(t, 1).data())).to.deep.equal([1, 2, 0]);
    expect(Array.from(await kd.argmin(t, 1).data())).to.deep.equal([1, 0, 0]);
    expect(Array.from(await kd.max(t, 0).data())).to.deep.equal([NaN, NaN, NaN]);
    expect(Array.from(await kd.sum(kd.tensor([1, Infinity, 2])).data())).to.deep.equal([Infinity]);
    expect(Array.from(await kd.sum(kd.tensor([-Infinity, 1, 2])).data())).to.deep.equal([-Infinity]);
    expect(Number.isNaN(await kd.sum(kd.tensor([Infinity, 1, -Infinity])).item())).to.equal(true);
    const long = new Float32Array(5000).fill(1);
    long[4321] = Infinity;
    expect(await kd.sum(kd.tensor(long)).item()).to.equal(Infinity);
    expect(await kd.max(kd.tensor([-Infinity, -Infinity])).item()).to.equal(-Infinity);
  });

  it('sum over an empty axis is 0; reducing the other axis of an empty tensor gives an empty result', async () => {
    const x = kd.zeros([0, 3]);
    await expectClose(kd.sum(x, 0), nd([3], [0, 0, 0]), 'sum [0, 3] axis 0');
    await expectClose(kd.sum(x), nd([], [0]), 'sum [0, 3]');
    for (const r of [kd.sum(x, 1), kd.mean(x, 1), kd.max(x, 1), kd.min(x, 1), kd.argmax(x, 1)]) {
      expect([...r.shape]).to.deep.equal([0]);
      expect((await r.data()).length).to.equal(0);
    }
    // gradient of the empty sum: zeros of the input's shape
    const e = kd.zeros([0, 3], { requiresGrad: true });
    kd.sum(e).backward();
    expect([...e.grad!.shape]).to.deep.equal([0, 3]);
  });

  describe('argmax and argmin', () => {
    const ARG_CASES: [number[], number | undefined][] = [
      [[], undefined],
      [[], 0],
      [[1], 0],
      [[1, 1], undefined],
      [[1, 1], 1],
      [[7, 13], 0],
      [[7, 13], 1],
      [[7, 13], -1],
      [[7, 13], undefined],
      [[13, 5], -2],
      [[2, 3, 4, 5], 2],
      [[2, 3, 4, 5], undefined],
      [[3, 1000], 1],
      [[3, 1000], 0],
      [[70000], undefined],
      [[70000, 3], 1],
      [[70000, 3], 0],
    ];
    for (const kind of ['argmax', 'argmin'] as const) {
      it(`${kind} over ${ARG_CASES.length * 2} cases, with and without ties`, async () => {
        let seed = 4000;
        for (const [shape, axis] of ARG_CASES) {
          for (const keepdims of [false, true]) {
            for (const ties of [false, true]) {
              // ties: small integers, so most rows hold their extremum more than once
              const x = ties ? map(rnd(shape, seed++, 0, 5), Math.floor) : rnd(shape, seed++);
              const t = up(x);
              const got = kd[kind](t, axis, { keepdims });
              const want = argReduce(kind, x, axis, keepdims);
              const what = `${kind} ${fmtShape(shape)} axis ${axis}${keepdims ? ' keepdims' : ''}${ties ? ' with ties' : ''}`;
              expect(got.dtype, what).to.equal('int32');
              expect([...got.shape], `${what}: shape`).to.deep.equal([...want.shape]);
              expect(Array.from(await got.data()), what).to.deep.equal(Array.from(want.data));
              t.dispose();
              got.dispose();
            }
          }
        }
      });
    }

    it('ties resolve to the first index across invocations and loop iterations', async () => {
      // 64 invocations fold strided shares: index 3 (invocation 3), 64 (invocation 0, second
      // iteration) and 900 hold the same maximum; the first index must win the tree.
      const row = new Float32Array(1000).fill(0);
      row[900] = 5;
      row[64] = 5;
      row[3] = 5;
      const col = kd.tensor(row, [1000, 1]);
      expect(await kd.argmax(kd.tensor(row)).item()).to.equal(3);
      expect(Array.from(await kd.argmax(col, 0).data())).to.deep.equal([3]);
      const neg = kd.tensor(row.map((v) => -v));
      expect(await kd.argmin(neg).item()).to.equal(3);
      // a constant row: index 0
      expect(await kd.argmax(kd.full([777], 2)).item()).to.equal(0);
      expect(await kd.argmin(kd.full([777], 2)).item()).to.equal(0);
      // index 1 (invocation 1) against 63 (invocation 63) and 129 (invocation 1, second iteration)
      const r2 = new Float32Array(300).fill(-1);
      r2[63] = 7;
      r2[129] = 7;
      r2[1] = 7;
      expect(await kd.argmax(kd.tensor(r2)).item()).to.equal(1);
      // these rows take the workgroup layout; rows of 13 (above) the one-invocation layout
      expect(layoutFor(1, 1000)).to.equal('workgroup');
      expect(layoutFor(1, 300)).to.equal('workgroup');
      expect(layoutFor(7, 13)).to.equal('thread');
    });

    it('methods x.argmax(axis) and x.argmin(axis, {keepdims})', async () => {
      const x = rnd([5, 9], 4500);
      const t = up(x);
      expect(Array.from(await t.argmax(1).data())).to.deep.equal(Array.from(argReduce('argmax', x, 1).data));
      const m = t.argmin(0, { keepdims: true });
      expect([...m.shape]).to.deep.equal([1, 9]);
      expect(Array.from(await m.data())).to.deep.equal(Array.from(argReduce('argmin', x, 0).data));
    });
  });

  it('sumTo (the broadcast gradient reduction) against the reference', async () => {
    let seed = 4600;
    for (const [from, to] of [
      [[7, 13], [13]],
      [[7, 13], [7, 1]],
      [[7, 13], []],
      [[2, 3, 4], [3, 1]],
      [[2, 3, 4], [1, 1, 4]],
      [[70000, 3], [1, 3]],
    ] as [number[], number[]][]) {
      const g = rnd(from, seed++);
      const t = up(g);
      const want: Nd = reduce('sum', g, from.map((_, i) => i).filter((i) => i < from.length - to.length || (to[i - from.length + to.length] === 1 && from[i] !== 1)), false);
      await expectClose(kd.sumTo(t, to), { shape: to, data: want.data }, `sumTo ${fmtShape(from)} → ${fmtShape(to)}`);
      t.dispose();
    }
  });
});
