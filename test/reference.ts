/**
 * Float64 CPU reference for every non-matmul op of kdgpu and for its gradient (the vector–Jacobian
 * product: given the upstream gradient `g` of the output, the gradient of each input), plus a
 * central-finite-difference checker that validates those reference gradients themselves.
 *
 * Pure TypeScript on Float64Arrays, written from the definitions (NumPy broadcasting, PyTorch's
 * conventions at kinks and ties), independent of the engine's code. Tensors are { shape, data }
 * in row-major order.
 */

export interface Nd {
  readonly shape: readonly number[];
  readonly data: Float64Array;
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

export function nd(shape: readonly number[], data: ArrayLike<number>): Nd {
  if (data.length !== sizeOf(shape)) throw new Error(`reference: ${data.length} values for shape [${shape.join(', ')}]`);
  return { shape: [...shape], data: Float64Array.from(data) };
}

export function fill(shape: readonly number[], v: number): Nd {
  return { shape: [...shape], data: new Float64Array(sizeOf(shape)).fill(v) };
}

export function map(x: Nd, f: (v: number, i: number) => number): Nd {
  const out = new Float64Array(x.data.length);
  for (let i = 0; i < out.length; i++) out[i] = f(x.data[i], i);
  return { shape: [...x.shape], data: out };
}

// ---- broadcasting ------------------------------------------------------------------------------

/** NumPy's rule: align trailing dimensions; each pair must be equal or contain a 1. */
export function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = i - rank + a.length >= 0 ? a[i - rank + a.length] : 1;
    const db = i - rank + b.length >= 0 ? b[i - rank + b.length] : 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error(`reference: cannot broadcast [${a.join(', ')}] with [${b.join(', ')}]`);
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** For each element of `out` (row-major), the offset of the element of `shape` it reads when broadcast. */
export function broadcastIndex(shape: readonly number[], out: readonly number[]): Uint32Array {
  const n = sizeOf(out);
  const idx = new Uint32Array(n);
  const lead = out.length - shape.length;
  const src = stridesOf(shape);
  for (let i = 0; i < n; i++) {
    let rem = i;
    let off = 0;
    for (let d = out.length - 1; d >= 0; d--) {
      const c = rem % out[d];
      rem = Math.floor(rem / out[d]);
      const k = d - lead;
      if (k >= 0 && shape[k] !== 1) off += c * src[k];
    }
    idx[i] = off;
  }
  return idx;
}

export function broadcastTo(x: Nd, shape: readonly number[]): Nd {
  const b = broadcastShape(x.shape, shape);
  if (b.length !== shape.length || b.some((d, i) => d !== shape[i])) {
    throw new Error(`reference: cannot broadcast [${x.shape.join(', ')}] to [${shape.join(', ')}]`);
  }
  const idx = broadcastIndex(x.shape, shape);
  const out = new Float64Array(idx.length);
  for (let i = 0; i < out.length; i++) out[i] = x.data[idx[i]];
  return { shape: [...shape], data: out };
}

/** The gradient of broadcastTo: sums `g` (of the broadcast shape) back down to `shape`. */
export function sumTo(g: Nd, shape: readonly number[]): Nd {
  const idx = broadcastIndex(shape, g.shape);
  const out = new Float64Array(sizeOf(shape));
  for (let i = 0; i < idx.length; i++) out[idx[i]] += g.data[i];
  return { shape: [...shape], data: out };
}

// ---- unary ops -----------------------------------------------------------------------------------

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** f and its derivative f′ (at the kinks of relu, relu6 and abs: 0, as PyTorch). */
export const UNARY_REF = {
  neg: { f: (x: number) => -x, df: (_x: number) => -1 },
  exp: { f: Math.exp, df: Math.exp },
  log: { f: Math.log, df: (x: number) => 1 / x },
  sqrt: { f: Math.sqrt, df: (x: number) => 0.5 / Math.sqrt(x) },
  relu: { f: (x: number) => (x > 0 ? x : 0), df: (x: number) => (x > 0 ? 1 : 0) },
  relu6: { f: (x: number) => Math.min(Math.max(x, 0), 6), df: (x: number) => (x > 0 && x < 6 ? 1 : 0) },
  sigmoid: { f: sigmoid, df: (x: number) => sigmoid(x) * (1 - sigmoid(x)) },
  tanh: { f: Math.tanh, df: (x: number) => 1 - Math.tanh(x) ** 2 },
  abs: { f: Math.abs, df: (x: number) => (x > 0 ? 1 : x < 0 ? -1 : 0) },
};

export type UnaryName = keyof typeof UNARY_REF;

export function unary(name: UnaryName, x: Nd): Nd {
  return map(x, UNARY_REF[name].f);
}

export function unaryGrad(name: UnaryName, x: Nd, g: Nd): Nd {
  return map(x, (v, i) => g.data[i] * UNARY_REF[name].df(v));
}

// ---- binary ops (with broadcasting) --------------------------------------------------------------

/** C's pow (which PyTorch follows): x^0 = 1^y = 1, also for NaN; (−1)^±∞ = 1. */
export function powRef(a: number, b: number): number {
  if (b === 0 || a === 1) return 1;
  if (Math.abs(a) === 1 && Math.abs(b) === Infinity) return 1;
  return Math.pow(a, b);
}

/** f, ∂f/∂a and ∂f/∂b; maximum/minimum split ties evenly, pow follows PyTorch at a = 0 and b = 0. */
export const BINARY_REF = {
  add: { f: (a: number, b: number) => a + b, da: () => 1, db: () => 1 },
  sub: { f: (a: number, b: number) => a - b, da: () => 1, db: () => -1 },
  mul: { f: (a: number, b: number) => a * b, da: (_a: number, b: number) => b, db: (a: number) => a },
  div: { f: (a: number, b: number) => a / b, da: (_a: number, b: number) => 1 / b, db: (a: number, b: number) => -a / (b * b) },
  maximum: {
    f: (a: number, b: number) => Math.max(a, b),
    da: (a: number, b: number) => (a > b ? 1 : a === b ? 0.5 : 0),
    db: (a: number, b: number) => (b > a ? 1 : a === b ? 0.5 : 0),
  },
  minimum: {
    f: (a: number, b: number) => Math.min(a, b),
    da: (a: number, b: number) => (a < b ? 1 : a === b ? 0.5 : 0),
    db: (a: number, b: number) => (b < a ? 1 : a === b ? 0.5 : 0),
  },
  pow: {
    f: powRef,
    da: (a: number, b: number) => (b === 0 ? 0 : b * powRef(a, b - 1)),
    db: (a: number, b: number) => (a === 0 && b >= 0 ? 0 : powRef(a, b) * Math.log(a)),
  },
};

export type BinaryName = keyof typeof BINARY_REF;

/** An operand: a tensor, or a plain number (a scalar that gets no gradient). */
export type Operand = Nd | number;

const asNd = (x: Operand): Nd => (typeof x === 'number' ? { shape: [], data: Float64Array.of(x) } : x);

export function binary(name: BinaryName, a: Operand, b: Operand): Nd {
  const A = asNd(a);
  const B = asNd(b);
  const out = broadcastShape(A.shape, B.shape);
  const ia = broadcastIndex(A.shape, out);
  const ib = broadcastIndex(B.shape, out);
  const f = BINARY_REF[name].f;
  const data = new Float64Array(ia.length);
  for (let i = 0; i < data.length; i++) data[i] = f(A.data[ia[i]], B.data[ib[i]]);
  return { shape: out, data };
}

/** Gradients of both operands (summed over the dimensions each was broadcast along). */
export function binaryGrad(name: BinaryName, a: Operand, b: Operand, g: Nd): [Nd, Nd] {
  const A = asNd(a);
  const B = asNd(b);
  const out = broadcastShape(A.shape, B.shape);
  const ia = broadcastIndex(A.shape, out);
  const ib = broadcastIndex(B.shape, out);
  const { da, db } = BINARY_REF[name];
  const ga = new Float64Array(sizeOf(A.shape));
  const gb = new Float64Array(sizeOf(B.shape));
  for (let i = 0; i < ia.length; i++) {
    const x = A.data[ia[i]];
    const y = B.data[ib[i]];
    ga[ia[i]] += g.data[i] * da(x, y);
    gb[ib[i]] += g.data[i] * db(x, y);
  }
  return [
    { shape: [...A.shape], data: ga },
    { shape: [...B.shape], data: gb },
  ];
}

// ---- reductions ----------------------------------------------------------------------------------

export type Axes = number | readonly number[] | null | undefined;

/** Sorted non-negative axes; all of them when omitted. A rank-0 tensor has nothing to reduce. */
export function normAxes(axes: Axes, rank: number): number[] {
  if (axes === undefined || axes === null) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof axes === 'number' ? [axes] : [...axes];
  if (rank === 0) return [];
  return [...new Set(list.map((a) => (a < 0 ? a + rank : a)))].sort((p, q) => p - q);
}

function keptShape(shape: readonly number[], ax: number[]): number[] {
  return shape.map((d, i) => (ax.includes(i) ? 1 : d));
}

function dropShape(shape: readonly number[], ax: number[], keepdims: boolean): number[] {
  return keepdims ? keptShape(shape, ax) : shape.filter((_, i) => !ax.includes(i));
}

export type ReduceName = 'sum' | 'mean' | 'max' | 'min';

export function reduce(kind: ReduceName, x: Nd, axes?: Axes, keepdims = false): Nd {
  const ax = normAxes(axes, x.shape.length);
  const kept = keptShape(x.shape, ax);
  const idx = broadcastIndex(kept, x.shape);
  const n = sizeOf(kept);
  const count = ax.reduce((p, a) => p * x.shape[a], 1);
  const out = new Float64Array(n).fill(kind === 'max' ? -Infinity : kind === 'min' ? Infinity : 0);
  for (let i = 0; i < idx.length; i++) {
    const v = x.data[i];
    const o = idx[i];
    if (kind === 'max') out[o] = Math.max(out[o], v);
    else if (kind === 'min') out[o] = Math.min(out[o], v);
    else out[o] += v;
  }
  if (kind === 'mean') for (let o = 0; o < n; o++) out[o] /= count;
  return { shape: dropShape(x.shape, ax, keepdims), data: out };
}

/**
 * Gradient of a reduction: sum and mean spread g (divided by the count for mean); max and min
 * share g equally among the elements equal to the extremum (torch.amax / amin).
 */
export function reduceGrad(kind: ReduceName, x: Nd, axes: Axes, keepdims: boolean, g: Nd): Nd {
  const ax = normAxes(axes, x.shape.length);
  const kept = keptShape(x.shape, ax);
  const idx = broadcastIndex(kept, x.shape);
  const count = ax.reduce((p, a) => p * x.shape[a], 1);
  const out = new Float64Array(x.data.length);
  if (kind === 'sum' || kind === 'mean') {
    for (let i = 0; i < idx.length; i++) out[i] = kind === 'mean' ? g.data[idx[i]] / count : g.data[idx[i]];
  } else {
    const y = reduce(kind, x, ax, true);
    const ties = new Float64Array(y.data.length);
    for (let i = 0; i < idx.length; i++) if (x.data[i] === y.data[idx[i]]) ties[idx[i]]++;
    for (let i = 0; i < idx.length; i++) if (x.data[i] === y.data[idx[i]]) out[i] = g.data[idx[i]] / ties[idx[i]];
  }
  return { shape: [...x.shape], data: out };
}

/** Index of the first largest (smallest) element along `axis`, or in the flattened tensor. */
export function argReduce(kind: 'argmax' | 'argmin', x: Nd, axis?: number, keepdims = false): Nd {
  const rank = x.shape.length;
  if (axis === undefined) {
    let best = 0;
    for (let i = 1; i < x.data.length; i++) {
      if (kind === 'argmax' ? x.data[i] > x.data[best] : x.data[i] < x.data[best]) best = i;
    }
    return { shape: keepdims ? x.shape.map(() => 1) : [], data: Float64Array.of(best) };
  }
  const a = rank === 0 ? -1 : axis < 0 ? axis + rank : axis;
  if (a < 0) return { shape: [], data: Float64Array.of(0) };
  const outer = sizeOf(x.shape.slice(0, a));
  const len = x.shape[a];
  const inner = sizeOf(x.shape.slice(a + 1));
  const out = new Float64Array(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      let best = 0;
      for (let k = 1; k < len; k++) {
        const v = x.data[(o * len + k) * inner + j];
        const b = x.data[(o * len + best) * inner + j];
        if (kind === 'argmax' ? v > b : v < b) best = k;
      }
      out[o * inner + j] = best;
    }
  }
  return { shape: dropShape(x.shape, [a], keepdims), data: out };
}

