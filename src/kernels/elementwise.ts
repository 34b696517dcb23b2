/**
 * Elementwise kernels, generated from one-line expressions.
 *
 * An op is data: an expression over its inputs `$0, $1, …` (and a uniform constant `$c`), typed
 * with `$T` (the output's vector or scalar type) so the same text works per element or per vec4.
 * Each input is read in one of three ways:
 *   full    — same shape as the output, contiguous: read at the element's own index;
 *   scalar  — one element, read once and splatted;
 *   strided — broadcast: its offset comes from the output coordinates and its own strides
 *             (0 along repeated dimensions), carried in uniforms.
 * With no strided input the kernel works on vec4s (buffers are allocated in 16-byte multiples, so
 * the last vec4's padding is ours to read and write).
 */
import type { PooledBuffer } from '../gpu/buffer-pool.js';
import { grid, type Engine, type Kernel } from '../gpu/engine.js';

export type Scalar = 'f32' | 'i32';

export interface ElementwiseSpec {
  /** Names the kernel in errors and profiles. */
  readonly name: string;
  /** WGSL expression over $0…$n, $c (uniform constant) and $T (the output type). */
  readonly expr: string;
  readonly arity: number;
  /** Element type of the inputs (all the same) and of the output. */
  readonly inType?: Scalar;
  readonly outType?: Scalar;
  /** Helper functions, given the WGSL type they will be used with. */
  readonly helpers?: (T: string, S: string) => string;
}

export type InputMode = 'full' | 'scalar' | 'strided';

export interface ElementwiseInput {
  buffer: PooledBuffer;
  mode: InputMode;
  /** Strides over the output's dimensions (for 'strided'). */
  strides?: readonly number[];
}

const WG = 64;

function vecType(s: Scalar, vec: boolean): string {
  return vec ? `vec4<${s}>` : s;
}

function substitute(expr: string, names: string[], T: string): string {
  return expr
    .replace(/\$T/g, T)
    .replace(/\$c/g, 'p.c')
    .replace(/\$(\d)/g, (_, d: string) => names[Number(d)]);
}

function buildSource(spec: ElementwiseSpec, modes: InputMode[], rank: number): string {
  const inS = spec.inType ?? 'f32';
  const outS = spec.outType ?? 'f32';
  const vec = !modes.includes('strided');
  const T = vecType(outS, vec);
  const IT = vecType(inS, vec);
  const lines: string[] = [];
  lines.push(`struct Params { n: u32, c: f32, shape: array<vec4<u32>, 2>,`);
  modes.forEach((m, i) => {
    if (m === 'strided') lines.push(`  st${i}: array<vec4<u32>, 2>,`);
  });
  lines.push('}');
  modes.forEach((m, i) => {
    const elem = m === 'full' && vec ? `vec4<${inS}>` : inS;
    lines.push(`@group(0) @binding(${i}) var<storage, read> in${i}: array<${elem}>;`);
  });
  lines.push(`@group(0) @binding(${modes.length}) var<storage, read_write> out: array<${vecType(outS, vec)}>;`);
  lines.push(`@group(0) @binding(${modes.length + 1}) var<uniform> p: Params;`);
  if (spec.helpers) lines.push(spec.helpers(T, outS));
  if (!vec) {
    lines.push(`fn dim(a: array<vec4<u32>, 2>, d: u32) -> u32 { return a[d / 4u][d % 4u]; }`);
  }
  lines.push(`@compute @workgroup_size(${WG})`);
  lines.push(`fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {`);
  lines.push(`  let i = gid.x + gid.y * nwg.x * ${WG}u;`);
  lines.push(`  if (i >= p.n) { return; }`);
  const names: string[] = [];
  if (!vec && modes.some((m) => m === 'strided')) {
    modes.forEach((m, k) => {
      if (m === 'strided') lines.push(`  var o${k} = 0u;`);
    });
    lines.push(`  var rem = i;`);
    lines.push(`  for (var d = ${rank - 1}i; d >= 0i; d--) {`);
    lines.push(`    let e = dim(p.shape, u32(d));`);
    lines.push(`    let c = rem % e; rem = rem / e;`);
    modes.forEach((m, k) => {
      if (m === 'strided') lines.push(`    o${k} += c * dim(p.st${k}, u32(d));`);
    });
    lines.push(`  }`);
  }
  modes.forEach((m, k) => {
    const v = `x${k}`;
    if (m === 'full') lines.push(`  let ${v} = in${k}[i];`);
    else if (m === 'scalar') lines.push(`  let ${v} = ${IT}(in${k}[0]);`);
    else lines.push(`  let ${v} = in${k}[o${k}];`);
    names.push(v);
  });
  lines.push(`  out[i] = ${substitute(spec.expr, names, T)};`);
  lines.push('}');
  return lines.join('\n');
}

