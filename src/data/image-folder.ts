/**
 * An image-folder dataset: PNG/JPEG files named in a CSV of annotations (file, label, partition),
 * decoded, converted to the requested channel count, resized and scaled into NCHW float32
 * datasets, one per partition (train / validation / test). Everything is decoded here, when the
 * dataset is built, so training never meets a bad file.
 *
 * Browser-safe: the caller supplies the bytes of each file (`read`) and the PNG decoder
 * (`decodePng`, e.g. pngjs's PNG.sync.read; node-image-folder.ts wires both up in Node). pngjs
 * needs Node's zlib and Buffer, which a browser has only through a bundler's polyfills; JPEG
 * decoding (jpeg-js) and CSV parsing (csv-parse's browser build, which carries its own Buffer)
 * need nothing.
 *
 * Pixel pipeline, per image: decode (the format is recognised by its magic bytes, not the file
 * name) → the image's own channels, 1 (grayscale) or 3 (color; alpha is dropped) → values /
 * max (255, or 65535 for 16-bit PNGs) → channel conversion when asked for (gray → RGB repeats
 * the plane; RGB → gray is the ITU-R 601 luma 0.299 R + 0.587 G + 0.114 B, as PIL's 'L') →
 * bilinear resize to [H, W] without antialiasing, exactly PyTorch's F.interpolate(mode=
 * 'bilinear', align_corners=False): source coordinate (dst + 0.5) · in / out − 0.5, clamped at
 * the borders (so strong downscaling aliases; pre-shrink such images) → optional per-channel
 * (x − mean) / std.
 *
 * Bad rows — a missing or unreadable file, an image that does not decode, one with the wrong
 * channel count, an unknown partition or an empty label — are skipped and listed (file, CSV
 * line, reason) with one warning line; with `strict: true` the first one throws.
 */
import { parse } from 'csv-parse/browser/esm/sync';
import jpeg from 'jpeg-js';
import type { ArrayDataset } from './dataset.js';

/** The dataset split an image belongs to. */
export type Partition = 'train' | 'validation' | 'test';
/** Every partition, in the order `ImageFolder` lists them. */
export const PARTITIONS: readonly Partition[] = ['train', 'validation', 'test'];

/** CSV partition values (case-insensitive) and the partition each one means. */
export const DEFAULT_PARTITION_NAMES: Readonly<Record<string, Partition>> = {
  train: 'train',
  training: 'train',
  validation: 'validation',
  val: 'validation',
  valid: 'validation',
  dev: 'validation',
  test: 'test',
  testing: 'test',
};

/** Default column names, tried in order (case-insensitive). */
export const DEFAULT_COLUMNS = {
  /** The image file's path (relative to the image root, or absolute). */
  file: ['file', 'filename', 'path'],
  /** The class label. */
  label: ['label', 'class'],
  /** The partition (optional column). */
  partition: ['partition', 'split'],
} as const;

/** What a PNG decoder returns: pngjs's PNG.sync.read(bytes, { skipRescale: true }). */
export interface PngPixels {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** Bits per sample (of the palette index for palette images). */
  depth: number;
  /** PNG color type: 0 gray, 2 RGB, 3 palette, 4 gray + alpha, 6 RGBA. */
  colorType: number;
  /** RGBA samples, 4 per pixel, not rescaled (0 … 2^depth − 1; 0 … 255 for palette images). */
  data: ArrayLike<number>;
}

/** Decodes PNG bytes (throwing on a corrupt file), e.g. pngjs's PNG.sync.read with skipRescale. */
export type PngDecoder = (bytes: Uint8Array) => PngPixels;

/** A decoded image: `channels` interleaved samples per pixel, each in 0 … maxValue. */
export interface DecodedImage {
  /** The file's format, from its magic bytes. */
  format: 'png' | 'jpeg';
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** 1 (grayscale) or 3 (RGB; PNG alpha is dropped, CMYK JPEGs come out as RGB). */
  channels: 1 | 3;
  /** height × width × channels samples, row-major, channels interleaved. */
  data: ArrayLike<number>;
  /** The largest sample value: 255, or 65535 for 16-bit PNGs. */
  maxValue: number;
}

