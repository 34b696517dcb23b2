import { expect } from 'chai';
import * as kd from '../src/index.js';
import { convTiles, runConv2d, runConv2dGradInput, runConv2dGradWeight } from '../src/kernels/conv2d/index.js';
import { MAX_COLS_BYTES, planWeightGemm, runConv2dGradWeightGemm } from '../src/kernels/conv2d/index.js';
import { loadFixture, type Fixture } from './fixtures.js';
import { absArr, assertWithinScale, randomValues, setup } from './helpers.js';

import { cpuConv, cpuGrads, geo } from './conv2d-reference.js';

// ---- cases -----------------------------------------------------------------------------------

async function runCase(
  x: Float32Array,
  xShape: number[],
  w: Float32Array,
  wShape: number[],
  b: Float32Array,
  dy: Float32Array,
  opts: kd.Conv2dOptions,
) {
  const xt = kd.tensor(x, xShape, { requiresGrad: true });
  const wt = kd.tensor(w, wShape, { requiresGrad: true });
  const bt = kd.tensor(b, [wShape[0]], { requiresGrad: true });
  const y = kd.conv2d(xt, wt, bt, opts);
  y.backward(kd.tensor(dy, y.shape));
  const out = {
    shape: [...y.shape],
    y: await y.data(),
    dx: await xt.grad!.data(),
    dw: await wt.grad!.data(),
    db: await bt.grad!.data(),
  };
  for (const t of [xt, wt, bt, y]) t.dispose();
  return out;
}

