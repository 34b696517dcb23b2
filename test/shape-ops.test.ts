/**
 * Layout ops, forward and gradient, on the GPU against the float64 reference: reshape/flatten
 * (views), permute/transpose, slice (negative indices, clamping, single indices, empty results),
 * concat, broadcastTo, clone and cast, over awkward shapes and the copy kernel's 2-D grid.
 */
import { expect } from 'chai';
import * as kd from '../src/index.js';
import { setup } from './helpers.js';
import { checkOp, expectClose, fmtShape, rnd, up } from './op-check.js';
import {
  broadcastTo,
  castToInt,
  checkGradient,
  concat,
  concatGrad,
  map,
  nd,
  permute,
  permuteGrad,
  reshape,
  slice,
  sliceGrad,
  sumTo,
  type Nd,
  type SliceSpec,
} from './reference.js';

/** All permutations of 0..n-1. */
function perms(n: number): number[][] {
  if (n === 0) return [[]];
  return perms(n - 1).flatMap((p) => Array.from({ length: n }, (_, i) => [...p.slice(0, i), n - 1, ...p.slice(i)]));
}

const fmtSpec = (s: SliceSpec): string => JSON.stringify(s);

describe('layout ops', () => {
  before(setup);

  describe('the float64 reference gradients agree with central finite differences', () => {
    it('permute, slice, concat and broadcastTo', () => {
      const x = rnd([2, 3, 4], 80);
      checkGradient('permute', ([a]) => permute(a, [2, 0, 1]), (_, g) => [permuteGrad([2, 0, 1], g)], [x], rnd([4, 2, 3], 81));
      const spec: SliceSpec = [[0, 1], [-2], [1, -1]];
      checkGradient('slice', ([a]) => slice(a, spec), (_, g) => [sliceGrad([2, 3, 4], spec, g)], [x], rnd(slice(x, spec).shape, 82));
      const y = rnd([2, 2, 4], 83);
      checkGradient('concat', ([a, b]) => concat([a, b], 1), (_, g) => concatGrad([[2, 3, 4], [2, 2, 4]], 1, g), [x, y], rnd([2, 5, 4], 84));
      const z = rnd([3, 1], 85);
      checkGradient('broadcastTo', ([a]) => broadcastTo(a, [2, 3, 4]), (_, g) => [sumTo(g, [3, 1])], [z], rnd([2, 3, 4], 86));
    });

    it('catches a deliberately wrong reference gradient (permute by the permutation instead of its inverse)', () => {
      const x = rnd([2, 3, 4], 87);
      expect(() => checkGradient('permute (wrong)', ([a]) => permute(a, [1, 2, 0]), (_, g) => [permute(g, [1, 2, 0])], [x], rnd([3, 4, 2], 88))).to.throw();
    });
  });

  it('reshape (a view) with -1, size-1 dims and rank 0, and its gradient', async () => {
    const cases: [number[], number[], number[]][] = [
      [[7, 13], [13, 7], [13, 7]],
      [[7, 13], [91], [91]],
      [[7, 13], [-1, 7], [13, 7]],
      [[7, 13], [1, 91, 1], [1, 91, 1]],
      [[7, 13], [7, 1, -1], [7, 1, 13]],
      [[], [1], [1]],
      [[1, 1], [], []],
      [[1], [1, 1, 1], [1, 1, 1]],
      [[3, 1000], [1000, -1], [1000, 3]],
      [[70000], [7, 10000], [7, 10000]],
    ];
    let seed = 5000;
    for (const [from, to, want] of cases) {
      const x = rnd(from, seed++);
      await checkOp(`reshape ${fmtShape(from)} → ${fmtShape(to)}`, [x], ([t]) => kd.reshape(t, to), ([a]) => reshape(a, want), (_, g) => [reshape(g, from)], seed++);
    }
    // the view shares the buffer and survives the original's disposal
    const a = kd.tensor([1, 2, 3, 4, 5, 6]);
    const v = a.reshape([2, 3]);
    a.dispose();
    expect(await v.array()).to.deep.equal([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    const empty = kd.zeros([0, 3]).reshape([3, -1]);
    expect([...empty.shape]).to.deep.equal([3, 0]);
  });

  it('flatten', async () => {
    const cases: [number[], number | undefined, number | undefined, number[]][] = [
      [[2, 3, 4], undefined, undefined, [2, 12]],
      [[2, 3, 4], 0, undefined, [24]],
      [[2, 3, 4], 0, 1, [6, 4]],
      [[2, 3, 4], -2, -1, [2, 12]],
      [[2, 3, 4, 5], 1, 2, [2, 12, 5]],
      [[5], 0, undefined, [5]],
      [[], undefined, undefined, [1]],
      [[1, 7, 13], undefined, undefined, [1, 91]],
    ];
    let seed = 5100;
    for (const [shape, s, e, want] of cases) {
      const x = rnd(shape, seed++);
      await checkOp(`flatten ${fmtShape(shape)} (${s}, ${e})`, [x], ([t]) => kd.flatten(t, s, e), ([a]) => reshape(a, want), (_, g) => [reshape(g, shape)], seed++);
    }
    expect([...up(rnd([2, 3, 4], 5150)).flatten().shape]).to.deep.equal([2, 12]);
  });

  it('permute: every permutation of rank 3 and 4, negative axes, size-1 dims, rank 0', async () => {
    let seed = 5200;
    const cases: [number[], number[]][] = [
      ...perms(3).map((p): [number[], number[]] => [[2, 3, 5], p]),
      ...perms(4).map((p): [number[], number[]] => [[2, 3, 1, 5], p]),
      [[7, 13], [1, 0]],
      [[13, 5], [-1, -2]],
      [[1, 7, 1, 13], [3, 1, 0, 2]],
      [[3, 4, 5], [-1, 0, 1]],
      [[], []],
      [[1, 1], [1, 0]],
      [[3, 1000], [1, 0]],
      [[70000, 3], [1, 0]],
    ];
    for (const [shape, p] of cases) {
      const x = rnd(shape, seed++);
      await checkOp(`permute ${fmtShape(shape)} [${p.join(', ')}]`, [x], ([t]) => kd.permute(t, p), ([a]) => permute(a, p), (_, g) => [permuteGrad(p, g)], seed++);
    }
  });

  it('transpose: default last two, explicit dims, ranks 0 and 1', async () => {
    let seed = 5300;
    const cases: [number[], number | undefined, number | undefined, number[]][] = [
      [[7, 13], undefined, undefined, [1, 0]],
      [[2, 7, 13], undefined, undefined, [0, 2, 1]],
      [[2, 7, 13], 0, 2, [2, 1, 0]],
      [[2, 7, 13], -3, 1, [1, 0, 2]],
      [[5], undefined, undefined, [0]],
      [[5], 0, 0, [0]],
      [[], undefined, undefined, []],
    ];
    for (const [shape, a, b, p] of cases) {
      const x = rnd(shape, seed++);
      await checkOp(`transpose ${fmtShape(shape)} (${a}, ${b})`, [x], ([t]) => kd.transpose(t, a, b), ([u]) => permute(u, p), (_, g) => [permuteGrad(p, g)], seed++);
    }
    const t = up(rnd([3, 4], 5350));
    expect([...t.transpose().shape]).to.deep.equal([4, 3]);
  });

  it('slice: ranges, negative indices, single indices, clamping, empty results', async () => {
    let seed = 5400;
    const cases: [number[], SliceSpec][] = [
      [[7, 13], [[1, 5], [2, -3]]],
      [[7, 13], [[-3], null]],
      [[7, 13], [null, [-5, -1]]],
      [[7, 13], [2]],
      [[7, 13], [-1, -1]],
      [[7, 13], [[-100, 100], [3, 1000]]],
      [[7, 13], [[5, 2]]],
      [[7, 13], [[7]]],
      [[7, 13], []],
      [[2, 3, 4, 5], [[0, 1], 1, [1, -1], [-2]]],
      [[2, 3, 4, 5], [null, null, [3]]],
      [[1, 1], [0, [0, 1]]],
      [[3, 1000], [[1, 3], [123, 877]]],
      [[70000], [[12345, 69999]]],
      [[70000], [[-7]]],
    ];
    for (const [shape, spec] of cases) {
      const x = rnd(shape, seed++);
      await checkOp(`slice ${fmtShape(shape)} ${fmtSpec(spec)}`, [x], ([t]) => kd.slice(t, spec), ([a]) => slice(a, spec), (_, g) => [sliceGrad(shape, spec, g)], seed++);
    }
    const t = up(rnd([4, 6], 5450));
    expect([...t.slice([[1, 3]]).shape]).to.deep.equal([2, 6]);
  });

  it('concat: along each axis, negative axis, empty parts, one tensor, and partial requiresGrad', async () => {
    let seed = 5500;
    const cases: [number[][], number][] = [
      [[[7, 13], [7, 5]], 1],
      [[[2, 13], [5, 13], [1, 13]], 0],
      [[[3, 4, 2], [3, 4, 5]], -1],
      [[[2, 3, 4], [2, 1, 4], [2, 7, 4]], 1],
      [[[0, 13], [7, 13]], 0],
      [[[7, 13]], 0],
      [[[1, 1], [1, 1]], 1],
      [[[70000], [3]], 0],
      [[[3, 1000], [3, 1]], -1],
    ];
    for (const [shapes, axis] of cases) {
      const xs = shapes.map((s) => rnd(s, seed++));
      await checkOp(
        `concat ${shapes.map(fmtShape).join(', ')} axis ${axis}`,
        xs,
        (ts) => kd.concat(ts, axis),
        (as) => concat(as, axis),
        (_, g) => concatGrad(shapes, axis, g),
        seed++,
      );
    }
    // only the second input requires grad
    const a = kd.tensor([[1, 2]]);
    const b = kd.tensor([[3, 4]], undefined, { requiresGrad: true });
    kd.concat([a, b], 0).mul(kd.tensor([[10, 20], [30, 40]])).sum().backward();
    expect(a.grad).to.equal(null);
    expect(Array.from(await b.grad!.data())).to.deep.equal([30, 40]);
    // int32 tensors concatenate too
    const ints = kd.concat([kd.tensor([1, 2], undefined, { dtype: 'int32' }), kd.tensor([-3], undefined, { dtype: 'int32' })]);
    expect(ints.dtype).to.equal('int32');
    expect(Array.from(await ints.data())).to.deep.equal([1, 2, -3]);
  });

  it('broadcastTo: size-1 dims, missing leading dims, scalars; its gradient sums back', async () => {
    let seed = 5600;
    const cases: [number[], number[]][] = [
      [[13], [7, 13]],
      [[7, 1], [7, 13]],
      [[], [3, 4]],
      [[1, 1], [5, 2, 3]],
      [[3, 1, 5], [2, 3, 4, 5]],
      [[1], [70000]],
      [[3, 1], [3, 1000]],
      [[7, 13], [7, 13]],
      [[], []],
      [[1, 13], [1, 7, 13]],
    ];
    for (const [from, to] of cases) {
      const x = rnd(from, seed++);
      await checkOp(`broadcastTo ${fmtShape(from)} → ${fmtShape(to)}`, [x], ([t]) => kd.broadcastTo(t, to), ([a]) => broadcastTo(a, to), (_, g) => [sumTo(g, from)], seed++);
    }
  });

  it('the copy kernel on the 2-D grid: transposing 4,194,306 elements, and its gradient', async () => {
    const x = rnd([2097153, 2], 5700);
    await checkOp('transpose [2097153, 2]', [x], ([t]) => kd.transpose(t), ([a]) => permute(a, [1, 0]), (_, g) => [permuteGrad([1, 0], g)], 5701);
  });

  it('clone copies (own buffer, identity gradient); cast converts (float → int truncates toward zero)', async () => {
    let seed = 5800;
    for (const shape of [[], [1, 1], [7, 13], [70000]]) {
      const x = rnd(shape, seed++, -5, 5);
      await checkOp(`clone ${fmtShape(shape)}`, [x], ([t]) => kd.clone(t), ([a]) => a, (_, g) => [g], seed++);
      await checkOp(`cast float32 → float32 ${fmtShape(shape)}`, [x], ([t]) => kd.cast(t, 'float32'), ([a]) => a, (_, g) => [g], seed++);
      const t = up(x);
      const i = kd.cast(t, 'int32');
      expect(i.dtype).to.equal('int32');
      expect([...i.shape]).to.deep.equal(shape);
      expect(Array.from(await i.data())).to.deep.equal(Array.from(castToInt(x).data));
      const back = kd.cast(i, 'float32');
      expect(back.dtype).to.equal('float32');
      await expectClose(back, castToInt(x), `cast int32 → float32 ${fmtShape(shape)}`);
      for (const u of [t, i, back]) u.dispose();
    }
    // specific values: truncation toward zero, negative zero, exact integers up to 2^24
    const f = kd.tensor([2.7, -2.7, 0.5, -0.5, 16777216, -16777215, 3]);
    expect(Array.from(await f.cast('int32').data())).to.deep.equal([2, -2, 0, 0, 16777216, -16777215, 3]);
    // a clone is independent of its source
    const src = kd.tensor([1, 2, 3]);
    const c = src.clone();
    src.dispose();
    expect(Array.from(await c.data())).to.deep.equal([1, 2, 3]);
    const ic = kd.tensor([4, 5], undefined, { dtype: 'int32' }).clone();
    expect(ic.dtype).to.equal('int32');
    expect(Array.from(await ic.data())).to.deep.equal([4, 5]);
    // an int32 cast carries no gradient
    const g = kd.tensor([1.5], undefined, { requiresGrad: true });
    expect(kd.cast(g, 'int32').requiresGrad).to.equal(false);
  });

  it('layout ops compose with elementwise ops and reductions in one graph', async () => {
    const x = rnd([3, 4, 5], 5900);
    const w = rnd([5, 4], 5901);
    // loss = Σ (permute(x, [0, 2, 1]) · w) over a slice, then concat with itself
    const ref = (a: Nd, b: Nd): Nd => {
      const p = permute(a, [0, 2, 1]);
      const prod = map(p, (v, i) => v * b.data[i % 20]);
      const s = slice(prod, [null, [1, 4]]);
      return concat([s, s], 0);
    };
    const refGrad = (a: Nd, b: Nd, g: Nd): Nd[] => {
      const [g1, g2] = concatGrad([[3, 3, 4], [3, 3, 4]], 0, g);
      const gs = map(g1, (v, i) => v + g2.data[i]);
      const gp = sliceGrad([3, 5, 4], [null, [1, 4]], gs);
      const p = permute(a, [0, 2, 1]);
      const ga = permuteGrad([0, 2, 1], map(gp, (v, i) => v * b.data[i % 20]));
      const gb = new Float64Array(20);
      gp.data.forEach((v, i) => (gb[i % 20] += v * p.data[i]));
      return [ga, nd([5, 4], gb)];
    };
    await checkOp(
      'permute → mul (broadcast) → slice → concat',
      [x, w],
      ([a, b]) => kd.concat([kd.slice(kd.mul(kd.permute(a, [0, 2, 1]), b), [null, [1, 4]]), kd.slice(kd.mul(kd.permute(a, [0, 2, 1]), b), [null, [1, 4]])], 0),
      ([a, b]) => ref(a, b),
      ([a, b], g) => refGrad(a, b, g),
      5902,
    );
  });
});
