/** Reads the reference fixtures written by test/fixtures/fixture_io.py (safetensors layout). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface FixtureTensor {
  shape: number[];
  data: Float32Array | Int32Array;
}

export interface Fixture {
  tensors: Map<string, FixtureTensor>;
  meta: Record<string, string>;
  get(name: string): FixtureTensor;
}

export function loadFixture(file: string): Fixture {
  const path = join(process.cwd(), 'test', 'fixtures', file);
  const buf = readFileSync(path);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, unknown>;
  const base = 8 + n;
  const tensors = new Map<string, FixtureTensor>();
  let meta: Record<string, string> = {};
  for (const [name, v] of Object.entries(header)) {
    if (name === '__metadata__') {
      meta = v as Record<string, string>;
      continue;
    }
    const { dtype, shape, data_offsets: [s, e] } = v as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const bytes = buf.buffer.slice(buf.byteOffset + base + s, buf.byteOffset + base + e);
    tensors.set(name, { shape, data: dtype === 'I32' ? new Int32Array(bytes) : new Float32Array(bytes) });
  }
  return {
    tensors,
    meta,
    get(name: string) {
      const t = tensors.get(name);
      if (!t) throw new Error(`fixture ${file} has no tensor '${name}'`);
      return t;
    },
  };
}
