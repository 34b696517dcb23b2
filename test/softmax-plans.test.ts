/**
 * The row-wise softmax plans ('workgroup' and 'thread', src/kernels/softmax.ts), each forced,
 * against a float64 reference on awkward shapes (one row, rows not a multiple of the workgroup,
 * rows longer than a workgroup, a softmax axis with inner > 1), forward and backward; and the
 * planner (softmax-plan.ts) against the committed A/B numbers of each CPU adapter kind
 * (bench/results/softmax-plans-<kind>.json, written by `npx tsx bench/softmax-plans.ts --out`).
 */
import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as kd from '../src/index.js';
import { runSoftmax, runSoftmaxBackward, type SoftmaxDims } from '../src/kernels/softmax.js';
import { planSoftmax, type SoftmaxPlan } from '../src/kernels/softmax-plan.js';
import { assertClose, randomValues, setup } from './helpers.js';

/** float64 softmax / log-softmax of [outer, L, inner] along L, and its gradient for upstream g. */
function reference(x: Float64Array, g: Float64Array, d: SoftmaxDims, log: boolean): { y: Float64Array; gx: Float64Array } {
  const y = new Float64Array(x.length);
  const gx = new Float64Array(x.length);
  for (let o = 0; o < d.outer; o++) {
    for (let i = 0; i < d.inner; i++) {
      const at = (j: number) => (o * d.L + j) * d.inner + i;
      let m = -Infinity;
      for (let j = 0; j < d.L; j++) m = Math.max(m, x[at(j)]);
      let s = 0;
      for (let j = 0; j < d.L; j++) s += Math.exp(x[at(j)] - m);
      for (let j = 0; j < d.L; j++) y[at(j)] = log ? x[at(j)] - m - Math.log(s) : Math.exp(x[at(j)] - m) / s;
      let dot = 0;
      for (let j = 0; j < d.L; j++) dot += log ? g[at(j)] : g[at(j)] * y[at(j)];
      for (let j = 0; j < d.L; j++) gx[at(j)] = log ? g[at(j)] - Math.exp(y[at(j)]) * dot : y[at(j)] * (g[at(j)] - dot);
    }
  }
  return { y, gx };
}

const SHAPES: SoftmaxDims[] = [
  { outer: 1, L: 10, inner: 1 },
  { outer: 3, L: 1, inner: 1 },
  { outer: 67, L: 10, inner: 1 },
  { outer: 5, L: 300, inner: 1 },
  { outer: 2, L: 7, inner: 13 },
];

describe('softmax plans: each plan forced matches float64', () => {
  let e: kd.Engine;
  before(async () => {
    e = await setup();
  });
  for (const plan of ['workgroup', 'thread'] as SoftmaxPlan[]) {
    for (const log of [false, true]) {
      for (const d of SHAPES) {
        it(`${plan} ${log ? 'logSoftmax' : 'softmax'} [${d.outer}, ${d.L}, ${d.inner}] forward and backward`, async () => {
          const n = d.outer * d.L * d.inner;
          const x64 = randomValues(n, 3 + d.L, -8, 8);
          const g64 = randomValues(n, 5 + d.outer, -1, 1);
          const x = kd.tensor(Float32Array.from(x64), [n]);
          const g = kd.tensor(Float32Array.from(g64), [n]);
          const ref = reference(Float64Array.from(Float32Array.from(x64)), Float64Array.from(Float32Array.from(g64)), d, log);
          const y = runSoftmax(e, x.bufferFor('test'), d, log, plan);
          const gx = runSoftmaxBackward(e, g.bufferFor('test'), y, d, log, plan);
          const [yv, gv] = [new Float32Array(await e.read(y, n * 4)), new Float32Array(await e.read(gx, n * 4))];
          e.pool.release(y);
          e.pool.release(gx);
          x.dispose();
          g.dispose();
          assertClose(yv, ref.y, { rtol: 1e-5, atol: 1e-6 }, 'forward');
          assertClose(gv, ref.gx, { rtol: 1e-4, atol: 1e-5 }, 'backward');
        });
      }
    }
  }
});

interface PlansFile {
  adapter: { kind: kd.AdapterKind };
  roundsPerRun: number;
  results: { L: number; rows: number; ms: Record<SoftmaxPlan, number>; planned: SoftmaxPlan }[];
}

const RESULTS = join(dirname(fileURLToPath(import.meta.url)), '..', 'bench', 'results');

describe('softmax plans follow the committed A/B numbers', () => {
  const files = readdirSync(RESULTS).filter((f) => /^softmax-plans-.*\.json$/.test(f));
  const load = (f: string) => JSON.parse(readFileSync(join(RESULTS, f), 'utf8')) as PlansFile;

  it('there are numbers for llvmpipe and SwiftShader', () => {
    expect(files.map((f) => load(f).adapter.kind).sort()).to.deep.equal(['llvmpipe', 'swiftshader']);
  });

  for (const f of files) {
    it(`${f}: for every measured (rows, L) the planner picks the faster plan`, () => {
      const r = load(f);
      for (const c of r.results) {
        const faster: SoftmaxPlan = c.ms.thread <= c.ms.workgroup ? 'thread' : 'workgroup';
        const planned = planSoftmax(c.L, c.rows, r.adapter.kind);
        // A tie — under 10% apart, or under 0.5 ms per forward + backward (dispatch overhead and
        // this machine's noise) — names no plan; either pick is right.
        const gap = Math.abs(c.ms.thread - c.ms.workgroup);
        const tie = gap < 0.1 * Math.min(c.ms.thread, c.ms.workgroup) || gap < 0.5 * r.roundsPerRun;
        if (!tie) expect(planned, `rows ${c.rows}, L ${c.L}: workgroup ${c.ms.workgroup} ms, thread ${c.ms.thread} ms`).to.equal(faster);
      }
    });
  }

  it('a planner that ignored the numbers would fail: all-workgroup is wrong for class logits on each CPU adapter', () => {
    for (const f of files) {
      const c = load(f).results.find((x) => x.L === 10 && x.rows === 256)!;
      expect(c.ms.workgroup, f).to.be.greaterThan(2 * c.ms.thread);
    }
  });
});
