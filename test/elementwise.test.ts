/**
 * Elementwise ops, forward and gradient, on the GPU against the float64 reference: unary ops over
 * awkward shapes and wide input ranges, binary ops under NumPy broadcasting (tensors and plain
 * numbers on either side), pow with tensor and scalar exponents, and the large dispatches that take
 * the 2-D workgroup grid.
 */
import { expect } from 'chai';
import * as kd from '../src/index.js';
import { assertClose, setup, type Tolerance } from './helpers.js';
import { checkOp, expectClose, fmtShape, rnd, rndAway, rndLog, up } from './op-check.js';
import {
  BINARY_REF,
  binary,
  binaryGrad,
  checkGradient,
  map,
  nd,
  powRef,
  unary,
  unaryGrad,
  UNARY_REF,
  type BinaryName,
  type Nd,
  type UnaryName,
} from './reference.js';

const UNARY_GPU: Record<UnaryName, (x: kd.Tensor) => kd.Tensor> = {
  neg: kd.neg,
  exp: kd.exp,
  log: kd.log,
  sqrt: kd.sqrt,
  relu: kd.relu,
  relu6: kd.relu6,
  sigmoid: kd.sigmoid,
  tanh: kd.tanh,
  abs: kd.abs,
};

const BINARY_GPU: Record<Exclude<BinaryName, 'pow'>, (a: kd.TensorLike, b: kd.TensorLike) => kd.Tensor> = {
  add: kd.add,
  sub: kd.sub,
  mul: kd.mul,
  div: kd.div,
  maximum: kd.maximum,
  minimum: kd.minimum,
};

/**
 * Input domains per unary op: [generator, description, tolerance]; the first is used for every
 * shape. Domains whose values span many decades are compared with rtol 1e-5 and an absolute
 * tolerance of 1e-36 instead of 1e-6·max|ref|, so every element is held to 1e-5 relative.
 */
const WIDE = { atol: 1e-36 };
const DOMAINS: Record<UnaryName, [(shape: number[], seed: number) => Nd, string, Tolerance?][]> = {
  neg: [[(s, k) => rnd(s, k, -5, 5), '[-5, 5)']],
  exp: [
    [(s, k) => rnd(s, k, -10, 10), '[-10, 10)'],
    [(s, k) => rnd(s, k, -80, 88.5), '[-80, 88.5)', WIDE],
  ],
  log: [
    [(s, k) => rnd(s, k, 0.01, 10), '[0.01, 10)'],
    [(s, k) => rndLog(s, k, 1e-30, 1e30), 'log-uniform [1e-30, 1e30)', WIDE],
    [(s, k) => rnd(s, k, 0.999, 1.001), 'near 1: [0.999, 1.001)', WIDE],
  ],
  sqrt: [
    [(s, k) => rnd(s, k, 0.01, 100), '[0.01, 100)'],
    [(s, k) => rndLog(s, k, 1e-30, 1e30), 'log-uniform [1e-30, 1e30)', WIDE],
  ],
  relu: [[(s, k) => rnd(s, k, -3, 3), '[-3, 3)']],
  relu6: [[(s, k) => rnd(s, k, -3, 9), '[-3, 9)']],
  sigmoid: [
    [(s, k) => rnd(s, k, -6, 6), '[-6, 6)'],
    [(s, k) => rnd(s, k, -40, 40), '[-40, 40)'],
  ],
  tanh: [
    [(s, k) => rnd(s, k, -4, 4), '[-4, 4)'],
    [(s, k) => rnd(s, k, -0.2, 0.2), '[-0.2, 0.2) (the Taylor branch and its edge)'],
    [(s, k) => rnd(s, k, -30, 30), '[-30, 30)'],
  ],
  abs: [[(s, k) => rnd(s, k, -3, 3), '[-3, 3)']],
};

const SHAPES: number[][] = [[], [1], [1, 1], [7, 13], [13, 5], [1, 7, 13], [3, 1000], [70000]];

