/**
 * ONNX TensorProto → host arrays (initializers, Constant values), with every size checked
 * against the bytes actually present before anything is allocated; external data is read through
 * a caller-given reader (files beside the model in Node, a map of bytes in the browser).
 */
import { checkedSize, OnnxError } from './errors.js';
import { int64, type Int64 } from './proto.js';

/** A float tensor held on the host (FLOAT and DOUBLE data, as float32). */
export interface HostFloatTensor {
  /** Element kind. */
  readonly dtype: 'float';
  /** Dimensions. */
  readonly dims: readonly number[];
  /** Values, row-major. */
  readonly data: Float32Array;
}

/** An integer tensor held on the host (INT64, INT32, INT16, INT8, UINT8, BOOL; int64 within ±2⁵³). */
export interface HostIntTensor {
  /** Element kind. */
  readonly dtype: 'int';
  /** Dimensions. */
  readonly dims: readonly number[];
  /** Values, row-major. */
  readonly data: readonly number[];
}

/** A tensor held on the host: initializers, Constant values and shape arithmetic. */
export type HostTensor = HostFloatTensor | HostIntTensor;

/**
 * Reads `length` bytes at `offset` of the external-data file `location` (as written in the model,
 * relative to its folder); checks that the file holds them.
 */
export type ExternalDataReader = (location: string, offset: number, length: number) => Uint8Array;

/** ONNX TensorProto.DataType codes the importer reads, with their element sizes in bytes. */
const TYPES: Record<number, { name: string; bytes: number; kind: 'float' | 'int' }> = {
  1: { name: 'FLOAT', bytes: 4, kind: 'float' },
  11: { name: 'DOUBLE', bytes: 8, kind: 'float' },
  2: { name: 'UINT8', bytes: 1, kind: 'int' },
  3: { name: 'INT8', bytes: 1, kind: 'int' },
  5: { name: 'INT16', bytes: 2, kind: 'int' },
  6: { name: 'INT32', bytes: 4, kind: 'int' },
  7: { name: 'INT64', bytes: 8, kind: 'int' },
  9: { name: 'BOOL', bytes: 1, kind: 'int' },
};

/** Integer tensors stay on the host (shapes, indices, pads): larger ones are refused. */
const MAX_INT_ELEMENTS = 1 << 20;

/**
 * Checks an external-data location: a relative path below the model's folder (no absolute path,
 * drive letter, backslash or '..' segment). The Node reader also resolves symbolic links.
 */
export function checkExternalLocation(source: string, tensorName: string, location: string): void {
  const bad =
    location === '' ||
    location.startsWith('/') ||
    location.includes('\\') ||
    /^[A-Za-z]:/.test(location) ||
    location.includes('\0') ||
    location.split('/').some((s) => s === '..');
  if (bad) {
    throw new OnnxError(source, `initializer '${tensorName}' keeps its data in '${location}', outside the model's folder; external data must be a file beside the model (a relative path without '..')`);
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function externalBytes(source: string, name: string, t: any, expected: number, reader: ExternalDataReader | undefined): Uint8Array {
  const kv = new Map<string, string>();
  for (const e of t.external_data ?? []) kv.set(String(e.key), String(e.value));
  const location = kv.get('location');
  if (location === undefined) throw new OnnxError(source, `initializer '${name}' says its data is external but gives no location`);
  checkExternalLocation(source, name, location);
  const offset = kv.has('offset') ? Number(kv.get('offset')) : 0;
  const length = kv.has('length') ? Number(kv.get('length')) : expected;
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
    throw new OnnxError(source, `initializer '${name}': external data offset '${kv.get('offset')}' / length '${kv.get('length')}' must be non-negative integers`);
  }
  if (length !== expected) throw new OnnxError(source, `initializer '${name}': external data length ${length} bytes, but its dims need ${expected}`);
  if (!reader) throw new OnnxError(source, `initializer '${name}' keeps its data in '${location}': pass the external data files (externalData) with the model's bytes`);
  const bytes = reader(location, offset, length);
  if (bytes.length !== expected) throw new OnnxError(source, `initializer '${name}': '${location}' gave ${bytes.length} bytes at offset ${offset}, expected ${expected}`);
  return bytes;
}

/** An int64 value (not a size): beyond ±2⁵³ it is clamped, as INT64_MAX/MIN mark "to the end" in Slice. */
export function int64Value(v: Int64): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : v.toNumber();
  return Number.isSafeInteger(n) ? n : n > 0 ? Number.MAX_SAFE_INTEGER : Number.MIN_SAFE_INTEGER;
}

