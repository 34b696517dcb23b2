/**
 * matmul and linear against a float64 CPU reference: forward for shapes from 1 to 1031 in every
 * transpose combination, batch broadcasting, 1-D operands, the fused bias/ReLU epilogue, every
 * kernel variant, gradients (with the reference gradients themselves checked by central finite
 * differences), and bad input.
 *
 * Forward tolerance, per element: |C − C64| ≤ 1e-4 · (|A|·|B|) — the same product taken over
 * absolute values, which bounds the float32 rounding error of a K-term dot product.
 */
import { expect } from 'chai';
import * as kd from '../src/index.js';
import { planMatmul, runMatmul, SHARED_32, SHARED_64, TILE_GPU, TILE_LARGE, TILE_LARGE_SG, TILE_MID, TILE_SMALL, TILE_SMALL_SG, TILE_THIN, type MatmulPlan } from '../src/kernels/matmul.js';
import { assertClose, randomValues, setup } from './helpers.js';

// ---- float64 reference ------------------------------------------------------------------------

interface Nd {
  shape: number[];
  data: Float64Array;
}

const size = (s: readonly number[]) => s.reduce((x, y) => x * y, 1);

function rnd(shape: number[], seed: number): Nd {
  return { shape, data: randomValues(size(shape), seed) };
}

function abs(x: Nd): Nd {
  return { shape: x.shape, data: x.data.map(Math.abs) };
}

function upload(x: Nd, requiresGrad = false): kd.Tensor {
  return kd.tensor(Float32Array.from(x.data), x.shape, { requiresGrad });
}

