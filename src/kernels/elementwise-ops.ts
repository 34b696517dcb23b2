/**
 * Every elementwise op, declared once: its forward expression and its gradient expressions, from
 * which both its kernels (elementwise.ts) and its tape rule (autograd/ops-elementwise.ts) are
 * made. Adding an activation is one entry here plus its exported function.
 *
 * Expressions are WGSL over named operands: `$x` (a unary op's input), `$a`, `$b` (a binary
 * op's inputs), `$y` (the op's output), `$g` (the upstream gradient), `$c` (the op's uniform
 * constant) and `$T` (the element type, f32 or vec4<f32>). A gradient expression gives the
 * gradient w.r.t. one input at the output's shape; the operands it names are the inputs of its
 * kernel (in the order g, x | a, b, y) and what the tape saves. `$g` alone is the upstream
 * gradient passed through, no kernel. `kd_NAME(…)` calls the accurate math of wgsl-math.ts.
 */
import type { ElementwiseSpec, Scalar } from './elementwise.js';
import { mathHelpers, mathUsed } from './wgsl-math.js';

/** A tensor a gradient rule reads: an input (x; a, b), or the op's output y. */
export type Saved = 'x' | 'a' | 'b' | 'y';

/** How to compute the gradient w.r.t. one input. */
export type GradRule =
  /** The upstream gradient itself. */
  | { readonly kind: 'identity' }
  /** A kernel over the upstream gradient and the saved tensors `inputs` (in that order). */
  | { readonly kind: 'kernel'; readonly spec: ElementwiseSpec; readonly inputs: readonly ('g' | Saved)[] };

/** A differentiable elementwise op: its forward kernel, one gradient rule per input, what it saves. */
export interface OpDecl {
  /** Names the op (and its kernels). */
  readonly name: string;
  /** The forward kernel. */
  readonly forward: ElementwiseSpec;
  /** One rule per input (x; or a, b). */
  readonly grads: readonly GradRule[];
  /** The tensors the gradient rules read, kept by the tape (x, a, b before y). */
  readonly saves: readonly Saved[];
}

/** A kernel spec from an expression over named operands; `order` lists the names it may use. */
function specOf(name: string, text: string, order: readonly string[], types: { inType?: Scalar; outType?: Scalar } = {}): { spec: ElementwiseSpec; inputs: string[] } {
  const inputs = order.filter((v) => new RegExp(`\\$${v}(?![A-Za-z0-9_])`).test(text));
  const expr = text.replace(/\$([gxyab])(?![A-Za-z0-9_])/g, (_, v: string) => {
    const i = inputs.indexOf(v);
    if (i < 0) throw new Error(`kdgpu internal error: ${name}: $${v} is not an operand here`);
    return `$${i}`;
  });
  const math = mathUsed(expr);
  const spec: ElementwiseSpec = { name, arity: inputs.length, expr, ...types, ...(math.length ? { helpers: mathHelpers(...math) } : {}) };
  return { spec, inputs };
}

function gradRule(name: string, text: string, order: readonly string[]): GradRule {
  if (text.trim() === '$g') return { kind: 'identity' };
  const { spec, inputs } = specOf(name, text, order);
  return { kind: 'kernel', spec, inputs: inputs as ('g' | Saved)[] };
}

function declare(name: string, forward: ElementwiseSpec, grads: GradRule[]): OpDecl {
  const used = new Set(grads.flatMap((r) => (r.kind === 'kernel' ? r.inputs : [])));
  const saves = (['x', 'a', 'b', 'y'] as const).filter((s) => used.has(s));
  return { name, forward, grads, saves };
}

/** x ↦ expr, with gradient `grad` over $g, $x, $y (and $c). */
function unary(name: string, expr: string, grad: string): OpDecl {
  return declare(name, specOf(name, expr, ['x']).spec, [gradRule(`${name}Grad`, grad, ['g', 'x', 'y'])]);
}

/** (a, b) ↦ expr, with gradients for a and b over $g, $a, $b, $y. */
function binary(name: string, expr: string, gradA: string, gradB: string): OpDecl {
  const order = ['g', 'a', 'b', 'y'];
  return declare(name, specOf(name, expr, ['a', 'b']).spec, [gradRule(`${name}GradA`, gradA, order), gradRule(`${name}GradB`, gradB, order)]);
}

// On ties maximum and minimum split the gradient equally between a and b, as PyTorch does.
const tie = (pick: string) => `$g * select(select($T(0.0), $T(0.5), $a == $b), $T(1.0), ${pick})`;

