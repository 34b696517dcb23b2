/**
 * The device bundle's correctness subset (bench/device/main.ts runs it before the bench): matmul
 * and conv2d (forward and gradients) against float64 references on awkward shapes, the fused
 * softmax cross-entropy against PyTorch's values (test/fixtures/softmax_ce.safetensors), and the
 * 50-step Adam parity of mnist-cnn-small with PyTorch (test/fixtures/parity-mnist-cnn-small.safetensors,
 * the bounds of test/parity.test.ts). Fixtures are read from `test/fixtures` under the working
 * directory (the bundle's folder); the parity batches from `dataDir` (the first 1,600 Fashion-MNIST
 * training images, which the bundle carries).
 */
import * as kd from '../../src/index.js';
import { loadFixture } from '../../test/fixtures.js';
import { assertClose, assertWithinScale, randomValues } from '../../test/helpers.js';
import { runParity } from '../../test/parity-run.js';

export interface CheckResult {
  name: string;
  ok: boolean;
  /** What was measured (worst error, bound). */
  detail: string;
  ms: number;
}

export interface CheckOptions {
  small: boolean;
  /** Folder holding the Fashion-MNIST training subset (IDX files) for the parity run. */
  dataDir: string;
  log: (line: string) => void;
}

// ---- float64 references ------------------------------------------------------------------------

/** C = A·B (A [M, K], B [K, N]) in float64, and S = |A|·|B| (the scale of each value's rounding). */
function matmulRef(a: ArrayLike<number>, b: ArrayLike<number>, M: number, K: number, N: number): { c: Float64Array; s: Float64Array } {
  const c = new Float64Array(M * N);
  const s = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let k = 0; k < K; k++) {
      const av = a[i * K + k];
      const aa = Math.abs(av);
      const row = i * N;
      const brow = k * N;
      for (let j = 0; j < N; j++) {
        const bv = b[brow + j];
        c[row + j] += av * bv;
        s[row + j] += aa * Math.abs(bv);
      }
    }
  }
  return { c, s };
}

function transpose(a: ArrayLike<number>, R: number, C: number): Float64Array {
  const t = new Float64Array(R * C);
  for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) t[c * R + r] = a[r * C + c];
  return t;
}

interface ConvGeo {
  N: number;
  C: number;
  H: number;
  W: number;
  O: number;
  KH: number;
  KW: number;
  stride: number;
  pad: number;
  dilation: number;
  OH: number;
  OW: number;
}

function convGeo(N: number, C: number, H: number, W: number, O: number, K: number, stride: number, pad: number, dilation: number): ConvGeo {
  const OH = Math.floor((H + 2 * pad - dilation * (K - 1) - 1) / stride) + 1;
  const OW = Math.floor((W + 2 * pad - dilation * (K - 1) - 1) / stride) + 1;
  return { N, C, H, W, O, KH: K, KW: K, stride, pad, dilation, OH, OW };
}

/** Calls f(yIndex, xIndex, wIndex, o) for every product of a (cross-correlation) convolution. */
function forEachProduct(g: ConvGeo, f: (yi: number, xi: number, wi: number, o: number) => void): void {
  for (let n = 0; n < g.N; n++)
    for (let o = 0; o < g.O; o++)
      for (let oh = 0; oh < g.OH; oh++)
        for (let ow = 0; ow < g.OW; ow++) {
          const yi = ((n * g.O + o) * g.OH + oh) * g.OW + ow;
          for (let c = 0; c < g.C; c++)
            for (let kh = 0; kh < g.KH; kh++) {
              const ih = oh * g.stride - g.pad + kh * g.dilation;
              if (ih < 0 || ih >= g.H) continue;
              for (let kw = 0; kw < g.KW; kw++) {
                const iw = ow * g.stride - g.pad + kw * g.dilation;
                if (iw < 0 || iw >= g.W) continue;
                f(yi, ((n * g.C + c) * g.H + ih) * g.W + iw, ((o * g.C + c) * g.KH + kh) * g.KW + kw, o);
              }
            }
        }
}

// ---- checks ------------------------------------------------------------------------------------

const MATMUL_SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [3, 5, 7],
  [17, 33, 65],
  [127, 129, 131],
  [1, 784, 300],
  [257, 63, 190],
  [64, 1000, 10],
];
const MATMUL_SHAPES_FULL: [number, number, number][] = [
  [511, 1023, 257],
  [1000, 784, 784],
  [2049, 257, 1031],
];

