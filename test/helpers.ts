/** Shared test utilities: engine start-up, seeded data, tolerance checks. */
import { expect } from 'chai';
import { init, Random, type Engine } from '../src/index.js';

export async function setup(): Promise<Engine> {
  return init();
}

/** Float32-representable values from a seeded generator, as float64. */
export function randomValues(n: number, seed: number, lo = -1, hi = 1): Float64Array {
  const r = new Random(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.fround(lo + (hi - lo) * r.next());
  return out;
}

export interface Tolerance {
  rtol?: number;
  /** Absolute tolerance; defaults to 1e-6 · max|ref| (the project's standard). */
  atol?: number;
}

/**
 * Asserts |got − ref| ≤ atol + rtol·|ref| elementwise (rtol 1e-5, atol 1e-6·max|ref| by default);
 * the message names the worst element.
 */
export function assertClose(got: ArrayLike<number>, ref: ArrayLike<number>, tol: Tolerance = {}, what = 'values'): void {
  if (got.length !== ref.length) throw new Error(`${what}: length ${got.length}, expected ${ref.length}`);
  let maxRef = 0;
  for (let i = 0; i < ref.length; i++) maxRef = Math.max(maxRef, Math.abs(ref[i]));
  const rtol = tol.rtol ?? 1e-5;
  const atol = tol.atol ?? 1e-6 * maxRef;
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < ref.length; i++) {
    const g = got[i];
    const r = ref[i];
    if (Number.isNaN(r) && Number.isNaN(g)) continue;
    if (r === g) continue; // includes matching infinities
    const excess = Math.abs(g - r) - (atol + rtol * Math.abs(r));
    if (!(excess <= 0) && (worst < 0 || !(excess <= worstExcess))) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) {
    throw new Error(
      `${what}: element ${worst} is ${got[worst]}, expected ${ref[worst]} (|diff| ${Math.abs(got[worst] - ref[worst]).toExponential(3)}, allowed ${(atol + rtol * Math.abs(ref[worst])).toExponential(3)})`,
    );
  }
}

/** Asserts fn throws an Error whose message contains every one of `parts`. */
export function expectThrow(fn: () => unknown, ...parts: string[]): void {
  let msg = '';
  try {
    fn();
  } catch (e) {
    msg = (e as Error).message;
  }
  expect(msg, 'expected an Error').to.not.equal('');
  for (const p of parts) expect(msg).to.contain(p);
}

/** Philox4x32-10 on the CPU (Salmon et al. 2011), for checking the GPU generator bit for bit. */
export function philox(counter: readonly number[], key: readonly number[]): number[] {
  const mulhilo = (a: number, b: number): [number, number] => {
    const p = BigInt(a) * BigInt(b);
    return [Number(p >> 32n), Number(p & 0xffffffffn)];
  };
  let [c0, c1, c2, c3] = counter.map((v) => v >>> 0);
  let [k0, k1] = key.map((v) => v >>> 0);
  for (let r = 0; r < 10; r++) {
    const [hi0, lo0] = mulhilo(0xd2511f53, c0);
    const [hi1, lo1] = mulhilo(0xcd9e8d57, c2);
    [c0, c1, c2, c3] = [(hi1 ^ c1 ^ k0) >>> 0, lo1, (hi0 ^ c3 ^ k1) >>> 0, lo0];
    k0 = (k0 + 0x9e3779b9) >>> 0;
    k1 = (k1 + 0xbb67ae85) >>> 0;
  }
  return [c0, c1, c2, c3];
}

/**
 * |got − ref| ≤ rel·s elementwise, s = the sum of absolute products behind each value (the
 * scale of its float32 rounding error). The message names the worst element.
 */
export function assertWithinScale(got: ArrayLike<number>, ref: ArrayLike<number>, s: ArrayLike<number>, what: string, rel = 1e-4): void {
  expect(got.length, `${what}: length`).to.equal(ref.length);
  let worst = -1;
  let worstRatio = 1;
  for (let i = 0; i < ref.length; i++) {
    const err = Math.abs(got[i] - ref[i]);
    const allowed = rel * s[i];
    if (!(err <= allowed) && (worst < 0 || err / allowed > worstRatio || Number.isNaN(err))) {
      worst = i;
      worstRatio = err / allowed;
    }
  }
  if (worst >= 0) {
    throw new Error(
      `${what}: element ${worst} is ${got[worst]}, expected ${ref[worst]} (|diff| ${Math.abs(got[worst] - ref[worst]).toExponential(3)}, allowed ${(rel * s[worst]).toExponential(3)})`,
    );
  }
}

/** Elementwise |a|, as float64 (scales for assertWithinScale). */
export const absArr = (a: ArrayLike<number>) => Float64Array.from(a, Math.abs);

/**
 * The stderr lines that are ours: without the notes Dawn's native code prints while it opens
 * adapters (its Vulkan probe skipping Mesa's lavapipe, ending in a C++ "at Function (file.cpp:N)",
 * and the OpenGL ES backend's "… artificially reduced …" limits).
 */
export function ownStderrLines(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter((l) => l.trim() !== '')
    .filter((l) => !/^Warning: Vulkan |^Warning: \w+ artificially reduced from \d+ to \d+|^ - While initializing adapter|^\s+at \w+ \(.*\.(cpp|h|mm):\d+\)$/.test(l));
}
