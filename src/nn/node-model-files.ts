/**
 * Node-only: model specs and weights read from disk, checked before any GPU work so a wrong path
 * or a corrupt file fails fast. Errors are ModelSourceErrors (code 'bad-file', or the parser's).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname } from 'node:path';
import { readKerasH5 } from './keras-h5.js';
import { ModelSourceError } from './model-errors.js';
import { specModel, type ModelSource, type WeightsFile } from './model-source.js';
import type { SpecLimits } from './model-spec.js';

/** Larger model spec files are refused before they are read. */
const MAX_SPEC_FILE_BYTES = 1 << 20;
import { parseSafetensors, serializeSafetensors, type SafeFile } from './safetensors.js';

function fileBytes(path: string, what: string): Uint8Array {
  if (!existsSync(path)) throw new ModelSourceError('bad-file', `${what} ${path} does not exist`);
  if (!statSync(path).isFile()) throw new ModelSourceError('bad-file', `${what} ${path} is not a file`);
  return new Uint8Array(readFileSync(path));
}

/** A model from a JSON spec file (see ModelSpec), checked against `limits` (default SPEC_LIMITS). */
export function readModelSpecFile(path: string, limits?: Partial<SpecLimits>): ModelSource {
  if (!existsSync(path)) throw new ModelSourceError('bad-file', `model spec file ${path} does not exist`);
  if (!statSync(path).isFile()) throw new ModelSourceError('bad-file', `model spec file ${path} is not a file`);
  const size = statSync(path).size;
  if (size > MAX_SPEC_FILE_BYTES) throw new ModelSourceError('bad-spec', `model spec ${path} has ${size} bytes; a spec is a few KB (at most ${MAX_SPEC_FILE_BYTES} bytes are read)`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    const m = (e as Error).message;
    throw new ModelSourceError('bad-spec', `model spec ${path} is not valid JSON (${m.length > 160 ? `${m.slice(0, 160)}…` : m})`);
  }
  return specModel(raw, path, limits);
}

/** A safetensors file, read and parsed; `what` names it in errors (e.g. 'checkpoint file'). */
export function readSafetensorsFile(path: string, what = 'safetensors file'): WeightsFile & {
  /** The parsed file. */
  file: SafeFile;
} {
  const bytes = fileBytes(path, what);
  const file = parseSafetensors(bytes, path);
  return { path, bytes, metadata: file.metadata, file };
}

/**
 * Model weights from a safetensors weights file, a Keras .h5 file, or the model part of a training
 * checkpoint (`nn.checkpointBytes`); `what` names the file in errors (default 'weights file').
 */
export function readWeightsFile(path: string, what = 'weights file'): WeightsFile {
  if (['.h5', '.hdf5'].includes(extname(path).toLowerCase())) {
    const bytes = fileBytes(path, what);
    return { path, bytes, metadata: {}, keras: readKerasH5(bytes, path) };
  }
  const w = readSafetensorsFile(path, what);
  if (!w.metadata.kdgpu?.includes('kdgpu-checkpoint')) return { path: w.path, bytes: w.bytes, metadata: w.metadata };
  const entries = [...w.file.tensors]
    .filter(([k]) => k.startsWith('model.'))
    .map(([k, v]): [string, { shape: number[]; data: Float32Array | Int32Array }] => [k.slice('model.'.length), { shape: v.shape, data: v.data }]);
  return { path, bytes: serializeSafetensors(entries, {}), metadata: {} };
}