/** Options of `buildImageFolder`: the output format of the samples and how the CSV is read. */
export interface ImageFolderOptions {
  /** Output size: [height, width], or one number for a square. */
  size: number | readonly [number, number];
  /** Channels of every sample: 1 (grayscale) or 3 (RGB). */
  channels: 1 | 3;
  /**
   * Convert images whose channel count differs (gray ↔ RGB). Default false: such an image is a
   * bad file (it is usually a sign of the wrong folder or the wrong model).
   */
  convert?: boolean;
  /** Per-channel normalization after scaling to [0, 1]: (x − mean) / std. */
  normalize?: {
    /** One mean per channel. */
    mean: readonly number[];
    /** One standard deviation (> 0) per channel. */
    std: readonly number[];
  };
  /** Column names (exact header names); defaults in DEFAULT_COLUMNS. Without a partition column every row is 'train'. */
  columns?: {
    /** Header of the file column. */
    file?: string;
    /** Header of the label column. */
    label?: string;
    /** Header of the partition column. */
    partition?: string;
  };
  /** Replaces DEFAULT_PARTITION_NAMES (keys are matched case-insensitively). */
  partitionNames?: Readonly<Record<string, Partition>>;
  /**
   * The class names, in label-index order. Default: the labels' own — integers when every label
   * is one (class i is "i", up to the largest), otherwise the distinct labels in sorted order.
   */
  classNames?: readonly string[];
  /** Throw at the first bad row instead of skipping it. Default false. */
  strict?: boolean;
  /** Where the one-line summary of skipped rows goes. Default console.warn. */
  onWarning?: (message: string) => void;
  /** Decodes PNG files (see PngPixels). Required when the folder has PNGs. */
  decodePng?: PngDecoder;
}

/**
 * Why a row was skipped: no file named or found, a read error, not a (supported) PNG/JPEG, a file
 * that does not decode, the wrong channel count, an unknown partition, an empty or unknown label.
 */
export type SkipKind = 'missing' | 'unreadable' | 'format' | 'corrupt' | 'channels' | 'partition' | 'label';

/** A CSV row left out of the dataset. */
export interface SkippedFile {
  /** The file as the CSV names it. */
  file: string;
  /** The CSV line the row ends on (1-based; the header is line 1). */
  line: number;
  /** The kind of problem. */
  kind: SkipKind;
  /** What was wrong, in words. */
  reason: string;
}

/** What `buildImageFolder` / `loadImageFolder` return: one dataset per partition ([C, H, W] samples). */
export interface ImageFolder {
  /** The 'train' partition (every row when the CSV has no partition column). */
  train: ArrayDataset;
  /** The 'validation' partition (possibly empty). */
  validation: ArrayDataset;
  /** The 'test' partition (possibly empty). */
  test: ArrayDataset;
  /** classNames[i] is the label of class index i. */
  classNames: string[];
  /** The rows left out, in CSV order. */
  skipped: SkippedFile[];
  /** Number of rows left out (`skipped.length`). */
  skippedCount: number;
  /** The header names used (partition null when the CSV has none). */
  columns: {
    /** Header of the file column. */
    file: string;
    /** Header of the label column. */
    label: string;
    /** Header of the partition column, or null. */
    partition: string | null;
  };
}

/** Reads a file named in the CSV: its bytes, or undefined when it does not exist. */
export type FileReader = (file: string) => Uint8Array | undefined;

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/**
 * Decoders allocate width · height · 4 samples (8 bytes each for 16-bit PNGs) and more besides;
 * larger headers are rejected before that: 4096 × 4096 pixels.
 */
const MAX_PIXELS = 4096 * 4096;

/** Bit depths PNG allows for each colour type (0 gray, 2 RGB, 3 palette, 4 gray + alpha, 6 RGBA). */
const PNG_DEPTHS: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };

