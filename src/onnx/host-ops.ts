/**
 * Shape arithmetic on the host: the small integer (and constant float) tensors of the subgraphs
 * exporters write around Reshape and Pad (Shape → Gather → Unsqueeze → Concat → Reshape, and
 * ConstantOfShape/Slice/Transpose/Cast for pads). Evaluated on the CPU each forward once the
 * input's shape is known, so no kernel ever runs for them.
 */
import { stridesOf } from '../autograd/shape.js';
import { checkedSize, OnnxError } from './errors.js';
import { label, type AttributeValue, type OnnxNode } from './graph.js';
import type { HostTensor } from './tensor-data.js';

/** Ops that can run on host values (when all their data inputs are host values). */
export const HOST_OPS: ReadonlySet<string> = new Set([
  'Constant', 'Shape', 'Gather', 'Unsqueeze', 'Squeeze', 'Concat', 'Reshape', 'Transpose', 'Cast', 'Identity',
  'ConstantOfShape', 'Slice', 'Add', 'Sub', 'Mul', 'Div', 'Flatten',
]);

/** Ops that only run on host values: their data input must be known before the forward. */
export const HOST_ONLY_OPS: ReadonlySet<string> = new Set(['Gather', 'ConstantOfShape']);

/** Host values larger than this are refused (they are shapes and indices, not activations). */
const MAX_HOST = 1 << 20;

/** A host tensor with the given dtype, dims and values. */
export function host(dtype: 'float' | 'int', dims: readonly number[], data: ArrayLike<number>): HostTensor {
  return dtype === 'float' ? { dtype, dims: [...dims], data: Float32Array.from(data) } : { dtype, dims: [...dims], data: Array.from(data) };
}

/** An axis attribute in [-rank, rank) made non-negative; errors name the node. */
export function normAxis(source: string, n: OnnxNode, axis: number, rank: number): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) throw new OnnxError(source, `node ${label(n)}: axis ${axis} is out of range for rank ${rank}`);
  return axis < 0 ? axis + rank : axis;
}

/** Integer values of an optional host input or attribute (opset-dependent), or undefined. */
export function intsOf(v: HostTensor | AttributeValue | undefined): number[] | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'number') return [v];
  if (Array.isArray(v)) return v as number[];
  if (typeof v === 'object' && 'dims' in v) return Array.from(v.data as ArrayLike<number>);
  return undefined;
}

function broadcastDims(source: string, n: OnnxNode, a: readonly number[], b: readonly number[]): number[] {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const x = a[a.length - r + i] ?? 1;
    const y = b[b.length - r + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw new OnnxError(source, `node ${label(n)}: shapes [${a.join(', ')}] and [${b.join(', ')}] do not broadcast`);
    out.push(x === 1 ? y : x);
  }
  return out;
}

function elementwise(source: string, n: OnnxNode, a: HostTensor, b: HostTensor): HostTensor {
  const dims = broadcastDims(source, n, a.dims, b.dims);
  const size = checkedSize(source, `node ${label(n)} output`, dims);
  const ints = a.dtype === 'int' && b.dtype === 'int';
  const index = (t: HostTensor, flat: number): number => {
    // Position of output element `flat` in the broadcast input `t`.
    const off = dims.length - t.dims.length;
    const ts = stridesOf(t.dims);
    let rem = flat;
    let at = 0;
    const os = stridesOf(dims);
    for (let i = 0; i < dims.length; i++) {
      const c = Math.floor(rem / os[i]);
      rem -= c * os[i];
      if (i >= off && t.dims[i - off] !== 1) at += c * ts[i - off];
    }
    return at;
  };
  const f = { Add: (x: number, y: number) => x + y, Sub: (x: number, y: number) => x - y, Mul: (x: number, y: number) => x * y, Div: (x: number, y: number) => (ints ? Math.trunc(x / y) : x / y) }[n.opType as 'Add'];
  const out = new Array<number>(size);
  for (let i = 0; i < size; i++) out[i] = f(a.data[index(a, i)], b.data[index(b, i)]);
  return host(ints ? 'int' : 'float', dims, out);
}

function transpose(t: HostTensor, perm: readonly number[]): HostTensor {
  const dims = perm.map((p) => t.dims[p]);
  const is = stridesOf(t.dims);
  const os = stridesOf(dims);
  const out = new Array<number>(t.data.length);
  for (let i = 0; i < out.length; i++) {
    let rem = i;
    let at = 0;
    for (let k = 0; k < dims.length; k++) {
      const c = Math.floor(rem / os[k]);
      rem -= c * os[k];
      at += c * is[perm[k]];
    }
    out[i] = t.data[at];
  }
  return host(t.dtype, dims, out);
}