function strides(shape: readonly number[]): number[] {
  const s: number[] = [];
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

function broadcast(a: readonly number[], b: readonly number[]): number[] {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const x = a[a.length - r + i] ?? 1;
    const y = b[b.length - r + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw new Error('reference: batch shapes do not broadcast');
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** Element offsets, for each batch index of `out`, of the matrix it uses from a stack of batch shape `shape`. */
function batchOffsets(shape: readonly number[], out: readonly number[], matSize: number): number[] {
  const st = strides(shape);
  const offs: number[] = [];
  for (let idx = 0; idx < size(out); idx++) {
    let rem = idx;
    let off = 0;
    for (let d = out.length - 1; d >= 0; d--) {
      const c = rem % out[d];
      rem = Math.floor(rem / out[d]);
      const sd = d - (out.length - shape.length);
      if (sd >= 0 && shape[sd] !== 1) off += c * st[sd];
    }
    offs.push(off * matSize);
  }
  return offs;
}

interface Geometry {
  M: number;
  N: number;
  K: number;
  batch: number[];
  aOff: number[];
  bOff: number[];
  /** Offset of op(A)[i][k] / op(B)[k][j] inside one stored matrix. */
  ai: (i: number, k: number) => number;
  bi: (k: number, j: number) => number;
}

/** Shapes of op(A)·op(B) for operands of rank ≥ 2 (NumPy batch broadcasting). */
function geometry(as: readonly number[], bs: readonly number[], tA: boolean, tB: boolean): Geometry {
  const [ar, ac] = as.slice(-2);
  const [br, bc] = bs.slice(-2);
  const M = tA ? ac : ar;
  const K = tA ? ar : ac;
  const N = tB ? br : bc;
  if ((tB ? bc : br) !== K) throw new Error('reference: inner dimensions differ');
  const batch = broadcast(as.slice(0, -2), bs.slice(0, -2));
  return {
    M,
    N,
    K,
    batch,
    aOff: batchOffsets(as.slice(0, -2), batch, ar * ac),
    bOff: batchOffsets(bs.slice(0, -2), batch, br * bc),
    ai: tA ? (i, k) => k * ac + i : (i, k) => i * ac + k,
    bi: tB ? (k, j) => j * bc + k : (k, j) => k * bc + j,
  };
}

/** op(A)·op(B) in float64, with PyTorch's treatment of 1-D operands (no transposes there). */
function matmulRef(a: Nd, b: Nd, tA = false, tB = false): Nd {
  if (a.shape.length === 1 || b.shape.length === 1) {
    const a2 = a.shape.length === 1 ? { shape: [1, a.shape[0]], data: a.data } : a;
    const b2 = b.shape.length === 1 ? { shape: [b.shape[0], 1], data: b.data } : b;
    const c = matmulRef(a2, b2, tA, tB);
    let shape = c.shape;
    if (a.shape.length === 1) shape = [...shape.slice(0, -2), shape[shape.length - 1]];
    if (b.shape.length === 1) shape = shape.slice(0, -1);
    return { shape, data: c.data };
  }
  const g = geometry(a.shape, b.shape, tA, tB);
  const nb = size(g.batch);
  const out = new Float64Array(nb * g.M * g.N);
  for (let t = 0; t < nb; t++) {
    for (let i = 0; i < g.M; i++) {
      for (let j = 0; j < g.N; j++) {
        let s = 0;
        for (let k = 0; k < g.K; k++) s += a.data[g.aOff[t] + g.ai(i, k)] * b.data[g.bOff[t] + g.bi(k, j)];
        out[(t * g.M + i) * g.N + j] = s;
      }
    }
  }
  return { shape: [...g.batch, g.M, g.N], data: out };
}

/** Gradients of Σ G ⊙ (op(A)·op(B)) with respect to the stored A and B (rank ≥ 2). */
function matmulGradRef(a: Nd, b: Nd, gOut: Nd, tA: boolean, tB: boolean): [Nd, Nd] {
  const g = geometry(a.shape, b.shape, tA, tB);
  const ga = new Float64Array(a.data.length);
  const gb = new Float64Array(b.data.length);
  for (let t = 0; t < size(g.batch); t++) {
    for (let i = 0; i < g.M; i++) {
      for (let j = 0; j < g.N; j++) {
        const gij = gOut.data[(t * g.M + i) * g.N + j];
        for (let k = 0; k < g.K; k++) {
          const ia = g.aOff[t] + g.ai(i, k);
          const ib = g.bOff[t] + g.bi(k, j);
          ga[ia] += gij * b.data[ib];
          gb[ib] += gij * a.data[ia];
        }
      }
    }
  }
  return [
    { shape: a.shape, data: ga },
    { shape: b.shape, data: gb },
  ];
}

/** y = x·Wᵀ + b, optionally ReLU; x is [n, in], W [out, in]. Returns y and the pre-activation z. */
function linearRef(x: Nd, w: Nd, b: Nd | null, relu: boolean): { y: Nd; z: Nd } {
  const z = matmulRef(x, w, false, true);
  if (b) for (let i = 0; i < z.data.length; i++) z.data[i] += b.data[i % b.data.length];
  const y = { shape: z.shape, data: relu ? z.data.map((v) => Math.max(v, 0)) : Float64Array.from(z.data) };
  return { y, z };
}

/** Gradients of Σ G ⊙ linear(x, W, b) with respect to x, W (and b). */
function linearGradRef(x: Nd, w: Nd, b: Nd | null, relu: boolean, gOut: Nd): Nd[] {
  const { z } = linearRef(x, w, b, relu);
  const gz = { shape: gOut.shape, data: gOut.data.map((v, i) => (relu && !(z.data[i] > 0) ? 0 : v)) };
  const [gx, gw] = matmulGradRef(x, w, gz, false, true);
  if (!b) return [gx, gw];
  const gb = new Float64Array(b.data.length);
  gz.data.forEach((v, i) => (gb[i % gb.length] += v));
  return [gx, gw, { shape: b.shape, data: gb }];
}

/** |got − ref| ≤ 1e-4 · bound elementwise (bound: the same computation over absolute values). */
function expectWithin(got: ArrayLike<number>, ref: Nd, bound: Nd, what: string): void {
  expect(got.length, `${what}: length`).to.equal(ref.data.length);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < ref.data.length; i++) {
    const excess = Math.abs(got[i] - ref.data[i]) - 1e-4 * bound.data[i];
    if (!(excess <= 0) && (worst < 0 || excess > worstExcess)) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) {
    throw new Error(
      `${what}: element ${worst} is ${got[worst]}, expected ${ref.data[worst]} (|diff| ${Math.abs(got[worst] - ref.data[worst]).toExponential(3)}, allowed ${(1e-4 * bound.data[worst]).toExponential(3)})`,
    );
  }
}

/** Central finite differences of Σ G ⊙ f(inputs) in float64 with respect to inputs[which]. */
function finiteDiff(f: (xs: Nd[]) => Nd, xs: Nd[], gOut: Nd, which: number, h = 1e-6): Float64Array {
  const loss = (ys: Nd[]) => f(ys).data.reduce((s, v, i) => s + v * gOut.data[i], 0);
  const x = xs[which];
  const out = new Float64Array(x.data.length);
  for (let i = 0; i < x.data.length; i++) {
    const plus = Float64Array.from(x.data);
    const minus = Float64Array.from(x.data);
    plus[i] += h;
    minus[i] -= h;
    const withData = (d: Float64Array) => xs.map((y, k) => (k === which ? { shape: y.shape, data: d } : y));
    out[i] = (loss(withData(plus)) - loss(withData(minus))) / (2 * h);
  }
  return out;
}

// ---- GPU side ------------------------------------------------------------------------------------

/** Stored shape of an operand such that op(X) is rows × cols. */
const stored = (rows: number, cols: number, t: boolean) => (t ? [cols, rows] : [rows, cols]);

const COMBOS: [boolean, boolean][] = [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
];

const layout = (tA: boolean, tB: boolean) => `${tA ? 'T' : 'N'}${tB ? 'T' : 'N'}`;

async function checkMatmul(aShape: number[], bShape: number[], tA: boolean, tB: boolean, seed: number): Promise<void> {
  const a = rnd(aShape, seed);
  const b = rnd(bShape, seed + 1);
  const ref = matmulRef(a, b, tA, tB);
  const bound = matmulRef(abs(a), abs(b), tA, tB);
  const ta = upload(a);
  const tb = upload(b);
  const c = kd.matmul(ta, tb, { transA: tA, transB: tB });
  const what = `matmul ${JSON.stringify(aShape)}${tA ? 'ᵀ' : ''} · ${JSON.stringify(bShape)}${tB ? 'ᵀ' : ''}`;
  try {
    expect([...c.shape], `${what}: shape`).to.deep.equal(ref.shape);
    expectWithin(await c.data(), ref, bound, what);
  } finally {
    for (const t of [ta, tb, c]) t.dispose();
  }
}

/** Runs one kernel directly (bypassing planMatmul) and checks it, with bias and optional ReLU. */
async function checkKernel(
  plan: MatmulPlan,
  name: string,
  [M, N, K]: [number, number, number],
  tA: boolean,
  tB: boolean,
  batch: { shape: number[]; aShape: number[]; bShape: number[]; aStrides: number[]; bStrides: number[] },
  seed: number,
  relu: boolean,
): Promise<void> {
  const e = kd.engine();
  const a = rnd([...batch.aShape, ...stored(M, K, tA)], seed);
  const b = rnd([...batch.bShape, ...stored(K, N, tB)], seed + 1);
  const bias = rnd([N], seed + 2);
  const ref = matmulRef(a, b, tA, tB);
  const bound = matmulRef(abs(a), abs(b), tA, tB);
  ref.data.forEach((v, i) => {
    const z = v + bias.data[i % N];
    ref.data[i] = relu ? Math.max(z, 0) : z;
    bound.data[i] += Math.abs(bias.data[i % N]);
  });
  const ta = upload(a);
  const tb = upload(b);
  const tbias = upload(bias);
  const out = runMatmul(
    e,
    ta.bufferFor('test'),
    tb.bufferFor('test'),
    { M, N, K, transA: tA, transB: tB, batchShape: batch.shape, aBatchStrides: batch.aStrides, bBatchStrides: batch.bStrides },
    { bias: tbias.bufferFor('test'), activation: relu ? 'relu' : undefined },
    plan,
  );
  try {
    const got = new Float32Array(await e.read(out, ref.data.length * 4));
    expectWithin(got, ref, bound, `${name} M=${M} N=${N} K=${K} ${layout(tA, tB)}`);
  } finally {
    e.pool.release(out);
    for (const t of [ta, tb, tbias]) t.dispose();
  }
}

// ---- tests ----------------------------------------------------------------------------------------

describe('matmul', () => {
  before(setup);

  describe('forward against float64', () => {
    // [M, N, K]: the edge sizes 1 and 1031, primes, multiples of 4 and not, the large ones thin.
    // Each runs in all four transpose combinations: alignment, and so the kernel's load path,
    // differs between them.
    const triples: [number, number, number][] = [
      [1, 1, 1],
      [1, 1031, 1],
      [1031, 1, 2],
      [1, 1, 1031],
      [2, 3, 5],
      [4, 4, 4],
      [7, 11, 13],
      [8, 12, 16],
      [17, 19, 23],
      [31, 1, 37],
      [1, 41, 43],
      [64, 64, 64],
      [61, 67, 71],
      [12, 97, 101],
      [127, 8, 131],
      [1031, 5, 12],
      [3, 1031, 29],
      [9, 13, 1031],
      [1031, 7, 1031],
      [6, 1031, 257],
      [211, 4, 509],
      [100, 36, 9],
      [33, 1031, 3],
      [1031, 1031, 1],
      [127, 131, 137],
    ];
    triples.forEach(([M, N, K], n) => {
      it(`M=${M} N=${N} K=${K}, all transpose combinations`, async () => {
        for (const [tA, tB] of COMBOS) {
          await checkMatmul(stored(M, K, tA), stored(K, N, tB), tA, tB, 1000 + 10 * n + (tA ? 2 : 0) + (tB ? 4 : 0));
        }
      });
    });

    it('K = 0 gives zeros (matmul) and the bias (linear)', async () => {
      const a = kd.zeros([3, 0]);
      const b = kd.zeros([0, 5]);
      const c = kd.matmul(a, b);
      expect([...c.shape]).to.deep.equal([3, 5]);
      expect(Array.from(await c.data())).to.deep.equal(new Array(15).fill(0));
      const w = kd.zeros([5, 0]);
      const bias = kd.tensor([1, -2, 3, -4, 5]);
      const y = kd.linear(a, w, bias, { relu: true });
      expect(Array.from(await y.data())).to.deep.equal([1, 0, 3, 0, 5, 1, 0, 3, 0, 5, 1, 0, 3, 0, 5]);
      for (const t of [a, b, c, w, bias, y]) t.dispose();
    });

    it('256³ (the large-tile kernel) in every transpose combination', async () => {
      for (const [tA, tB] of COMBOS) await checkMatmul([256, 256], [256, 256], tA, tB, 77 + (tA ? 1 : 0) + (tB ? 2 : 0));
    });
  });

  describe('batches and 1-D operands', () => {
    it('broadcasts batch dimensions ([2,1,3]×[4,…])', async () => {
      await checkMatmul([2, 1, 3, 5, 6], [4, 1, 6, 7], false, false, 11);
      await checkMatmul([2, 1, 3, 6, 5], [4, 1, 7, 6], true, true, 12);
      await checkMatmul([2, 1, 3, 8, 12], [4, 1, 8, 12], false, true, 13);
      await checkMatmul([1, 3, 12, 8], [2, 1, 12, 4], true, false, 14);
    });

    it('broadcasts a matrix against a stack, in both directions', async () => {
      await checkMatmul([5, 9, 13], [13, 6], false, false, 21);
      await checkMatmul([9, 13], [5, 13, 6], false, false, 22);
      await checkMatmul([3, 13, 9], [6, 13], true, true, 23);
      await checkMatmul([40, 16, 16], [16, 16], false, false, 24);
    });

    it('treats 1-D operands as row and column vectors', async () => {
      await checkMatmul([13], [13, 6], false, false, 31);
      await checkMatmul([6, 13], [13], false, false, 32);
      await checkMatmul([13], [13], false, false, 33);
      await checkMatmul([4, 6, 13], [13], false, false, 34);
      await checkMatmul([13], [3, 13, 6], false, false, 35);
      await checkMatmul([1031], [1031, 3], false, false, 36);
    });
  });

  describe('linear: fused bias and ReLU', () => {
    const cases: [number, number, number][] = [
      [1, 1, 1],
      [5, 7, 3],
      [64, 10, 784],
      [33, 130, 20],
      [256, 256, 260],
    ];
    for (const [n, out, inF] of cases) {
      // The large case compiles a large-tile kernel per epilogue: only the one training uses.
      const epilogues: [boolean, boolean][] = n >= 256 ? [[true, true]] : [[true, false], [true, true], [false, true]];
      for (const [useBias, relu] of epilogues) {
        it(`x [${n}, ${inF}] · W [${out}, ${inF}]ᵀ${useBias ? ' + b' : ''}${relu ? ' → relu' : ''}`, async () => {
          const seed = n * 7 + out * 3 + inF + (useBias ? 100 : 0) + (relu ? 200 : 0);
          const x = rnd([n, inF], seed);
          const w = rnd([out, inF], seed + 1);
          const b = useBias ? rnd([out], seed + 2) : null;
          const { y } = linearRef(x, w, b, relu);
          // The bound on the pre-activation's error; ReLU does not increase it.
          const { z: bound } = linearRef(abs(x), abs(w), b && abs(b), false);
          const tx = upload(x);
          const tw = upload(w);
          const tb = b && upload(b);
          const ty = kd.linear(tx, tw, tb, { relu });
          expect([...ty.shape]).to.deep.equal([n, out]);
          expectWithin(await ty.data(), y, bound, 'linear');
          for (const t of [tx, tw, tb, ty]) t?.dispose();
        });
      }
    }

    it('accepts inputs with leading batch dimensions', async () => {
      const x = rnd([2, 3, 12], 5);
      const w = rnd([9, 12], 6);
      const b = rnd([9], 7);
      const flat = (t: Nd): Nd => ({ shape: [6, 12], data: t.data });
      const { y } = linearRef(flat(x), w, b, true);
      const { z: bound } = linearRef(flat(abs(x)), abs(w), abs(b), false);
      const ts = [upload(x), upload(w), upload(b)];
      const ty = kd.linear(ts[0], ts[1], ts[2], { relu: true });
      expect([...ty.shape]).to.deep.equal([2, 3, 9]);
      expectWithin(await ty.data(), y, bound, 'linear 3-D');
      for (const t of [...ts, ty]) t.dispose();
    });
  });

  describe('every kernel variant', () => {
    // The tiled kernel reads each operand one of four ways (n/t × vec4/scalar loads). These
    // shapes give all sixteen combinations across the transpose combinations; every variant also
    // gets a broadcast batch ([3,1]×[2] → [3,2]), the bias and, every other time, ReLU.
    const shapes: [number, number, number][] = [
      [20, 24, 28], // all multiples of 4
      [21, 25, 27], // none
      [20, 25, 27], // M only
      [21, 24, 27], // N only
      [21, 25, 28], // K only
    ];
    const plans: [string, MatmulPlan, [number, number, number][]][] = [
      ['tiled 8×8', { kind: 'tiled', tile: TILE_SMALL }, shapes],
      // The llvmpipe tile (16×16): two shapes, vec4 loads and scalar loads.
      ['tiled 16×16', { kind: 'tiled', tile: TILE_MID }, shapes.slice(0, 2)],
      ['tiled 4×8', { kind: 'tiled', tile: TILE_THIN }, shapes],
      // Subgroup sharing of op(B) (every layout: n/t × vec4/scalar have their own load code).
      ['tiled 8×8 subgroup', { kind: 'tiled', tile: TILE_SMALL_SG }, shapes],
      ['general', { kind: 'general' }, shapes],
      // The GPU plan differs from 8×8 only in its workgroup: two shapes are enough.
      ['tiled 8×8, 16×8 workgroup (GPU plan)', { kind: 'tiled', tile: TILE_GPU }, shapes.slice(0, 2)],
    ];
    for (const [name, plan, planShapes] of plans) {
      // Subgroup kernels run where the adapter has subgroups: `npm run test:swiftshader`.
      it(`${name}: operand layouts, batch broadcasting, bias, ReLU${name.includes('subgroup') ? ' [needs subgroups]' : ''}`, async () => {
        let seed = 500;
        for (const [M, N, K] of planShapes) {
          for (const [tA, tB] of COMBOS) {
            seed += 3;
            const batch = { shape: [3, 2], aShape: [3, 1], bShape: [2], aStrides: [M * K, 0], bStrides: [0, K * N] };
            await checkKernel(plan, name, [M, N, K], tA, tB, batch, seed, seed % 2 === 0);
          }
        }
      });
    }

    it('tiled 16×32 (the large tile): unaligned shapes, scalar loads', async () => {
      // 256³ above covers its vec4 loads in every layout; these two cover the scalar ones (each
      // large-tile kernel takes seconds to compile on SwiftShader, hence not all four).
      const batch = { shape: [], aShape: [], bShape: [], aStrides: [], bStrides: [] };
      let seed = 900;
      for (const [tA, tB] of [COMBOS[0], COMBOS[3]]) {
        seed += 3;
        await checkKernel({ kind: 'tiled', tile: TILE_LARGE }, 'tiled 16×32', [37, 70, 45], tA, tB, batch, seed, false);
      }
    });

    it('tiled 16×32 subgroup (the large tile on SwiftShader): every layout, ragged tiles, a batch [needs subgroups]', async () => {
      // 37×70×45: scalar loads (n1·t1, t1·n1) and a K tail; 68×36×44: vec4 loads (n4·n4, t4·t4);
      // so every load path of either operand. Both leave whole lanes (rows past M) and columns
      // past N idle, and those lanes must still take part in the broadcasts. (Each large kernel
      // takes seconds to compile here; planMatmul also sends the 256³ cases above through it.)
      let seed = 950;
      const cases: [[number, number, number], [boolean, boolean][]][] = [
        [[37, 70, 45], [[false, true], [true, false]]],
        [[68, 36, 44], [[false, false], [true, true]]],
      ];
      for (const [shape, combos] of cases) {
        for (const [tA, tB] of combos) {
          seed += 3;
          const batch = { shape: [2], aShape: [2], bShape: [], aStrides: [shape[0] * shape[2]], bStrides: [0] };
          await checkKernel({ kind: 'tiled', tile: TILE_LARGE_SG }, 'tiled 16×32 subgroup', shape, tA, tB, batch, seed, seed % 2 === 0);
        }
      }
    });

    it('planMatmul: subgroup tiles only on a CPU adapter with subgroups, shared kernels on hardware, 16×16 on llvmpipe', () => {
      expect(planMatmul(256, 784, 784, true, true)).to.deep.equal({ kind: 'tiled', tile: TILE_LARGE_SG });
      expect(planMatmul(64, 64, 64, true, true)).to.deep.equal({ kind: 'tiled', tile: TILE_SMALL_SG });
      expect(planMatmul(31, 64, 64, true, true)).to.deep.equal({ kind: 'tiled', tile: TILE_SMALL });
      expect(planMatmul(256, 784, 784, true, false)).to.deep.equal({ kind: 'tiled', tile: TILE_LARGE });
      // Hardware: the workgroup-shared kernels (matmul-shared.test.ts checks them), 32×32 blocks on small products.
      expect(planMatmul(1024, 1024, 1024, false, true)).to.deep.equal({ kind: 'shared', tile: SHARED_64 });
      expect(planMatmul(256, 784, 784, false, true)).to.deep.equal({ kind: 'shared', tile: SHARED_32 });
      expect(planMatmul(4, 784, 784, true, true)).to.deep.equal({ kind: 'tiled', tile: TILE_THIN });
      // llvmpipe: 16×16 from 16 rows and 128 columns on, 8×8 below (thin products keep the 4×8 one).
      expect(planMatmul(1024, 1024, 1024, true, false, true)).to.deep.equal({ kind: 'tiled', tile: TILE_MID });
      expect(planMatmul(16, 128, 1024, true, false, true)).to.deep.equal({ kind: 'tiled', tile: TILE_MID });
      expect(planMatmul(15, 1024, 1024, true, false, true)).to.deep.equal({ kind: 'tiled', tile: TILE_SMALL });
      expect(planMatmul(1024, 127, 1024, true, false, true)).to.deep.equal({ kind: 'tiled', tile: TILE_SMALL });
      expect(planMatmul(4, 784, 784, true, false, true)).to.deep.equal({ kind: 'tiled', tile: TILE_THIN });
    });
  });

  describe('gradients against float64', () => {
    it('the reference gradients agree with central finite differences', () => {
      for (const [tA, tB] of COMBOS) {
        const a = rnd([2, 1, ...stored(3, 4, tA)], 41);
        const b = rnd([3, ...stored(4, 2, tB)], 42);
        const g = rnd([2, 3, 3, 2], 43);
        const f = (xs: Nd[]) => matmulRef(xs[0], xs[1], tA, tB);
        const [ga, gb] = matmulGradRef(a, b, g, tA, tB);
        assertClose(ga.data, finiteDiff(f, [a, b], g, 0), { rtol: 1e-6, atol: 1e-8 }, `dA ${layout(tA, tB)}`);
        assertClose(gb.data, finiteDiff(f, [a, b], g, 1), { rtol: 1e-6, atol: 1e-8 }, `dB ${layout(tA, tB)}`);
      }
      for (const relu of [false, true]) {
        const x = rnd([4, 5], 51);
        const w = rnd([3, 5], 52);
        const b = rnd([3], 53);
        const g = rnd([4, 3], 54);
        const { z } = linearRef(x, w, b, relu);
        // Finite differences straddling ReLU's kink would be wrong: these values keep a margin.
        expect(Math.min(...z.data.map(Math.abs))).to.be.greaterThan(1e-3);
        const f = (xs: Nd[]) => linearRef(xs[0], xs[1], xs[2], relu).y;
        linearGradRef(x, w, b, relu, g).forEach((gr, i) => {
          assertClose(gr.data, finiteDiff(f, [x, w, b], g, i), { rtol: 1e-6, atol: 1e-8 }, `linear d${i} relu=${relu}`);
        });
      }
    });

    const gradCases: [number[], number[], boolean, boolean][] = [
      [[7, 5], [5, 9], false, false],
      [[7, 5], [9, 5], false, true],
      [[5, 7], [5, 9], true, false],
      [[5, 7], [9, 5], true, true],
      [[24, 36], [36, 20], false, false],
      [[36, 24], [20, 36], true, true],
      [[2, 1, 3, 6, 5], [4, 1, 5, 7], false, false],
      [[3, 8, 12], [12, 4], false, false],
      [[12, 8], [2, 4, 12], true, true],
    ];
    for (const [as, bs, tA, tB] of gradCases) {
      it(`matmul ${JSON.stringify(as)}${tA ? 'ᵀ' : ''} · ${JSON.stringify(bs)}${tB ? 'ᵀ' : ''}`, async () => {
        const seed = as.concat(bs).reduce((s, d) => s * 3 + d, 7);
        const a = rnd(as, seed);
        const b = rnd(bs, seed + 1);
        const g = rnd(matmulRef(a, b, tA, tB).shape, seed + 2);
        const [ga, gb] = matmulGradRef(a, b, g, tA, tB);
        const [ba, bb] = matmulGradRef(abs(a), abs(b), abs(g), tA, tB);
        const ta = upload(a, true);
        const tb = upload(b, true);
        const tg = upload(g);
        const tc = kd.matmul(ta, tb, { transA: tA, transB: tB });
        tc.backward(tg);
        expectWithin(await ta.grad!.data(), ga, ba, 'dA');
        expectWithin(await tb.grad!.data(), gb, bb, 'dB');
        for (const t of [ta, tb, tg, tc]) t.dispose();
      });
    }

    it('matmul with a 1-D operand', async () => {
      const a = rnd([6], 61);
      const b = rnd([6, 4], 62);
      const g = rnd([4], 63);
      const row = (t: Nd, n: number): Nd => ({ shape: [1, n], data: t.data });
      const [ga, gb] = matmulGradRef(row(a, 6), b, row(g, 4), false, false);
      const [ba, bb] = matmulGradRef(row(abs(a), 6), abs(b), row(abs(g), 4), false, false);
      const ta = upload(a, true);
      const tb = upload(b, true);
      const tg = upload(g);
      const tc = kd.matmul(ta, tb);
      expect([...tc.shape]).to.deep.equal([4]);
      tc.backward(tg);
      expect([...ta.grad!.shape]).to.deep.equal([6]);
      expectWithin(await ta.grad!.data(), ga, ba, 'dA');
      expectWithin(await tb.grad!.data(), gb, bb, 'dB');
      for (const t of [ta, tb, tg, tc]) t.dispose();
    });

    const linearCases: [number, number, number, boolean, boolean][] = [
      [6, 5, 7, true, false],
      [6, 5, 7, true, true],
      [6, 5, 7, false, true],
      [32, 10, 48, true, true],
      [13, 9, 11, true, true],
    ];
    for (const [n, out, inF, useBias, relu] of linearCases) {
      it(`linear x [${n}, ${inF}], W [${out}, ${inF}]${useBias ? ', bias' : ''}${relu ? ', relu' : ''}`, async () => {
        const inputs = (s: number) => ({
          x: rnd([n, inF], s),
          w: rnd([out, inF], s + 1),
          b: useBias ? rnd([out], s + 2) : null,
        });
        // Where float32 rounding could put a pre-activation on the other side of 0 the gradient
        // legitimately differs from the reference: take the first seed whose pre-activations all
        // stay clear of that (|z| above its forward error bound).
        const clear = (s: number) => {
          const { x, w, b } = inputs(s);
          const { z } = linearRef(x, w, b, false);
          const { z: zb } = linearRef(abs(x), abs(w), b && abs(b), false);
          return z.data.every((v, i) => Math.abs(v) > 1e-4 * zb.data[i]);
        };
        let seed = n * 100 + out * 10 + inF + (relu ? 1 : 0);
        while (relu && !clear(seed)) seed += 1000;
        const { x, w, b } = inputs(seed);
        const g = rnd([n, out], seed + 3);
        const grads = linearGradRef(x, w, b, relu, g);
        // Masking by ReLU only drops terms: the unmasked gradient over absolute values bounds it.
        const bounds = linearGradRef(abs(x), abs(w), b && abs(b), false, abs(g));
        const xs = b ? [x, w, b] : [x, w];
        const ts = xs.map((v) => upload(v, true));
        const tg = upload(g);
        const ty = kd.linear(ts[0], ts[1], b ? ts[2] : null, { relu });
        ty.backward(tg);
        for (let i = 0; i < xs.length; i++) {
          expectWithin(await ts[i].grad!.data(), grads[i], bounds[i], `linear grad ${['x', 'W', 'b'][i]}`);
        }
        for (const t of [...ts, tg, ty]) t.dispose();
      });
    }
  });

  describe('bad input', () => {
    it('names matmul and both shapes when inner dimensions differ', () => {
      const a = kd.zeros([3, 4]);
      const b = kd.zeros([5, 6]);
      let err: unknown;
      try {
        kd.matmul(a, b);
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(Error);
      const msg = (err as Error).message;
      expect(msg).to.contain('matmul');
      expect(msg).to.contain('[3, 4]');
      expect(msg).to.contain('[5, 6]');
      a.dispose();
      b.dispose();
    });

    it('rejects int32 operands', () => {
      const a = kd.tensor([1, 2, 3, 4], [2, 2], { dtype: 'int32' });
      const b = kd.ones([2, 2]);
      expect(() => kd.matmul(a, b)).to.throw(Error, /matmul.*int32/);
      expect(() => kd.matmul(b, a)).to.throw(Error, /matmul.*int32/);
      a.dispose();
      b.dispose();
    });

    it('rejects batch dimensions that do not broadcast', () => {
      const a = kd.zeros([2, 3, 4]);
      const b = kd.zeros([3, 4, 5]);
      expect(() => kd.matmul(a, b)).to.throw(Error, /matmul.*\[2, 3, 4\].*\[3, 4, 5\]/);
      a.dispose();
      b.dispose();
    });
  });
});
