/**
 * The safetensors format: an 8-byte little-endian header length N, N bytes of JSON
 * `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {…}}`, then the data.
 * Parsing trusts nothing: the header length, every offset and every size are checked against the
 * file before any tensor is built, and errors name the file and the tensor.
 */

/** The safetensors dtypes that can be read (floats become float32, integers int32). */
export type SafeDType = 'F32' | 'I32' | 'F64' | 'I64' | 'F16' | 'BF16' | 'U8' | 'I8';

const ELEM_BYTES: Record<SafeDType, number> = { F32: 4, I32: 4, F64: 8, I64: 8, F16: 2, BF16: 2, U8: 1, I8: 1 };

/** One tensor of a safetensors file. */
export interface SafeEntry {
  /** The dtype stored in the file. */
  dtype: SafeDType;
  /** The tensor's shape. */
  shape: number[];
  /** Values converted to float32 (floating dtypes) or int32 (integer dtypes). */
  data: Float32Array | Int32Array;
}

/** A parsed safetensors file. */
export interface SafeFile {
  /** Tensors by name, in header order. */
  tensors: Map<string, SafeEntry>;
  /** The `__metadata__` strings (empty when absent). */
  metadata: Record<string, string>;
}

/**
 * The header may not claim more than this. safetensors allows 100 MB, but a header describes a
 * tensor in ~100–200 bytes, so 16 MiB is ~100,000 tensors; parsing 100 MB of JSON would take
 * gigabytes before anything could be refused.
 */
export const MAX_SAFETENSORS_HEADER = 16 * 1024 * 1024;

/** A value from the file as it may appear in an error: at most `max` characters. */
function clip(v: unknown, max = 80): string {
  const t = typeof v === 'string' ? v : (JSON.stringify(v) ?? String(v));
  return t.length > max ? `${t.slice(0, max)}… (${t.length} characters)` : t;
}

