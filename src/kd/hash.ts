/**
 * Content hashes (SHA-256 through WebCrypto, present in Node 20 and in browsers) of datasets,
 * model weights and settings: what keeps a cache from serving stale teacher outputs.
 */
import type { ArrayDataset } from '../data/dataset.js';
import type { Module } from '../nn/module.js';

const text = new TextEncoder();

async function digest(bytes: Uint8Array): Promise<Uint8Array> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) throw new Error('kdgpu: hashing needs WebCrypto (crypto.subtle); in a browser, serve the page from https or http://127.0.0.1');
  return new Uint8Array(await subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
}

function hex(b: Uint8Array): string {
  return Array.from(b, (v) => v.toString(16).padStart(2, '0')).join('');
}

function bytesOf(v: ArrayBufferView): Uint8Array {
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

/** SHA-256 (hex) of a sequence of parts; each part is hashed on its own, then the list of digests. */
export async function hashParts(parts: (string | ArrayBufferView)[]): Promise<string> {
  const ds = await Promise.all(parts.map((p) => digest(typeof p === 'string' ? text.encode(p) : bytesOf(p))));
  const all = new Uint8Array(ds.length * 32);
  ds.forEach((d, i) => all.set(d, i * 32));
  return hex(await digest(all));
}

/** Hash of a dataset's contents: sample shape, images and labels. */
export function hashDataset(d: ArrayDataset): Promise<string> {
  return hashParts([`dataset ${JSON.stringify(d.sampleShape)} ${d.count}`, d.x, d.y]);
}

/** Hash of a model's parameter and buffer contents, with their names and shapes (one readback). */
export async function hashWeights(model: Module): Promise<string> {
  const parts: (string | ArrayBufferView)[] = [`weights ${model.constructor.name}`];
  for (const [name, t] of model.stateDict()) parts.push(`${name} ${t.dtype} ${JSON.stringify(t.shape)}`, await t.data());
  return hashParts(parts);
}

/** Hash of a JSON-serializable settings object, independent of key order. */
export function hashSettings(settings: unknown): Promise<string> {
  return hashParts([stableJson(settings)]);
}

/** JSON with object keys sorted and undefined members dropped, so equal values give equal text. */
export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .filter((k) => o[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}