/**
 * What a PNG's IHDR chunk says, read before any decoding: its size, and its channels as kdgpu
 * counts them (alpha dropped). A BadRow when the header is missing, impossible or too large.
 */
function pngHeader(bytes: Uint8Array): { width: number; height: number; channels: number } {
  if (bytes.length < 33) throw new BadRow('corrupt', `truncated PNG: ${bytes.length} bytes, too short for its header`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (v.getUint32(8) !== 13 || String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR') throw new BadRow('corrupt', 'corrupt PNG: it does not start with an IHDR chunk');
  const width = v.getUint32(16);
  const height = v.getUint32(20);
  const depth = bytes[24];
  const colorType = bytes[25];
  if (!PNG_DEPTHS[colorType]?.includes(depth)) throw new BadRow('format', `PNG with colour type ${colorType} and bit depth ${depth}, which PNG does not allow`);
  if (width === 0 || height === 0) throw new BadRow('format', `PNG of ${width}×${height} pixels`);
  if (width * height > MAX_PIXELS) throw new BadRow('format', `PNG of ${width}×${height} pixels is larger than the ${MAX_PIXELS} allowed`);
  return { width, height, channels: colorType === 0 || colorType === 4 ? 1 : 3 };
}

/** An image's channel count from its header alone (PNG IHDR, JPEG frame), before decoding. */
function headerChannels(bytes: Uint8Array): number | null {
  const format = imageFormat(bytes);
  if (format === 'png') return pngHeader(bytes).channels;
  if (format === 'jpeg') {
    const c = jpegFrame(bytes).components;
    return c === 1 ? 1 : 3;
  }
  return null;
}

/** A row's problem: becomes a SkippedFile, or the error of a strict load. */
class BadRow extends Error {
  constructor(
    readonly kind: SkipKind,
    message: string,
  ) {
    super(message);
  }
}

/** The image format recognised by its magic bytes, or null for neither PNG nor JPEG. */
export function imageFormat(bytes: Uint8Array): 'png' | 'jpeg' | null {
  if (bytes.length >= 8 && PNG_MAGIC.every((b, i) => bytes[i] === b)) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return null;
}

const hex = (bytes: Uint8Array) => Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');

/** Width, height and component count from a JPEG's frame header (SOFn), or a BadRow. */
function jpegFrame(b: Uint8Array): { width: number; height: number; components: number } {
  let i = 2;
  while (i + 4 <= b.length) {
    if (b[i] !== 0xff) throw new BadRow('corrupt', `corrupt JPEG: no marker at byte ${i}`);
    const marker = b[i + 1];
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) {
      i += 2; // markers without a length
      continue;
    }
    const len = (b[i + 2] << 8) | b[i + 3];
    const isFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isFrame) {
      if (i + 10 > b.length) break;
      return { height: (b[i + 5] << 8) | b[i + 6], width: (b[i + 7] << 8) | b[i + 8], components: b[i + 9] };
    }
    if (marker === 0xda || marker === 0xd9) throw new BadRow('corrupt', 'corrupt JPEG: image data before the frame header');
    i += 2 + len;
  }
  throw new BadRow('corrupt', `truncated JPEG: no frame header in its ${b.length} bytes`);
}

function decodeJpeg(bytes: Uint8Array): DecodedImage {
  const frame = jpegFrame(bytes);
  if (frame.components !== 1 && frame.components !== 3 && frame.components !== 4) {
    throw new BadRow('format', `unsupported JPEG with ${frame.components} color components`);
  }
  if (frame.width * frame.height > MAX_PIXELS) throw new BadRow('format', `JPEG of ${frame.width}×${frame.height} pixels is larger than the ${MAX_PIXELS} allowed`);
  let img;
  try {
    // Not tolerant: a truncated file is an error rather than an image with missing blocks.
    img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, tolerantDecoding: false, maxResolutionInMP: MAX_PIXELS / 1e6 + 1, maxMemoryUsageInMB: 512 });
  } catch (e) {
    throw new BadRow('corrupt', `corrupt JPEG (${(e as Error).message})`);
  }
  const n = img.width * img.height;
  if (frame.components === 1) {
    // jpeg-js repeats a gray sample three times
    const gray = new Uint8Array(n);
    for (let i = 0; i < n; i++) gray[i] = img.data[3 * i];
    return { format: 'jpeg', width: img.width, height: img.height, channels: 1, data: gray, maxValue: 255 };
  }
  // CMYK (4 components) comes out as RGB
  return { format: 'jpeg', width: img.width, height: img.height, channels: 3, data: img.data, maxValue: 255 };
}