/** Decodes one TensorProto (an initializer or a Constant's value). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function readTensor(source: string, t: any, reader?: ExternalDataReader): HostTensor {
  const name = String(t.name || '(unnamed tensor)');
  const dims = ((t.dims ?? []) as Int64[]).map((d, i) => int64(source, d, `initializer '${name}' dimension ${i}`));
  const type = TYPES[t.data_type as number];
  if (!type) throw new OnnxError(source, `initializer '${name}' has data type ${t.data_type}; supported: ${Object.values(TYPES).map((x) => x.name).join(', ')}`);
  const n = checkedSize(source, `initializer '${name}'`, dims);
  if (type.kind === 'int' && n > MAX_INT_ELEMENTS) throw new OnnxError(source, `integer initializer '${name}' has ${n} elements; integer tensors (shapes, indices) are kept on the host, at most ${MAX_INT_ELEMENTS}`);
  const expected = n * type.bytes;
  let raw: Uint8Array | null = null;
  if (t.data_location === 1) raw = externalBytes(source, name, t, expected, reader);
  else if (t.raw_data && t.raw_data.length > 0) raw = t.raw_data as Uint8Array;
  if (raw) {
    if (raw.length !== expected) {
      throw new OnnxError(source, `initializer '${name}' has ${raw.length} bytes of data, but its dims [${dims.join(', ')}] (${type.name}) need ${expected}`);
    }
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    if (type.kind === 'float') {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = type.bytes === 4 ? view.getFloat32(4 * i, true) : view.getFloat64(8 * i, true);
      return { dtype: 'float', dims, data: out };
    }
    const out: number[] = new Array(n);
    for (let i = 0; i < n; i++) {
      if (type.bytes === 8) {
        const v = view.getBigInt64(8 * i, true);
        if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
          // INT64_MAX/MIN are Slice's "to the end" markers: clamp them, refuse anything else that large.
          out[i] = v > 0n ? Number.MAX_SAFE_INTEGER : Number.MIN_SAFE_INTEGER;
        } else out[i] = Number(v);
      } else if (type.bytes === 4) out[i] = view.getInt32(4 * i, true);
      else if (type.bytes === 2) out[i] = view.getInt16(2 * i, true);
      else out[i] = type.name === 'INT8' ? view.getInt8(i) : view.getUint8(i);
    }
    return { dtype: 'int', dims, data: out };
  }
  // Typed fields: float_data (FLOAT), double_data, int64_data, int32_data (INT32, INT16, INT8, UINT8, BOOL).
  const field = type.name === 'FLOAT' ? 'float_data' : type.name === 'DOUBLE' ? 'double_data' : type.name === 'INT64' ? 'int64_data' : 'int32_data';
  const vals = (t[field] ?? []) as ArrayLike<number | Int64>;
  if (vals.length !== n) {
    throw new OnnxError(source, `initializer '${name}' has ${vals.length} values in ${field}, but its dims [${dims.join(', ')}] need ${n}`);
  }
  if (type.kind === 'float') return { dtype: 'float', dims, data: Float32Array.from(vals as ArrayLike<number>) };
  const out: number[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = int64Value(vals[i] as Int64);
  return { dtype: 'int', dims, data: out };
}
