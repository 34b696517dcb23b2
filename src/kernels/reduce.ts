/**
 * Reductions (sum with a scale — so mean is a sum —, max, argmax) over any set of axes of a
 * contiguous input.
 *
 * Adjacent axes that are both reduced or both kept are merged first, so the usual cases (rows,
 * columns, everything) become one reduced and at most two kept dimensions. Short reductions and
 * those with many outputs give each output element to one invocation; otherwise a workgroup of 64
 * invocations reduces each output element: each invocation folds a strided share, then a tree in
 * workgroup memory combines them (see `layoutFor`). Float sums are compensated (Neumaier) within each share, so a
 * sum of millions of elements keeps float32 accuracy; max/argmax propagate NaN and break ties
 * toward the first index.
 */
import type { PooledBuffer } from '../gpu/buffer-pool.js';
import { grid, type Engine } from '../gpu/engine.js';
import { bindings, WG, main1d, cachedKernel, guardedIndex } from '../gpu/kernel-registry.js';

export type ReduceKind = 'sum' | 'max' | 'argmax';


interface Plan {
  keptShape: number[];
  keptStrides: number[];
  redShape: number[];
  redStrides: number[];
  outN: number;
  redN: number;
}

/** Merges runs of kept/reduced axes of a contiguous tensor. */
export function planReduce(shape: readonly number[], axes: readonly number[]): Plan {
  const reduced = new Set(axes);
  const groups: { red: boolean; size: number; stride: number }[] = [];
  let stride = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    const red = reduced.has(d);
    const size = shape[d];
    if (size === 1) continue; // size-1 axes change nothing
    const last = groups[groups.length - 1];
    if (last && last.red === red && last.stride * last.size === stride) last.size *= size;
    else groups.push({ red, size, stride });
    stride *= size;
  }
  groups.reverse();
  const kept = groups.filter((g) => !g.red);
  const red = groups.filter((g) => g.red);
  const prod = (a: { size: number }[]) => a.reduce((p, g) => p * g.size, 1);
  return {
    keptShape: kept.map((g) => g.size),
    keptStrides: kept.map((g) => g.stride),
    redShape: red.map((g) => g.size),
    redStrides: red.map((g) => g.stride),
    outN: prod(kept),
    redN: prod(red),
  };
}

/** How a reduction is spread over invocations; see `layoutFor`. */
export type ReduceLayout = 'workgroup' | 'thread';

/**
 * 'thread' (one invocation folds a whole output element, no barriers) for short reductions and for
 * many outputs — there are then enough invocations to fill the device, and a workgroup per output
 * would idle most of its lanes (and SwiftShader pays for every workgroup's barriers). Otherwise
 * 'workgroup': 64 invocations share each output's reduction.
 */
export function layoutFor(outN: number, redN: number): ReduceLayout {
  return redN <= 256 || outN >= 4096 ? 'thread' : 'workgroup';
}