/** One matmul shape: forward and both gradients, each within 1e-5 of its |A|·|B| scale. */
async function checkMatmul(M: number, K: number, N: number, seed: number): Promise<string> {
  const a = randomValues(M * K, seed);
  const b = randomValues(K * N, seed + 1);
  const gy = randomValues(M * N, seed + 2);
  const A = kd.tensor(Float32Array.from(a), [M, K], { requiresGrad: true });
  const B = kd.tensor(Float32Array.from(b), [K, N], { requiresGrad: true });
  const G = kd.tensor(Float32Array.from(gy), [M, N]);
  try {
    const C = kd.matmul(A, B);
    const want = matmulRef(a, b, M, K, N);
    assertWithinScale(await C.data(), want.c, want.s, `matmul ${M}×${K}×${N}`, 1e-5);
    C.backward(G);
    const dA = matmulRef(gy, transpose(b, K, N), M, N, K); // g·Bᵀ
    const dB = matmulRef(transpose(a, M, K), gy, K, M, N); // Aᵀ·g
    assertWithinScale(await A.grad!.data(), dA.c, dA.s, `matmul ${M}×${K}×${N} dA`, 1e-5);
    assertWithinScale(await B.grad!.data(), dB.c, dB.s, `matmul ${M}×${K}×${N} dB`, 1e-5);
    C.dispose();
    return `${M}×${K}×${N}`;
  } finally {
    for (const t of [A, B, G]) t.dispose();
  }
}

const CONV_CASES: [string, number, number, number, number, number, number, number, number, number][] = [
  // name, N, C, H, W, O, K, stride, pad, dilation
  ['3×3 valid, odd sizes', 3, 5, 13, 11, 7, 3, 1, 0, 1],
  ['3×3 stride 2 pad 1', 2, 6, 15, 17, 9, 3, 2, 1, 1],
  ['5×5 dilation 2 pad 3', 2, 3, 19, 14, 5, 5, 1, 3, 2],
  ['1×1', 4, 17, 7, 9, 13, 1, 1, 0, 1],
  ['mnist-cnn-small conv2 (32→64, 3×3 on 12×12)', 5, 32, 12, 12, 64, 3, 1, 0, 1],
];

/** One conv shape: forward (bias + ReLU off) and the input, weight and bias gradients. */
async function checkConv(name: string, g: ConvGeo, seed: number): Promise<string> {
  const x = randomValues(g.N * g.C * g.H * g.W, seed);
  const w = randomValues(g.O * g.C * g.KH * g.KW, seed + 1);
  const b = randomValues(g.O, seed + 2);
  const ny = g.N * g.O * g.OH * g.OW;
  const gy = randomValues(ny, seed + 3);
  const y = new Float64Array(ny);
  const ys = new Float64Array(ny);
  const dx = new Float64Array(x.length);
  const dxs = new Float64Array(x.length);
  const dw = new Float64Array(w.length);
  const dws = new Float64Array(w.length);
  forEachProduct(g, (yi, xi, wi) => {
    y[yi] += x[xi] * w[wi];
    ys[yi] += Math.abs(x[xi] * w[wi]);
    dx[xi] += gy[yi] * w[wi];
    dxs[xi] += Math.abs(gy[yi] * w[wi]);
    dw[wi] += gy[yi] * x[xi];
    dws[wi] += Math.abs(gy[yi] * x[xi]);
  });
  const per = g.OH * g.OW;
  const db = new Float64Array(g.O);
  const dbs = new Float64Array(g.O);
  for (let i = 0; i < ny; i++) {
    const o = Math.floor(i / per) % g.O;
    y[i] += b[o];
    ys[i] += Math.abs(b[o]);
    db[o] += gy[i];
    dbs[o] += Math.abs(gy[i]);
  }
  const X = kd.tensor(Float32Array.from(x), [g.N, g.C, g.H, g.W], { requiresGrad: true });
  const Wt = kd.tensor(Float32Array.from(w), [g.O, g.C, g.KH, g.KW], { requiresGrad: true });
  const Bt = kd.tensor(Float32Array.from(b), [g.O], { requiresGrad: true });
  const G = kd.tensor(Float32Array.from(gy), [g.N, g.O, g.OH, g.OW]);
  try {
    const Y = kd.conv2d(X, Wt, Bt, { stride: g.stride, padding: g.pad, dilation: g.dilation });
    if (Y.shape.join(',') !== [g.N, g.O, g.OH, g.OW].join(',')) throw new Error(`conv ${name}: shape [${Y.shape.join(', ')}], expected [${[g.N, g.O, g.OH, g.OW].join(', ')}]`);
    assertWithinScale(await Y.data(), y, ys, `conv ${name}`, 1e-5);
    Y.backward(G);
    assertWithinScale(await X.grad!.data(), dx, dxs, `conv ${name} dx`, 1e-5);
    assertWithinScale(await Wt.grad!.data(), dw, dws, `conv ${name} dw`, 1e-5);
    assertWithinScale(await Bt.grad!.data(), db, dbs, `conv ${name} db`, 1e-5);
    Y.dispose();
    return `${name}: [${g.N}, ${g.C}, ${g.H}, ${g.W}] * [${g.O}, ${g.C}, ${g.KH}, ${g.KW}] → [${g.N}, ${g.O}, ${g.OH}, ${g.OW}]`;
  } finally {
    for (const t of [X, Wt, Bt, G]) t.dispose();
  }
}

