/**
 * Which model to build: a built-in (`MODELS`), a JSON spec (`ModelSpec`), or what a weights file's
 * metadata says it holds (`kdgpu.model`, `kdgpu.spec`, written by `modelMetadata`). Failures are
 * ModelSourceErrors with a `code`. Browser-safe; reading files is in node-model-files.ts.
 */
import type { ArrayDataset } from '../data/dataset.js';
import { applyKerasH5, type KerasH5File } from './keras-h5.js';
import { ModelSourceError } from './model-errors.js';
import { buildFromSpec, parseModelSpec, type BuildOptions, type ModelSpec, type SpecLimits } from './model-spec.js';
import { MODELS } from './models.js';
import type { Module } from './module.js';
import { describeNonFinite, nonFiniteWeights } from './finite-weights.js';
import { loadWeightsFromBytes, type LoadWeightsOptions } from './weights.js';

/** A model that can be built, with what is known about it before building. */
export interface ModelSource {
  /** The built-in's name, or the spec's name (else its file name). */
  name: string;
  /** One sample's shape: [C, H, W] or [features]. */
  inputShape: number[];
  /** Output classes, when known before building (specs). */
  classes?: number;
  /** The spec, for spec models (stored in the weights' metadata). */
  spec?: ModelSpec;
  /** Builds a fresh model. */
  build(opts?: ModelSourceBuildOptions): Module;
}

/** Options of `ModelSource.build`. */
export interface ModelSourceBuildOptions extends BuildOptions {
  /** The dataset's class count, for built-in models (a spec fixes its own). */
  classes?: number;
}

/** Metadata key naming the model a weights file holds. */
export const META_MODEL = 'kdgpu.model';
/** Metadata key holding a spec model's JSON spec. */
export const META_SPEC = 'kdgpu.spec';

/** The weights-file metadata that lets `modelFromMetadata` rebuild the model. */
export function modelMetadata(m: ModelSource): Record<string, string> {
  return m.spec ? { [META_MODEL]: m.name, [META_SPEC]: JSON.stringify(m.spec) } : { [META_MODEL]: m.name };
}

/** A built-in model by name (code 'unknown-model' when there is none). */
export function builtinModel(name: string): ModelSource {
  // Own keys only: 'constructor' or '__proto__' are not models.
  const info = Object.hasOwn(MODELS, name) ? MODELS[name] : undefined;
  if (!info) throw new ModelSourceError('unknown-model', `unknown model '${name}'; built-in models: ${Object.keys(MODELS).join(', ')}`);
  return { name, inputShape: [...info.inputShape], build: (o = {}) => info.build(o) };
}

/** A model from a spec (parsed JSON, checked against `limits`); `source` names it in errors and when the spec has no name. */
export function specModel(raw: unknown, source: string, limits?: Partial<SpecLimits>): ModelSource {
  const { spec, classes } = parseModelSpec(raw, source, limits);
  return { name: spec.name ?? source, inputShape: spec.inputShape, classes, spec, build: (o = {}) => buildFromSpec(spec, { seed: o.seed, init: o.init, limits }) };
}

/** The model a weights file's metadata names (code 'no-model-in-metadata' when it names none). */
export function modelFromMetadata(meta: Record<string, string>, file = 'the weights file'): ModelSource {
  if (meta[META_SPEC]) {
    let raw: unknown;
    try {
      raw = JSON.parse(meta[META_SPEC]);
    } catch {
      throw new ModelSourceError('bad-metadata', `${file}'s '${META_SPEC}' metadata is not valid JSON`);
    }
    return specModel(raw, meta[META_MODEL] ?? file);
  }
  if (meta[META_MODEL]) return builtinModel(meta[META_MODEL]);
  throw new ModelSourceError('no-model-in-metadata', `${file} does not say which model it holds`);
}

/** Model weights: safetensors bytes and their metadata, or an already-read Keras HDF5 file. */
export interface WeightsFile {
  /** Where they came from (named in errors). */
  path: string;
  /** The safetensors bytes (for Keras files, the HDF5 bytes). */
  bytes: Uint8Array;
  /** The safetensors metadata (empty for Keras files). */
  metadata: Record<string, string>;
  /** A Keras HDF5 file (.h5), already read; its weights are paired with the model's layers in order. */
  keras?: KerasH5File;
}

/**
 * Loads weights into a built model; a mismatch (code 'weights-mismatch') names the parameter and
 * the model the file says it holds. Non-finite values in safetensors weights warn (see `opts`).
 */
export function loadInto(model: Module, source: ModelSource, w: WeightsFile, opts: LoadWeightsOptions = {}): void {
  const nonFinite = opts.nonFinite ?? 'warn';
  if (nonFinite !== 'allow') {
    const bad = nonFiniteWeights(w);
    if (bad) {
      const msg = `kdgpu: ${w.path}: ${describeNonFinite(bad)}; the model will compute NaN (were these weights saved from a diverged run?)`;
      if (nonFinite === 'error') throw new Error(msg);
      (opts.onWarning ?? console.warn)(msg);
    }
  }
  try {
    if (w.keras) applyKerasH5(model, w.keras, w.path, { inputShape: source.inputShape });
    else loadWeightsFromBytes(model, w.bytes, w.path, { nonFinite: 'allow' });
  } catch (e) {
    const held = w.metadata[META_MODEL];
    const hint = held && held !== source.name ? ` (the file's metadata says it holds '${held}', not '${source.name}')` : '';
    throw new ModelSourceError('weights-mismatch', `${(e as Error).message.replace(/^kdgpu: /, '')}${hint}`);
  }
}

/** The dataset's samples must have the model's input shape, and its classes the model's (code 'data-mismatch'). */
export function checkInputs(src: ModelSource, d: ArrayDataset, datasetName: string): void {
  if (d.sampleShape.join() !== src.inputShape.join()) {
    throw new ModelSourceError('data-mismatch', `model ${src.name} takes [${src.inputShape.join(', ')}] inputs, ${datasetName} has [${d.sampleShape.join(', ')}] images`);
  }
  if (src.classes !== undefined && d.classes !== undefined && src.classes !== d.classes) {
    throw new ModelSourceError('data-mismatch', `model ${src.name} gives ${src.classes} class scores, ${datasetName} has ${d.classes} classes`);
  }
}
