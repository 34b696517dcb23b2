import { expect } from 'chai';
import * as kd from '../src/index.js';
import { runConv2dGradBias } from '../src/kernels/conv2d/index.js';
import {
  groupedConvTiles,
  runGroupedConv2d,
  runGroupedConv2dGradInput,
  runGroupedConv2dGradWeight,
  type GroupedConvTiles,
} from '../src/kernels/conv2d/index.js';
import { loadFixture, type Fixture } from './fixtures.js';
import { absArr, assertWithinScale, expectThrow, randomValues, setup } from './helpers.js';

const { nn } = kd;

// ---- float64 CPU reference -------------------------------------------------------------------

type Activation = 'relu' | 'relu6' | undefined;

/** Calls f(yIndex, xIndex, wIndex) for every product of the grouped convolution. */
function forEachProduct(p: kd.Conv2dPlan, f: (yi: number, xi: number, wi: number) => void): void {
  const Cg = p.C / p.groups;
  const Og = p.O / p.groups;
  for (let n = 0; n < p.N; n++)
    for (let o = 0; o < p.O; o++) {
      const grp = Math.floor(o / Og);
      for (let oh = 0; oh < p.OH; oh++)
        for (let ow = 0; ow < p.OW; ow++) {
          const yi = ((n * p.O + o) * p.OH + oh) * p.OW + ow;
          for (let cl = 0; cl < Cg; cl++)
            for (let kh = 0; kh < p.KH; kh++)
              for (let kw = 0; kw < p.KW; kw++) {
                const ih = oh * p.strideH + kh * p.dilationH - p.padTop;
                const iw = ow * p.strideW + kw * p.dilationW - p.padLeft;
                if (ih < 0 || ih >= p.H || iw < 0 || iw >= p.W) continue;
                f(yi, ((n * p.C + grp * Cg + cl) * p.H + ih) * p.W + iw, ((o * Cg + cl) * p.KH + kh) * p.KW + kw);
              }
        }
    }
}

/** The pre-activation output z = conv(x, w) + b. */
function cpuConv(p: kd.Conv2dPlan, x: ArrayLike<number>, w: ArrayLike<number>, b: ArrayLike<number> | null): Float64Array {
  const y = new Float64Array(p.N * p.O * p.OH * p.OW);
  if (b) for (let i = 0; i < y.length; i++) y[i] = b[Math.floor(i / (p.OH * p.OW)) % p.O];
  forEachProduct(p, (yi, xi, wi) => (y[yi] += x[xi] * w[wi]));
  return y;
}

function cpuGrads(p: kd.Conv2dPlan, x: ArrayLike<number>, w: ArrayLike<number>, dz: ArrayLike<number>) {
  const dx = new Float64Array(x.length);
  const dw = new Float64Array(w.length);
  const db = new Float64Array(p.O);
  for (let i = 0; i < dz.length; i++) db[Math.floor(i / (p.OH * p.OW)) % p.O] += dz[i];
  forEachProduct(p, (yi, xi, wi) => {
    dx[xi] += dz[yi] * w[wi];
    dw[wi] += dz[yi] * x[xi];
  });
  return { dx, dw, db };
}

const act = (a: Activation, v: number): number => (a === 'relu' ? Math.max(v, 0) : a === 'relu6' ? Math.min(Math.max(v, 0), 6) : v);
/** The activation's derivative at the pre-activation z (0 at the kinks, as PyTorch). */
const actMask = (a: Activation, z: number): number => (a === 'relu' ? +(z > 0) : a === 'relu6' ? +(z > 0 && z < 6) : 1);
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

interface Result {
  shape: number[];
  y: Float32Array;
  dx: Float32Array;
  dw: Float32Array;
  db: Float32Array | null;
}