interface CeCase {
  name: string;
  T?: number;
  reduction?: 'mean' | 'sum' | 'none';
  targetGrad?: boolean;
}

/** Every case of test/fixtures/softmax_ce.safetensors: loss and d loss / d logits (rtol 1e-5, atol 1e-7). */
async function checkSoftmaxCe(): Promise<string> {
  const fx = loadFixture('softmax_ce.safetensors');
  const cases = JSON.parse(fx.meta.cases) as CeCase[];
  const from = (name: string, requiresGrad = false) => {
    const t = fx.get(name);
    return kd.tensor(t.data, t.shape, { requiresGrad });
  };
  for (const c of cases) {
    const z = from(`${c.name}.logits`, true);
    const target = from(`${c.name}.target`, Boolean(c.targetGrad));
    const gy = from(`${c.name}.gy`);
    const loss = kd.softmaxCrossEntropy(z, target, { temperature: c.T, reduction: c.reduction });
    assertClose(await loss.data(), fx.get(`${c.name}.loss`).data, { rtol: 1e-5, atol: 1e-7 }, `softmax-CE ${c.name}: loss`);
    loss.backward(gy);
    assertClose(await z.grad!.data(), fx.get(`${c.name}.gLogits`).data, { rtol: 1e-5, atol: 1e-7 }, `softmax-CE ${c.name}: d loss / d logits`);
    for (const t of [z, target, gy, loss]) t.dispose();
  }
  return `${cases.length} PyTorch cases`;
}

/** test/parity.test.ts's mnist-cnn-small run: losses (1e-4 for steps 1–10, 1e-3 after) and final weights (1e-3). */
async function checkParity(dataDir: string): Promise<string> {
  const r = await runParity('mnist-cnn-small', dataDir);
  if (r.losses.length !== r.steps) throw new Error(`parity: ${r.losses.length} steps, expected ${r.steps}`);
  let worstLate = 0;
  r.losses.forEach((got, s) => {
    const rel = Math.abs(got - r.reference[s]) / Math.abs(r.reference[s]);
    if (s >= 10) worstLate = Math.max(worstLate, rel);
    const bound = s < 10 ? 1e-4 : 1e-3;
    if (!(rel <= bound)) throw new Error(`parity step ${s + 1}: loss ${got} vs PyTorch ${r.reference[s]} (relative ${rel.toExponential(2)} > ${bound})`);
  });
  let worstW = 0;
  for (const [k, rel] of r.weightErrors) {
    worstW = Math.max(worstW, rel);
    if (!(rel <= 1e-3)) throw new Error(`parity ${k}: ‖Δw‖/‖w‖ ${rel.toExponential(2)} > 1e-3 after step ${r.steps}`);
  }
  return `${r.steps} Adam steps of batch ${r.batch}: worst loss difference (steps 11–${r.steps}) ${worstLate.toExponential(2)}, worst ‖Δw‖/‖w‖ ${worstW.toExponential(2)}`;
}

async function one(name: string, fn: () => Promise<string>, log: (l: string) => void): Promise<CheckResult> {
  const t0 = performance.now();
  let r: CheckResult;
  try {
    const detail = await fn();
    r = { name, ok: true, detail, ms: performance.now() - t0 };
  } catch (e) {
    r = { name, ok: false, detail: (e as Error).message.split('\n')[0], ms: performance.now() - t0 };
  }
  log(`  ${r.ok ? 'ok  ' : 'FAIL'} ${name} (${(r.ms / 1000).toFixed(1)} s): ${r.detail}`);
  return r;
}

/** Runs the subset; every check runs even when an earlier one failed. */
export async function runChecks(o: CheckOptions): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  const shapes = o.small ? MATMUL_SHAPES : [...MATMUL_SHAPES, ...MATMUL_SHAPES_FULL];
  let seed = 100;
  for (const [M, K, N] of shapes) {
    const s = (seed += 10);
    out.push(await one(`matmul ${M}×${K}×${N} (forward, dA, dB) vs float64`, () => checkMatmul(M, K, N, s), o.log));
  }
  for (const [name, N, C, H, W, O, K, stride, pad, dil] of CONV_CASES) {
    const s = (seed += 10);
    out.push(await one(`conv2d ${name} (forward, dx, dw, db) vs float64`, () => checkConv(name, convGeo(N, C, H, W, O, K, stride, pad, dil), s), o.log));
  }
  out.push(await one('softmax cross-entropy vs PyTorch', checkSoftmaxCe, o.log));
  out.push(await one('mnist-cnn-small: 50 Adam steps vs PyTorch', () => checkParity(o.dataDir), o.log));
  return out;
}
