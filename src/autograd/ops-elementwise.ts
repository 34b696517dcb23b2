/** Elementwise ops with NumPy broadcasting, and their gradients. */
import { runElementwise, type ElementwiseSpec, type ElementwiseInput } from '../kernels/elementwise.js';
import { KERNELS, OPS, type Activation, type GradRule, type OpDecl, type Saved } from '../kernels/elementwise-ops.js';
import { record } from './graph.js';
import { sumTo } from './ops-reduce.js';
import { broadcastShapes, broadcastStrides, fmt, sameShape, type Shape } from './shape.js';
import { fromBuffer, type Tensor, type DType } from './tensor.js';
import { scalar as scalarTensor } from './creation.js';

/** An operand of the elementwise ops: a tensor, or a number used as a scalar. */
export type TensorLike = Tensor | number;

function expectFloat(op: string, t: Tensor): void {
  if (t.dtype !== 'float32') {
    throw new Error(`kdgpu: ${op} expects float32 tensors, got ${t.dtype} tensor of shape ${fmt(t.shape)}`);
  }
}

function inputFor(op: string, t: Tensor, out: Shape): ElementwiseInput {
  const buffer = t.bufferFor(op);
  if (t.size === 1) return { buffer, mode: 'scalar' };
  if (sameShape(t.shape, out)) return { buffer, mode: 'full' };
  return { buffer, mode: 'strided', strides: broadcastStrides(t.shape, out) };
}

/** Runs an elementwise kernel over broadcast inputs (no tape). */
export function elementwise(
  op: string,
  spec: ElementwiseSpec,
  inputs: readonly Tensor[],
  opts: { constant?: number; outDtype?: DType } = {},
): Tensor {
  for (const t of inputs) t.storageFor(op);
  let out: number[] = inputs.length ? [...inputs[0].shape] : [];
  for (let i = 1; i < inputs.length; i++) out = broadcastShapes(op, out, inputs[i].shape);
  const e = inputs[0].engine;
  const buf = runElementwise(e, spec, inputs.map((t) => inputFor(op, t, out)), out, opts.constant ?? 0);
  return fromBuffer(e, buf, out, opts.outDtype ?? 'float32');
}

// ---- tape rules, made from the declarations of kernels/elementwise-ops.ts ----------------------

/** The gradient w.r.t. one input by `rule`, given the upstream gradient and the saved tensors. */
function applyGrad(op: string, rule: GradRule, g: Tensor, saved: Partial<Record<Saved, Tensor>>, constant?: number): Tensor {
  if (rule.kind === 'identity') return g;
  return elementwise(op, rule.spec, rule.inputs.map((n) => (n === 'g' ? g : saved[n]!)), { constant });
}

/** Runs a unary op (with its constant `c`, for the x ∘ c ops) and records its gradient. */
function unary(decl: OpDecl, x: Tensor, desc = `${decl.name} ${fmt(x.shape)}`, c?: number, op = decl.name): Tensor {
  expectFloat(op, x);
  const y = elementwise(op, decl.forward, [x], { constant: c });
  const saved = decl.saves.map((s) => (s === 'x' ? x : y));
  return record(desc, [x], y, saved, (g, s) => {
    const byName: Partial<Record<Saved, Tensor>> = {};
    decl.saves.forEach((n, i) => (byName[n] = s[i]));
    return [applyGrad(op, decl.grads[0], g, byName, c)];
  });
}

/** −x, elementwise. */
export const neg = (x: Tensor): Tensor => unary(OPS.neg, x);
/** e^x, elementwise. */
export const exp = (x: Tensor): Tensor => unary(OPS.exp, x);
/** Natural logarithm, elementwise. */
export const log = (x: Tensor): Tensor => unary(OPS.log, x);
/** Square root, elementwise. */
export const sqrt = (x: Tensor): Tensor => unary(OPS.sqrt, x);
/** max(x, 0), elementwise (gradient 0 at 0). */
export const relu = (x: Tensor): Tensor => unary(OPS.relu, x);
/** 1 / (1 + e^−x), elementwise. */
export const sigmoid = (x: Tensor): Tensor => unary(OPS.sigmoid, x);
/** Hyperbolic tangent, elementwise. */
export const tanh = (x: Tensor): Tensor => unary(OPS.tanh, x);
/** |x|, elementwise (gradient sign(x), 0 at 0). */
export const abs = (x: Tensor): Tensor => unary(OPS.abs, x);
/** ReLU6 = min(max(x, 0), 6), elementwise (MobileNet's activation). */
export const relu6 = (x: Tensor): Tensor => unary(OPS.relu6, x);

/**
 * The gradient through an activation fused into an op (conv2d, linear), given the upstream
 * gradient g and the activation's output y.
 */
export function activationGrad(op: string, activation: Activation, g: Tensor, y: Tensor): Tensor {
  return applyGrad(op, OPS[activation].grads[0], g, { y });
}

// ---- binary -------------------------------------------------------------------------------

type BinaryName = 'add' | 'sub' | 'mul' | 'div' | 'maximum' | 'minimum' | 'pow';