function decodePngWith(bytes: Uint8Array, decodePng: PngDecoder | undefined): DecodedImage {
  if (!decodePng) {
    throw new Error('kdgpu: image folder: a PNG file needs a PNG decoder (options.decodePng; loadImageFolder from node-image-folder.ts supplies pngjs)');
  }
  pngHeader(bytes);
  let png: PngPixels;
  try {
    png = decodePng(bytes);
  } catch (e) {
    throw new BadRow('corrupt', `corrupt or truncated PNG (${(e as Error).message})`);
  }
  const n = png.width * png.height;
  if (png.data.length < 4 * n) throw new BadRow('corrupt', `corrupt PNG: ${png.data.length} samples for ${png.width}×${png.height} RGBA pixels`);
  const gray = png.colorType === 0 || png.colorType === 4;
  const maxValue = png.colorType === 3 ? 255 : 2 ** png.depth - 1;
  const channels = gray ? 1 : 3;
  const data = png.depth === 16 && png.colorType !== 3 ? new Uint16Array(channels * n) : new Uint8Array(channels * n);
  for (let i = 0; i < n; i++) for (let c = 0; c < channels; c++) data[channels * i + c] = png.data[4 * i + c];
  return { format: 'png', width: png.width, height: png.height, channels, data, maxValue };
}

/**
 * Decodes a PNG or JPEG file, recognised by its magic bytes. Throws an Error naming `name` when
 * the file is not an image or does not decode.
 */
export function decodeImage(bytes: Uint8Array, name: string, decodePng?: PngDecoder): DecodedImage {
  try {
    return decodeBytes(bytes, decodePng);
  } catch (e) {
    if (e instanceof BadRow) throw new Error(`kdgpu: ${name}: ${e.message}`);
    throw e;
  }
}

function decodeBytes(bytes: Uint8Array, decodePng: PngDecoder | undefined): DecodedImage {
  const format = imageFormat(bytes);
  if (format === 'png') return decodePngWith(bytes, decodePng);
  if (format === 'jpeg') return decodeJpeg(bytes);
  if (bytes.length === 0) throw new BadRow('format', 'empty file, expected a PNG or JPEG image');
  throw new BadRow('format', `not a PNG or JPEG image (starts with ${hex(bytes)})`);
}

const channelWord = (c: number) => (c === 1 ? '1 channel (grayscale)' : `${c} channels (color)`);

/**
 * The image as planar [channels, height, width] values in [0, 1], converted from the image's
 * own channel count when `convert` is set (see the file comment for the rules).
 */
export function imageToPlanes(img: DecodedImage, channels: 1 | 3, convert: boolean): Float32Array {
  if (img.channels !== channels && !convert) {
    throw new Error(`kdgpu: imageToPlanes: the image has ${channelWord(img.channels)}, expected ${channelWord(channels)}; pass convert = true to convert it`);
  }
  const n = img.width * img.height;
  const out = new Float32Array(channels * n);
  const src = img.data;
  const s = img.channels;
  const max = img.maxValue;
  if (s === channels) {
    for (let c = 0; c < channels; c++) for (let i = 0; i < n; i++) out[c * n + i] = src[s * i + c] / max;
  } else if (s === 1) {
    for (let i = 0; i < n; i++) out[i] = src[i] / max;
    out.copyWithin(n, 0, n);
    out.copyWithin(2 * n, 0, n);
  } else {
    for (let i = 0; i < n; i++) out[i] = (0.299 * src[3 * i] + 0.587 * src[3 * i + 1] + 0.114 * src[3 * i + 2]) / max;
  }
  return out;
}

