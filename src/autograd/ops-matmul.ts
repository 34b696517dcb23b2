/** matmul with batch broadcasting and transposed operands; linear = fused matmul + bias (+ ReLU). */
import { runMatmul } from '../kernels/matmul.js';
import { record } from './graph.js';
import { activationGrad } from './ops-elementwise.js';
import { sum, sumTo } from './ops-reduce.js';
import { reshape } from './ops-shape.js';
import { broadcastShapes, broadcastStrides, fmt, sameShape } from './shape.js';
import { fromBuffer, type Tensor } from './tensor.js';

/** Options for `matmul`: transposed operands, read in place (no copy). */
export interface MatmulOptions {
  /** Use Aᵀ (A stored as …×K×M). */
  transA?: boolean;
  /** Use Bᵀ (B stored as …×N×K). */
  transB?: boolean;
}

interface Plan {
  M: number;
  N: number;
  K: number;
  batchShape: number[];
  outShape: number[];
}

function plan(op: string, a: Tensor, b: Tensor, transA: boolean, transB: boolean): Plan {
  for (const t of [a, b]) {
    t.storageFor(op);
    if (t.dtype !== 'float32') throw new Error(`kdgpu: ${op} expects float32 tensors, got ${t.dtype} of shape ${fmt(t.shape)}`);
    if (t.rank < 2) throw new Error(`kdgpu: ${op}: operands need at least 2 dimensions, got ${fmt(t.shape)}`);
  }
  const [am, ak] = transA ? [a.shape[a.rank - 1], a.shape[a.rank - 2]] : [a.shape[a.rank - 2], a.shape[a.rank - 1]];
  const [bk, bn] = transB ? [b.shape[b.rank - 1], b.shape[b.rank - 2]] : [b.shape[b.rank - 2], b.shape[b.rank - 1]];
  const desc = `${fmt(a.shape)}${transA ? 'ᵀ' : ''} · ${fmt(b.shape)}${transB ? 'ᵀ' : ''}`;
  if (ak !== bk) throw new Error(`kdgpu: ${op}: inner dimensions differ in ${desc} (${ak} vs ${bk})`);
  let batchShape: number[];
  try {
    batchShape = broadcastShapes(op, a.shape.slice(0, -2), b.shape.slice(0, -2));
  } catch {
    throw new Error(`kdgpu: ${op}: batch dimensions of ${desc} cannot be broadcast together`);
  }
  return { M: am, N: bn, K: ak, batchShape, outShape: [...batchShape, am, bn] };
}

function run(a: Tensor, b: Tensor, p: Plan, transA: boolean, transB: boolean, bias?: Tensor, relu = false): Tensor {
  const e = a.engine;
  const aMat = a.shape[a.rank - 2] * a.shape[a.rank - 1];
  const bMat = b.shape[b.rank - 2] * b.shape[b.rank - 1];
  const aStr = broadcastStrides(a.shape.slice(0, -2), p.batchShape).map((s) => s * aMat);
  const bStr = broadcastStrides(b.shape.slice(0, -2), p.batchShape).map((s) => s * bMat);
  const buf = runMatmul(
    e,
    a.bufferFor('matmul'),
    b.bufferFor('matmul'),
    { M: p.M, N: p.N, K: p.K, transA, transB, batchShape: p.batchShape, aBatchStrides: aStr, bBatchStrides: bStr },
    { bias: bias?.bufferFor('linear'), activation: relu ? 'relu' : undefined },
  );
  return fromBuffer(e, buf, p.outShape, 'float32');
}

function reduceTo(g: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const r = sumTo(g, shape);
  g.dispose();
  return r;
}

/** Gradients of C = op(A)·op(B) w.r.t. the stored A and B (only those `needs` asks for: each is a GEMM). */
function matmulGrads(g: Tensor, a: Tensor, b: Tensor, transA: boolean, transB: boolean, needs: readonly boolean[]): [Tensor | null, Tensor | null] {
  const ga = !needs[0] ? null : transA ? matmul(b, g, { transA: transB, transB: true }) : matmul(g, b, { transB: !transB });
  const gb = !needs[1] ? null : transB ? matmul(g, a, { transA: true, transB: transA }) : matmul(a, g, { transA: !transA });
  return [ga && reduceTo(ga, a.shape), gb && reduceTo(gb, b.shape)];
}