/** Resolves ONNX Reshape's target: 0 copies the input's dim (unless allowzero), -1 is inferred. */
export function reshapeDims(source: string, n: OnnxNode, inDims: readonly number[], target: readonly number[], allowZero: boolean): number[] {
  const size = inDims.reduce((p, d) => p * d, 1);
  const dims = target.map((d, i) => (d === 0 && !allowZero ? inDims[i] : d));
  const infer = dims.filter((d) => d === -1).length;
  if (infer > 1 || dims.some((d) => d === undefined || d < -1 || !Number.isInteger(d))) {
    throw new OnnxError(source, `node ${label(n)}: cannot reshape [${inDims.join(', ')}] to [${target.join(', ')}]`);
  }
  const known = dims.reduce((p, d) => (d === -1 ? p : p * d), 1);
  if (infer) dims[dims.indexOf(-1)] = known === 0 ? 0 : size / known;
  if (dims.reduce((p, d) => p * d, 1) !== size || !dims.every(Number.isInteger)) {
    throw new OnnxError(source, `node ${label(n)}: cannot reshape [${inDims.join(', ')}] (${size} elements) to [${target.join(', ')}]`);
  }
  return dims;
}

/** Slice's per-axis [start, end, step] after ONNX's clamping rules. */
export function sliceRanges(source: string, n: OnnxNode, dims: readonly number[], starts: number[], ends: number[], axes?: number[], steps?: number[]): [number, number, number][] {
  const r: [number, number, number][] = dims.map((d) => [0, d, 1]);
  (axes ?? starts.map((_, i) => i)).forEach((ax, i) => {
    const a = normAxis(source, n, ax, dims.length);
    const d = dims[a];
    const step = steps?.[i] ?? 1;
    if (step === 0) throw new OnnxError(source, `node ${label(n)}: Slice step 0`);
    const clampIdx = (v: number, lo: number, hi: number) => Math.min(Math.max(v < 0 ? v + d : v, lo), hi);
    r[a] = step > 0 ? [clampIdx(starts[i], 0, d), clampIdx(ends[i], 0, d), step] : [clampIdx(starts[i], 0, d - 1), clampIdx(ends[i], -1, d - 1), step];
  });
  return r;
}

/** The shape of a value: a GPU tensor's or a host tensor's. */
export interface Shaped {
  /** Its dimensions. */
  readonly shape?: readonly number[];
  /** Its dimensions (host tensors). */
  readonly dims?: readonly number[];
}

/**
 * Runs node `n` on host inputs (`inputs[i]` undefined for an omitted optional input; Shape's
 * input may be a GPU tensor, of which only the shape is read). Returns its outputs.
 */
