/** Elementwise ops with NumPy broadcasting, and their gradients. */
import { runElementwise, UNARY, BINARY, GRAD, type ElementwiseSpec, type ElementwiseInput } from '../kernels/elementwise.js';
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

// ---- unary --------------------------------------------------------------------------------

function unary(
  name: keyof typeof UNARY,
  x: Tensor,
  grad: ((g: Tensor, x: Tensor, y: Tensor) => Tensor) | null,
  save: 'x' | 'y' | 'none',
): Tensor {
  expectFloat(name, x);
  const y = elementwise(name, UNARY[name], [x]);
  if (!grad) return y;
  const saved = save === 'x' ? [x] : save === 'y' ? [y] : [];
  return record(`${name} ${fmt(x.shape)}`, [x], y, saved, (g, s) => [
    grad(g, save === 'x' ? s[0] : (undefined as unknown as Tensor), save === 'y' ? s[0] : (undefined as unknown as Tensor)),
  ]);
}

/** −x, elementwise. */
export const neg = (x: Tensor): Tensor => unary('neg', x, (g) => elementwise('neg', UNARY.neg, [g]), 'none');
/** e^x, elementwise. */
export const exp = (x: Tensor): Tensor => unary('exp', x, (g, _x, y) => elementwise('exp', BINARY.mul, [g, y]), 'y');
/** Natural logarithm, elementwise. */
export const log = (x: Tensor): Tensor => unary('log', x, (g, xs) => elementwise('log', BINARY.div, [g, xs]), 'x');
/** Square root, elementwise. */
export const sqrt = (x: Tensor): Tensor => unary('sqrt', x, (g, _x, y) => elementwise('sqrt', GRAD.sqrt, [g, y]), 'y');
/** max(x, 0), elementwise (gradient 0 at 0). */
export const relu = (x: Tensor): Tensor => unary('relu', x, (g, xs) => elementwise('relu', GRAD.relu, [g, xs]), 'x');
/** 1 / (1 + e^−x), elementwise. */
export const sigmoid = (x: Tensor): Tensor =>
  unary('sigmoid', x, (g, _x, y) => elementwise('sigmoid', GRAD.sigmoid, [g, y]), 'y');
/** Hyperbolic tangent, elementwise. */
export const tanh = (x: Tensor): Tensor => unary('tanh', x, (g, _x, y) => elementwise('tanh', GRAD.tanh, [g, y]), 'y');
/** |x|, elementwise (gradient sign(x), 0 at 0). */
export const abs = (x: Tensor): Tensor => unary('abs', x, (g, xs) => elementwise('abs', GRAD.abs, [g, xs]), 'x');

/** ReLU6 = min(max(x, 0), 6) (MobileNet's activation). */
const RELU6: ElementwiseSpec = { name: 'relu6', arity: 1, expr: 'min(max($0, $T(0.0)), $T(6.0))' };
/** (g, y) → g where 0 < y < 6, else 0: PyTorch's hardtanh_backward, read from the output. */
const RELU6_GRAD: ElementwiseSpec = { name: 'relu6Grad', arity: 2, expr: 'select($T(0.0), $0, ($1 > $T(0.0)) & ($1 < $T(6.0)))' };

/** ReLU6 = min(max(x, 0), 6), elementwise (MobileNet's activation). */
export function relu6(x: Tensor): Tensor {
  expectFloat('relu6', x);
  const y = elementwise('relu6', RELU6, [x]);
  return record(`relu6 ${fmt(x.shape)}`, [x], y, [y], (g, [ys]) => [elementwise('relu6', RELU6_GRAD, [g, ys])]);
}

/**
 * The gradient through an activation fused into an op (conv2d, linear), given the upstream
 * gradient g and the activation's output y.
 */
export function activationGrad(op: string, activation: 'relu' | 'relu6', g: Tensor, y: Tensor): Tensor {
  return elementwise(op, activation === 'relu' ? GRAD.relu : RELU6_GRAD, [g, y]);
}

// ---- binary -------------------------------------------------------------------------------

type BinaryName = 'add' | 'sub' | 'mul' | 'div' | 'maximum' | 'minimum' | 'pow';

/**
 * Gradients at the output's shape, for a and for b, given g, a, b and the output y. Each side is
 * computed only when its input requires a gradient.
 */