// ---- layout ops ------------------------------------------------------------------------------------

export function reshape(x: Nd, shape: readonly number[]): Nd {
  if (sizeOf(shape) !== x.data.length) throw new Error('reference: bad reshape');
  return { shape: [...shape], data: x.data.slice() };
}

/** Output dimension i is input dimension perm[i]. */
export function permute(x: Nd, perm: readonly number[]): Nd {
  const rank = x.shape.length;
  const p = perm.map((a) => (a < 0 ? a + rank : a));
  const shape = p.map((a) => x.shape[a]);
  const st = stridesOf(x.shape);
  const out = new Float64Array(x.data.length);
  for (let i = 0; i < out.length; i++) {
    let rem = i;
    let off = 0;
    for (let d = rank - 1; d >= 0; d--) {
      const c = rem % shape[d];
      rem = Math.floor(rem / shape[d]);
      off += c * st[p[d]];
    }
    out[i] = x.data[off];
  }
  return { shape, data: out };
}

export function permuteGrad(perm: readonly number[], g: Nd): Nd {
  const rank = perm.length;
  const inv = new Array<number>(rank);
  perm.forEach((a, i) => (inv[a < 0 ? a + rank : a] = i));
  return permute(g, inv);
}

export type SliceSpec = readonly (number | readonly [number, number?] | null | undefined)[];

