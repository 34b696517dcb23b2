/** Model weights as safetensors bytes, by PyTorch state_dict names. */
import { tensor } from '../autograd/creation.js';
import { fmt } from '../autograd/shape.js';
import type { Tensor } from '../autograd/tensor.js';
import type { Module } from './module.js';
import { parseSafetensors, serializeSafetensors } from './safetensors.js';

/** Reads every parameter and buffer back and serializes them. */
export async function weightsToBytes(model: Module, metadata: Record<string, string> = {}): Promise<Uint8Array> {
  const entries: [string, { shape: readonly number[]; data: Float32Array | Int32Array }][] = [];
  for (const [name, t] of model.stateDict()) entries.push([name, { shape: t.shape, data: await t.data() }]);
  return serializeSafetensors(entries, metadata);
}

/**
 * Loads safetensors bytes into `model`. Every name must match both ways and every shape must
 * agree; errors name the file and the parameter. Returns the file's metadata.
 */
export function loadWeightsFromBytes(model: Module, bytes: Uint8Array, fileName: string): Record<string, string> {
  const file = parseSafetensors(bytes, fileName);
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
