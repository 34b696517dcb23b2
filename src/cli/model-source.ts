/**
 * Which model a command works on: a built-in (`--model NAME`), a JSON spec (`--model-spec FILE`),
 * or, for commands that read weights, what the weights file's metadata says it holds. All checks
 * here run before the GPU is touched, so a typo fails fast and cleanly.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname } from 'node:path';
import type { ArrayDataset } from '../data/dataset.js';
import { MODELS } from '../nn/models.js';
import type { InitScheme } from '../nn/init.js';
import { applyKerasH5, readKerasH5, type KerasH5File } from '../nn/keras-h5.js';
import type { Module } from '../nn/module.js';
import { parseSafetensors, serializeSafetensors, type SafeFile } from '../nn/safetensors.js';
import { loadWeightsFromBytes } from '../nn/weights.js';
import { buildFromSpec, parseModelSpec, type ModelSpec } from './model-spec.js';
import { CliError } from './output.js';

export interface ModelSource {
  /** The built-in's name, or the spec's name (else its file name). */
  name: string;
  inputShape: number[];
  /** Output classes, when known before building (specs). */
  classes?: number;
  spec?: ModelSpec;
  /** `classes`: the dataset's class count, for built-in models (a spec fixes its own). */
  build(opts?: { seed?: number; init?: InitScheme; classes?: number }): Module;
}

/** Metadata keys written into weight files by `kdgpu train`, read back by `kdgpu eval`. */
export const META_MODEL = 'kdgpu.model';
export const META_SPEC = 'kdgpu.spec';

export function modelMetadata(m: ModelSource): Record<string, string> {
  return m.spec ? { [META_MODEL]: m.name, [META_SPEC]: JSON.stringify(m.spec) } : { [META_MODEL]: m.name };
}

export function builtinModel(name: string): ModelSource {
  const info = MODELS[name];
  if (!info) throw new CliError(`unknown model '${name}'; built-in models: ${Object.keys(MODELS).join(', ')}`);
  return { name, inputShape: [...info.inputShape], build: (o = {}) => info.build(o) };
}

export function specModel(raw: unknown, source: string): ModelSource {
  let parsed: ReturnType<typeof parseModelSpec>;
  try {
    parsed = parseModelSpec(raw, source);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  const { spec, classes } = parsed;
  return { name: spec.name ?? source, inputShape: spec.inputShape, classes, spec, build: (o = {}) => buildFromSpec(spec, { seed: o.seed, init: o.init }) };
}

export function readModelSpec(path: string): ModelSource {
  if (!existsSync(path) || !statSync(path).isFile()) throw new CliError(`model spec file ${path} does not exist`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new CliError(`model spec ${path} is not valid JSON (${(e as Error).message})`);
  }
  return specModel(raw, path);
}

/** From --model / --model-spec, else from a weights file's metadata. */
export function resolveModel(o: { model?: string; modelSpec?: string }, weightsMeta?: Record<string, string>): ModelSource {
  if (o.model !== undefined && o.modelSpec !== undefined) throw new CliError('give either --model or --model-spec, not both');
  if (o.model !== undefined) return builtinModel(o.model);
  if (o.modelSpec !== undefined) return readModelSpec(o.modelSpec);
  if (weightsMeta?.[META_SPEC]) {
    let raw: unknown;
    try {
      raw = JSON.parse(weightsMeta[META_SPEC]);
    } catch {
      throw new CliError(`the weights file's '${META_SPEC}' metadata is not valid JSON; give --model or --model-spec`);
    }
    return specModel(raw, weightsMeta[META_MODEL] ?? 'the weights file');
  }
  if (weightsMeta?.[META_MODEL]) return builtinModel(weightsMeta[META_MODEL]);
  throw new CliError(
    weightsMeta ? 'the weights file does not say which model it holds; give --model NAME or --model-spec FILE' : 'give --model NAME (see `kdgpu summary --help` for the list) or --model-spec FILE',
  );
}

export interface WeightsFile {
  path: string;
  bytes: Uint8Array;
  metadata: Record<string, string>;
  /** A Keras HDF5 file (.h5), already read; its weights are paired with the model's layers in order. */
  keras?: KerasH5File;
}

/** Reads and parses a safetensors file (corrupt files are reported here, before GPU work). */
export function readSafetensorsFile(path: string, what: string): WeightsFile & { file: SafeFile } {
  if (!existsSync(path)) throw new CliError(`${what} ${path} does not exist`);
  if (!statSync(path).isFile()) throw new CliError(`${what} ${path} is not a file`);
  const bytes = new Uint8Array(readFileSync(path));
  const file = parseSafetensors(bytes, path);
  return { path, bytes, metadata: file.metadata, file };
}

/** Model weights from a weights file, a Keras .h5 file, or the model part of a `train --checkpoint` file. */
export function readWeightsFile(path: string): WeightsFile {
  if (['.h5', '.hdf5'].includes(extname(path).toLowerCase())) {
    if (!existsSync(path)) throw new CliError(`weights file ${path} does not exist`);
    if (!statSync(path).isFile()) throw new CliError(`weights file ${path} is not a file`);
    const bytes = new Uint8Array(readFileSync(path));
    return { path, bytes, metadata: {}, keras: readKerasH5(bytes, path) };
  }
  const w = readSafetensorsFile(path, 'weights file');
  if (!w.metadata.kdgpu?.includes('kdgpu-checkpoint')) return w;
  const entries = [...w.file.tensors]
    .filter(([k]) => k.startsWith('model.'))
    .map(([k, v]): [string, { shape: number[]; data: Float32Array | Int32Array }] => [k.slice('model.'.length), { shape: v.shape, data: v.data }]);
  return { path, bytes: serializeSafetensors(entries, {}), metadata: {} };
}

/** Loads weights; a mismatch names the parameter (and the model the file says it holds). */
export function loadInto(model: Module, source: ModelSource, w: WeightsFile): void {
  try {
    if (w.keras) applyKerasH5(model, w.keras, w.path, { inputShape: source.inputShape });
    else loadWeightsFromBytes(model, w.bytes, w.path);
  } catch (e) {
    const held = w.metadata[META_MODEL];
    const hint = held && held !== source.name ? ` (the file's metadata says it holds '${held}', not '${source.name}')` : '';
    throw new CliError(`${(e as Error).message.replace(/^kdgpu: /, '')}${hint}`);
  }
}

/** The dataset's images must have the model's input shape (and class count, when known). */
export function checkInputs(src: ModelSource, d: ArrayDataset, datasetName: string): void {
  if (d.sampleShape.join() !== src.inputShape.join()) {
    throw new CliError(`model ${src.name} takes [${src.inputShape.join(', ')}] inputs, ${datasetName} has [${d.sampleShape.join(', ')}] images`);
  }
  if (src.classes !== undefined && d.classes !== undefined && src.classes !== d.classes) {
    throw new CliError(`model ${src.name} gives ${src.classes} class scores, ${datasetName} has ${d.classes} classes`);
  }
}
