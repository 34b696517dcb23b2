/**
 * Every plan the conv planner may pick (src/kernels/conv2d/plan.ts convCandidates: the direct
 * kernels' register tiles and the im2col + matmul weight gradient) against the float64 reference,
 * on awkward shapes: ragged row tiles, channel counts that are not multiples of the tiles, one
 * input channel (the first layer of the MNIST CNNs), padding and stride. Runs on llvmpipe (the
 * default) and SwiftShader (`npm run test:swiftshader`).
 */
import { expect } from 'chai';
import * as kd from '../src/index.js';
import { convCandidates, runConv2d, runConv2dGradInput, runConv2dGradWeight, type ConvTiles } from '../src/kernels/conv2d/index.js';
import { cpuConv, cpuGrads, geo } from './conv2d-reference.js';
import { absArr, assertWithinScale, randomValues, setup } from './helpers.js';

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const label = (t: ConvTiles) => (t.weightGemm ? 'im2col + matmul' : `TP ${t.TP} TO ${t.TO} / TOW ${t.TOW} TCW ${t.TCW} TPW ${t.TPW}`);

describe('conv2d: every candidate plan against the float64 reference', function () {
  this.timeout(600_000);
  before(setup);

  const cases: [string, number[], number[], kd.Conv2dOptions][] = [
    ['1 → 20 channels, 3×3, 30 wide (ragged row tiles)', [3, 1, 12, 30], [20, 1, 3, 3], {}],
    ['7 → 18 channels, 3×3, padding 1, 17 wide', [2, 7, 9, 17], [18, 7, 3, 3], { padding: 1 }],
    ['20 → 5 channels, 3×3, stride 2, 13×13', [3, 20, 13, 13], [5, 20, 3, 3], { stride: 2 }],
  ];
  for (const [name, xs, ws, opts] of cases) {
    it(name, async () => {
      const e = kd.engine();
      const p = kd.planConv2d(xs, ws, [ws[0]], opts);
      const g = geo(p);
      const x = randomValues(size(xs), 31);
      const w = randomValues(size(ws), 32);
      const b = randomValues(ws[0], 33);
      const dy = randomValues(size(p.outShape), 34);
      const yRef = cpuConv(g, x, w, b);
      const yScale = cpuConv(g, absArr(x), absArr(w), absArr(b));
      const ref = cpuGrads(g, x, w, dy);
      const scale = cpuGrads(g, absArr(x), absArr(w), absArr(dy));
      const [xt, wt, bt, dyt] = [
        [x, xs],
        [w, ws],
        [b, [ws[0]]],
        [dy, [...p.outShape]],
      ].map(([v, s]) => kd.tensor(Float32Array.from(v as Float64Array), s as number[]));
      const [xb, wb, bb, dyb] = [xt, wt, bt, dyt].map((t) => t.bufferFor('test'));
      const read = async (buf: ReturnType<typeof runConv2d>, n: number) => {
        const out = new Float32Array(await e.read(buf, n * 4));
        e.pool.release(buf);
        return out;
      };
      let checked = 0;
      for (const t of convCandidates('fwd')) {
        const y = await read(runConv2d(e, xb, wb, p, { bias: bb }, t), yRef.length);
        assertWithinScale(y, yRef, yScale, `y (${label(t)})`);
        const dx = await read(runConv2dGradInput(e, dyb, wb, p, t), x.length);
        assertWithinScale(dx, ref.dx, scale.dx, `∂x (${label(t)})`);
        checked++;
      }
      for (const t of convCandidates('dw')) {
        const dw = await read(runConv2dGradWeight(e, xb, dyb, p, t), w.length);
        assertWithinScale(dw, ref.dw, scale.dw, `∂w (${label(t)})`);
        checked++;
      }
      expect(checked).to.equal(convCandidates('fwd').length + convCandidates('dw').length);
      for (const t of [xt, wt, bt, dyt]) t.dispose();
    });
  }
});