describe('elementwise ops', () => {
  before(setup);

  describe('the float64 reference gradients agree with central finite differences', () => {
    for (const name of Object.keys(UNARY_REF) as UnaryName[]) {
      it(name, () => {
        const [gen] = DOMAINS[name][0];
        const x = gen([2, 3], 11);
        const seed = rnd([2, 3], 12);
        checkGradient(name, ([a]) => unary(name, a), ([a], g) => [unaryGrad(name, a, g)], [x], seed);
      });
    }

    const pairs: [number[], number[]][] = [
      [[2, 3], [2, 3]],
      [[2, 3], [3]],
      [[2, 1], [1, 3]],
      [[], [2, 2]],
    ];
    for (const name of Object.keys(BINARY_REF) as BinaryName[]) {
      it(`${name} with broadcasting`, () => {
        for (const [sa, sb] of pairs) {
          const a = name === 'pow' ? rnd(sa, 21, 0.3, 2.5) : rnd(sa, 21, -2, 2);
          const b = name === 'div' ? rndAway(sb, 22, 0.5, 2) : name === 'pow' ? rnd(sb, 22, -2, 2) : rnd(sb, 22, -2, 2);
          const seed = rnd(binary(name, a, b).shape, 23);
          checkGradient(`${name} ${fmtShape(sa)}, ${fmtShape(sb)}`, ([p, q]) => binary(name, p, q), ([p, q], g) => binaryGrad(name, p, q, g), [a, b], seed);
        }
      });
    }

    it('pow with negative bases and integer exponents', () => {
      const a = nd([5], [-2.5, -1.5, -0.75, -3, -1.25]);
      const b = nd([5], [2, 3, -2, 4, -3]);
      const seed = rnd([5], 31);
      // only the base: the exponent's gradient is ln(a)·a^b, NaN for a < 0, in both
      checkGradient('pow (negative bases)', ([p, q]) => binary('pow', p, q), ([p, q], g) => binaryGrad('pow', p, q, g), [a, b], seed);
    });

    it('catches a deliberately wrong reference gradient', () => {
      const x = rnd([2, 3], 41, -2, 2);
      const seed = rnd([2, 3], 42);
      // sigmoid′ written as σ instead of σ(1 − σ)
      expect(() =>
        checkGradient('sigmoid (wrong)', ([a]) => unary('sigmoid', a), ([a], g) => [map(a, (v, i) => g.data[i] * UNARY_REF.sigmoid.f(v))], [x], seed),
      ).to.throw(/finite differences/);
      // ∂(a/b)/∂b written without the numerator
      const b = rndAway([3], 43, 0.5, 2);
      expect(() =>
        checkGradient(
          'div (wrong)',
          ([p, q]) => binary('div', p, q),
          ([p, q], g) => [binaryGrad('div', p, q, g)[0], binaryGrad('div', 1, q, g)[1]],
          [x, b],
          seed,
        ),
      ).to.throw(/finite differences/);
      // and a tiny error (one part in 1e4) is caught as well
      expect(() =>
        checkGradient('exp (off by 1e-4)', ([a]) => unary('exp', a), ([a], g) => [map(unaryGrad('exp', a, g), (v) => v * 1.0001)], [x], seed),
      ).to.throw(/finite differences/);
    });

    it('the GPU comparison catches an error of one part in 1e4', async () => {
      const x = rnd([7, 13], 44, -3, 3);
      const t = up(x);
      const y = kd.exp(t);
      const ref = unary('exp', x);
      await expectClose(y, ref, 'exp');
      const off = map(ref, (v, i) => (i === 40 ? v * 1.0001 : v));
      let failed = false;
      try {
        await expectClose(y, off, 'exp vs a perturbed reference');
      } catch {
        failed = true;
      }
      expect(failed).to.equal(true);
      t.dispose();
      y.dispose();
    });
  });

  describe('unary ops: forward and gradient', () => {
    for (const name of Object.keys(UNARY_REF) as UnaryName[]) {
      it(`${name} on ${SHAPES.map(fmtShape).join(' ')} and wide ranges`, async () => {
        let seed = 100;
        for (const shape of SHAPES) {
          const x = DOMAINS[name][0][0](shape, seed++);
          await checkOp(`${name} ${fmtShape(shape)}`, [x], ([t]) => UNARY_GPU[name](t), ([a]) => unary(name, a), ([a], g) => [unaryGrad(name, a, g)], seed++);
        }
        for (const [gen, desc, tol] of DOMAINS[name].slice(1)) {
          const x = gen([3001], seed++);
          await checkOp(`${name} over ${desc}`, [x], ([t]) => UNARY_GPU[name](t), ([a]) => unary(name, a), ([a], g) => [unaryGrad(name, a, g)], seed++, tol);
        }
      });
    }

    it('relu and abs have gradient 0 at 0 (as PyTorch)', async () => {
      const x = nd([5], [-1, 0, 0, 2, -0]);
      for (const name of ['relu', 'abs'] as const) {
        await checkOp(`${name} at 0`, [x], ([t]) => UNARY_GPU[name](t), ([a]) => unary(name, a), ([a], g) => [unaryGrad(name, a, g)]);
      }
    });

    it('exp, log and sqrt at the edges of their domains', async () => {
      const t = kd.tensor([0, -0, Infinity, -Infinity, NaN, -1, 1, 1e-40]);
      const lg = await kd.log(t).data();
      expect(Array.from(lg.subarray(0, 7))).to.deep.equal([-Infinity, -Infinity, Infinity, NaN, NaN, NaN, 0]);
      // a denormal input (when the adapter keeps denormals in storage, as SwiftShader does)
      assertClose([lg[7]], [Math.log(Math.fround(1e-40))], {}, 'log of a denormal');
      const ex = await kd.exp(t).data();
      expect(Array.from(ex.subarray(0, 5))).to.deep.equal([1, 1, Infinity, 0, NaN]);
      assertClose(ex.subarray(5, 7), [Math.exp(-1), Math.E], {}, 'exp(±1)');
      const big = await kd.exp(kd.tensor([88.72, 88.73, -87.3, -110, -1000, 1000])).data();
      assertClose(big.subarray(0, 3), [Math.exp(Math.fround(88.72)), Infinity, Math.exp(Math.fround(-87.3))], {}, 'exp near over/underflow');
      expect(Array.from(big.subarray(3))).to.deep.equal([0, 0, Infinity]);
      expect(Array.from(await kd.sigmoid(kd.tensor([-1000, 1000, 0])).data())).to.deep.equal([0, 1, 0.5]);
      expect(Array.from(await kd.tanh(kd.tensor([-1000, 1000, 0])).data())).to.deep.equal([-1, 1, 0]);
    });
  });

  describe('binary ops with broadcasting: forward and both gradients', () => {
    const PAIRS: [number[], number[]][] = [
      [[7, 13], [7, 13]],
      [[7, 13], [13]],
      [[13], [7, 13]],
      [[7, 13], [7, 1]],
      [[7, 1], [1, 13]],
      [[2, 1, 5], [3, 1]],
      [[1, 7, 13], [7, 13]],
      [[13, 5], []],
      [[], [13, 5]],
      [[1, 1], [13, 5]],
      [[1], [3, 1000]],
      [[3, 1000], [1000]],
      [[3, 1], [3, 1000]],
      [[1, 1], [1, 1]],
      [[], []],
      [[70000], [70000]],
      [[70000], [1]],
      [[2, 35000], [2, 1]],
    ];
    const domain = (name: BinaryName, which: 'a' | 'b', shape: number[], seed: number): Nd =>
      name === 'div' && which === 'b' ? rndAway(shape, seed, 0.25, 4) : rnd(shape, seed, -4, 4);

    for (const name of Object.keys(BINARY_GPU) as (keyof typeof BINARY_GPU)[]) {
      it(`${name} over ${PAIRS.length} shape pairs`, async () => {
        let seed = 500;
        for (const [sa, sb] of PAIRS) {
          const a = domain(name, 'a', sa, seed++);
          const b = domain(name, 'b', sb, seed++);
          await checkOp(
            `${name} ${fmtShape(sa)}, ${fmtShape(sb)}`,
            [a, b],
            ([p, q]) => BINARY_GPU[name](p, q),
            ([p, q]) => binary(name, p, q),
            ([p, q], g) => binaryGrad(name, p, q, g),
            seed++,
          );
        }
      });
    }

    it('numbers as operands on either side', async () => {
      const x = rnd([7, 13], 900, -4, 4);
      const xd = rndAway([7, 13], 901, 0.25, 4);
      const cases: [string, Nd, (t: kd.Tensor) => kd.Tensor, BinaryName, number, 'left' | 'right'][] = [
        ['x + 2.5', x, (t) => kd.add(t, 2.5), 'add', 2.5, 'right'],
        ['2.5 + x', x, (t) => kd.add(2.5, t), 'add', 2.5, 'left'],
        ['x - 3', x, (t) => kd.sub(t, 3), 'sub', 3, 'right'],
        ['3 - x', x, (t) => kd.sub(3, t), 'sub', 3, 'left'],
        ['x * -1.5', x, (t) => kd.mul(t, -1.5), 'mul', -1.5, 'right'],
        ['-1.5 * x', x, (t) => kd.mul(-1.5, t), 'mul', -1.5, 'left'],
        ['x / 7', x, (t) => kd.div(t, 7), 'div', 7, 'right'],
        ['x / 0.1', x, (t) => kd.div(t, Math.fround(0.1)), 'div', Math.fround(0.1), 'right'],
        ['7 / x', xd, (t) => kd.div(7, t), 'div', 7, 'left'],
        ['maximum(x, 0.25)', x, (t) => kd.maximum(t, 0.25), 'maximum', 0.25, 'right'],
        ['maximum(0.25, x)', x, (t) => kd.maximum(0.25, t), 'maximum', 0.25, 'left'],
        ['minimum(x, -0.5)', x, (t) => kd.minimum(t, -0.5), 'minimum', -0.5, 'right'],
        ['minimum(-0.5, x)', x, (t) => kd.minimum(-0.5, t), 'minimum', -0.5, 'left'],
        ['x.add(1).mul(2) method chain', x, (t) => t.add(1).mul(2), 'mul', 2, 'right'],
      ];
      let seed = 910;
      for (const [what, input, f, name, c, side] of cases) {
        const isChain = what.includes('chain');
        await checkOp(
          what,
          [input],
          ([t]) => f(t),
          ([p]) => (isChain ? binary('mul', binary('add', p, 1), 2) : side === 'right' ? binary(name, p, c) : binary(name, c, p)),
          ([p], g) => [isChain ? map(g, (v) => 2 * v) : side === 'right' ? binaryGrad(name, p, c, g)[0] : binaryGrad(name, c, p, g)[1]],
          seed++,
        );
      }
      expect(() => kd.add(1 as unknown as kd.Tensor, 2)).to.throw(/add: at least one operand must be a tensor/);
    });

    it('maximum and minimum split the gradient evenly at ties', async () => {
      const a = nd([6], [1, 2, 3, -1, 0, 5]);
      const b = nd([6], [1, 0, 3, -1, 0, 7]);
      for (const name of ['maximum', 'minimum'] as const) {
        await checkOp(`${name} with ties`, [a, b], ([p, q]) => BINARY_GPU[name](p, q), ([p, q]) => binary(name, p, q), ([p, q], g) => binaryGrad(name, p, q, g));
      }
      // a tensor against itself: the two halves add back to the full gradient
      const x = kd.tensor([1, -2, 3], undefined, { requiresGrad: true });
      kd.maximum(x, x).sum().backward();
      expect(Array.from(await x.grad!.data())).to.deep.equal([1, 1, 1]);
    });

    it('the 2-D workgroup grid (> 65535 workgroups of 64 threads): strided add of 4,194,306 elements', async () => {
      const rows = 2097153;
      const a = rnd([rows, 2], 950);
      const b = rnd([2], 951);
      await checkOp(`add [${rows}, 2], [2]`, [a, b], ([p, q]) => kd.add(p, q), ([p, q]) => binary('add', p, q), ([p, q], g) => binaryGrad('add', p, q, g), 952);
    });
  });

  describe('pow', () => {
    it('tensor exponents: positive bases, broadcasting, both gradients', async () => {
      const pairs: [number[], number[]][] = [
        [[7, 13], [7, 13]],
        [[7, 13], [13]],
        [[3, 1000], [3, 1]],
        [[], [13, 5]],
        [[13, 5], []],
        [[1, 1], [1, 1]],
        [[70000], [70000]],
      ];
      let seed = 1000;
      for (const [sa, sb] of pairs) {
        const a = rnd(sa, seed++, 0.05, 4);
        const b = rnd(sb, seed++, -3, 3);
        await checkOp(`pow ${fmtShape(sa)}, ${fmtShape(sb)}`, [a, b], ([p, q]) => kd.pow(p, q), ([p, q]) => binary('pow', p, q), ([p, q], g) => binaryGrad('pow', p, q, g), seed++);
      }
    });

    it('results spanning the float32 range (|b·ln a| up to 80)', async () => {
      const a = rndLog([4000], 1100, 1e-3, 1e3);
      const b = rnd([4000], 1101, -11, 11);
      await checkOp('pow over a wide range', [a, b], ([p, q]) => kd.pow(p, q), ([p, q]) => binary('pow', p, q), ([p, q], g) => binaryGrad('pow', p, q, g), 1102, WIDE);
      const big = rnd([2000], 1103, 1.1, 1.5);
      const e = rnd([2000], 1104, 100, 200);
      await checkOp('pow, bases near 1 with large exponents', [big, e], ([p, q]) => kd.pow(p, q), ([p, q]) => binary('pow', p, q), null, 0, WIDE);
    });

    it('negative bases with integer exponents keep the sign of odd powers', async () => {
      const a = rnd([7, 13], 1200, -3, 3);
      const b = map(rnd([7, 13], 1201, -3.99, 5), Math.floor);
      // the exponent's gradient is a^b·ln a: NaN for a < 0, as in PyTorch, and compared as such
      await checkOp('pow (negative bases, integer exponents)', [a, b], ([p, q]) => kd.pow(p, q), ([p, q]) => binary('pow', p, q), ([p, q], g) => binaryGrad('pow', p, q, g), 1202);
      // non-integer exponents of negative bases are NaN
      const y = await kd.pow(kd.tensor([-2, -0.5]), kd.tensor([0.5, 1.5])).data();
      expect(Array.from(y).every(Number.isNaN)).to.equal(true);
    });

    it('scalar exponents, including 0, 1, 2, 1/2 and negative ones', async () => {
      const exps = [2, 3, 0.5, -1.5, 0, 1, -2, 2.5, 4, -1, 7];
      let seed = 1300;
      for (const c of exps) {
        const integral = Number.isInteger(c);
        for (const shape of [[], [7, 13], [3, 1000]]) {
          const x = integral ? rnd(shape, seed++, -3, 3) : rnd(shape, seed++, 0.05, 3);
          await checkOp(`x^${c} ${fmtShape(shape)}`, [x], ([t]) => kd.pow(t, c), ([p]) => binary('pow', p, c), ([p], g) => [binaryGrad('pow', p, c, g)[0]], seed++);
        }
      }
    });

    it('numbers as bases: 2^x and 0.5^x', async () => {
      const x = rnd([13, 5], 1400, -20, 20);
      for (const c of [2, 0.5]) {
        await checkOp(`${c}^x`, [x], ([t]) => kd.pow(c, t), ([p]) => binary('pow', c, p), ([p], g) => [binaryGrad('pow', c, p, g)[1]], 1401);
      }
    });

    it('special values follow C (and PyTorch): 0^0 = 1, 0^-1 = ∞, 1^NaN = 1, (−2)^0.5 = NaN', async () => {
      const A = [0, 0, 0, -0, -0, 2, 2, -2, -2, -2, 1, 1, -1, -1, Infinity, Infinity, -Infinity, -Infinity, NaN, NaN, 0.5, 0.5, 3, -3, 0, -8];
      const B = [0, 2, -2, 3, -3, Infinity, -Infinity, 3, 2, 0.5, NaN, Infinity, Infinity, 3, 2, -2, 3, 2, 0, 1, Infinity, -Infinity, NaN, 4, 0.5, 1 / 3];
      const got = await kd.pow(kd.tensor(A), kd.tensor(B)).data();
      const want = A.map((a, i) => Math.fround(powRef(a, Math.fround(B[i]))));
      // The conventions (0, ±∞, NaN, ±1, signed zeros) exactly; an ordinary power like (−3)^4
      // within the few ulp kd_pow promises (llvmpipe's compiler may fuse its polynomials).
      const ordinary = (v: number) => Number.isFinite(v) && v !== 0 && Math.abs(v) !== 1;
      expect(Array.from(got).map((g, i) => (ordinary(want[i]) ? want[i] : g))).to.deep.equal(want);
      A.forEach((_, i) => {
        if (ordinary(want[i])) expect(Math.abs(got[i] - want[i]), `${A[i]}^${B[i]}: ${got[i]} vs ${want[i]}`).to.be.at.most(4 * 2 ** -23 * Math.abs(want[i]));
      });
      // gradients at the conventions' points: ∂/∂a at b = 0 is 0 (also at a = 0); ∂/∂b at a = 0, b ≥ 0 is 0
      const a = kd.tensor([0, 0, 2, 0], undefined, { requiresGrad: true });
      const b = kd.tensor([0, 2, 0, 0.5], undefined, { requiresGrad: true });
      kd.pow(a, b).sum().backward();
      expect(Array.from(await a.grad!.data())).to.deep.equal([0, 0, 0, Infinity]);
      expect(Array.from(await b.grad!.data())).to.deep.equal([0, 0, Math.fround(Math.LN2), 0]);
      const s = kd.tensor([0, 3], undefined, { requiresGrad: true });
      kd.pow(s, 0).sum().backward();
      expect(Array.from(await s.grad!.data())).to.deep.equal([0, 0]);
    });
  });
});
