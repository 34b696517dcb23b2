/**
 * The IDX format (MNIST, Fashion-MNIST): magic 0x0000 + type code + rank, big-endian uint32
 * dimensions, then the values. Gzipped files are recognised by their magic bytes.
 * Files may be truncated or hostile: sizes are checked before anything is allocated.
 */
import { gunzipSync } from 'fflate';

/** The element types an IDX file can declare (type codes 0x08–0x0e). */
export type IdxType = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';

/** A parsed IDX file. */
export interface IdxArray {
  /** Element type from the magic number. */
  type: IdxType;
  /** Dimensions, e.g. [60000, 28, 28] for MNIST's training images. */
  dims: number[];
  /** Values in file order (typed by `type`). */
  data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

const TYPES: Record<number, { type: IdxType; bytes: number }> = {
  0x08: { type: 'uint8', bytes: 1 },
  0x09: { type: 'int8', bytes: 1 },
  0x0b: { type: 'int16', bytes: 2 },
  0x0c: { type: 'int32', bytes: 4 },
  0x0d: { type: 'float32', bytes: 4 },
  0x0e: { type: 'float64', bytes: 8 },
};

/** Whether the bytes start with the gzip magic (0x1f 0x8b). */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** What an IDX header declares: element type, dimensions, and the sizes they imply. */
export interface IdxHeader {
  /** Element type. */
  type: IdxType;
  /** Bytes per element. */
  elementBytes: number;
  /** Dimensions. */
  dims: number[];
  /** Number of elements (the product of the dimensions). */
  count: number;
  /** Bytes of the header (magic and dimensions). */
  headerBytes: number;
  /** Bytes the whole file must have: header plus data. */
  totalBytes: number;
}

/**
 * Reads an IDX header from the start of (decompressed) IDX bytes; the data need not be there yet.
 * Throws, naming `name`, when it is not an IDX header or describes more data than can exist.
 */
export function readIdxHeader(bytes: Uint8Array, name: string): IdxHeader {
  if (bytes.length < 4) throw new Error(`kdgpu: ${name}: not an IDX file (${bytes.length} bytes, shorter than the 4-byte magic)`);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new Error(`kdgpu: ${name}: not an IDX file (magic starts with 0x${bytes[0].toString(16)}${bytes[1].toString(16).padStart(2, '0')}, expected 0x0000)`);
  }
  const t = TYPES[bytes[2]];
  if (!t) throw new Error(`kdgpu: ${name}: unknown IDX type code 0x${bytes[2].toString(16)}`);
  const rank = bytes[3];
  if (rank === 0) throw new Error(`kdgpu: ${name}: IDX rank is 0`);
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes) {
    throw new Error(`kdgpu: ${name}: truncated IDX header (${bytes.length} bytes, the header of a rank-${rank} file needs ${headerBytes})`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  let count = 1;
  for (let i = 0; i < rank; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    dims.push(d);
    count *= d;
    if (count * t.bytes > Number.MAX_SAFE_INTEGER) {
      throw new Error(`kdgpu: ${name}: IDX dimensions [${dims.join(', ')}…] describe more data than can exist`);
    }
  }
  return { type: t.type, elementBytes: t.bytes, dims, count, headerBytes, totalBytes: headerBytes + count * t.bytes };
}

/**
 * Decompresses gzip data for parseIdx. Node's reader passes one that checks the CRC and length
 * and stops past `maxBytes`; the default (fflate, for browsers) checks neither.
 */
export type IdxGunzip = (gz: Uint8Array, name: string) => Uint8Array;

const fflateGunzip: IdxGunzip = (gz, name) => {
  try {
    return gunzipSync(gz);
  } catch (e) {
    throw new Error(`kdgpu: ${name}: corrupt gzip data (${(e as Error).message})`);
  }
};

/**
 * Parses IDX bytes (gzipped or raw). `name` (a path or URL) appears in every error; `gunzip`
 * decompresses gzipped input (default: fflate, which checks no CRC).
 */
export function parseIdx(input: Uint8Array, name: string, gunzip: IdxGunzip = fflateGunzip): IdxArray {
  const bytes = isGzip(input) ? gunzip(input, name) : input;
  const h = readIdxHeader(bytes, name);
  const { dims, count, headerBytes } = h;
  const t = { type: h.type, bytes: h.elementBytes };
  const need = count * t.bytes;
  const have = bytes.length - headerBytes;
  if (have < need) {
    throw new Error(
      `kdgpu: ${name}: truncated IDX data: dimensions [${dims.join(', ')}] need ${need} bytes of ${t.type}, the file has ${have}`,
    );
  }
  if (have > need) {
    throw new Error(`kdgpu: ${name}: ${have - need} unexpected bytes after the IDX data of dimensions [${dims.join(', ')}]`);
  }
  let data: IdxArray['data'];
  const body = bytes.subarray(headerBytes, headerBytes + need);
  switch (t.type) {
    case 'uint8':
      data = new Uint8Array(body);
      break;
    case 'int8':
      data = new Int8Array(body.buffer.slice(body.byteOffset, body.byteOffset + need));
      break;
    default: {
      // Big-endian multi-byte values.
      const dv = new DataView(body.buffer, body.byteOffset, need);
      const n = count;
      if (t.type === 'int16') {
        const a = new Int16Array(n);
        for (let i = 0; i < n; i++) a[i] = dv.getInt16(2 * i, false);
        data = a;
      } else if (t.type === 'int32') {
        const a = new Int32Array(n);
        for (let i = 0; i < n; i++) a[i] = dv.getInt32(4 * i, false);
        data = a;
      } else if (t.type === 'float32') {
        const a = new Float32Array(n);
        for (let i = 0; i < n; i++) a[i] = dv.getFloat32(4 * i, false);
        data = a;
      } else {
        const a = new Float64Array(n);
        for (let i = 0; i < n; i++) a[i] = dv.getFloat64(8 * i, false);
        data = a;
      }
    }
  }
  return { type: t.type, dims, data };
}

/** MNIST-style grayscale images with their labels. */
export interface ImageSet {
  /** n × rows × cols pixel values scaled to [0, 1]. */
  images: Float32Array;
  /** One label per image. */
  labels: Int32Array;
  /** Number of images. */
  count: number;
  /** Image height in pixels. */
  rows: number;
  /** Image width in pixels. */
  cols: number;
}

/** Pairs an IDX image file with its label file, checking that they agree. */
export function imageSetFromIdx(images: IdxArray, labels: IdxArray, names: [string, string]): ImageSet {
  if (images.type !== 'uint8' || images.dims.length !== 3) {
    throw new Error(`kdgpu: ${names[0]}: expected uint8 images of rank 3, got ${images.type} of rank ${images.dims.length}`);
  }
  if (labels.type !== 'uint8' || labels.dims.length !== 1) {
    throw new Error(`kdgpu: ${names[1]}: expected uint8 labels of rank 1, got ${labels.type} of rank ${labels.dims.length}`);
  }
  const [count, rows, cols] = images.dims;
  if (labels.dims[0] !== count) {
    throw new Error(`kdgpu: ${names[1]} has ${labels.dims[0]} labels but ${names[0]} has ${count} images`);
  }
  const px = images.data as Uint8Array;
  const out = new Float32Array(px.length);
  for (let i = 0; i < px.length; i++) out[i] = px[i] / 255;
  return { images: out, labels: Int32Array.from(labels.data as Uint8Array), count, rows, cols };
}