/** [begin, end) per dimension, as the engine documents: negative counts from the end, bounds clamp, a number keeps one index. */
export function sliceBounds(shape: readonly number[], spec: SliceSpec): { begin: number[]; end: number[] } {
  const begin: number[] = [];
  const end: number[] = [];
  shape.forEach((d, i) => {
    const s = spec[i];
    let lo = 0;
    let hi = d;
    if (typeof s === 'number') {
      lo = s < 0 ? s + d : s;
      hi = lo + 1;
    } else if (s) {
      const norm = (v: number) => Math.min(Math.max(v < 0 ? v + d : v, 0), d);
      lo = norm(s[0]);
      hi = s[1] === undefined ? d : norm(s[1]);
      if (hi < lo) hi = lo;
    }
    begin.push(lo);
    end.push(hi);
  });
  return { begin, end };
}

export function slice(x: Nd, spec: SliceSpec): Nd {
  const { begin, end } = sliceBounds(x.shape, spec);
  const shape = begin.map((b, i) => end[i] - b);
  const st = stridesOf(x.shape);
  const out = new Float64Array(sizeOf(shape));
  for (let i = 0; i < out.length; i++) {
    let rem = i;
    let off = 0;
    for (let d = shape.length - 1; d >= 0; d--) {
      const c = rem % shape[d];
      rem = Math.floor(rem / shape[d]);
      off += (c + begin[d]) * st[d];
    }
    out[i] = x.data[off];
  }
  return { shape, data: out };
}