const binaryGrads: Record<BinaryName, [(g: Tensor, a: Tensor, b: Tensor, y: Tensor) => Tensor, (g: Tensor, a: Tensor, b: Tensor, y: Tensor) => Tensor]> = {
  add: [(g) => g, (g) => g],
  sub: [(g) => g, (g) => elementwise('sub', UNARY.neg, [g])],
  mul: [(g, _a, b) => elementwise('mul', BINARY.mul, [g, b]), (g, a) => elementwise('mul', BINARY.mul, [g, a])],
  div: [(g, _a, b) => elementwise('div', BINARY.div, [g, b]), (g, a, b) => elementwise('div', GRAD.divB, [g, a, b])],
  maximum: [(g, a, b) => elementwise('maximum', GRAD.maximumA, [g, a, b]), (g, a, b) => elementwise('maximum', GRAD.maximumB, [g, a, b])],
  minimum: [(g, a, b) => elementwise('minimum', GRAD.minimumA, [g, a, b]), (g, a, b) => elementwise('minimum', GRAD.minimumB, [g, a, b])],
  pow: [(g, a, b) => elementwise('pow', GRAD.powA, [g, a, b]), (g, a, b, y) => elementwise('pow', GRAD.powB, [g, a, b, y])],
};

const needsSaved: Record<BinaryName, { a: boolean; b: boolean; y: boolean }> = {
  add: { a: false, b: false, y: false },
  sub: { a: false, b: false, y: false },
  mul: { a: true, b: true, y: false },
  div: { a: true, b: true, y: false },
  maximum: { a: true, b: true, y: false },
  minimum: { a: true, b: true, y: false },
  pow: { a: true, b: true, y: true },
};

function binaryTensors(name: BinaryName, a: Tensor, b: Tensor): Tensor {
  if (a.dtype !== 'float32' || b.dtype !== 'float32') {
    throw new Error(`kdgpu: ${name} expects float32 tensors, got ${a.dtype} ${fmt(a.shape)} and ${b.dtype} ${fmt(b.shape)}`);
  }
  const y = elementwise(name, BINARY[name], [a, b]);
  if (!a.requiresGrad && !b.requiresGrad) return y;
  const need = needsSaved[name];
  const save = [need.a ? a : null, need.b ? b : null, need.y ? y : null].filter((t): t is Tensor => t !== null);
  const aShape = a.shape;
  const bShape = b.shape;
  const needA = a.requiresGrad;
  const needB = b.requiresGrad;
  return record(`${name} ${fmt(aShape)}, ${fmt(bShape)}`, [a, b], y, save, (g, s) => {
    let k = 0;
    const sa = need.a ? s[k++] : g;
    const sb = need.b ? s[k++] : g;
    const sy = need.y ? s[k++] : g;
    const [gradA, gradB] = binaryGrads[name];
    const ra = needA ? reduceGrad(gradA(g, sa, sb, sy), aShape, g) : null;
    const rb = needB ? reduceGrad(gradB(g, sa, sb, sy), bShape, g) : null;
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

function binaryScalar(name: BinaryName, a: Tensor, c: number, reversed: boolean): Tensor {
  expectFloat(name, a);
  const shape = fmt(a.shape);
  switch (name) {
    case 'add':
      return unaryConst('add', a, c, UNARY.addScalar, (g) => g, `add ${shape}, ${c}`);
    case 'sub':
      return reversed
        ? unaryConst('sub', a, c, UNARY.rsubScalar, (g) => elementwise('sub', UNARY.neg, [g]), `sub ${c}, ${shape}`)
        : unaryConst('sub', a, -c, UNARY.addScalar, (g) => g, `sub ${shape}, ${c}`);
    case 'mul':
      return unaryConst('mul', a, c, UNARY.mulScalar, (g) => elementwise('mul', UNARY.mulScalar, [g], { constant: c }), `mul ${shape}, ${c}`);
    case 'div':
      if (!reversed) {
        return unaryConst('div', a, c, UNARY.divScalar, (g) => elementwise('div', UNARY.divScalar, [g], { constant: c }), `div ${shape}, ${c}`);
      }
      break;
    case 'pow':
      if (!reversed) {
        return unaryConst('pow', a, c, UNARY.powScalar, (g, x) => elementwise('pow', GRAD.powScalar, [g, x!], { constant: c }), `pow ${shape}, ${c}`, true);
      }
      break;
    default:
      break;
  }
  // Everything else: the number becomes a one-element tensor.
  const t = scalarTensor(c);
  try {
    return reversed ? binaryTensors(name, t, a) : binaryTensors(name, a, t);
  } finally {
    t.dispose();
  }
}

function unaryConst(
  op: string,
  x: Tensor,
  c: number,
  spec: ElementwiseSpec,
  grad: (g: Tensor, x?: Tensor) => Tensor,
  desc: string,
  saveX = false,
): Tensor {
  const y = elementwise(op, spec, [x], { constant: c });
  return record(desc, [x], y, saveX ? [x] : [], (g, s) => [grad(g, s[0])]);
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
      return elementwise(name, BINARY.equalInt, [ta, tb]);
    }
    return elementwise(name, BINARY[name], [ta, tb]);
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