/** One axis of PyTorch's bilinear (align_corners=False) resize: the two taps and their weights. */
function axisTaps(inSize: number, outSize: number): { i0: Int32Array; i1: Int32Array; w1: Float64Array } {
  const scale = inSize / outSize;
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const w1 = new Float64Array(outSize);
  for (let d = 0; d < outSize; d++) {
    const src = Math.max((d + 0.5) * scale - 0.5, 0);
    const a = Math.min(Math.floor(src), inSize - 1);
    i0[d] = a;
    i1[d] = Math.min(a + 1, inSize - 1);
    w1[d] = src - a;
  }
  return { i0, i1, w1 };
}

/**
 * Bilinear resize of planar [planes, H, W] values to [planes, outH, outW], without antialiasing
 * (PyTorch's F.interpolate(mode='bilinear', align_corners=False)); computed in float64.
 */
export function resizeBilinear(src: Float32Array, planes: number, H: number, W: number, outH: number, outW: number): Float32Array {
  if (src.length !== planes * H * W) throw new Error(`kdgpu: resizeBilinear: ${src.length} values for ${planes} planes of ${H}×${W}`);
  if (!(H >= 1 && W >= 1 && outH >= 1 && outW >= 1)) throw new Error(`kdgpu: resizeBilinear: sizes must be ≥ 1, got ${H}×${W} → ${outH}×${outW}`);
  if (H === outH && W === outW) return src.slice();
  const ys = axisTaps(H, outH);
  const xs = axisTaps(W, outW);
  const out = new Float32Array(planes * outH * outW);
  for (let p = 0; p < planes; p++) {
    const base = p * H * W;
    for (let y = 0; y < outH; y++) {
      const r0 = base + ys.i0[y] * W;
      const r1 = base + ys.i1[y] * W;
      const wy = ys.w1[y];
      for (let x = 0; x < outW; x++) {
        const a = xs.i0[x];
        const b = xs.i1[x];
        const wx = xs.w1[x];
        const top = (1 - wx) * src[r0 + a] + wx * src[r0 + b];
        const bottom = (1 - wx) * src[r1 + a] + wx * src[r1 + b];
        out[(p * outH + y) * outW + x] = (1 - wy) * top + wy * bottom;
      }
    }
  }
  return out;
}

interface Row {
  file: string;
  label: string;
  partition: string | null;
  line: number;
}

function findColumn(header: string[], given: string | undefined, defaults: readonly string[], what: string, csvName: string, optional: boolean): number {
  if (given !== undefined) {
    const i = header.indexOf(given);
    if (i < 0) throw new Error(`kdgpu: image folder: ${csvName} has no ${what} column '${given}' (columns: ${header.join(', ')})`);
    return i;
  }
  const lower = header.map((h) => h.toLowerCase());
  for (const d of defaults) {
    const i = lower.indexOf(d);
    if (i >= 0) return i;
  }
  if (optional) return -1;
  throw new Error(`kdgpu: image folder: ${csvName} has no ${what} column (looked for ${defaults.join(', ')}; columns: ${header.join(', ')}); name it with columns.${what}`);
}

/** The annotation rows of a CSV (with a header); a malformed CSV throws with its line. */
function parseAnnotations(csv: string | Uint8Array, csvName: string, columns: ImageFolderOptions['columns'] = {}): { rows: Row[]; columns: ImageFolder['columns'] } {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    const text = typeof csv === 'string' ? csv : new TextDecoder().decode(csv);
    records = parse(text, { info: true, bom: true, trim: true, skip_empty_lines: true, relax_column_count: true }) as unknown as typeof records;
  } catch (e) {
    throw new Error(`kdgpu: image folder: ${csvName} is not a valid CSV file: ${(e as Error).message}`);
  }
  if (records.length === 0) throw new Error(`kdgpu: image folder: ${csvName} is empty, expected a header row (e.g. file,label,partition) and one row per image`);
  const header = records[0].record;
  const fileCol = findColumn(header, columns.file, DEFAULT_COLUMNS.file, 'file', csvName, false);
  const labelCol = findColumn(header, columns.label, DEFAULT_COLUMNS.label, 'label', csvName, false);
  const partCol = findColumn(header, columns.partition, DEFAULT_COLUMNS.partition, 'partition', csvName, true);
  const rows = records.slice(1).map(({ record, info }) => ({
    file: record[fileCol] ?? '',
    label: record[labelCol] ?? '',
    partition: partCol < 0 ? null : (record[partCol] ?? ''),
    line: info.lines,
  }));
  return { rows, columns: { file: header[fileCol], label: header[labelCol], partition: partCol < 0 ? null : header[partCol] } };
}

