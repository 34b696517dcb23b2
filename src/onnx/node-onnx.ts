/** Node side of the ONNX importer: models from files, external data from files beside the model only. */
import { closeSync, fstatSync, openSync, readFileSync, readSync, realpathSync } from 'node:fs';
import { basename, dirname, extname, resolve, sep } from 'node:path';
import type { ModelSource } from '../nn/model-source.js';
import { OnnxError } from './errors.js';
import { parseOnnx, type OnnxGraph } from './graph.js';
import { loadOnnx, type OnnxModel, type OnnxModelOptions } from './model.js';
import { checkExternalLocation, type ExternalDataReader } from './tensor-data.js';

/**
 * Reads external-data files from `dir` only: the location must be relative without '..', and the
 * resolved file (symbolic links followed) must lie inside `dir`; only the requested range is read,
 * after checking that the file is long enough.
 */
export function folderDataReader(dir: string, source: string): ExternalDataReader {
  const root = realpathSync(dir);
  return (location, offset, length) => {
    checkExternalLocation(source, '(external data)', location);
    let file: string;
    try {
      file = realpathSync(resolve(root, location));
    } catch {
      throw new OnnxError(source, `external data file '${location}' was not found beside the model (in ${root})`);
    }
    if (!file.startsWith(root + sep)) throw new OnnxError(source, `external data '${location}' resolves to ${file}, outside the model's folder ${root}`);
    const fd = openSync(file, 'r');
    try {
      const size = fstatSync(fd).size;
      if (offset + length > size) throw new OnnxError(source, `external data '${location}' has ${size} bytes; the model reads ${length} bytes at offset ${offset}`);
      const out = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const n = readSync(fd, out, done, length - done, offset + done);
        if (n <= 0) throw new OnnxError(source, `external data '${location}' ended after ${offset + done} bytes`);
        done += n;
      }
      return out;
    } finally {
      closeSync(fd);
    }
  };
}

function readModelBytes(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new OnnxError(basename(path), `cannot read ${path}: ${(e as Error).message}`);
  }
}

/** Parses and checks an ONNX file without touching the GPU (see `parseOnnx`). */
export function readOnnxFile(path: string, opts: { source?: string } = {}): OnnxGraph {
  const source = opts.source ?? basename(path);
  return parseOnnx(readModelBytes(path), { source, externalData: folderDataReader(dirname(path), source) });
}

/**
 * Imports an ONNX file as an OnnxModel (see `loadOnnx`); external data is read from files in the
 * model's folder. Call `init()` first.
 */
export function loadOnnxFile(path: string, opts: OnnxModelOptions = {}): OnnxModel {
  const source = opts.source ?? basename(path);
  return loadOnnx(readModelBytes(path), { ...opts, source, externalData: opts.externalData ?? folderDataReader(dirname(path), source) });
}

/**
 * An ONNX file as a `kd.nn.ModelSource` (what the CLI resolves `--model` / weights files to):
 * its name is the file name, its input shape and class count come from the graph's declared
 * input and output dims, and `build()` imports the file (the seed and initializer do not apply:
 * the weights are the file's). Checks the file on the host first; errors name it.
 */
export function onnxModelSource(path: string, opts: OnnxModelOptions = {}): ModelSource {
  const source = opts.source ?? basename(path);
  const g = readOnnxFile(path, { source });
  const dims = g.inputs[0]?.dims?.slice(1) ?? null;
  if (g.inputs.length !== 1 || !dims || !dims.every((d) => typeof d === 'number' && d > 0)) {
    throw new OnnxError(source, `the model's input ${g.inputs.map((i) => `'${i.name}' [${(i.dims ?? []).join(', ')}]`).join(', ')} has no fixed sample shape; expected one input [N, …] with numeric dims after the batch`);
  }
  const out = g.outputs[0]?.dims;
  const classes = out && out.length === 2 && typeof out[1] === 'number' && out[1] > 0 ? out[1] : undefined;
  return { name: source, inputShape: dims as number[], classes, build: () => loadOnnxFile(path, { ...opts, source }) };
}

/** Whether a path names an ONNX model (by its `.onnx` extension), as the CLI's weights arguments tell them apart. */
export function isOnnxFile(path: string): boolean {
  return extname(path).toLowerCase() === '.onnx';
}