export function runHostOp(source: string, n: OnnxNode, inputs: (HostTensor | Shaped | undefined)[]): HostTensor[] {
  const h = (i: number): HostTensor => {
    const v = inputs[i];
    if (!v || !('data' in v)) throw new OnnxError(source, `node ${label(n)}: input ${i} ('${n.inputs[i]}') must be known before the forward (a constant or shape value)`);
    return v as HostTensor;
  };
  const attr = (name: string) => n.attrs.get(name);
  let out: HostTensor;
  switch (n.opType) {
    case 'Constant': {
      const v = attr('value') ?? attr('value_float') ?? attr('value_floats') ?? attr('value_int') ?? attr('value_ints');
      if (v === undefined) throw new OnnxError(source, `node ${label(n)}: Constant without a value/value_float(s)/value_int(s) attribute`);
      if (typeof v === 'object' && 'dims' in v) out = v;
      else if (typeof v === 'number') out = host(attr('value_int') !== undefined ? 'int' : 'float', [], [v]);
      else out = host(attr('value_ints') !== undefined ? 'int' : 'float', [(v as number[]).length], v as number[]);
      break;
    }
    case 'Shape': {
      const v = inputs[0] as Shaped;
      const dims = v.shape ?? v.dims ?? [];
      const r = dims.length;
      const norm = (x: number) => Math.min(Math.max(x < 0 ? x + r : x, 0), r);
      const lo = norm((attr('start') as number | undefined) ?? 0);
      const hi = norm((attr('end') as number | undefined) ?? r);
      out = host('int', [Math.max(hi - lo, 0)], dims.slice(lo, hi));
      break;
    }
    case 'Gather': {
      const data = h(0);
      const idx = h(1);
      const axis = normAxis(source, n, (attr('axis') as number | undefined) ?? 0, data.dims.length);
      const dims = [...data.dims.slice(0, axis), ...idx.dims, ...data.dims.slice(axis + 1)];
      const outer = data.dims.slice(0, axis).reduce((p, d) => p * d, 1);
      const inner = data.dims.slice(axis + 1).reduce((p, d) => p * d, 1);
      const len = data.dims[axis];
      const vals: number[] = [];
      for (let o = 0; o < outer; o++) {
        for (const raw of idx.data) {
          const k = raw < 0 ? raw + len : raw;
          if (!Number.isInteger(k) || k < 0 || k >= len) throw new OnnxError(source, `node ${label(n)}: Gather index ${raw} is out of range for dimension ${len}`);
          for (let i = 0; i < inner; i++) vals.push(data.data[(o * len + k) * inner + i]);
        }
      }
      out = host(data.dtype, dims, vals);
      break;
    }
    case 'Unsqueeze':
    case 'Squeeze': {
      const data = h(0);
      const axes = intsOf(inputs[1] ? h(1) : attr('axes'));
      let dims = [...data.dims];
      if (n.opType === 'Unsqueeze') {
        const r = dims.length + (axes?.length ?? 0);
        for (const a of (axes ?? []).map((a) => normAxis(source, n, a, r)).sort((x, y) => x - y)) dims.splice(a, 0, 1);
      } else {
        const drop = new Set((axes ?? dims.flatMap((d, i) => (d === 1 ? [i] : []))).map((a) => normAxis(source, n, a, dims.length)));
        dims = dims.filter((_, i) => !drop.has(i));
      }
      out = host(data.dtype, dims, data.data);
      break;
    }
    case 'Concat': {
      const parts = n.inputs.map((_, i) => h(i)).filter((t) => t.data.length > 0 || t.dims.length > 1);
      const first = parts[0] ?? h(0);
      const axis = normAxis(source, n, attr('axis') as number, first.dims.length);
      const outer = first.dims.slice(0, axis).reduce((p, d) => p * d, 1);
      const vals: number[] = [];
      for (let o = 0; o < outer; o++) {
        for (const p of parts) {
          const chunk = p.dims.slice(axis).reduce((q, d) => q * d, 1);
          for (let i = 0; i < chunk; i++) vals.push(p.data[o * chunk + i]);
        }
      }
      const dims = [...first.dims];
      dims[axis] = parts.reduce((s, p) => s + p.dims[axis], 0);
      out = host(parts.some((p) => p.dtype === 'float') ? 'float' : 'int', dims, vals);
      break;
    }
    case 'Reshape': {
      const data = h(0);
      out = host(data.dtype, reshapeDims(source, n, data.dims, intsOf(h(1))!, attr('allowzero') === 1), data.data);
      break;
    }
    case 'Flatten': {
      const data = h(0);
      const axis = normAxis(source, n, (attr('axis') as number | undefined) ?? 1, data.dims.length + 1);
      const lead = data.dims.slice(0, axis).reduce((p, d) => p * d, 1);
      out = host(data.dtype, [lead, data.data.length / Math.max(lead, 1)], data.data);
      break;
    }
    case 'Transpose': {
      const data = h(0);
      out = transpose(data, intsOf(attr('perm')) ?? data.dims.map((_, i) => data.dims.length - 1 - i));
      break;
    }
    case 'Cast': {
      const data = h(0);
      const to = attr('to') as number;
      out = to === 1 || to === 11 ? host('float', data.dims, data.data) : host('int', data.dims, Array.from(data.data, Math.trunc));
      break;
    }
    case 'Identity':
      out = h(0);
      break;
    case 'ConstantOfShape': {
      const dims = intsOf(h(0))!;
      const size = checkedSize(source, `node ${label(n)} output`, dims);
      if (size > MAX_HOST) throw new OnnxError(source, `node ${label(n)}: ConstantOfShape of [${dims.join(', ')}] is too large for a shape value (${MAX_HOST} elements at most)`);
      const v = attr('value') as HostTensor | undefined;
      out = host(v?.dtype ?? 'float', dims, new Array<number>(size).fill(v ? v.data[0] : 0));
      break;
    }
    case 'Slice': {
      const data = h(0);
      const ranges = sliceRanges(source, n, data.dims, intsOf(h(1))!, intsOf(h(2))!, inputs[3] ? intsOf(h(3)) : undefined, inputs[4] ? intsOf(h(4)) : undefined);
      const dims = ranges.map(([s, e, st]) => Math.max(0, Math.ceil((e - s) / st)));
      const is = stridesOf(data.dims);
      const os = stridesOf(dims);
      const size = dims.reduce((p, d) => p * d, 1);
      const vals = new Array<number>(size);
      for (let i = 0; i < size; i++) {
        let rem = i;
        let at = 0;
        for (let k = 0; k < dims.length; k++) {
          const c = Math.floor(rem / os[k]);
          rem -= c * os[k];
          at += (ranges[k][0] + c * ranges[k][2]) * is[k];
        }
        vals[i] = data.data[at];
      }
      out = host(data.dtype, dims, vals);
      break;
    }
    case 'Add':
    case 'Sub':
    case 'Mul':
    case 'Div':
      out = elementwise(source, n, h(0), h(1));
      break;
    default:
      throw new OnnxError(source, `node ${label(n)}: ${n.opType} does not run on host values`);
  }
  if (out.data.length > MAX_HOST) throw new OnnxError(source, `node ${label(n)}: a host value of ${out.data.length} elements; shape values are at most ${MAX_HOST}`);
  return [out];
}
