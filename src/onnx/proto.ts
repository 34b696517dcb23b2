/**
 * Decodes ONNX protobuf bytes with protobufjs and the official schema (onnx-proto-text.ts), and
 * converts its 64-bit integers safely.
 */
import type * as Protobuf from 'protobufjs';
// The prebuilt bundle, not the package's entry: see protobufjs-dist.d.ts.
import protobuf from 'protobufjs/dist/protobuf.js';
import { OnnxError } from './errors.js';
import { ONNX_PROTO_TEXT } from './onnx-proto-text.js';

let modelType: Protobuf.Type | null = null;

/** onnx.ModelProto, parsed from the schema text on first use (tests encode hostile models with it). */
export function modelProto(): OnnxProtoType {
  modelType ??= protobuf.parse(ONNX_PROTO_TEXT, { keepCase: true }).root.lookupType('onnx.ModelProto');
  return modelType;
}

/** The ModelProto message type: decode, and (for tests) fromObject / encode. */
export interface OnnxProtoType {
  /** Decodes a ModelProto message. */
  decode(bytes: Uint8Array): unknown;
  /** Builds a message from a plain object with the .proto's field names. */
  fromObject(o: object): object;
  /** Encodes a message. */
  encode(m: object): { finish(): Uint8Array };
}

/** A protobuf int64 as protobufjs hands it: a number, or a Long-like {low, high} object. */
export type Int64 = number | { low: number; high: number; unsigned?: boolean; toNumber(): number } | string;

/** An int64 as a JS number, or an OnnxError when it is outside ±2⁵³ (it could not be represented). */
export function int64(source: string, v: Int64 | null | undefined, what: string): number {
  if (v === null || v === undefined) return 0;
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : v.toNumber();
  if (!Number.isSafeInteger(n)) throw new OnnxError(source, `${what} is ${typeof v === 'object' ? `${v.high}·2³² + ${v.low >>> 0}` : String(v)}, beyond ±2⁵³`);
  return n;
}

/** The decoded ModelProto (protobufjs message: fields by their .proto names, absent ones at defaults). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type RawModel = any;

/**
 * Decodes `bytes` as an ONNX ModelProto. protobufjs checks every length against the bytes it has,
 * so a truncated or hostile file fails here without large allocations; the failure is reported
 * as an OnnxError naming `source`.
 */
export function decodeModel(bytes: Uint8Array, source: string): RawModel {
  if (!(bytes instanceof Uint8Array)) throw new OnnxError(source, `expected the model's bytes as a Uint8Array, got ${Object.prototype.toString.call(bytes)}`);
  if (bytes.length === 0) throw new OnnxError(source, 'the file is empty; expected an ONNX model (protobuf ModelProto)');
  let m: RawModel;
  try {
    m = modelProto().decode(bytes);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new OnnxError(source, `not a readable ONNX model: protobuf decoding failed (${why}); the file may be truncated or not ONNX (${bytes.length} bytes)`);
  }
  if (!m.graph) throw new OnnxError(source, 'the ONNX model has no graph; expected a ModelProto with a GraphProto (is this an ONNX file?)');
  return m;
}