const kernelCache = new Map<string, Kernel>();

function kernelFor(spec: ElementwiseSpec, modes: InputMode[], rank: number): Kernel {
  const key = `${spec.name}|${spec.expr}|${modes.join(',')}|${modes.includes('strided') ? rank : 0}`;
  let k = kernelCache.get(key);
  if (!k) {
    const variant = modes.includes('strided') ? `strided${rank}` : 'vec4';
    k = { name: `elementwise.${spec.name}.${variant}`, source: buildSource(spec, modes, rank) };
    kernelCache.set(key, k);
  }
  return k;
}

/**
 * Runs `spec` over inputs into a new buffer of `outSize` elements laid out as `outShape`.
 * `constant` fills `$c`.
 */
export function runElementwise(
  engine: Engine,
  spec: ElementwiseSpec,
  inputs: readonly ElementwiseInput[],
  outShape: readonly number[],
  constant = 0,
): PooledBuffer {
  if (inputs.length !== spec.arity) {
    throw new Error(`kdgpu internal error: ${spec.name} takes ${spec.arity} inputs, got ${inputs.length}`);
  }
  let n = 1;
  for (const d of outShape) n *= d;
  const out = engine.pool.acquire(Math.max(n, 1) * 4);
  if (n === 0) return out;
  const modes = inputs.map((x) => x.mode);
  const vec = !modes.includes('strided');
  const rank = Math.max(outShape.length, 1);
  const kernel = kernelFor(spec, modes, rank);
  const count = vec ? Math.ceil(n / 4) : n;
  const uniforms: Record<string, number | number[]> = { n: count, c: constant };
  if (!vec) {
    uniforms.shape = outShape.length ? [...outShape] : [1];
    inputs.forEach((x, k) => {
      if (x.mode === 'strided') uniforms[`st${k}`] = x.strides!.length ? [...x.strides!] : [0];
    });
  }
  const buffers: Record<string, PooledBuffer> = { out };
  inputs.forEach((x, k) => (buffers[`in${k}`] = x.buffer));
  engine.dispatch(kernel, buffers, uniforms, grid(Math.ceil(count / WG), engine.limits.maxComputeWorkgroupsPerDimension));
  return out;
}

// ---- the op table ---------------------------------------------------------------------------


const sigmoidHelper = (T: string) => `
fn kd_sigmoid(x: ${T}) -> ${T} {
  let e = exp(-abs(x));
  return select(e / (1.0 + e), 1.0 / (1.0 + e), x >= ${T}(0.0));
}`;

// tanh from exp(-2|x|) never overflows; below 0.125 a Taylor polynomial avoids cancellation.
const tanhHelper = (T: string) => `
fn kd_tanh(x: ${T}) -> ${T} {
  let ax = abs(x);
  let e = exp(-2.0 * ax);
  let big = (1.0 - e) / (1.0 + e);
  let x2 = ax * ax;
  let small = ax * (1.0 + x2 * (-1.0 / 3.0 + x2 * (2.0 / 15.0 + x2 * (-17.0 / 315.0))));
  return sign(x) * select(big, small, ax < ${T}(0.125));
}`;

// PyTorch's pow: negative bases with integral exponents keep their sign; 0^0 = 1; squares and
// square roots exact.
const powHelper = (T: string) => `
fn kd_pow(a: ${T}, b: ${T}) -> ${T} {
  let m = pow(abs(a), b);
  let integral = round(b) == b;
  let odd = integral & (abs(b - 2.0 * floor(b * 0.5)) == ${T}(1.0));
  var r = select(m, -m, odd & (a < ${T}(0.0)));
  // A NaN constant is rejected by WGSL's constant evaluation; the builtin gives NaN here at run time.
  r = select(r, pow(a, b), (a < ${T}(0.0)) & !integral);
  r = select(r, a * a, b == ${T}(2.0));
  r = select(r, a, b == ${T}(1.0));
  r = select(r, sqrt(a), b == ${T}(0.5));
  r = select(r, ${T}(1.0), b == ${T}(0.0));
  return r;
}`;

function op(name: string, arity: number, expr: string, extra: Partial<ElementwiseSpec> = {}): ElementwiseSpec {
  return { name, arity, expr, ...extra };
}

