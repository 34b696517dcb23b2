/** Glue between the float64 reference (reference.ts) and the engine: uploads, readbacks, comparisons. */
import { expect } from 'chai';
import * as kd from '../src/index.js';
import { assertClose, randomValues, type Tolerance } from './helpers.js';
import { map, nd, sizeOf, type Nd } from './reference.js';

/** Seeded float32-representable values in [lo, hi), as a float64 reference tensor. */
export function rnd(shape: readonly number[], seed: number, lo = -1, hi = 1): Nd {
  return nd(shape, randomValues(sizeOf(shape), seed, lo, hi));
}

/** Values with |v| in [lo, hi) and random signs (e.g. divisors kept away from 0). */
export function rndAway(shape: readonly number[], seed: number, lo: number, hi: number): Nd {
  const mag = rnd(shape, seed, lo, hi);
  const sgn = rnd(shape, seed + 7919);
  return map(mag, (v, i) => (sgn.data[i] < 0 ? -v : v));
}

/** Values spread log-uniformly over [lo, hi) (lo > 0). */
export function rndLog(shape: readonly number[], seed: number, lo: number, hi: number): Nd {
  const u = rnd(shape, seed, Math.log(lo), Math.log(hi));
  return map(u, (v) => Math.fround(Math.exp(v)));
}

export function up(x: Nd, requiresGrad = false): kd.Tensor {
  for (const v of x.data) {
    if (!Number.isNaN(v) && Math.fround(v) !== v) throw new Error(`test input ${v} is not float32-representable`);
  }
  return kd.tensor(Float32Array.from(x.data), x.shape, { requiresGrad });
}

/**
 * Reads t and checks its shape and values against the reference (the project's tolerance unless
 * given). The default atol, 1e-6·max|ref|, is taken over the finite reference values: a NaN or
 * infinite one (compared exactly by assertClose) must not make the tolerance NaN or infinite.
 */
export async function expectClose(t: kd.Tensor, ref: Nd, what: string, tol: Tolerance = {}): Promise<void> {
  expect([...t.shape], `${what}: shape`).to.deep.equal([...ref.shape]);
  let maxRef = 0;
  for (const v of ref.data) if (Number.isFinite(v)) maxRef = Math.max(maxRef, Math.abs(v));
  assertClose(await t.data(), ref.data, { rtol: tol.rtol, atol: tol.atol ?? 1e-6 * maxRef }, what);
}

/**
 * Runs `gpu` on the inputs (all requiring grad), then backward with a random seed gradient, and
 * compares the output and every input's gradient with the reference.
 */
export async function checkOp(
  what: string,
  inputs: readonly Nd[],
  gpu: (ts: kd.Tensor[]) => kd.Tensor,
  ref: (xs: Nd[]) => Nd,
  refGrad: ((xs: Nd[], seed: Nd) => (Nd | null)[]) | null,
  seedNum = 12345,
  tol: Tolerance = {},
): Promise<void> {
  const ts = inputs.map((x) => up(x, refGrad !== null));
  const yRef = ref([...inputs]);
  let y: kd.Tensor | null = null;
  let seed: kd.Tensor | null = null;
  try {
    y = gpu(ts);
    await expectClose(y, yRef, `${what}: forward`, tol);
    if (!refGrad) return;
    const seedRef = rnd(yRef.shape, seedNum);
    seed = up(seedRef);
    y.backward(seed);
    const gRef = refGrad([...inputs], seedRef);
    for (let i = 0; i < ts.length; i++) {
      const want = gRef[i];
      if (!want) continue;
      expect(ts[i].grad, `${what}: gradient of input ${i}`).to.not.equal(null);
      await expectClose(ts[i].grad!, want, `${what}: gradient of input ${i}`, tol);
    }
  } finally {
    y?.dispose();
    seed?.dispose();
    for (const t of ts) t.dispose();
  }
}

export const fmtShape = (s: readonly number[]): string => `[${s.join(', ')}]`;