/** Most classes an image folder may have (a model gives one score per class). */
const MAX_CLASSES = 100_000;

/** Label index of each distinct label, and the class names. */
function labelMapping(rows: Row[], given: readonly string[] | undefined): { index: Map<string, number>; classNames: string[] } {
  if (given) {
    const index = new Map<string, number>();
    given.forEach((name, i) => {
      if (index.has(name)) throw new Error(`kdgpu: image folder: classNames lists '${name}' twice`);
      index.set(name, i);
    });
    return { index, classNames: [...given] };
  }
  const labels = [...new Set(rows.map((r) => r.label).filter((l) => l !== ''))];
  const tooMany = (n: number, what: string) => new Error(`kdgpu: image folder: ${what} ${n.toLocaleString('en-US')} classes, more than the ${MAX_CLASSES.toLocaleString('en-US')} kdgpu accepts`);
  if (labels.length > 0 && labels.every((l) => /^\d+$/.test(l) && Number.isSafeInteger(Number(l)))) {
    let max = 0;
    for (const l of labels) max = Math.max(max, Number(l));
    if (max >= MAX_CLASSES) throw tooMany(max + 1, `the integer label ${max} implies`);
    const index = new Map(labels.map((l) => [l, Number(l)]));
    return { index, classNames: Array.from({ length: max + 1 }, (_, i) => String(i)) };
  }
  if (labels.length > MAX_CLASSES) throw tooMany(labels.length, 'the labels name');
  const sorted = labels.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { index: new Map(sorted.map((l, i) => [l, i])), classNames: sorted };
}

function checkOptions(opts: ImageFolderOptions): [number, number] {
  const size = typeof opts.size === 'number' ? [opts.size, opts.size] : opts.size;
  if (!Array.isArray(size) || size.length !== 2 || !size.every((s) => Number.isInteger(s) && s >= 1)) {
    throw new Error(`kdgpu: image folder: size must be a positive integer or [height, width], got ${JSON.stringify(opts.size)}`);
  }
  if (opts.channels !== 1 && opts.channels !== 3) throw new Error(`kdgpu: image folder: channels must be 1 or 3, got ${String(opts.channels)}`);
  const norm = opts.normalize;
  if (norm) {
    if (norm.mean.length !== opts.channels || norm.std.length !== opts.channels) {
      throw new Error(`kdgpu: image folder: normalize has ${norm.mean.length} means and ${norm.std.length} stds for ${opts.channels} channels`);
    }
    if (norm.std.some((s) => !(s > 0))) throw new Error(`kdgpu: image folder: normalize stds must be > 0, got [${norm.std.join(', ')}]`);
  }
  return [size[0], size[1]];
}

function summary(skipped: SkippedFile[], rows: number, csvName: string): string {
  const counts = new Map<SkipKind, number>();
  for (const s of skipped) counts.set(s.kind, (counts.get(s.kind) ?? 0) + 1);
  const kinds = [...counts].map(([k, n]) => `${n} ${k}`).join(', ');
  const first = skipped[0];
  return `kdgpu: image folder: skipped ${skipped.length} of ${rows} rows of ${csvName} (${kinds}); first: line ${first.line} ${first.file}: ${first.reason}`;
}

