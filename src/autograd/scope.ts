/**
 * Scopes free intermediate tensors: every tensor made inside `tidy(fn)` is disposed when fn
 * returns, except the tensors fn returns (which move to the enclosing scope) and those passed to
 * `keep`. Like `tf.tidy`; fn must be synchronous.
 */
import type { Tensor } from './tensor.js';

const stack: Set<Tensor>[] = [];

/** @internal */
export function track(t: Tensor): void {
  if (stack.length) stack[stack.length - 1].add(t);
}

/** @internal */
export function untrack(t: Tensor): void {
  for (let i = stack.length - 1; i >= 0; i--) if (stack[i].delete(t)) return;
}

/** Exempts a tensor from disposal by the enclosing scopes. */
export function keep<T extends Tensor>(t: T): T {
  untrack(t);
  return t;
}

function collect(v: unknown, out: Set<Tensor>, depth = 0): void {
  if (v === null || typeof v !== 'object' || depth > 4) return;
  if ((v as { _storage?: unknown })._storage !== undefined && typeof (v as Tensor).dispose === 'function') {
    out.add(v as Tensor);
    return;
  }
  if (Array.isArray(v)) for (const x of v) collect(x, out, depth + 1);
  else if (Object.getPrototypeOf(v) === Object.prototype) for (const x of Object.values(v)) collect(x, out, depth + 1);
}

/**
 * Runs `fn` and disposes every tensor made inside it except those it returns (found in arrays and
 * plain objects, a few levels deep) and those passed to `keep`. `fn` must be synchronous.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Tensor>();
  stack.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    stack.pop();
    for (const t of scope) t.dispose();
    throw e;
  }
  stack.pop();
  if (result instanceof Promise) {
    for (const t of scope) t.dispose();
    throw new Error('kdgpu: tidy: the function must be synchronous (it returned a Promise)');
  }
  const kept = new Set<Tensor>();
  collect(result, kept);
  for (const t of scope) {
    if (kept.has(t)) track(t);
    else t.dispose();
  }
  return result;
}

/** Number of open scopes (for tests). */
export function scopeDepth(): number {
  return stack.length;
}