/** The gradient of a slice: g placed at the sliced positions, zeros elsewhere. */
export function sliceGrad(xShape: readonly number[], spec: SliceSpec, g: Nd): Nd {
  const { begin } = sliceBounds(xShape, spec);
  const st = stridesOf(xShape);
  const out = new Float64Array(sizeOf(xShape));
  for (let i = 0; i < g.data.length; i++) {
    let rem = i;
    let off = 0;
    for (let d = g.shape.length - 1; d >= 0; d--) {
      const c = rem % g.shape[d];
      rem = Math.floor(rem / g.shape[d]);
      off += (c + begin[d]) * st[d];
    }
    out[off] += g.data[i];
  }
  return { shape: [...xShape], data: out };
}

export function concat(xs: readonly Nd[], axis = 0): Nd {
  const rank = xs[0].shape.length;
  const a = axis < 0 ? axis + rank : axis;
  const shape = [...xs[0].shape];
  shape[a] = xs.reduce((p, x) => p + x.shape[a], 0);
  const outer = sizeOf(shape.slice(0, a));
  const inner = sizeOf(shape.slice(a + 1));
  const out = new Float64Array(sizeOf(shape));
  let at = 0;
  for (const x of xs) {
    const len = x.shape[a];
    for (let o = 0; o < outer; o++) {
      for (let k = 0; k < len; k++) {
        for (let j = 0; j < inner; j++) out[(o * shape[a] + at + k) * inner + j] = x.data[(o * len + k) * inner + j];
      }
    }
    at += len;
  }
  return { shape, data: out };
}

