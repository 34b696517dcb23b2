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
import type { Engine, Kernel } from '../gpu/engine.js';
import { cachedKernel, dispatch1d, invocationIndex, main1d } from '../gpu/kernel-registry.js';

/** A WGSL element type: f32 (float32 tensors) or i32 (int32 tensors). */
export type Scalar = 'f32' | 'i32';

/** An elementwise kernel as data: a WGSL expression over its inputs, with its types. */
export interface ElementwiseSpec {
  /** Names the kernel in errors and profiles. */
  readonly name: string;
  /** WGSL expression over $0…$n, $c (uniform constant) and $T (the output type). */
  readonly expr: string;
  /** Number of inputs ($0…$arity−1). */
  readonly arity: number;
  /** Element type of the inputs (all the same). Default f32. */
  readonly inType?: Scalar;
  /** Element type of the output. Default f32. */
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
  lines.push(main1d());
  lines.push(`  ${invocationIndex('i')}`);
  lines.push(`  if (i >= p.n) { return; }`);
  const names: string[] = [];
  if (!vec && modes.some((m) => m === 'strided')) {
    modes.forEach((m, k) => {
      if (m === 'strided') lines.push(`  var o${k} = 0u;`);
    });
    lines.push(`  var rem = i;`);
    // unrolled, innermost dimension first, with constant uniform indices (much faster than a loop
    // with dynamic indexing, on SwiftShader especially)
    for (let d = rank - 1; d >= 0; d--) {
      const at = `[${d >> 2}][${d & 3}]`;
      const adds = modes.map((m, k) => (m === 'strided' ? ` o${k} += c * p.st${k}${at};` : '')).join('');
      lines.push(`  { let e = p.shape${at}; let c = rem % e; rem = rem / e;${adds} }`);
    }
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

function kernelFor(spec: ElementwiseSpec, modes: InputMode[], rank: number): Kernel {
  const strided = modes.includes('strided');
  const key = `elementwise|${spec.name}|${spec.expr}|${modes.join(',')}|${strided ? rank : 0}`;
  return cachedKernel(key, () => ({ name: `elementwise.${spec.name}.${strided ? `strided${rank}` : 'vec4'}`, source: buildSource(spec, modes, rank) }));
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
  dispatch1d(engine, kernel, buffers, uniforms, count);
  return out;
}
