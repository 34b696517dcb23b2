/** Node-only: weight files on disk. */
import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../data/node-atomic-write.js';
import type { Module } from './module.js';
import { loadWeightsFromBytes, weightsToBytes } from './weights.js';

/**
 * Writes the model's parameters and buffers to a safetensors file at `path`, with optional string
 * metadata, atomically: an existing file is replaced only once the new one is complete.
 */
export async function saveWeights(model: Module, path: string, metadata: Record<string, string> = {}): Promise<void> {
  writeFileAtomic(path, await weightsToBytes(model, metadata));
}

/**
 * Loads a safetensors file into `model` (names and shapes must match exactly); returns the file's
 * metadata.
 */
export function loadWeights(model: Module, path: string): Record<string, string> {
  if (!existsSync(path)) throw new Error(`kdgpu: weights file ${path} does not exist`);
  return loadWeightsFromBytes(model, new Uint8Array(readFileSync(path)), path);
}
