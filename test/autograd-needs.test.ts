/**
 * Backward computes only the gradients some input needs: a first layer's input (data, no
 * requiresGrad) gets no input-gradient GEMM from linear or matmul — that GEMM is as large as the
 * forward's. Counted by the matmul dispatches of backward; the gradients that are computed are
 * checked against a float64 reference.
 */
import { expect } from 'chai';
import * as kd from '../src/index.js';
import type { Kernel } from '../src/gpu/engine.js';
import { assertClose, randomValues, setup } from './helpers.js';

/** Names of the kernels `fn` dispatches. */
function dispatchedNames(e: kd.Engine, fn: () => void): string[] {
  const seen: string[] = [];
  const original = e.dispatch;
  e.dispatch = function (this: kd.Engine, k: Kernel, ...rest: unknown[]) {
    seen.push(k.name);
    return (original as (...a: unknown[]) => void).call(this, k, ...rest);
  } as typeof e.dispatch;
  try {
    fn();
  } finally {
    e.dispatch = original;
  }
  return seen;
}

describe('backward skips the gradients no input needs', () => {
  let e: kd.Engine;
  before(async () => {
    e = await setup();
  });

  const [N, I, O] = [5, 7, 3];
  const x64 = randomValues(N * I, 1);
  const w64 = randomValues(O * I, 2);
  const b64 = randomValues(O, 3);
  /** float64: d(sum(x·Wᵀ + b))/dW = column sums of x per output row; /db = N; /dx = row sums of W. */
  const refW = Float64Array.from({ length: O * I }, (_, k) => {
    let s = 0;
    for (let n = 0; n < N; n++) s += Math.fround(x64[n * I + (k % I)]);
    return s;
  });
  const refX = Float64Array.from({ length: N * I }, (_, k) => {
    let s = 0;
    for (let o = 0; o < O; o++) s += Math.fround(w64[o * I + (k % I)]);
    return s;
  });

  for (const xNeedsGrad of [false, true]) {
    for (const op of ['linear', 'matmul'] as const) {
      it(`${op}: input ${xNeedsGrad ? 'with' : 'without'} requiresGrad → ${xNeedsGrad ? 2 : 1} matmul dispatch${xNeedsGrad ? 'es' : ''} in backward`, async () => {
        const x = kd.tensor(Float32Array.from(x64), [N, I], { requiresGrad: xNeedsGrad });
        const w = kd.tensor(Float32Array.from(w64), [O, I], { requiresGrad: true });
        const b = kd.tensor(Float32Array.from(b64), [O], { requiresGrad: true });
        const loss = kd.sum(op === 'linear' ? kd.linear(x, w, b) : kd.matmul(x, w, { transB: true }));
        const names = dispatchedNames(e, () => loss.backward());
        expect(names.filter((n) => n.startsWith('matmul')), names.join(', ')).to.have.length(xNeedsGrad ? 2 : 1);
        assertClose(await w.grad!.data(), refW, { rtol: 1e-5, atol: 1e-5 }, 'dW');
        if (xNeedsGrad) assertClose(await x.grad!.data(), refX, { rtol: 1e-5, atol: 1e-5 }, 'dx');
        else expect(x.grad).to.equal(null);
        if (op === 'linear') expect(Array.from(await b.grad!.data())).to.deep.equal([N, N, N]);
        for (const t of [x, w, b, loss]) t.dispose();
      });
    }
  }
});