/** The differentiable ops. */
export const OPS = {
  neg: unary('neg', '-$x', '-$g'),
  exp: unary('exp', 'kd_exp($x)', '$g * $y'),
  log: unary('log', 'kd_log($x)', '$g / $x'),
  sqrt: unary('sqrt', 'sqrt($x)', '$g / (2.0 * $y)'),
  // relu and relu6 read their gradient from the output, so they can be fused into an op's epilogue.
  relu: unary('relu', 'max($x, $T(0.0))', 'select($T(0.0), $g, $y > $T(0.0))'),
  // MobileNet's activation; its gradient is PyTorch's hardtanh_backward, read from the output.
  relu6: unary('relu6', 'min(max($x, $T(0.0)), $T(6.0))', 'select($T(0.0), $g, ($y > $T(0.0)) & ($y < $T(6.0)))'),
  sigmoid: unary('sigmoid', 'kd_sigmoid($x)', '$g * $y * (1.0 - $y)'),
  tanh: unary('tanh', 'kd_tanh($x)', '$g * (1.0 - $y * $y)'),
  abs: unary('abs', 'abs($x)', '$g * sign($x)'),
  // with a uniform constant: x ∘ c
  addScalar: unary('addScalar', '$x + $c', '$g'),
  rsubScalar: unary('rsubScalar', '$c - $x', '-$g'),
  mulScalar: unary('mulScalar', '$x * $c', '$g * $c'),
  divScalar: unary('divScalar', '$x / $c', '$g / $c'),
  // d/dx x^c = c·x^(c−1), and 0 for c = 0 (PyTorch's rule, also at x = 0)
  powScalar: unary('powScalar', 'kd_pow($x, $T($c))', 'select($g * $c * kd_pow($x, $T($c - 1.0)), $T(0.0), $T($c) == $T(0.0))'),
  add: binary('add', '$a + $b', '$g', '$g'),
  sub: binary('sub', '$a - $b', '$g', '-$g'),
  mul: binary('mul', '$a * $b', '$g * $b', '$g * $a'),
  div: binary('div', '$a / $b', '$g / $b', '-$g * $a / ($b * $b)'),
  maximum: binary('maximum', 'max($a, $b)', tie('$a > $b'), tie('$b > $a')),
  minimum: binary('minimum', 'min($a, $b)', tie('$a < $b'), tie('$b < $a')),
  // d/db a^b = a^b·ln a, defined as 0 where a = 0 and b ≥ 0 (PyTorch's rule)
  pow: binary('pow', 'kd_pow($a, $b)', 'select($g * $b * kd_pow($a, $b - 1.0), $T(0.0), $b == $T(0.0))', 'select($g * $y * kd_log($a), $T(0.0), ($a == $T(0.0)) & ($b >= $T(0.0)))'),
} satisfies Record<string, OpDecl>;

/** The activations an op can fuse into its epilogue (matmul, conv2d): their gradients read only g and y. */
export type Activation = 'relu' | 'relu6';

const plain = (name: string, expr: string, order: readonly string[], types?: { inType?: Scalar; outType?: Scalar }): ElementwiseSpec =>
  specOf(name, expr, order, types).spec;

/** Kernels without a gradient: fills, copies, casts and comparisons (1.0 where true, else 0.0). */
export const KERNELS = {
  fill: plain('fill', '$T($c)', []),
  fillInt: plain('fillInt', '$T(i32($c))', [], { outType: 'i32' }),
  copy: plain('copy', '$x', ['x']),
  copyInt: plain('copyInt', '$x', ['x'], { inType: 'i32', outType: 'i32' }),
  castIntToFloat: plain('castIntToFloat', '$T($x)', ['x'], { inType: 'i32', outType: 'f32' }),
  castFloatToInt: plain('castFloatToInt', '$T($x)', ['x'], { inType: 'f32', outType: 'i32' }),
  equal: plain('equal', 'select($T(0.0), $T(1.0), $a == $b)', ['a', 'b']),
  greater: plain('greater', 'select($T(0.0), $T(1.0), $a > $b)', ['a', 'b']),
  less: plain('less', 'select($T(0.0), $T(1.0), $a < $b)', ['a', 'b']),
  equalInt: plain('equalInt', 'select($T(0.0), $T(1.0), $a == $b)', ['a', 'b'], { inType: 'i32' }),
} satisfies Record<string, ElementwiseSpec>;