export function concatGrad(shapes: readonly (readonly number[])[], axis: number, g: Nd): Nd[] {
  const rank = g.shape.length;
  const a = axis < 0 ? axis + rank : axis;
  let at = 0;
  return shapes.map((s) => {
    const spec = g.shape.map((d, k): [number, number] => (k === a ? [at, at + s[a]] : [0, d]));
    at += s[a];
    return slice(g, spec);
  });
}

/** float → int32 conversion as the engine documents it: truncation toward zero. */
export function castToInt(x: Nd): Nd {
  return map(x, (v) => Math.trunc(v) + 0); // + 0: an int32 has no −0
}

// ---- finite differences --------------------------------------------------------------------------

/**
 * Gradient of L(xs) = Σ seed · f(xs) with respect to every input, by central differences in
 * float64 with a step of 1e-6·max(1, |x|) (error ~1e-10 relative for smooth f).
 */
export function numericGrad(f: (xs: Nd[]) => Nd, xs: readonly Nd[], seed: Nd): Nd[] {
  const loss = (ins: Nd[]) => {
    const y = f(ins);
    if (y.data.length !== seed.data.length) throw new Error('reference: seed does not match the output');
    let s = 0;
    for (let i = 0; i < y.data.length; i++) s += seed.data[i] * y.data[i];
    return s;
  };
  return xs.map((x, k) => {
    const grad = new Float64Array(x.data.length);
    for (let i = 0; i < x.data.length; i++) {
      const h = 1e-6 * Math.max(1, Math.abs(x.data[i]));
      const at = (v: number) => {
        const moved = xs.map((y, j) => (j === k ? map(y, (u, m) => (m === i ? v : u)) : y));
        return loss(moved);
      };
      grad[i] = (at(x.data[i] + h) - at(x.data[i] - h)) / (2 * h);
    }
    return { shape: [...x.shape], data: grad };
  });
}

/**
 * Throws unless `grad` (an analytic reference gradient) matches central finite differences of f
 * within rtol 1e-5 and atol 1e-6·max|grad| (the project's tolerance) plus 1e-9 for the step.
 */
export function checkGradient(
  what: string,
  f: (xs: Nd[]) => Nd,
  grad: (xs: Nd[], seed: Nd) => Nd[],
  xs: readonly Nd[],
  seed: Nd,
): void {
  const analytic = grad([...xs], seed);
  const numeric = numericGrad(f, xs, seed);
  analytic.forEach((an, k) => {
    const nu = numeric[k];
    if (an.data.length !== nu.data.length) throw new Error(`${what}: gradient ${k} has ${an.data.length} values, expected ${nu.data.length}`);
    let maxAbs = 0;
    for (const v of an.data) if (Number.isFinite(v)) maxAbs = Math.max(maxAbs, Math.abs(v));
    for (let i = 0; i < an.data.length; i++) {
      const allowed = 1e-9 + 1e-6 * maxAbs + 1e-5 * Math.abs(nu.data[i]);
      if (Number.isNaN(an.data[i]) && Number.isNaN(nu.data[i])) continue;
      if (!(Math.abs(an.data[i] - nu.data[i]) <= allowed)) {
        throw new Error(`${what}: input ${k}, element ${i}: reference gradient ${an.data[i]}, finite differences ${nu.data[i]}`);
      }
    }
  });
}