/**
 * Builds the datasets of an image folder from its CSV (text or bytes) and a reader of the files
 * it names. `csvName` names the CSV in errors and warnings.
 */
export function buildImageFolder(csv: string | Uint8Array, csvName: string, read: FileReader, opts: ImageFolderOptions): ImageFolder {
  const [H, W] = checkOptions(opts);
  const C = opts.channels;
  const { rows, columns } = parseAnnotations(csv, csvName, opts.columns);
  const { index, classNames } = labelMapping(rows, opts.classNames);
  const partNames = new Map(Object.entries(opts.partitionNames ?? DEFAULT_PARTITION_NAMES).map(([k, v]) => [k.toLowerCase(), v]));
  for (const p of partNames.values()) {
    if (!PARTITIONS.includes(p)) throw new Error(`kdgpu: image folder: partitionNames maps to '${String(p)}', expected one of ${PARTITIONS.join(', ')}`);
  }
  const sample = C * H * W;
  const parts = new Map<Partition, { x: Float32Array[]; y: number[] }>(PARTITIONS.map((p) => [p, { x: [], y: [] }]));
  const skipped: SkippedFile[] = [];
  for (const row of rows) {
    try {
      if (row.file === '') throw new BadRow('missing', 'the row names no file');
      const part = row.partition === null ? 'train' : partNames.get(row.partition.toLowerCase());
      if (!part) throw new BadRow('partition', `unknown partition '${row.partition}', expected one of ${[...partNames.keys()].join(', ')}`);
      const label = index.get(row.label);
      if (label === undefined) {
        throw new BadRow('label', row.label === '' ? 'empty label' : `label '${row.label}' is not one of the class names ${classNames.join(', ')}`);
      }
      let bytes: Uint8Array | undefined;
      try {
        bytes = read(row.file);
      } catch (e) {
        throw new BadRow('unreadable', `cannot read the file (${(e as Error).message})`);
      }
      if (bytes === undefined) throw new BadRow('missing', 'file not found');
      // The wrong channel count is found from the header, before the decoder allocates anything.
      const channels = headerChannels(bytes);
      if (channels !== null && channels !== C && !opts.convert) {
        throw new BadRow('channels', `${imageFormat(bytes)!.toUpperCase()} has ${channelWord(channels)}, expected ${channelWord(C)} (allow conversion with convert)`);
      }
      const img = decodeBytes(bytes, opts.decodePng);
      if (img.channels !== C && !opts.convert) {
        throw new BadRow('channels', `${img.format.toUpperCase()} has ${channelWord(img.channels)}, expected ${channelWord(C)} (allow conversion with convert)`);
      }
      const planes = resizeBilinear(imageToPlanes(img, C, true), C, img.height, img.width, H, W);
      if (opts.normalize) {
        const { mean, std } = opts.normalize;
        for (let c = 0; c < C; c++) for (let i = c * H * W; i < (c + 1) * H * W; i++) planes[i] = (planes[i] - mean[c]) / std[c];
      }
      const dest = parts.get(part)!;
      dest.x.push(planes);
      dest.y.push(label);
    } catch (e) {
      if (!(e instanceof BadRow)) throw e;
      if (opts.strict) throw new Error(`kdgpu: image folder: ${csvName} line ${row.line}: ${row.file || '(no file)'}: ${e.message}`);
      skipped.push({ file: row.file, line: row.line, kind: e.kind, reason: e.message });
    }
  }
  if (skipped.length > 0) (opts.onWarning ?? console.warn)(summary(skipped, rows.length, csvName));
  const dataset = (p: Partition): ArrayDataset => {
    const { x, y } = parts.get(p)!;
    const flat = new Float32Array(x.length * sample);
    x.forEach((s, i) => flat.set(s, i * sample));
    return { x: flat, y: Int32Array.from(y), sampleShape: [C, H, W], count: y.length, classes: classNames.length };
  };
  return {
    train: dataset('train'),
    validation: dataset('validation'),
    test: dataset('test'),
    classNames,
    skipped,
    skippedCount: skipped.length,
    columns,
  };
}