function binaryTensors(name: BinaryName, a: Tensor, b: Tensor): Tensor {
  if (a.dtype !== 'float32' || b.dtype !== 'float32') {
    throw new Error(`kdgpu: ${name} expects float32 tensors, got ${a.dtype} ${fmt(a.shape)} and ${b.dtype} ${fmt(b.shape)}`);
  }
  const decl: OpDecl = OPS[name];
  const y = elementwise(name, decl.forward, [a, b]);
  if (!a.requiresGrad && !b.requiresGrad) return y;
  const all = { a, b, y };
  const aShape = a.shape;
  const bShape = b.shape;
  const needA = a.requiresGrad;
  const needB = b.requiresGrad;
  return record(`${name} ${fmt(aShape)}, ${fmt(bShape)}`, [a, b], y, decl.saves.map((n) => all[n as 'a' | 'b' | 'y']), (g, s) => {
    const saved: Partial<Record<Saved, Tensor>> = {};
    decl.saves.forEach((n, i) => (saved[n] = s[i]));
    const ra = needA ? reduceGrad(applyGrad(name, decl.grads[0], g, saved), aShape, g) : null;
    const rb = needB ? reduceGrad(applyGrad(name, decl.grads[1], g, saved), bShape, g) : null;
    return [ra, rb];
  });
}

/** Sums a gradient over broadcast dimensions down to `shape`; frees the full-size one. */
function reduceGrad(gFull: Tensor, shape: Shape, g: Tensor): Tensor {
  if (sameShape(gFull.shape, shape)) return gFull;
  const r = sumTo(gFull, shape);
  if (gFull !== g) gFull.dispose();
  return r;
}

/** a ∘ c for a number c, as an op with a uniform constant where one is declared. */
function binaryScalar(name: BinaryName, a: Tensor, c: number, reversed: boolean): Tensor {
  expectFloat(name, a);
  const shape = fmt(a.shape);
  const desc = reversed ? `${name} ${c}, ${shape}` : `${name} ${shape}, ${c}`;
  if (name === 'add') return unary(OPS.addScalar, a, desc, c, name);
  if (name === 'sub') return reversed ? unary(OPS.rsubScalar, a, desc, c, name) : unary(OPS.addScalar, a, desc, -c, name);
  if (name === 'mul') return unary(OPS.mulScalar, a, desc, c, name);
  if (name === 'div' && !reversed) return unary(OPS.divScalar, a, desc, c, name);
  if (name === 'pow' && !reversed) return unary(OPS.powScalar, a, desc, c, name);
  // Everything else: the number becomes a one-element tensor.
  const t = scalarTensor(c);
  try {
    return reversed ? binaryTensors(name, t, a) : binaryTensors(name, a, t);
  } finally {
    t.dispose();
  }
}

function binary(name: BinaryName, a: TensorLike, b: TensorLike): Tensor {
  if (typeof a === 'number' && typeof b === 'number') {
    throw new Error(`kdgpu: ${name}: at least one operand must be a tensor`);
  }
  if (typeof b === 'number') return binaryScalar(name, a as Tensor, b, false);
  if (typeof a === 'number') {
    if (name === 'add' || name === 'mul' || name === 'maximum' || name === 'minimum') return binaryScalar(name, b, a, false);
    return binaryScalar(name, b, a, true);
  }
  return binaryTensors(name, a, b);
}

/** a + b with broadcasting; either side may be a number. */
export const add = (a: TensorLike, b: TensorLike): Tensor => binary('add', a, b);
/** a − b with broadcasting; either side may be a number. */
export const sub = (a: TensorLike, b: TensorLike): Tensor => binary('sub', a, b);
/** a × b with broadcasting; either side may be a number. */
export const mul = (a: TensorLike, b: TensorLike): Tensor => binary('mul', a, b);
/** a / b with broadcasting; either side may be a number. */
export const div = (a: TensorLike, b: TensorLike): Tensor => binary('div', a, b);
/** Elementwise max(a, b) with broadcasting; on ties the gradient is split equally, as PyTorch. */
export const maximum = (a: TensorLike, b: TensorLike): Tensor => binary('maximum', a, b);
/** Elementwise min(a, b) with broadcasting; on ties the gradient is split equally, as PyTorch. */
export const minimum = (a: TensorLike, b: TensorLike): Tensor => binary('minimum', a, b);
/** a^b with broadcasting, as C's pow: 0^0 = 1, a negative base with a non-integral exponent gives NaN. */
export const pow = (a: TensorLike, b: TensorLike): Tensor => binary('pow', a, b);

// ---- comparisons (no gradient) --------------------------------------------------------------

function compare(name: 'equal' | 'greater' | 'less', a: TensorLike, b: TensorLike): Tensor {
  const other = typeof a === 'number' ? (b as Tensor) : a;
  const ta = typeof a === 'number' ? scalarTensor(a, { dtype: other.dtype }) : a;
  const tb = typeof b === 'number' ? scalarTensor(b, { dtype: other.dtype }) : b;
  try {
    if (ta.dtype !== tb.dtype) {
      throw new Error(`kdgpu: ${name}: dtypes differ (${ta.dtype} vs ${tb.dtype}); cast one first`);
    }
    if (ta.dtype === 'int32') {
      if (name !== 'equal') throw new Error(`kdgpu: ${name} is not supported on int32 tensors`);
      return elementwise(name, KERNELS.equalInt, [ta, tb]);
    }
    return elementwise(name, KERNELS[name], [ta, tb]);
  } finally {
    if (ta !== a) ta.dispose();
    if (tb !== b) tb.dispose();
  }
}

/** 1 where a == b, else 0 (float32). Works on int32 too. */
export const equal = (a: TensorLike, b: TensorLike): Tensor => compare('equal', a, b);
/** 1 where a > b, else 0 (float32). No gradient; not supported on int32. */
export const greater = (a: TensorLike, b: TensorLike): Tensor => compare('greater', a, b);
/** 1 where a < b, else 0 (float32). No gradient; not supported on int32. */
export const less = (a: TensorLike, b: TensorLike): Tensor => compare('less', a, b);
