/** Shape arithmetic shared by ops: sizes, strides, broadcasting, axis normalization. */

export type Shape = readonly number[];

/** Kernels carry shapes in uniforms of 8 slots (`array<vec4<u32>, 2>`). */
export const MAX_RANK = 8;

export function fmt(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function checkShape(op: string, shape: Shape): number[] {
  if (!Array.isArray(shape)) throw new Error(`kdgpu: ${op}: shape must be an array of integers, got ${String(shape)}`);
  if (shape.length > MAX_RANK) throw new Error(`kdgpu: ${op}: rank ${shape.length} of shape ${fmt(shape)} exceeds the maximum rank ${MAX_RANK}`);
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`kdgpu: ${op}: invalid shape ${fmt(shape)} (dimensions must be non-negative integers)`);
  }
  return [...shape];
}

/** NumPy broadcasting of two shapes; throws naming the op and both shapes. */
export function broadcastShapes(op: string, a: Shape, b: Shape): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(
        `kdgpu: ${op}: shapes ${fmt(a)} and ${fmt(b)} cannot be broadcast together (dimension ${i - rank}: ${da} vs ${db})`,
      );
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Strides of `shape` read as broadcast to `out` (0 where a dimension is repeated or missing). */
export function broadcastStrides(shape: Shape, out: Shape): number[] {
  const st = stridesOf(shape);
  const res = new Array<number>(out.length).fill(0);
  for (let i = 0; i < shape.length; i++) {
    const o = out.length - shape.length + i;
    res[o] = shape[i] === 1 && out[o] !== 1 ? 0 : st[i];
  }
  return res;
}

export function normAxis(op: string, axis: number, rank: number): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= Math.max(rank, 1)) {
    throw new Error(`kdgpu: ${op}: axis ${axis} is out of range for a tensor of rank ${rank}`);
  }
  return axis < 0 ? axis + rank : axis;
}

/** Sorted, unique, non-negative axes; `undefined`/`null` means all axes. */
export function normAxes(op: string, axes: number | readonly number[] | undefined | null, rank: number): number[] {
  if (axes === undefined || axes === null) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof axes === 'number' ? [axes] : [...axes];
  const out = [...new Set(list.map((a) => normAxis(op, a, rank)))].sort((x, y) => x - y);
  if (out.length !== list.length) throw new Error(`kdgpu: ${op}: repeated axis in [${list.join(', ')}]`);
  return out;
}

/** Pads an array to MAX_RANK slots for a uniform `array<vec4<u32>, 2>`. */
export function pad8(v: readonly number[]): number[] {
  const out = new Array<number>(MAX_RANK).fill(0);
  for (let i = 0; i < v.length; i++) out[i] = v[i];
  return out;
}
