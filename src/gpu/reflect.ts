/**
 * Reads a kernel's bindings and its uniform struct layout from the WGSL itself (wgsl_reflect),
 * so the bind-group layout and the uniform byte layout are never written a second time by hand.
 */
import { WgslReflect } from 'wgsl_reflect/wgsl_reflect.module.js';

export type ScalarKind = 'f32' | 'i32' | 'u32';

export interface UniformField {
  name: string;
  offset: number;
  scalar: ScalarKind;
  /** Number of scalars the field holds (vec4 → 4, array<vec4<u32>, 2> → 8). */
  length: number;
  /** Byte distance between consecutive scalars' slots (4 except for arrays of scalars). */
  strides: number[];
}

export interface UniformLayout {
  size: number;
  fields: Map<string, UniformField>;
}

export interface BindingInfo {
  name: string;
  binding: number;
  kind: 'read-only-storage' | 'storage' | 'uniform';
  uniform?: UniformLayout;
}

export interface KernelInfo {
  bindings: BindingInfo[];
  workgroupSize: [number, number, number];
}

// wgsl_reflect's type objects, as far as we use them.
interface RType {
  name: string;
  size: number;
  format?: RType | null;
  count?: number;
  members?: { name: string; offset: number; size: number; type: RType }[];
  stride?: number;
}

function scalarOf(t: RType, where: string): ScalarKind {
  const n = t.name;
  if (n === 'f32' || n === 'i32' || n === 'u32') return n;
  throw new Error(`kdgpu: uniform field ${where} has unsupported type ${n}`);
}

/** Offsets of every scalar of a field (relative to the field), flattening vectors and arrays. */
function scalarOffsets(t: RType, where: string): { scalar: ScalarKind; offsets: number[] } {
  if (t.name === 'f32' || t.name === 'i32' || t.name === 'u32') return { scalar: t.name, offsets: [0] };
  const vec = /^vec([234])/.exec(t.name);
  if (vec && t.format) {
    const n = Number(vec[1]);
    return { scalar: scalarOf(t.format, where), offsets: Array.from({ length: n }, (_, i) => 4 * i) };
  }
  if (t.name === 'array' && t.format && t.count) {
    const inner = scalarOffsets(t.format, where);
    const stride = t.stride ?? Math.max(16, Math.ceil(t.format.size / 16) * 16);
    const offsets: number[] = [];
    for (let i = 0; i < t.count; i++) for (const o of inner.offsets) offsets.push(i * stride + o);
    return { scalar: inner.scalar, offsets };
  }
  throw new Error(`kdgpu: uniform field ${where} has unsupported type ${t.name}`);
}

export function reflectKernel(name: string, source: string, entry: string): KernelInfo {
  let r: WgslReflect;
  try {
    r = new WgslReflect(source);
  } catch (e) {
    throw new Error(`kdgpu: WGSL of kernel '${name}' does not parse: ${(e as Error).message}`);
  }
  const bindings: BindingInfo[] = [];
  for (const s of r.storage) {
    if (s.group !== 0) throw new Error(`kdgpu: kernel '${name}' uses bind group ${s.group}; only group 0 is supported`);
    bindings.push({
      name: s.name,
      binding: s.binding,
      kind: String(s.access) === 'read' ? 'read-only-storage' : 'storage',
    });
  }
  for (const u of r.uniforms) {
    if (u.group !== 0) throw new Error(`kdgpu: kernel '${name}' uses bind group ${u.group}; only group 0 is supported`);
    const t = u.type as unknown as RType;
    const fields = new Map<string, UniformField>();
    for (const m of t.members ?? []) {
      const { scalar, offsets } = scalarOffsets(m.type, `${name}.${m.name}`);
      fields.set(m.name, {
        name: m.name,
        offset: m.offset,
        scalar,
        length: offsets.length,
        strides: offsets,
      });
    }
    bindings.push({ name: u.name, binding: u.binding, kind: 'uniform', uniform: { size: t.size, fields } });
  }
  bindings.sort((a, b) => a.binding - b.binding);
  const fn = r.entry.compute.find((e) => e.name === entry);
  if (!fn) throw new Error(`kdgpu: kernel '${name}' has no @compute entry point '${entry}'`);
  const ws = (fn as unknown as { workgroupSize?: { x: number; y: number; z: number } | number[] | null })
    .workgroupSize;
  let workgroupSize: [number, number, number] = [1, 1, 1];
  if (Array.isArray(ws)) workgroupSize = [ws[0] ?? 1, ws[1] ?? 1, ws[2] ?? 1];
  else if (ws && typeof ws === 'object') workgroupSize = [ws.x ?? 1, ws.y ?? 1, ws.z ?? 1];
  return { bindings, workgroupSize };
}

/** Writes named uniform values into `view` at `base` following the reflected layout. */
export function writeUniforms(
  kernel: string,
  layout: UniformLayout,
  values: Record<string, number | ArrayLike<number>>,
  view: DataView,
  base: number,
): void {
  for (const [key, v] of Object.entries(values)) {
    const f = layout.fields.get(key);
    if (!f) throw new Error(`kdgpu internal error: kernel '${kernel}' has no uniform field '${key}'`);
    const arr: ArrayLike<number> = typeof v === 'number' ? [v] : v;
    if (arr.length > f.length) {
      throw new Error(`kdgpu internal error: uniform '${kernel}.${key}' holds ${f.length} values, got ${arr.length}`);
    }
    for (let i = 0; i < arr.length; i++) {
      const at = base + f.offset + f.strides[i];
      if (f.scalar === 'f32') view.setFloat32(at, arr[i], true);
      else if (f.scalar === 'i32') view.setInt32(at, arr[i], true);
      else view.setUint32(at, arr[i], true);
    }
  }
}
