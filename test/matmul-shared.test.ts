/**
 * The GPU matmul plans (the workgroup-shared kernels of matmul-shared.ts and the GPU register
 * tile), forced on whatever adapter runs the tests, against a float64 CPU reference: awkward
 * shapes in every transpose combination, batch broadcasting, bias and ReLU; and, forced through
 * `KDGPU_MATMUL_PLAN`, the convolution weight gradient's GEMM (weight-gemm.ts).
 *
 * Tolerance, per element: |C − C64| ≤ 1e-4 · (|A|·|B| + |bias|), a bound on float32 rounding.
 */
import { expect } from 'chai';
import * as kd from '../src/index.js';
import { forcedMatmulPlan, MATMUL_PLANS, planMatmul, runMatmul, type MatmulPlan } from '../src/kernels/matmul.js';
import { convTiles, planWeightGemm, runConv2dGradWeight } from '../src/kernels/conv2d/index.js';
import { absArr, assertWithinScale, randomValues, setup } from './helpers.js';

const GPU_PLANS = ['shared-64x64', 'shared-32x32', 'shared-64x128', 'tiled-gpu'];

/** C = op(A)·op(B) + bias (ReLU optional) in float64, for each batch index; A, B stored as runMatmul reads them. */
function reference(
  a: Float64Array,
  b: Float64Array,
  bias: Float64Array,
  [M, N, K]: number[],
  tA: boolean,
  tB: boolean,
  batch: number,
  aOff: (i: number) => number,
  bOff: (i: number) => number,
  relu: boolean,
): { ref: Float64Array; scale: Float64Array } {
  const ref = new Float64Array(batch * M * N);
  const scale = new Float64Array(batch * M * N);
  for (let z = 0; z < batch; z++) {
    const ao = aOff(z);
    const bo = bOff(z);
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let s = bias[n];
        let sa = Math.abs(bias[n]);
        for (let k = 0; k < K; k++) {
          const x = a[ao + (tA ? k * M + m : m * K + k)];
          const y = b[bo + (tB ? n * K + k : k * N + n)];
          s += x * y;
          sa += Math.abs(x * y);
        }
        ref[(z * M + m) * N + n] = relu ? Math.max(s, 0) : s;
        scale[(z * M + m) * N + n] = sa;
      }
    }
  }
  return { ref, scale };
}

/** Runs `plan` on one product (batch [3, 2] from A's [3, 1] and B's [2]) and checks it. */
async function check(plan: MatmulPlan, name: string, [M, N, K]: number[], tA: boolean, tB: boolean, seed: number): Promise<void> {
  const e = kd.engine();
  const a = randomValues(3 * M * K, seed);
  const b = randomValues(2 * K * N, seed + 1);
  const bias = randomValues(N, seed + 2);
  const relu = seed % 2 === 0;
  const { ref, scale } = reference(a, b, bias, [M, N, K], tA, tB, 6, (z) => Math.floor(z / 2) * M * K, (z) => (z % 2) * K * N, relu);
  const ta = kd.tensor(Float32Array.from(a), [3, 1, ...(tA ? [K, M] : [M, K])]);
  const tb = kd.tensor(Float32Array.from(b), [2, ...(tB ? [N, K] : [K, N])]);
  const tbias = kd.tensor(Float32Array.from(bias), [N]);
  const args = { M, N, K, transA: tA, transB: tB, batchShape: [3, 2], aBatchStrides: [M * K, 0], bBatchStrides: [0, K * N] };
  const out = runMatmul(e, ta.bufferFor('test'), tb.bufferFor('test'), args, { bias: tbias.bufferFor('test'), activation: relu ? 'relu' : undefined }, plan);
  try {
    const got = new Float32Array(await e.read(out, ref.length * 4));
    assertWithinScale(got, ref, scale, `${name} M=${M} N=${N} K=${K} ${tA ? 't' : 'n'}${tB ? 't' : 'n'}`);
  } finally {
    e.pool.release(out);
    for (const t of [ta, tb, tbias]) t.dispose();
  }
}