describe('conv2d', function () {
  this.timeout(120_000);
  let fx: Fixture;
  before(async () => {
    await setup();
    fx = loadFixture('conv2d.safetensors');
  });

  describe('matches PyTorch (fixtures from make_conv_fixtures.py; |diff| ≤ 1e-4·Σ|products|)', () => {
    const names = [
      'teacher1_b1',
      'teacher1_b7_relu',
      'teacher2_b1',
      'stride2_pad1',
      'same_k4',
      'same_k4_stride2',
      'dilation2',
      'k1x1',
      'k5_9x11',
      'c3_128_32x32',
      'mixed_pairs',
    ];
    for (const name of names) {
      it(name, async () => {
        const opts = JSON.parse(fx.meta[name]) as kd.Conv2dOptions;
        const t = (k: string) => fx.get(`${name}.${k}`);
        const r = await runCase(
          t('x').data as Float32Array,
          t('x').shape,
          t('w').data as Float32Array,
          t('w').shape,
          t('b').data as Float32Array,
          t('dy').data as Float32Array,
          opts,
        );
        expect(r.shape).to.deep.equal(t('y').shape);
        assertWithinScale(r.y, t('y').data, t('sy').data, `${name} forward`);
        assertWithinScale(r.dx, t('dx').data, t('sdx').data, `${name} ∂x`);
        assertWithinScale(r.dw, t('dw').data, t('sdw').data, `${name} ∂w`);
        assertWithinScale(r.db, t('db').data, t('sdb').data, `${name} ∂bias`);
      });
    }
  });

  describe('matches a float64 CPU reference (its gradient checked by finite differences)', () => {
    const tiny: [string, number[], number[], kd.Conv2dOptions][] = [
      ['odd sizes, stride [2, 3], padding [1, 2], dilation [2, 1]', [2, 3, 7, 9], [5, 3, 3, 2], { stride: [2, 3], padding: [1, 2], dilation: [2, 1] }],
      ["'same', 2×4 kernel, stride 3 (TensorFlow's asymmetric padding)", [1, 2, 5, 7], [3, 2, 2, 4], { stride: 3, padding: 'same' }],
      ['padding larger than the kernel', [1, 1, 3, 2], [2, 1, 2, 2], { padding: 3 }],
    ];
    for (const [label, xs, ws, opts] of tiny) {
      it(label, async () => {
        const p = kd.planConv2d(xs, ws, [ws[0]], opts);
        const g = geo(p);
        const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
        const x = randomValues(size(xs), 1);
        const w = randomValues(size(ws), 2);
        const b = randomValues(ws[0], 3);
        const dy = randomValues(size(p.outShape), 4);
        const y = cpuConv(g, x, w, b);
        const { dx, dw, db } = cpuGrads(g, x, w, dy);
        // The reference gradient against central differences of L = Σ y·dy (float64, exact up to
        // rounding since L is linear in each input).
        const loss = (xv: ArrayLike<number>, wv: ArrayLike<number>, bv: ArrayLike<number>) =>
          cpuConv(g, xv, wv, bv).reduce((s, v, i) => s + v * dy[i], 0);
        const h = 1e-3;
        for (const [arr, grad, which] of [
          [x, dx, 'x'],
          [w, dw, 'w'],
          [b, db, 'b'],
        ] as const) {
          for (let i = 0; i < arr.length; i++) {
            const plus = Float64Array.from(arr);
            const minus = Float64Array.from(arr);
            plus[i] += h;
            minus[i] -= h;
            const args = (v: Float64Array) => (which === 'x' ? [v, w, b] : which === 'w' ? [x, v, b] : [x, w, v]) as [Float64Array, Float64Array, Float64Array];
            const fd = (loss(...args(plus)) - loss(...args(minus))) / (2 * h);
            expect(Math.abs(fd - grad[i]), `finite difference of ∂${which}[${i}]`).to.be.below(1e-9 * (1 + Math.abs(grad[i])));
          }
        }
        const r = await runCase(Float32Array.from(x), xs, Float32Array.from(w), ws, Float32Array.from(b), Float32Array.from(dy), opts);
        expect(r.shape).to.deep.equal(p.outShape);
        const sy = cpuConv(g, absArr(x), absArr(w), absArr(b));
        const s = cpuGrads(g, absArr(x), absArr(w), absArr(dy));
        assertWithinScale(r.y, y, sy, 'forward');
        assertWithinScale(r.dx, dx, s.dx, '∂x');
        assertWithinScale(r.dw, dw, s.dw, '∂w');
        assertWithinScale(r.db, db, s.db, '∂bias');
      });
    }
  });

  describe('subgroup sharing of loads (forward, input and weight gradients) [needs subgroups]', () => {
    // Run where the adapter has subgroups (`npm run test:swiftshader`); elsewhere both paths would be plain.
    before(() => expect(kd.engine().subgroups, 'this adapter has no subgroups').to.equal(true));
    // On a device with subgroups (SwiftShader here) every test above runs the forward and
    // input-gradient kernels with their weight loads shared across a subgroup. The plain kernels
    // do the same arithmetic in the same order, so the two must agree bit for bit; this also keeps
    // the plain path (GPUs without subgroups) tested.
    const cases: [string, number[], number[], kd.Conv2dOptions][] = [
      ['3×3, 27 wide (as the teacher\'s first layer), 65 tiles', [5, 3, 13, 27], [20, 3, 3, 3], {}],
      ['stride 2, padding 1, 5 output channels', [2, 4, 9, 11], [5, 4, 3, 3], { stride: 2, padding: 1 }],
      ['dilation 2, 1×3 kernel, batch 1', [1, 2, 7, 8], [6, 2, 1, 3], { dilation: 2 }],
      // 33 input channels: 5 channel blocks of 8 for the weight gradient, so its second subgroup
      // has three lanes past the last block; padding 1 takes the masked path.
      ['33 → 10 channels, padding 1 (weight gradient in subgroups, ragged)', [2, 33, 7, 9], [10, 33, 3, 3], { padding: 1 }],
      ['32 → 64 channels, 13×13 (mnist-cnn-small\'s second layer)', [3, 32, 13, 13], [64, 32, 3, 3], {}],
    ];
    for (const [label, xs, ws, opts] of cases) {
      it(label, async () => {
        const e = kd.engine();
        const plan = kd.planConv2d(xs, ws, [ws[0]], opts);
        const size = (sh: number[]) => sh.reduce((a, b) => a * b, 1);
        const x = kd.tensor(Float32Array.from(randomValues(size(xs), 11)), xs);
        const w = kd.tensor(Float32Array.from(randomValues(size(ws), 12)), ws);
        const bias = kd.tensor(Float32Array.from(randomValues(ws[0], 13)), [ws[0]]);
        const dy = kd.tensor(Float32Array.from(randomValues(size(plan.outShape), 14)), plan.outShape);
        const read = async (buf: ReturnType<typeof e.pool.acquire>, n: number) => {
          const v = new Float32Array(await e.read(buf, n * 4));
          e.pool.release(buf);
          return v;
        };
        const results: Float32Array[][] = [];
        for (const subgroups of [true, false]) {
          const tiles = { ...convTiles, subgroups };
          const y = runConv2d(e, x.bufferFor('test'), w.bufferFor('test'), plan, { bias: bias.bufferFor('test'), activation: 'relu' }, tiles);
          const dx = runConv2dGradInput(e, dy.bufferFor('test'), w.bufferFor('test'), plan, tiles);
          const dw = runConv2dGradWeight(e, x.bufferFor('test'), dy.bufferFor('test'), plan, tiles);
          results.push([await read(y, size(plan.outShape)), await read(dx, size(xs)), await read(dw, size(ws))]);
        }
        expect(results[0][0].some((v) => v !== 0), 'forward output is not all zero').to.equal(true);
        expect(Buffer.from(results[0][0].buffer).equals(Buffer.from(results[1][0].buffer)), 'forward: subgroup = plain').to.equal(true);
        expect(Buffer.from(results[0][1].buffer).equals(Buffer.from(results[1][1].buffer)), 'input gradient: subgroup = plain').to.equal(true);
        expect(Buffer.from(results[0][2].buffer).equals(Buffer.from(results[1][2].buffer)), 'weight gradient: subgroup = plain').to.equal(true);
        for (const t of [x, w, bias, dy]) t.dispose();
      });
    }
  });

  describe('weight gradient through im2col and a batched matmul (conv2d-weight-gemm.ts)', () => {
    // Forced on (and, for comparison, off) whatever the adapter: against the float64 reference,
    // on geometries with padding masks, strides, dilation, odd pixel counts (padded images in the
    // last chunk), several chunks, few output channels (the matmul planner's tile) and batch 1.
    const cases: [string, number[], number[], kd.Conv2dOptions][] = [
      ['32 → 64 channels, 13×13, batch 3 (mnist-cnn-small\'s second layer; 121 pixels: a padded image)', [3, 32, 13, 13], [64, 32, 3, 3], {}],
      ['stride 2, padding 1, dilation [2, 1], 5×3 kernel, 5 output channels', [2, 3, 11, 9], [5, 3, 5, 3], { stride: 2, padding: 1, dilation: [2, 1] }],
      ["'same', 4×4 kernel, stride 2 (asymmetric padding), batch 5", [5, 6, 9, 10], [20, 6, 4, 4], { stride: 2, padding: 'same' }],
      ['1×1 kernel, batch 1', [1, 7, 5, 3], [9, 7, 1, 1], {}],
      ['53 images of 11×11 outputs: two chunks of 28, three padding images', [53, 4, 13, 13], [16, 4, 3, 3], {}],
      ['25 images of 18×18 outputs: two chunks of 13', [25, 3, 20, 20], [17, 3, 3, 3], {}],
    ];
    for (const [label, xs, ws, opts] of cases) {
      it(label, async () => {
        const e = kd.engine();
        const p = kd.planConv2d(xs, ws, [ws[0]], opts);
        const size = (sh: number[]) => sh.reduce((a, b) => a * b, 1);
        const x = randomValues(size(xs), 21);
        const w = randomValues(size(ws), 22);
        const dy = randomValues(size(p.outShape), 23);
        const plan = planWeightGemm(p, true, true);
        expect(plan, 'a GEMM plan').to.not.equal(null);
        expect((plan!.nb * p.OH * p.OW) % 4, 'pixels per chunk').to.equal(0);
        expect(plan!.chunks * plan!.nb).to.be.at.least(p.N);
        expect((plan!.chunks - 1) * plan!.nb).to.be.below(p.N);
        const xt = kd.tensor(Float32Array.from(x), xs);
        const dyt = kd.tensor(Float32Array.from(dy), p.outShape);
        const got: Float32Array[] = [];
        for (const weightGemm of [true, false]) {
          const dw = runConv2dGradWeight(e, xt.bufferFor('test'), dyt.bufferFor('test'), p, { ...convTiles, weightGemm });
          got.push(new Float32Array(await e.read(dw, size(ws) * 4)));
          e.pool.release(dw);
        }
        const g = geo(p);
        const ref = cpuGrads(g, x, w, dy).dw;
        const scale = cpuGrads(g, absArr(x), absArr(w), absArr(dy)).dw;
        assertWithinScale(got[0], ref, scale, '∂w (im2col + matmul)');
        assertWithinScale(got[1], ref, scale, '∂w (direct kernel)');
        xt.dispose();
        dyt.dispose();
      });
    }

    it('runs in groups of chunks when the im2col buffer would pass its cap', async () => {
      // 200 images of 121 pixels: 6 chunks of 36 images (a multiple of 4, for 4-aligned pixel
      // counts; 16 padding images); a cap of 80 images' im2col makes 3 groups of 2 chunks, each
      // adding its sum to the result.
      const xs = [200, 4, 13, 13];
      const ws = [16, 4, 3, 3];
      const e = kd.engine();
      const p = kd.planConv2d(xs, ws, [ws[0]], {});
      const imageBytes = p.OH * p.OW * 36 * 4;
      const plan = planWeightGemm(p, true, true, 80 * imageBytes)!;
      expect(plan).to.deep.equal({ nb: 36, chunks: 6, groupChunks: 2 });
      // A cap below one chunk: chunks of fewer images, one per group.
      expect(planWeightGemm(p, true, true, 9 * imageBytes)).to.deep.equal({ nb: 8, chunks: 25, groupChunks: 1 });
      const size = (sh: number[]) => sh.reduce((a, b) => a * b, 1);
      const x = randomValues(size(xs), 31);
      const w = randomValues(size(ws), 32);
      const dy = randomValues(size(p.outShape), 33);
      const xt = kd.tensor(Float32Array.from(x), xs);
      const dyt = kd.tensor(Float32Array.from(dy), p.outShape);
      const dw = runConv2dGradWeightGemm(e, xt.bufferFor('test'), dyt.bufferFor('test'), p, plan);
      const got = new Float32Array(await e.read(dw, size(ws) * 4));
      e.pool.release(dw);
      const g = geo(p);
      assertWithinScale(got, cpuGrads(g, x, w, dy).dw, cpuGrads(g, absArr(x), absArr(w), absArr(dy)).dw, '∂w (3 groups of 2 chunks)');
      xt.dispose();
      dyt.dispose();
    });

    it('is chosen only on CPU adapters, for wide layers, with chunks that fit the cap', () => {
      const at = (xs: number[], ws: number[]) => kd.planConv2d(xs, ws, [ws[0]], {});
      const wide = at([256, 32, 13, 13], [64, 32, 3, 3]);
      expect(planWeightGemm(wide, true)).to.deep.equal({ nb: 32, chunks: 8, groupChunks: 8 });
      expect(planWeightGemm(wide, false), 'GPU adapter').to.equal(null);
      expect(planWeightGemm(wide, true, false), 'forced off').to.equal(null);
      expect(planWeightGemm(at([256, 1, 28, 28], [32, 1, 3, 3]), true), 'C·KH·KW = 9').to.equal(null);
      expect(planWeightGemm(at([8, 32, 13, 13], [8, 32, 3, 3]), true), '8 output channels').to.equal(null);
      // The teacher's second layer at batch 256: 170 MB of im2col in all, so groups within the cap.
      const teacher = at([256, 32, 26, 26], [64, 32, 3, 3]);
      const t = planWeightGemm(teacher, true)!;
      expect(t.chunks * t.nb).to.be.at.least(256);
      expect(t.groupChunks * t.nb * 24 * 24 * 288 * 4).to.be.at.most(MAX_COLS_BYTES);
      expect(t.groupChunks).to.be.below(t.chunks);
      // One image of 128² pixels × 256·9 values is 151 MB: past the cap even when forced.
      expect(planWeightGemm(at([1, 256, 130, 130], [256, 256, 3, 3]), true, true)).to.equal(null);
    });
  });

  describe('options', () => {
    it("resolves 'same' with TensorFlow's rule and 'valid', pairs and numbers", () => {
      const same = kd.planConv2d([1, 1, 9, 8], [1, 1, 4, 4], null, { padding: 'same', stride: 2 });
      expect([same.OH, same.OW, same.padTop, same.padBottom, same.padLeft, same.padRight]).to.deep.equal([5, 4, 1, 2, 1, 1]);
      const same1 = kd.planConv2d([1, 1, 6, 6], [1, 1, 2, 2], null, { padding: 'same' });
      expect([same1.OH, same1.OW, same1.padTop, same1.padBottom]).to.deep.equal([6, 6, 0, 1]);
      const valid = kd.planConv2d([1, 1, 9, 8], [1, 1, 3, 3], null, { padding: 'valid' });
      expect(valid.outShape).to.deep.equal([1, 1, 7, 6]);
      const p = kd.planConv2d([1, 1, 9, 8], [1, 1, 3, 3], null, { padding: [1, 0], stride: [2, 1], dilation: [1, 2] });
      expect(p.outShape).to.deep.equal([1, 1, 5, 4]);
      // PyTorch floors: (10 + 2 − 3) / 2 + 1 = 5
      expect(kd.planConv2d([1, 1, 10, 10], [1, 1, 3, 3], null, { stride: 2, padding: 1 }).outShape).to.deep.equal([1, 1, 5, 5]);
    });

    it('works without a bias, with ReLU fused, and skips gradients nobody needs', async () => {
      const x = kd.tensor(Float32Array.from(randomValues(2 * 3 * 6 * 5, 5)), [2, 3, 6, 5]);
      const wv = randomValues(4 * 3 * 3 * 3, 6);
      const w = kd.tensor(Float32Array.from(wv), [4, 3, 3, 3], { requiresGrad: true });
      const y = kd.conv2d(x, w, null, { padding: 1, relu: true });
      const g = geo(kd.planConv2d(x.shape, w.shape, null, { padding: 1 }));
      const xv = await x.data();
      const ref = cpuConv(g, xv, wv, new Float64Array(4));
      const sy = cpuConv(g, absArr(xv), absArr(wv), new Float64Array(4));
      assertWithinScale(await y.data(), ref.map((v) => Math.max(v, 0)), sy, 'relu forward');
      const dy = randomValues(y.size, 7);
      y.backward(kd.tensor(Float32Array.from(dy), y.shape));
      expect(x.grad).to.equal(null);
      const masked = Float64Array.from(dy, (v, i) => (ref[i] > 0 ? v : 0));
      const { dw } = cpuGrads(g, xv, wv, masked);
      const s = cpuGrads(g, absArr(xv), absArr(wv), absArr(masked));
      assertWithinScale(await w.grad!.data(), dw, s.dw, 'relu ∂w');
    });

    it('handles an empty batch', async () => {
      const x = kd.zeros([0, 2, 5, 5]);
      const w = kd.ones([3, 2, 3, 3], { requiresGrad: true });
      const y = kd.conv2d(x, w, null);
      expect(y.shape).to.deep.equal([0, 3, 3, 3]);
      y.sum().backward();
      expect(Array.from(await w.grad!.data())).to.deep.equal(new Array(54).fill(0));
    });
  });

  describe('rejects bad input with errors naming conv2d, the shapes and what was expected', () => {
    const x = () => kd.zeros([2, 3, 8, 8]);
    const w = () => kd.zeros([4, 3, 3, 3]);
    const cases: [string, () => unknown, RegExp[]][] = [
      ['channel mismatch', () => kd.conv2d(x(), kd.zeros([4, 2, 3, 3])), [/conv2d/, /\[2, 3, 8, 8\]/, /\[4, 2, 3, 3\]/, /expects 2 input channels/]],
      ['kernel larger than the padded input', () => kd.conv2d(kd.zeros([1, 3, 4, 4]), kd.zeros([2, 3, 5, 5])), [/conv2d/, /\[1, 3, 4, 4\]/, /5×5/, /larger than the padded input 4×4/, /expected an output of at least 1×1/]],
      ['kernel larger than the padded input (dilation)', () => kd.conv2d(kd.zeros([1, 3, 6, 6]), w(), null, { dilation: 3 }), [/conv2d/, /effective 7×7/, /padded input 6×6/]],
      ['input of rank 3', () => kd.conv2d(kd.zeros([3, 8, 8]), w()), [/conv2d/, /\[3, 8, 8\]/, /4-D \[batch, channels, height, width\]/]],
      ['weight of rank 2', () => kd.conv2d(x(), kd.zeros([4, 27])), [/conv2d/, /\[4, 27\]/, /4-D \[outChannels, inChannels, kernelH, kernelW\]/]],
      ['bias of the wrong size', () => kd.conv2d(x(), w(), kd.zeros([3])), [/conv2d/, /bias \[3\]/, /\[4, 3, 3, 3\]/, /expected \[4\]/]],
      ['int32 input', () => kd.conv2d(kd.zeros([2, 3, 8, 8], { dtype: 'int32' }), w()), [/conv2d/, /int32 input/, /\[2, 3, 8, 8\]/, /float32/]],
      ['int32 weight', () => kd.conv2d(x(), kd.zeros([4, 3, 3, 3], { dtype: 'int32' })), [/conv2d/, /int32 weight/, /float32/]],
      ['zero stride', () => kd.conv2d(x(), w(), null, { stride: 0 }), [/conv2d/, /stride/, /positive integers/, /got 0/, /\[2, 3, 8, 8\]/]],
      ['fractional stride', () => kd.conv2d(x(), w(), null, { stride: [1, 1.5] }), [/conv2d/, /stride/, /positive integers/, /\[1,1.5\]/]],
      ['negative padding', () => kd.conv2d(x(), w(), null, { padding: -1 }), [/conv2d/, /padding/, /non-negative integers/, /\[4, 3, 3, 3\]/]],
      ['fractional padding', () => kd.conv2d(x(), w(), null, { padding: 0.5 }), [/conv2d/, /padding/, /non-negative integers/]],
      ['unknown padding mode', () => kd.conv2d(x(), w(), null, { padding: 'full' as 'same' }), [/conv2d/, /padding/, /'valid' or 'same'/, /'full'/]],
      ['zero dilation', () => kd.conv2d(x(), w(), null, { dilation: [1, 0] }), [/conv2d/, /dilation/, /positive integers/]],
      ['groups not dividing the channels', () => kd.conv2d(x(), w(), null, { groups: 3 }), [/conv2d/, /groups = 3/, /must divide/, /\[2, 3, 8, 8\]/]],
    ];
    for (const [label, fn, patterns] of cases) {
      it(label, () => {
        let err: unknown;
        try {
          fn();
        } catch (e) {
          err = e;
        }
        expect(err, 'expected an Error').to.be.instanceOf(Error);
        for (const re of patterns) expect((err as Error).message).to.match(re);
      });
    }

    it('a disposed input', () => {
      const t = x();
      t.dispose();
      expect(() => kd.conv2d(t, w())).to.throw(Error, /conv2d.*disposed/);
    });
  });
});
