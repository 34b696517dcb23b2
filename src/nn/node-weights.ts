/** Node-only: weight files on disk. */
import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../data/node-atomic-write.js';
import type { Module } from './module.js';
import { loadWeightsFromBytes, weightsToBytes, type LoadWeightsOptions, type SaveWeightsOptions } from './weights.js';

/**
 * Writes the model's parameters and buffers to a safetensors file at `path`, with optional string
 * metadata, atomically: an existing file is replaced only once the new one is complete. Non-finite
 * weights are refused (see `weightsToBytes`).
 */
export async function saveWeights(model: Module, path: string, metadata: Record<string, string> = {}, opts: SaveWeightsOptions = {}): Promise<void> {
  writeFileAtomic(path, await weightsToBytes(model, metadata, opts));
}

/**
 * Loads a safetensors file into `model` (names and shapes must match exactly; non-finite values
 * warn, see `opts`); returns the file's metadata.
 */
export function loadWeights(model: Module, path: string, opts: LoadWeightsOptions = {}): Record<string, string> {
  if (!existsSync(path)) throw new Error(`kdgpu: weights file ${path} does not exist`);
  return loadWeightsFromBytes(model, new Uint8Array(readFileSync(path)), path, opts);
}
