/** Model weights as safetensors bytes, by PyTorch state_dict names. */
import { tensor } from '../autograd/creation.js';
import { fmt } from '../autograd/shape.js';
import type { Tensor } from '../autograd/tensor.js';
import { describeNonFinite, nonFiniteValues } from './finite-weights.js';
import type { Module } from './module.js';
import { parseSafetensors, serializeSafetensors } from './safetensors.js';

/** Options of `weightsToBytes` and `saveWeights`. */
export interface SaveWeightsOptions {
  /** Serialize weights with NaN or ±Infinity instead of throwing (default false). */
  allowNonFinite?: boolean;
}

/**
 * Reads every parameter and buffer back and serializes them. Throws when a value is not finite
 * (a diverged model), unless `opts.allowNonFinite`.
 */
export async function weightsToBytes(model: Module, metadata: Record<string, string> = {}, opts: SaveWeightsOptions = {}): Promise<Uint8Array> {
  const entries: [string, { shape: readonly number[]; data: Float32Array | Int32Array }][] = [];
  for (const [name, t] of model.stateDict()) entries.push([name, { shape: t.shape, data: await t.data() }]);
  const bad = opts.allowNonFinite ? null : nonFiniteValues(entries);
  if (bad) throw new Error(`kdgpu: the weights are not finite: ${describeNonFinite(bad)}; nothing written (pass allowNonFinite to write them anyway)`);
  return serializeSafetensors(entries, metadata);
}

/** Options of `loadWeightsFromBytes` (and `loadWeights`, `loadInto`). */
export interface LoadWeightsOptions {
  /**
   * Weights with NaN or ±Infinity (a diverged run's): 'warn' (default) loads them and calls
   * `onWarning`, 'error' refuses them, 'allow' loads them silently (the caller has checked).
   */
  nonFinite?: 'warn' | 'error' | 'allow';
  /** Where the warning goes. Default console.warn. */
  onWarning?: (message: string) => void;
}

/**
 * Loads safetensors bytes into `model`. Every name must match both ways and every shape must
 * agree; errors name the file and the parameter. Non-finite values warn (see `opts`). Returns the
 * file's metadata.
 */
export function loadWeightsFromBytes(model: Module, bytes: Uint8Array, fileName: string, opts: LoadWeightsOptions = {}): Record<string, string> {
  const file = parseSafetensors(bytes, fileName);
  const nonFinite = opts.nonFinite ?? 'warn';
  if (nonFinite !== 'allow') {
    const bad = nonFiniteValues(file.tensors);
    if (bad) {
      const msg = `kdgpu: ${fileName}: ${describeNonFinite(bad)}; the model will compute NaN (were these weights saved from a diverged run?)`;
      if (nonFinite === 'error') throw new Error(msg);
      (opts.onWarning ?? console.warn)(msg);
    }
  }
  const own = model.stateDict();
  const missing = [...own.keys()].filter((k) => !file.tensors.has(k));
  const unexpected = [...file.tensors.keys()].filter((k) => !own.has(k));
  if (missing.length || unexpected.length) {
    const parts: string[] = [];
    if (missing.length) parts.push(`missing ${missing.join(', ')}`);
    if (unexpected.length) parts.push(`unexpected ${unexpected.join(', ')}`);
    throw new Error(`kdgpu: ${fileName} does not fit this model (${model.constructor.name}): ${parts.join('; ')}`);
  }
  for (const [name, t] of own) {
    const e = file.tensors.get(name)!;
    if (e.shape.length !== t.shape.length || e.shape.some((d, i) => d !== t.shape[i])) {
      throw new Error(`kdgpu: ${fileName}: parameter '${name}' has shape ${fmt(e.shape)} in the file, the model expects ${fmt(t.shape)}`);
    }
    const wantInt = t.dtype === 'int32';
    if (wantInt !== e.data instanceof Int32Array) {
      throw new Error(`kdgpu: ${fileName}: parameter '${name}' is ${e.dtype} in the file, the model expects ${t.dtype}`);
    }
  }
  const state = new Map<string, Tensor>();
  for (const [name, e] of file.tensors) state.set(name, tensor(e.data, e.shape, { dtype: e.data instanceof Int32Array ? 'int32' : 'float32' }));
  model.loadStateDict(state);
  return file.metadata;
}