function source(kind: ReduceKind, keptRank: number, redRank: number, dtype: 'f32' | 'i32', layout: ReduceLayout): string {
  const isMax = kind !== 'sum';
  const decompose = (name: string, idx: string, rank: number, shape: string, strides: string) => {
    if (rank === 0) return `  let ${name} = 0u;`;
    if (rank === 1) return `  let ${name} = ${idx} * ${strides}[0][0];`;
    // unrolled, innermost dimension first, with constant uniform indices
    const lines = [`  var ${name} = 0u;`, `  { var rem = ${idx};`];
    for (let d = rank - 1; d >= 0; d--) {
      const at = `[${d >> 2}][${d & 3}]`;
      lines.push(`    { let e = ${shape}${at}; ${name} += (rem % e) * ${strides}${at}; rem = rem / e; }`);
    }
    lines.push('  }');
    return lines.join('\n');
  };
  const outType = kind === 'argmax' ? 'i32' : dtype;
  const compensated = kind === 'sum' && dtype === 'f32';
  const init = isMax ? (dtype === 'f32' ? 'bitcast<f32>(0xff7fffffu)' : '-2147483647 - 1') : dtype === 'f32' ? '0.0' : '0';
  // v beats a: larger, or NaN over a number (NaN propagates, as in PyTorch). NaN is tested on the
  // bits because WGSL lets compilers assume float comparisons never see it.
  const above =
    dtype === 'f32'
      ? `fn kd_isnan(v: f32) -> bool { return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u; }
fn kd_above(v: f32, a: f32) -> bool { return select(v > a, true, kd_isnan(v)) && !kd_isnan(a); }`
      : `fn kd_above(v: i32, a: i32) -> bool { return v > a; }`;
  const step = isMax
    ? 'if (accIdx == 0xffffffffu || kd_above(v, acc)) { acc = v; accIdx = r; }'
    : compensated
      ? `// Neumaier's compensated sum: long reductions stay within a few ulp
    let t = acc + v;
    comp += select((v - t) + acc, (acc - t) + v, abs(acc) >= abs(v));
    acc = t;`
      : 'acc += v;';
  const perThread = layout === 'thread';
  // Each invocation folds the reduction indices r = first, first + stride, … into acc (and accIdx).
  const fold = (first: string, stride: string) => `
  var acc: ${dtype} = ${init};
  var accIdx = 0xffffffffu;
  ${compensated ? 'var comp: f32 = 0.0;' : ''}
  for (var r = ${first}; r < p.redN; r += ${stride}) {
${decompose('off', 'r', redRank, 'p.rShape', 'p.rStr')
  .split('\n')
  .map((l) => '  ' + l)
  .join('\n')}
    let v = x[base + off];
    ${step}
  }
  ${compensated ? `// an infinite or NaN sum makes the compensation NaN: then the plain sum is the answer
  if ((bitcast<u32>(comp) & 0x7f800000u) != 0x7f800000u) { acc += comp; }` : ''}`;
  const result = (val: string, idx: string) =>
    kind === 'sum' ? (dtype === 'f32' ? `out[o] = ${val} * p.scale;` : `out[o] = ${val};`) : kind === 'max' ? `out[o] = ${val};` : `out[o] = i32(${idx});`;
  const header = `
struct Params { outN: u32, redN: u32, scale: f32,
  kShape: array<vec4<u32>, 2>, kStr: array<vec4<u32>, 2>,
  rShape: array<vec4<u32>, 2>, rStr: array<vec4<u32>, 2>, }
${bindings(['x', 'read', `array<${dtype}>`], ['out', 'read_write', `array<${outType}>`])}
${isMax ? above : ''}`;
  if (perThread) {
    return `${header}
${main1d()}
${guardedIndex('o', 'p.outN')}
${decompose('base', 'o', keptRank, 'p.kShape', 'p.kStr')}
${fold('0u', '1u')}
  ${result('acc', 'accIdx')}
}`;
  }
  return `${header}
var<workgroup> partVal: array<${dtype}, ${WG}>;
${isMax ? `var<workgroup> partIdx: array<u32, ${WG}>;` : ''}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let o = wid.x + wid.y * nwg.x;
  if (o >= p.outN) { return; }
${decompose('base', 'o', keptRank, 'p.kShape', 'p.kStr')}
${fold('lid.x', `${WG}u`)}
  partVal[lid.x] = acc;
  ${isMax ? 'partIdx[lid.x] = accIdx;' : ''}
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s = s >> 1u) {
    if (lid.x < s) {
      ${
        isMax
          ? `let a = partVal[lid.x]; let b = partVal[lid.x + s];
      let ia = partIdx[lid.x]; let ib = partIdx[lid.x + s];
      // the first index wins ties (PyTorch's argmax); empty slots hold 0xffffffff
      if (ib != 0xffffffffu && (ia == 0xffffffffu || kd_above(b, a) || (!kd_above(a, b) && ib < ia))) {
        partVal[lid.x] = b; partIdx[lid.x] = ib;
      }`
          : 'partVal[lid.x] = partVal[lid.x] + partVal[lid.x + s];'
      }
    }
    workgroupBarrier();
  }
  if (lid.x == 0u) {
    ${result('partVal[0]', 'partIdx[0]')}
  }
}`;
}

/**
 * Reduces `axes` of a contiguous tensor of `shape`; the output (kept axes in order) has
 * `outN` elements. For 'sum' the result is multiplied by `scale`.
 */
export function runReduce(
  engine: Engine,
  kind: ReduceKind,
  x: PooledBuffer,
  shape: readonly number[],
  axes: readonly number[],
  dtype: 'f32' | 'i32' = 'f32',
  scale = 1,
): PooledBuffer {
  const plan = planReduce(shape, axes);
  const out = engine.pool.acquire(Math.max(plan.outN, 1) * 4);
  if (plan.outN === 0) return out;
  const kr = plan.keptShape.length;
  const rr = plan.redShape.length;
  const layout = layoutFor(plan.outN, plan.redN);
  const key = `${kind}|${kr}|${rr}|${dtype}|${layout}`;
  const k = cachedKernel(`reduce.${key}`, () => ({ name: `reduce.${kind}.k${kr}r${rr}.${layout}`, source: source(kind, kr, rr, dtype, layout) }));
  engine.dispatch(
    k,
    { x, out },
    {
      outN: plan.outN,
      redN: plan.redN,
      scale,
      kShape: plan.keptShape.length ? plan.keptShape : [1],
      kStr: plan.keptStrides.length ? plan.keptStrides : [0],
      rShape: plan.redShape.length ? plan.redShape : [1],
      rStr: plan.redStrides.length ? plan.redStrides : [0],
    },
    grid(layout === 'thread' ? Math.ceil(plan.outN / WG) : plan.outN, engine.limits.maxComputeWorkgroupsPerDimension),
  );
  return out;
}