/** Forward ops users call. */
export const UNARY = {
  neg: op('neg', 1, '-$0'),
  exp: op('exp', 1, 'exp($0)'),
  log: op('log', 1, 'log($0)'),
  sqrt: op('sqrt', 1, 'sqrt($0)'),
  relu: op('relu', 1, 'max($0, $T(0.0))'),
  sigmoid: op('sigmoid', 1, 'kd_sigmoid($0)', { helpers: sigmoidHelper }),
  tanh: op('tanh', 1, 'kd_tanh($0)', { helpers: tanhHelper }),
  abs: op('abs', 1, 'abs($0)'),
  // with a uniform constant: x ∘ c
  addScalar: op('addScalar', 1, '$0 + $c'),
  mulScalar: op('mulScalar', 1, '$0 * $c'),
  powScalar: op('powScalar', 1, 'kd_pow($0, $T($c))', { helpers: powHelper }),
  rsubScalar: op('rsubScalar', 1, '$c - $0'),
  rdivScalar: op('rdivScalar', 1, '$c / $0'),
  fill: op('fill', 0, '$T($c)'),
  copy: op('copy', 1, '$0'),
  castIntToFloat: op('castIntToFloat', 1, '$T($0)', { inType: 'i32', outType: 'f32' }),
  castFloatToInt: op('castFloatToInt', 1, '$T($0)', { inType: 'f32', outType: 'i32' }),
  fillInt: op('fillInt', 0, '$T(i32($c))', { outType: 'i32' }),
  copyInt: op('copyInt', 1, '$0', { inType: 'i32', outType: 'i32' }),
} satisfies Record<string, ElementwiseSpec>;

export const BINARY = {
  add: op('add', 2, '$0 + $1'),
  sub: op('sub', 2, '$0 - $1'),
  mul: op('mul', 2, '$0 * $1'),
  div: op('div', 2, '$0 / $1'),
  maximum: op('maximum', 2, 'max($0, $1)'),
  minimum: op('minimum', 2, 'min($0, $1)'),
  pow: op('pow', 2, 'kd_pow($0, $1)', { helpers: powHelper }),
  equal: op('equal', 2, 'select($T(0.0), $T(1.0), $0 == $1)'),
  greater: op('greater', 2, 'select($T(0.0), $T(1.0), $0 > $1)'),
  less: op('less', 2, 'select($T(0.0), $T(1.0), $0 < $1)'),
  equalInt: op('equalInt', 2, 'select($T(0.0), $T(1.0), $0 == $1)', { inType: 'i32' }),
} satisfies Record<string, ElementwiseSpec>;

/** Pieces of backward rules: inputs are (grad, …saved) at the output's shape. */
export const GRAD = {
  relu: op('reluGrad', 2, 'select($T(0.0), $0, $1 > $T(0.0))'),
  sigmoid: op('sigmoidGrad', 2, '$0 * $1 * (1.0 - $1)'),
  tanh: op('tanhGrad', 2, '$0 * (1.0 - $1 * $1)'),
  abs: op('absGrad', 2, '$0 * sign($1)'),
  sqrt: op('sqrtGrad', 2, '$0 / (2.0 * $1)'),
  powScalar: op('powScalarGrad', 2, '$0 * $c * kd_pow($1, $T($c - 1.0))', { helpers: powHelper }),
  // (g, a, b) for the binary ops
  divB: op('divGradB', 3, '-$0 * $1 / ($2 * $2)'),
  maximumA: op('maximumGradA', 3, '$0 * select(select($T(0.0), $T(0.5), $1 == $2), $T(1.0), $1 > $2)'),
  maximumB: op('maximumGradB', 3, '$0 * select(select($T(0.0), $T(0.5), $1 == $2), $T(1.0), $2 > $1)'),
  minimumA: op('minimumGradA', 3, '$0 * select(select($T(0.0), $T(0.5), $1 == $2), $T(1.0), $1 < $2)'),
  minimumB: op('minimumGradB', 3, '$0 * select(select($T(0.0), $T(0.5), $1 == $2), $T(1.0), $2 < $1)'),
  powA: op('powGradA', 3, '$0 * $2 * kd_pow($1, $2 - 1.0)', { helpers: powHelper }),
  // (g, a, b, y): d/db a^b = a^b·ln a, defined as 0 where a = 0 and b ≥ 0 (PyTorch's rule)
  powB: op('powGradB', 4, 'select($0 * $3 * log($1), $T(0.0), ($1 == $T(0.0)) & ($2 >= $T(0.0)))'),
} satisfies Record<string, ElementwiseSpec>;