function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** Parses and validates safetensors bytes; `name` (e.g. the file name) prefixes every error. */
export function parseSafetensors(bytes: Uint8Array, name: string): SafeFile {
  const fail = (msg: string): never => {
    throw new Error(`kdgpu: ${name}: ${msg}`);
  };
  if (bytes.length < 8) fail(`not a safetensors file (${bytes.length} bytes, shorter than the 8-byte header length)`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(dv.getBigUint64(0, true));
  if (n > bytes.length - 8) fail(`header length ${n} runs past the end of the file (${bytes.length} bytes)`);
  if (n > MAX_SAFETENSORS_HEADER) fail(`header length ${n} exceeds the ${MAX_SAFETENSORS_HEADER}-byte limit kdgpu reads (~100,000 tensors)`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    fail(`header is not valid JSON (${clip((e as Error).message, 120)})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header is not a JSON object');
  const dataStart = 8 + n;
  const dataLen = bytes.length - dataStart;
  const tensors = new Map<string, SafeEntry>();
  let metadata: Record<string, string> = {};
  const ranges: { name: string; begin: number; end: number }[] = [];
  for (const [key, raw] of Object.entries(header as Record<string, unknown>)) {
    if (key === '__metadata__') {
      if (typeof raw !== 'object' || raw === null) fail('__metadata__ is not an object');
      metadata = Object.fromEntries(Object.entries(raw as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
      continue;
    }
    const info = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof info !== 'object' || info === null) fail(`tensor '${clip(key)}': entry is not an object`);
    const dtype = info.dtype as SafeDType;
    if (typeof dtype !== 'string' || !(dtype in ELEM_BYTES)) fail(`tensor '${clip(key)}': unknown dtype ${clip(JSON.stringify(info.dtype) ?? String(info.dtype))}`);
    const shape = info.shape;
    if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
      fail(`tensor '${clip(key)}': shape ${clip(shape)} is not a list of non-negative integers`);
    }
    const offs = info.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || offs.some((o) => !Number.isSafeInteger(o) || o < 0)) {
      fail(`tensor '${clip(key)}': data_offsets ${clip(offs)} are not two non-negative integers`);
    }
    const [begin, end] = offs as number[];
    let count = 1;
    for (const d of shape as number[]) {
      count *= d;
      if (count > Number.MAX_SAFE_INTEGER / 8) fail(`tensor '${clip(key)}': shape [${clip((shape as number[]).join(', '))}] is impossibly large`);
    }
    const need = count * ELEM_BYTES[dtype];
    if (end < begin || end > dataLen) {
      fail(`tensor '${clip(key)}': data_offsets [${begin}, ${end}] are out of range (the data section has ${dataLen} bytes)`);
    }
    if (end - begin !== need) {
      fail(`tensor '${clip(key)}': shape [${clip((shape as number[]).join(', '))}] of ${dtype} needs ${need} bytes, data_offsets give ${end - begin}`);
    }
    ranges.push({ name: key, begin, end });
  }
  ranges.sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < ranges.length; i++) {
    if (ranges[i].begin < ranges[i - 1].end) fail(`tensors '${clip(ranges[i - 1].name)}' and '${clip(ranges[i].name)}' overlap in the data section`);
  }
  for (const [key, raw] of Object.entries(header as Record<string, unknown>)) {
    if (key === '__metadata__') continue;
    const { dtype, shape, data_offsets } = raw as { dtype: SafeDType; shape: number[]; data_offsets: [number, number] };
    const [begin, end] = data_offsets;
    const src = new DataView(bytes.buffer, bytes.byteOffset + dataStart + begin, end - begin);
    const count = (end - begin) / ELEM_BYTES[dtype];
    let data: Float32Array | Int32Array;
    switch (dtype) {
      case 'F32':
        // A byte copy keeps every bit (NaN payloads too); WebGPU hosts are little-endian.
        data = new Float32Array(bytes.slice(dataStart + begin, dataStart + end).buffer);
        break;
      case 'F64': {
        const a = new Float32Array(count);
        for (let i = 0; i < count; i++) a[i] = src.getFloat64(8 * i, true);
        data = a;
        break;
      }
      case 'F16': {
        const a = new Float32Array(count);
        for (let i = 0; i < count; i++) a[i] = f16ToF32(src.getUint16(2 * i, true));
        data = a;
        break;
      }
      case 'BF16': {
        const a = new Float32Array(count);
        const tmp = new DataView(new ArrayBuffer(4));
        for (let i = 0; i < count; i++) {
          tmp.setUint32(0, src.getUint16(2 * i, true) << 16, true);
          a[i] = tmp.getFloat32(0, true);
        }
        data = a;
        break;
      }
      case 'I32':
        data = new Int32Array(bytes.slice(dataStart + begin, dataStart + end).buffer);
        break;
      case 'I64': {
        const a = new Int32Array(count);
        for (let i = 0; i < count; i++) {
          const v = src.getBigInt64(8 * i, true);
          if (v > 2147483647n || v < -2147483648n) fail(`tensor '${clip(key)}': int64 value ${v} does not fit in int32`);
          a[i] = Number(v);
        }
        data = a;
        break;
      }
      case 'U8':
        data = Int32Array.from(new Uint8Array(src.buffer, src.byteOffset, count));
        break;
      default:
        data = Int32Array.from(new Int8Array(src.buffer, src.byteOffset, count));
    }
    tensors.set(key, { dtype, shape: [...shape], data });
  }
  return { tensors, metadata };
}

/** Serializes float32/int32 tensors (in the given order) with optional string metadata. */
export function serializeSafetensors(
  tensors: readonly [string, { shape: readonly number[]; data: Float32Array | Int32Array }][],
  metadata: Record<string, string> = {},
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    const bytes = t.data.length * 4;
    header[name] = { dtype: t.data instanceof Int32Array ? 'I32' : 'F32', shape: [...t.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  // Pad with spaces so the data starts 8-byte aligned (as the reference implementation does).
  const enc = new TextEncoder();
  let hb = enc.encode(json);
  const pad = (8 - (hb.length % 8)) % 8;
  if (pad) {
    json += ' '.repeat(pad);
    hb = enc.encode(json);
  }
  const out = new Uint8Array(8 + hb.length + offset);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(hb.length), true);
  out.set(hb, 8);
  let at = 8 + hb.length;
  for (const [, t] of tensors) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}