/**
 * Matrix product over the last two dimensions, broadcasting the leading (batch) ones like
 * NumPy. 1-D operands are treated as a row (left) or column (right) vector, as in PyTorch.
 */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  if (a.rank === 1 || b.rank === 1) {
    const a2 = a.rank === 1 ? reshape(a, [1, a.size]) : a;
    const b2 = b.rank === 1 ? reshape(b, [b.size, 1]) : b;
    const c = matmul(a2, b2, opts);
    let shape = [...c.shape];
    if (a.rank === 1) shape = [...shape.slice(0, -2), shape[shape.length - 1]];
    if (b.rank === 1) shape = shape.slice(0, -1);
    const r = reshape(c, shape);
    for (const t of [a2, b2, c]) if (t !== a && t !== b) t.dispose();
    return r;
  }
  const transA = opts.transA ?? false;
  const transB = opts.transB ?? false;
  const p = plan('matmul', a, b, transA, transB);
  const y = run(a, b, p, transA, transB);
  return record(`matmul ${fmt(a.shape)}${transA ? 'ᵀ' : ''} · ${fmt(b.shape)}${transB ? 'ᵀ' : ''}`, [a, b], y, [a, b], (g, [sa, sb], needs) =>
    matmulGrads(g, sa, sb, transA, transB, needs),
  );
}

/** Options for `linear`. */
export interface LinearOptions {
  /** Apply ReLU in the same kernel. */
  relu?: boolean;
}

/**
 * y = x·Wᵀ + b (PyTorch's Linear: weight is [out, in]), optionally followed by ReLU, in one
 * kernel. x is [..., in].
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null, opts: LinearOptions = {}): Tensor {
  const op = 'linear';
  if (weight.rank !== 2) throw new Error(`kdgpu: ${op}: weight must be [out, in], got ${fmt(weight.shape)}`);
  if (x.rank < 1) throw new Error(`kdgpu: ${op}: input must have at least 1 dimension, got ${fmt(x.shape)}`);
  const [outF, inF] = weight.shape;
  if (x.shape[x.rank - 1] !== inF) {
    throw new Error(`kdgpu: ${op}: input ${fmt(x.shape)} has ${x.shape[x.rank - 1]} features, weight ${fmt(weight.shape)} expects ${inF}`);
  }
  if (bias && (bias.rank !== 1 || bias.shape[0] !== outF)) {
    throw new Error(`kdgpu: ${op}: bias ${fmt(bias.shape)} does not match weight ${fmt(weight.shape)} (expected [${outF}])`);
  }
  const x2 = x.rank === 2 ? x : reshape(x, [-1, inF]);
  const p = plan(op, x2, weight, false, true);
  const y2 = run(x2, weight, p, false, true, bias ?? undefined, opts.relu ?? false);
  const relu = opts.relu ?? false;
  const inputs = bias ? [x2, weight, bias] : [x2, weight];
  const save = relu ? [x2, weight, y2] : [x2, weight];
  const y = record(`${op} ${fmt(x2.shape)} · ${fmt(weight.shape)}ᵀ${bias ? ' + bias' : ''}${relu ? ' → relu' : ''}`, inputs, y2, save, (g, s, needs) => {
    const [xs, ws] = s;
    const gz = relu ? activationGrad(op, 'relu', g, s[2]) : g;
    // A first layer's input needs no gradient: skip its GEMM (as large as the forward's).
    const gx = needs[0] ? matmul(gz, ws) : null;
    const gw = needs[1] ? matmul(gz, xs, { transA: true }) : null;
    const gb = bias && needs[2] ? sum(gz, 0) : null;
    if (gz !== g) gz.dispose();
    return bias ? [gx, gw, gb] : [gx, gw];
  });
  if (x2 === x) return y;
  const out = reshape(y, [...x.shape.slice(0, -1), outF]);
  x2.dispose();
  y.dispose();
  return out;
}
