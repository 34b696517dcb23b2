/** Node-only: Keras HDF5 weight files on disk (see keras-h5.ts). */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { loadKerasH5Weights, readKerasH5, type KerasH5File, type KerasLoadOptions } from './keras-h5.js';
import type { Module } from './module.js';

function readBytes(path: string): Uint8Array {
  if (!existsSync(path)) throw new Error(`kdgpu: Keras weights file ${path} does not exist`);
  if (!statSync(path).isFile()) throw new Error(`kdgpu: Keras weights file ${path} is not a file`);
  return new Uint8Array(readFileSync(path));
}

/** Lists the layers and weights of a Keras .h5 file. */
export function readKerasH5File(path: string): KerasH5File {
  return readKerasH5(readBytes(path), path);
}

/** Loads a Keras .h5 file into `model` (pass `inputShape` when the model has a Flatten). */
export function loadKerasH5File(model: Module, path: string, opts: KerasLoadOptions = {}): KerasH5File {
  return loadKerasH5Weights(model, readBytes(path), path, opts);
}