async function runCase(x: Float32Array, xShape: number[], w: Float32Array, wShape: number[], b: Float32Array | null, dy: Float32Array, opts: kd.Conv2dOptions): Promise<Result> {
  const xt = kd.tensor(x, xShape, { requiresGrad: true });
  const wt = kd.tensor(w, wShape, { requiresGrad: true });
  const bt = b ? kd.tensor(b, [wShape[0]], { requiresGrad: true }) : null;
  const y = kd.conv2d(xt, wt, bt, opts);
  y.backward(kd.tensor(dy, y.shape));
  const out: Result = {
    shape: [...y.shape],
    y: (await y.data()) as Float32Array,
    dx: (await xt.grad!.data()) as Float32Array,
    dw: (await wt.grad!.data()) as Float32Array,
    db: bt ? ((await bt.grad!.data()) as Float32Array) : null,
  };
  for (const t of [xt, wt, bt, y]) t?.dispose();
  return out;
}

/** Runs a case on the GPU and checks it against the float64 CPU reference. */
async function checkAgainstCpu(xs: number[], ws: number[], opts: kd.Conv2dOptions, withBias: boolean, seed: number, xScale = 1): Promise<void> {
  const p = kd.planConv2d(xs, ws, withBias ? [ws[0]] : null, opts);
  const a: Activation = opts.relu ? 'relu' : opts.relu6 ? 'relu6' : undefined;
  const x = randomValues(size(xs), seed, -xScale, xScale);
  const w = randomValues(size(ws), seed + 1);
  const b = withBias ? randomValues(ws[0], seed + 2) : null;
  const dy = randomValues(size(p.outShape), seed + 3);
  const z = cpuConv(p, x, w, b);
  const dz = dy.map((v, i) => v * actMask(a, z[i]));
  const ref = cpuGrads(p, x, w, dz);
  const sz = cpuConv(p, absArr(x), absArr(w), b && absArr(b));
  const s = cpuGrads(p, absArr(x), absArr(w), absArr(dz));
  const r = await runCase(Float32Array.from(x), xs, Float32Array.from(w), ws, b && Float32Array.from(b), Float32Array.from(dy), opts);
  expect(r.shape).to.deep.equal(p.outShape);
  assertWithinScale(r.y, z.map((v) => act(a, v)), sz, 'forward');
  assertWithinScale(r.dx, ref.dx, s.dx, '∂x');
  assertWithinScale(r.dw, ref.dw, s.dw, '∂w');
  if (b) assertWithinScale(r.db!, ref.db, s.db, '∂bias');
}

