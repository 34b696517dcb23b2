/** Shared benchmark helpers: wall-clock + process-CPU timing, medians, seeded random data. */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Random } from '../../src/index.js';

export interface Sample {
  wallMs: number;
  /** CPU time of this process (all threads) during the run. */
  cpuMs: number;
}

/** Runs `fn` (which must wait for its work to finish on the device) and times it. */
export async function timed(fn: () => Promise<unknown>): Promise<Sample> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { wallMs, cpuMs: (c.user + c.system) / 1e3 };
}

export function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** `n` values uniform in [−scale, scale) from a seeded generator. */
export function randArray(n: number, seed: number, scale = 1): Float32Array {
  const r = new Random(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (r.next() * 2 - 1) * scale;
  return a;
}

/** `n` class labels in [0, classes) from a seeded generator. */
export function randLabels(n: number, seed = 7, classes = 10): Int32Array {
  const r = new Random(seed);
  return Int32Array.from({ length: n }, () => Math.floor(r.next() * classes));
}

/** Adapter name as a file-name slug, e.g. "swiftshader" or "llvmpipe". */
export function adapterSlug(a: { architecture?: string; description?: string; kind?: string }): string {
  if (a.kind === 'llvmpipe' || a.kind === 'swiftshader') return a.kind;
  return (a.architecture || a.description || 'unknown').replace(/[^a-z0-9]+/gi, '-').toLowerCase();
}

/**
 * A pause before a timed run: a full garbage collection (V8's gc, exposed at run time) and then
 * `ms` of idle time, so that what the previous run left behind (another framework's garbage, its
 * freed GPU buffers, a peer process's spinning threads) is not charged to the next one.
 */
export function settler(ms: number): () => Promise<void> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  return async () => {
    gc();
    if (ms > 0) await new Promise((r) => setTimeout(r, ms));
  };
}
