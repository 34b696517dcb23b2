/**
 * Non-finite values (NaN, ±Infinity) in weights: found on the host, before anything is uploaded,
 * so loading a diverged run's weights can warn (or refuse) instead of reporting chance accuracy.
 */
import type { WeightsFile } from './model-source.js';
import { parseSafetensors } from './safetensors.js';

/** What `nonFiniteWeights` found. */
export interface NonFiniteReport {
  /** Tensors with at least one non-finite value. */
  tensors: number;
  /** Non-finite values in all. */
  values: number;
  /** The first one, as 'name[flat index] = value' (e.g. 'fc1.weight[3] = NaN'). */
  first: string;
}

/** Counts the non-finite values of named float tensors; null when every value is finite. */
export function nonFiniteValues(tensors: Iterable<readonly [string, { data: ArrayLike<number> }]>): NonFiniteReport | null {
  let count = 0;
  let values = 0;
  let first = '';
  for (const [name, { data }] of tensors) {
    if (data instanceof Int32Array) continue;
    let here = 0;
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (v - v !== 0) {
        // NaN - NaN and ±Infinity - ±Infinity are NaN; every finite v gives 0.
        if (here === 0 && count === 0) first = `${name}[${i}] = ${v}`;
        here++;
      }
    }
    if (here > 0) {
      count++;
      values += here;
    }
  }
  return count === 0 ? null : { tensors: count, values, first };
}

/** The non-finite values of a weights file (safetensors or Keras HDF5); null when there are none. */
export function nonFiniteWeights(w: WeightsFile): NonFiniteReport | null {
  if (w.keras) return nonFiniteValues(w.keras.layers.flatMap((l) => l.weights.map((x) => [`${l.name}/${x.name}`, x] as const)));
  return nonFiniteValues(parseSafetensors(w.bytes, w.path).tensors);
}

/** One line about a report: '3 values in 2 tensors are not finite (the first: fc1.weight[3] = NaN)'. */
export function describeNonFinite(r: NonFiniteReport): string {
  const vals = `${r.values} value${r.values === 1 ? '' : 's'}`;
  const where = r.tensors === 1 ? '1 tensor' : `${r.tensors} tensors`;
  return `${vals} in ${where} ${r.values === 1 ? 'is' : 'are'} not finite (the first: ${r.first})`;
}