describe('matmul: GPU plans forced on this adapter', () => {
  before(setup);

  // Sizes 1 to 257 around the 32/64/128 blocks and the 16-deep K slices, each in all four
  // transpose combinations: all multiples of 4 (every operand's vec4 load path, n and t), none
  // (every scalar path) and mixed, ragged tiles and K tails (each GPU kernel takes seconds to
  // compile on SwiftShader, hence four shapes).
  const shapes: number[][] = [
    [1, 3, 5],
    [17, 63, 65],
    [64, 128, 32],
    [130, 68, 257],
  ];
  for (const name of GPU_PLANS) {
    it(`${name}: awkward shapes, every transpose combination, broadcast batch, bias, ReLU`, async () => {
      let seed = 300;
      for (const shape of shapes) {
        for (const [tA, tB] of [[false, false], [false, true], [true, false], [true, true]] as const) {
          seed += 3;
          await check(MATMUL_PLANS[name], name, shape, tA, tB, seed);
        }
      }
    });
  }

  describe('KDGPU_MATMUL_PLAN', () => {
    afterEach(() => {
      delete process.env.KDGPU_MATMUL_PLAN;
    });

    it('names the plan of every product left to the planner; unknown names throw', () => {
      process.env.KDGPU_MATMUL_PLAN = 'shared-32x32';
      expect(forcedMatmulPlan()).to.deep.equal(MATMUL_PLANS['shared-32x32']);
      expect(planMatmul(1, 1, 1, true)).to.deep.equal(MATMUL_PLANS['shared-32x32']);
      process.env.KDGPU_MATMUL_PLAN = 'nonsense';
      expect(() => planMatmul(8, 8, 8)).to.throw(/KDGPU_MATMUL_PLAN=nonsense.*shared-64x64/);
      delete process.env.KDGPU_MATMUL_PLAN;
      expect(forcedMatmulPlan()).to.equal(undefined);
    });

    it('kd.matmul runs the forced plan (through the planner), with gradients', async () => {
      const [M, N, K] = [37, 70, 45];
      const a = randomValues(M * K, 71);
      const b = randomValues(K * N, 72);
      const { ref, scale } = reference(a, b, new Float64Array(N), [M, N, K], false, false, 1, () => 0, () => 0, false);
      for (const name of GPU_PLANS) {
        process.env.KDGPU_MATMUL_PLAN = name;
        const ta = kd.tensor(Float32Array.from(a), [M, K], { requiresGrad: true });
        const tb = kd.tensor(Float32Array.from(b), [K, N], { requiresGrad: true });
        const c = kd.matmul(ta, tb);
        assertWithinScale(await c.data(), ref, scale, `${name} forward`);
        // ∂A = 1·Bᵀ: row sums of B (an NT product); ∂B = Aᵀ·1: column sums of A (a TN product).
        c.backward(kd.ones([M, N]));
        const ga = await ta.grad!.data();
        const gb = await tb.grad!.data();
        const rowB = Array.from({ length: K }, (_, k) => b.slice(k * N, (k + 1) * N).reduce((s, v) => s + v, 0));
        const colA = Array.from({ length: K }, (_, k) => Array.from({ length: M }, (_, m) => a[m * K + k]).reduce((s, v) => s + v, 0));
        const absRowB = Array.from({ length: K }, (_, k) => b.slice(k * N, (k + 1) * N).reduce((s, v) => s + Math.abs(v), 0));
        const absColA = Array.from({ length: K }, (_, k) => Array.from({ length: M }, (_, m) => Math.abs(a[m * K + k])).reduce((s, v) => s + v, 0));
        assertWithinScale(ga, Array.from({ length: M * K }, (_, i) => rowB[i % K]), Array.from({ length: M * K }, (_, i) => absRowB[i % K]), `${name} ∂A`);
        assertWithinScale(gb, Array.from({ length: K * N }, (_, i) => colA[Math.floor(i / N)]), Array.from({ length: K * N }, (_, i) => absColA[Math.floor(i / N)]), `${name} ∂B`);
        for (const t of [ta, tb, c]) t.dispose();
      }
    });

    // The conv weight gradient's GEMM (weight-gemm.ts) with each GPU plan forced, against a
    // float64 reference: padding, stride, dilation, several chunks with padding images.
    const convCases: [string, number[], number[], kd.Conv2dOptions][] = [
      ['32 → 64 channels, 13×13, batch 3', [3, 32, 13, 13], [64, 32, 3, 3], {}],
      ['stride 2, padding 1, dilation [2, 1], 5×3 kernel, 5 output channels', [2, 3, 11, 9], [5, 3, 5, 3], { stride: 2, padding: 1, dilation: [2, 1] }],
      ['53 images of 11×11 outputs: two chunks, padding images', [53, 4, 13, 13], [16, 4, 3, 3], {}],
    ];
    for (const [label, xs, ws, opts] of convCases) {
      it(`conv2d weight gradient through the GEMM: ${label}`, async () => {
        const e = kd.engine();
        const p = kd.planConv2d(xs, ws, [ws[0]], opts);
        expect(planWeightGemm(p, true, true), 'a GEMM plan').to.not.equal(null);
        const size = (sh: number[]) => sh.reduce((x, y) => x * y, 1);
        const x = randomValues(size(xs), 31);
        const dy = randomValues(size(p.outShape), 33);
        const { ref, scale } = convWeightGradRef(p, x, dy);
        const xt = kd.tensor(Float32Array.from(x), xs);
        const dyt = kd.tensor(Float32Array.from(dy), p.outShape);
        for (const name of GPU_PLANS) {
          process.env.KDGPU_MATMUL_PLAN = name;
          const dw = runConv2dGradWeight(e, xt.bufferFor('test'), dyt.bufferFor('test'), p, { ...convTiles, weightGemm: true });
          const got = new Float32Array(await e.read(dw, size(ws) * 4));
          e.pool.release(dw);
          assertWithinScale(got, ref, scale, `${name} ∂w`);
        }
        xt.dispose();
        dyt.dispose();
      });
    }
  });
});

/** ∂w[o, c, kh, kw] = Σ dy[n, o, oh, ow] · x[n, c, ih, iw] in float64, and the same over absolute values. */
function convWeightGradRef(p: kd.Conv2dPlan, x: Float64Array, dy: Float64Array): { ref: Float64Array; scale: Float64Array } {
  const ref = new Float64Array(p.O * p.C * p.KH * p.KW);
  const scale = absArr(ref);
  for (let n = 0; n < p.N; n++)
    for (let o = 0; o < p.O; o++)
      for (let oh = 0; oh < p.OH; oh++)
        for (let ow = 0; ow < p.OW; ow++) {
          const g = dy[((n * p.O + o) * p.OH + oh) * p.OW + ow];
          for (let c = 0; c < p.C; c++)
            for (let kh = 0; kh < p.KH; kh++)
              for (let kw = 0; kw < p.KW; kw++) {
                const ih = oh * p.strideH + kh * p.dilationH - p.padTop;
                const iw = ow * p.strideW + kw * p.dilationW - p.padLeft;
                if (ih < 0 || ih >= p.H || iw < 0 || iw >= p.W) continue;
                const v = g * x[((n * p.C + c) * p.H + ih) * p.W + iw];
                const wi = ((o * p.C + c) * p.KH + kh) * p.KW + kw;
                ref[wi] += v;
                scale[wi] += Math.abs(v);
              }
        }
  return { ref, scale };
}