describe('conv2d with groups (grouped and depthwise)', function () {
  this.timeout(300_000);
  let fx: Fixture;
  before(async () => {
    await setup();
    fx = loadFixture('conv2d_grouped.safetensors');
  });

  describe('matches PyTorch (fixtures from make_grouped_conv_fixtures.py; |diff| ≤ 1e-4·Σ|products|)', () => {
    const names = [
      'dw3_s1_p1_7x9_b1',
      'dw3_s2_p1_13x13_b3',
      'dw3_s1_p1_1x1_b3',
      'dw3_s2_p1_1x1',
      'dw3_s1_p1_17x19_relu6',
      'dw3_s2_p1_16x16_relu6',
      'dw3_mult2_relu',
      'dw5_nobias_relu',
      'dw3_dilation2',
      'dw4_same_s2',
      'dw3_valid_s2_mult3',
      'g2_k3_relu',
      'g3_k5_s2',
      'g3_k1x3_nobias',
      'g4_mixed_relu6',
    ];
    it('has every case of the fixture file', () => {
      expect(Object.keys(fx.meta).sort()).to.deep.equal([...names].sort());
    });
    for (const name of names) {
      it(name, async () => {
        const { bias, ...opts } = JSON.parse(fx.meta[name]) as kd.Conv2dOptions & { bias?: boolean };
        const t = (k: string) => fx.get(`${name}.${k}`);
        const withBias = bias !== false;
        const r = await runCase(
          t('x').data as Float32Array,
          t('x').shape,
          t('w').data as Float32Array,
          t('w').shape,
          withBias ? (t('b').data as Float32Array) : null,
          t('dy').data as Float32Array,
          opts,
        );
        expect(r.shape).to.deep.equal(t('y').shape);
        assertWithinScale(r.y, t('y').data, t('sy').data, `${name} forward`);
        assertWithinScale(r.dx, t('dx').data, t('sdx').data, `${name} ∂x`);
        assertWithinScale(r.dw, t('dw').data, t('sdw').data, `${name} ∂w`);
        if (withBias) assertWithinScale(r.db!, t('db').data, t('sdb').data, `${name} ∂bias`);
      });
    }
  });

  describe('matches a float64 CPU reference', () => {
    it('the reference gradient agrees with finite differences (depthwise ×2, stride 2, ReLU6)', () => {
      const xs = [1, 2, 5, 4];
      const ws = [4, 1, 3, 2];
      const opts: kd.Conv2dOptions = { groups: 2, stride: 2, padding: 1, relu6: true };
      const p = kd.planConv2d(xs, ws, [4], opts);
      const x = randomValues(size(xs), 11, -8, 8);
      const w = randomValues(size(ws), 12);
      const b = randomValues(4, 13);
      const dy = randomValues(size(p.outShape), 14);
      const z = cpuConv(p, x, w, b);
      const { dx, dw, db } = cpuGrads(p, x, w, dy.map((v, i) => v * actMask('relu6', z[i])));
      const loss = (xv: ArrayLike<number>, wv: ArrayLike<number>, bv: ArrayLike<number>) =>
        cpuConv(p, xv, wv, bv).reduce((s, v, i) => s + act('relu6', v) * dy[i], 0);
      const h = 1e-6;
      let checked = 0;
      for (const [arr, grad, which] of [
        [x, dx, 'x'],
        [w, dw, 'w'],
        [b, db, 'b'],
      ] as const) {
        for (let i = 0; i < arr.length; i++) {
          const at = (d: number) => {
            const v = Float64Array.from(arr);
            v[i] += d;
            return which === 'x' ? loss(v, w, b) : which === 'w' ? loss(x, v, b) : loss(x, w, v);
          };
          // Skip the rare points within h of a kink (z = 0 or 6), where differences are one-sided.
          const fd = (at(h) - at(-h)) / (2 * h);
          const fdHalf = (at(h / 2) - at(-h / 2)) / h;
          if (Math.abs(fd - fdHalf) > 1e-6) continue;
          checked++;
          expect(Math.abs(fd - grad[i]), `finite difference of ∂${which}[${i}]`).to.be.below(1e-6 * (1 + Math.abs(grad[i])));
        }
      }
      expect(checked).to.be.above(x.length + w.length);
    });

    const cases: [string, number[], number[], kd.Conv2dOptions, boolean, number?][] = [
      ['depthwise 3×3 stride 1 pad 1, 7×9, batch 1', [1, 3, 7, 9], [3, 1, 3, 3], { groups: 3, padding: 1 }, true],
      ['depthwise 3×3 stride 2 pad 1, 13×13, batch 3', [3, 5, 13, 13], [5, 1, 3, 3], { groups: 5, stride: 2, padding: 1 }, true],
      ['depthwise 3×3 stride 2 pad 1, 1×1 spatial', [3, 2, 1, 1], [2, 1, 3, 3], { groups: 2, stride: 2, padding: 1 }, false],
      ['depthwise 3×3 stride 1 pad 1, 11×21 (several column and row tiles), ReLU6', [1, 3, 11, 21], [3, 1, 3, 3], { groups: 3, padding: 1, relu6: true }, true, 10],
      ['depthwise multiplier 2, stride 2, ReLU', [2, 3, 9, 10], [6, 1, 3, 3], { groups: 3, stride: 2, padding: 1, relu: true }, true],
      ['depthwise 5×5 pad 2, no bias', [1, 2, 6, 7], [2, 1, 5, 5], { groups: 2, padding: 2 }, false],
      ['depthwise 1×3, padding [0, 1], stride [1, 2]', [2, 4, 5, 8], [4, 1, 1, 3], { groups: 4, padding: [0, 1], stride: [1, 2] }, true],
      ['depthwise dilation 2, padding 2', [1, 3, 9, 8], [3, 1, 3, 3], { groups: 3, dilation: 2, padding: 2 }, true],
      ["depthwise 3×3 'same' stride 2 (odd input)", [2, 2, 7, 9], [2, 1, 3, 3], { groups: 2, padding: 'same', stride: 2 }, true],
      ["depthwise 4×4 'same' (asymmetric padding)", [1, 2, 6, 5], [2, 1, 4, 4], { groups: 2, padding: 'same' }, true],
      ['depthwise 3×3 valid, no padding, 3×4 input', [2, 3, 3, 4], [3, 1, 3, 3], { groups: 3 }, true],
      ['padding larger than the kernel, depthwise', [1, 2, 3, 2], [2, 1, 2, 2], { groups: 2, padding: 3 }, true],
      ['groups 2, 3 channels per group, 7 output channels per group (not a tile multiple)', [2, 6, 6, 5], [14, 3, 3, 3], { groups: 2, padding: 1 }, true],
      ['groups 3, 2 channels per group, 5×5 stride 2, ReLU', [1, 6, 9, 11], [9, 2, 5, 5], { groups: 3, stride: 2, padding: 2, relu: true }, true],
      ['groups 3, 1×3 kernel, dilation [1, 2], ReLU6', [2, 9, 5, 9], [6, 3, 1, 3], { groups: 3, dilation: [1, 2], padding: [0, 2], relu6: true }, false, 10],
      ['groups 2, 8 channels per group, 3×2 kernel, stride [2, 3]', [1, 16, 8, 9], [6, 8, 3, 2], { groups: 2, stride: [2, 3], padding: [1, 0] }, true],
      ['groups: 1 given explicitly (the dense kernels), ReLU, stride 2', [2, 3, 7, 8], [4, 3, 3, 3], { groups: 1, stride: 2, padding: 1, relu: true }, true],
      ['depthwise 3×3 on 2×24×25 (the weight gradient in two splits)', [2, 3, 24, 25], [3, 1, 3, 3], { groups: 3, padding: 1, relu: true }, true],
      ['1×1 depthwise, stride 2 (input-gradient phases no tap reaches)', [2, 3, 5, 6], [3, 1, 1, 1], { groups: 3, stride: 2 }, true],
      ['depthwise 2×2, stride 3 (phases reached by no tap and by one)', [1, 2, 8, 7], [2, 1, 2, 2], { groups: 2, stride: 3, padding: 1 }, true],
    ];
    cases.forEach(([label, xs, ws, opts, withBias, xScale], i) => {
      it(label, async () => {
        await checkAgainstCpu(xs, ws, opts, withBias, 100 + 10 * i, xScale);
      });
    });
  });

  describe('every tile path of the kernels (custom tiles; many weight-gradient splits)', () => {
    const tileSets: [string, Partial<GroupedConvTiles>][] = [
      ['1×1×1 tiles, one pixel per step and per split', { TR: 1, TP: 1, TO: 1, TOW: 1, TCW: 1, TPW: 1, splitPixels: 1 }],
      ['3×5×3 tiles, 3×2×3 weight-gradient tiles, 7 pixels per split', { TR: 3, TP: 5, TO: 3, TOW: 3, TCW: 2, TPW: 3, splitPixels: 7 }],
      ['unroll budgets that force the smallest tiles', { maxUnrolled: 1, maxAccW: 1, maxUnrolledW: 1, maxLoadsW: 1, splitPixels: 50 }],
    ];
    const shapes: [string, number[], number[], kd.Conv2dOptions][] = [
      ['groups 2 (5 in, 7 out per group), stride 2, padding [1, 2], dilation [2, 1]', [2, 10, 9, 11], [14, 5, 3, 3], { groups: 2, stride: 2, padding: [1, 2], dilation: [2, 1] }],
      ['depthwise ×2, 3×3 stride 1 pad 1, 7×9', [1, 3, 7, 9], [6, 1, 3, 3], { groups: 3, padding: 1 }],
    ];
    for (const [tLabel, tiles] of tileSets) {
      for (const [sLabel, xs, ws, opts] of shapes) {
        it(`${tLabel}: ${sLabel}`, async () => {
          const e = kd.engine();
          const t: GroupedConvTiles = { ...groupedConvTiles, ...tiles };
          const p = kd.planConv2d(xs, ws, [ws[0]], opts);
          const x = randomValues(size(xs), 31);
          const w = randomValues(size(ws), 32);
          const b = randomValues(ws[0], 33);
          const dy = randomValues(size(p.outShape), 34);
          const up = (v: Float64Array, shape: number[]) => kd.tensor(Float32Array.from(v), shape);
          const [xt, wt, bt, dyt] = [up(x, xs), up(w, ws), up(b, [ws[0]]), up(dy, p.outShape)];
          const buf = (tt: kd.Tensor) => tt.bufferFor('test');
          const outs = [
            runGroupedConv2d(e, buf(xt), buf(wt), p, { bias: buf(bt), activation: 'relu' }, t),
            runGroupedConv2dGradInput(e, buf(dyt), buf(wt), p, t),
            runGroupedConv2dGradWeight(e, buf(xt), buf(dyt), p, t),
            runConv2dGradBias(e, buf(dyt), p),
          ];
          try {
            const [y, dx, dw, db] = await Promise.all(outs.map(async (o, i) => new Float32Array(await e.read(o, [size(p.outShape), x.length, w.length, b.length][i] * 4))));
            const ref = cpuGrads(p, x, w, dy);
            const s = cpuGrads(p, absArr(x), absArr(w), absArr(dy));
            assertWithinScale(y, cpuConv(p, x, w, b).map((v) => act('relu', v)), cpuConv(p, absArr(x), absArr(w), absArr(b)), 'forward');
            assertWithinScale(dx, ref.dx, s.dx, '∂x');
            assertWithinScale(dw, ref.dw, s.dw, '∂w');
            assertWithinScale(db, ref.db, s.db, '∂bias');
          } finally {
            for (const o of outs) e.pool.release(o);
            for (const tt of [xt, wt, bt, dyt]) tt.dispose();
          }
        });
      }
    }
  });

  describe('ReLU6', () => {
    it('groups = 1 (ReLU6 fused in the dense kernel) matches the CPU reference, gradients included', async () => {
      await checkAgainstCpu([2, 3, 6, 7], [4, 3, 3, 3], { padding: 1, relu6: true }, true, 7, 8);
    });

    it('relu6 op: min(max(x, 0), 6), gradient 0 at and beyond the kinks (PyTorch)', async () => {
      const xv = [-3, -0.5, 0, 0.25, 3, 5.75, 6, 6.5, 100];
      const x = kd.tensor(Float32Array.from(xv), [9], { requiresGrad: true });
      const y = kd.relu6(x);
      expect(Array.from(await y.data())).to.deep.equal(xv.map((v) => Math.min(Math.max(v, 0), 6)));
      const g = [1, 2, 3, 4, 5, 6, 7, 8, 9];
      y.backward(kd.tensor(Float32Array.from(g), [9]));
      expect(Array.from(await x.grad!.data())).to.deep.equal(xv.map((v, i) => (v > 0 && v < 6 ? g[i] : 0)));
    });
  });

  describe('nn.Conv2d with groups and activation', () => {
    it('holds a [out, in/groups, kh, kw] weight with PyTorch init (fan-in = in/groups·kh·kw)', async () => {
      const conv = new nn.Conv2d(8, 16, 3, { groups: 4, padding: 1, rng: 5 });
      expect(conv.weight.shape).to.deep.equal([16, 2, 3, 3]);
      expect(conv.bias!.shape).to.deep.equal([16]);
      const bound = 1 / Math.sqrt(2 * 9);
      const w = await conv.weight.data();
      const b = await conv.bias!.data();
      const maxAbs = (a: ArrayLike<number>) => Math.max(...Array.from(a, Math.abs));
      expect(maxAbs(w)).to.be.at.most(bound);
      expect(maxAbs(w)).to.be.above(0.8 * bound); // a dense fan-in (72) would give at most 0.118
      expect(maxAbs(b)).to.be.at.most(bound);
      expect(maxAbs(b)).to.be.above(0.5 * bound);
      expect(conv.describe()).to.contain('groups 4');
      conv.dispose();
    });

    it("applies activation 'relu6' (and stays ReLU6 when Sequential fuses a following ReLU)", async () => {
      const conv = new nn.Conv2d(3, 3, 3, { groups: 3, padding: 1, activation: 'relu6', rng: 9 });
      const xv = randomValues(2 * 3 * 5 * 6, 21, -20, 20);
      const x = kd.tensor(Float32Array.from(xv), [2, 3, 5, 6]);
      const p = kd.planConv2d(x.shape, conv.weight.shape, [3], { groups: 3, padding: 1 });
      const z = cpuConv(p, xv, await conv.weight.data(), await conv.bias!.data());
      const sz = cpuConv(p, absArr(xv), absArr(await conv.weight.data()), absArr(await conv.bias!.data()));
      const ref = z.map((v) => act('relu6', v));
      expect(z.some((v) => v > 6) && z.some((v) => v < 0), 'the data exercises both kinks').to.equal(true);
      assertWithinScale(await conv.call(x).data(), ref, sz, 'Conv2d relu6');
      const seq = new nn.Sequential(conv, new nn.ReLU());
      assertWithinScale(await seq.call(x).data(), ref, sz, 'Conv2d relu6 → ReLU');
      const relu = new nn.Conv2d(3, 3, 3, { groups: 3, padding: 1, activation: 'relu', rng: 9 });
      assertWithinScale(await relu.call(x).data(), z.map((v) => act('relu', v)), sz, 'Conv2d relu');
      seq.dispose();
      relu.dispose();
    });

    it('summary counts a grouped conv as N·O·OH·OW·(C/groups)·KH·KW MACs', () => {
      const model = new nn.Sequential(
        new nn.Conv2d(8, 8, 3, { groups: 8, padding: 1, rng: 1 }),
        new nn.Conv2d(8, 12, [3, 1], { groups: 4, stride: 2, rng: 2, bias: false }),
        new nn.Conv2d(12, 5, 1, { rng: 3 }),
      );
      const s = kd.nn.summary(model, [8, 9, 10]);
      // depthwise: 8·9·10 outputs × 1·3·3; groups 4: 12·4·5 outputs × 2·3·1; dense: 5·4·5 × 12
      expect(s.layers.map((l) => l.macs)).to.deep.equal([8 * 9 * 10 * 9, 12 * 4 * 5 * 6, 5 * 4 * 5 * 12]);
      expect(s.layers.map((l) => l.params)).to.deep.equal([8 * 9 + 8, 12 * 2 * 3, 5 * 12 + 5]);
      model.dispose();
    });

    it('trains without readbacks or new buffers per step (buffer pool only)', async () => {
      const e = kd.engine();
      const model = new nn.Sequential(
        new nn.Conv2d(4, 8, 3, { groups: 4, stride: 2, padding: 1, activation: 'relu6', rng: 1 }),
        new nn.Conv2d(8, 8, 3, { groups: 2, padding: 1, activation: 'relu', rng: 2 }),
      );
      const opt = new nn.SGD(model.parameters(), { lr: 0.01 });
      const x = kd.tensor(Float32Array.from(randomValues(2 * 4 * 9 * 9, 3)), [2, 4, 9, 9]);
      const step = () => {
        kd.tidy(() => {
          const y = model.call(x) as kd.Tensor;
          y.mul(y).mean().backward();
        });
        opt.step();
        opt.zeroGrad();
      };
      for (let i = 0; i < 3; i++) step();
      await e.sync();
      const before = e.stats();
      for (let i = 0; i < 3; i++) step();
      await e.sync();
      const after = e.stats();
      expect(after.mapAsyncCalls - before.mapAsyncCalls, 'readbacks').to.equal(0);
      expect(after.buffersCreated - before.buffersCreated, 'buffers created').to.equal(0);
      expect(after.pipelinesCreated - before.pipelinesCreated, 'pipelines created').to.equal(0);
      expect(after.bindGroupsCreated - before.bindGroupsCreated, 'bind groups created').to.equal(0);
      x.dispose();
      opt.dispose();
      model.dispose();
    });
  });

  describe('rejects bad input with errors naming conv2d, the shapes and what was expected', () => {
    const cases: [string, () => unknown, RegExp[]][] = [
      ['groups not dividing the input channels', () => kd.conv2d(kd.zeros([1, 6, 5, 5]), kd.zeros([4, 3, 3, 3]), null, { groups: 4 }), [/^kdgpu: conv2d:/, /groups = 4 must divide/, /input channels \(6, input \[1, 6, 5, 5\]\)/, /\[4, 3, 3, 3\]/]],
      ['groups not dividing the output channels', () => kd.conv2d(kd.zeros([1, 6, 5, 5]), kd.zeros([4, 2, 3, 3]), null, { groups: 3 }), [/^kdgpu: conv2d:/, /groups = 3 must divide/, /output channels \(4, weight \[4, 2, 3, 3\]\)/]],
      ['weight dimension 1 ≠ C/groups', () => kd.conv2d(kd.zeros([2, 6, 5, 5]), kd.zeros([6, 2, 3, 3]), null, { groups: 6 }), [/^kdgpu: conv2d:/, /\[2, 6, 5, 5\] has 6 channels in 6 groups of 1/, /weight \[6, 2, 3, 3\] expects 2 input channels per group/, /expected weight \[6, 1, 3, 3\]/]],
      ['a dense weight given to a depthwise conv', () => kd.conv2d(kd.zeros([1, 4, 5, 5]), kd.zeros([4, 4, 3, 3]), null, { groups: 4 }), [/^kdgpu: conv2d:/, /expected weight \[4, 1, 3, 3\]/]],
      ['groups = 0', () => kd.conv2d(kd.zeros([1, 4, 5, 5]), kd.zeros([4, 1, 3, 3]), null, { groups: 0 }), [/^kdgpu: conv2d:/, /groups must be a positive integer, got 0/, /\[1, 4, 5, 5\]/]],
      ['fractional groups', () => kd.conv2d(kd.zeros([1, 4, 5, 5]), kd.zeros([4, 1, 3, 3]), null, { groups: 1.5 }), [/^kdgpu: conv2d:/, /groups must be a positive integer, got 1.5/]],
      ['relu and relu6 together', () => kd.conv2d(kd.zeros([1, 4, 5, 5]), kd.zeros([4, 1, 3, 3]), null, { groups: 4, relu: true, relu6: true }), [/^kdgpu: conv2d:/, /relu and relu6/, /at most one/]],
      ['bias of the wrong size (grouped)', () => kd.conv2d(kd.zeros([1, 4, 5, 5]), kd.zeros([8, 1, 3, 3]), kd.zeros([4]), { groups: 4 }), [/^kdgpu: conv2d:/, /bias \[4\]/, /expected \[8\]/]],
      ['nn.Conv2d: groups not dividing the channels', () => new nn.Conv2d(6, 4, 3, { groups: 3 }), [/^kdgpu: Conv2d\(6, 4, 3\)/, /groups = 3/, /dividing both channel counts/]],
      ['nn.Conv2d: unknown activation', () => new nn.Conv2d(2, 2, 3, { activation: 'gelu' as 'relu' }), [/^kdgpu: Conv2d\(2, 2, 3\)/, /'relu' or 'relu6'/, /"gelu"/]],
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

    it('empty batch: zero-size output and zero weight gradient', async () => {
      const x = kd.zeros([0, 4, 5, 5]);
      const w = kd.ones([8, 2, 3, 3], { requiresGrad: true });
      const y = kd.conv2d(x, w, null, { groups: 2, padding: 1 });
      expect(y.shape).to.deep.equal([0, 8, 5, 5]);
      y.sum().backward();
      expect(Array.from(await w.grad!.data())).to.deep.equal(new Array(8 * 2 * 9).fill(0));
      expectThrow(() => kd.conv2d(x, kd.zeros([8, 3, 3, 3]), null, { groups: 2 }), 'kdgpu: conv2d', 'expected weight [8, 2, 3, 3]');
    });
  });
});
