/**
 * Which model a command works on, from its flags: a built-in (`--model NAME`), a JSON spec
 * (`--model-spec FILE`), or what a weights file's metadata says it holds (nn.modelFromMetadata).
 * The library's typed errors are told apart by their code, and hints name this command's flags.
 */
import { isOnnxFile, nn, onnxModelSource, readModelSpecFile, readWeightsFile } from '../index.js';
import type { OnnxInputFlags } from './options.js';
import { CliError, plain } from './output.js';

/** The flags that name a model. */
export interface ModelFlags {
  model?: string;
  modelSpec?: string;
  /** --max-params: raises the bound on a spec model's parameters. */
  maxParams?: number;
}

/** How a command spells its model flags, for hints in errors. */
export interface FlagNames {
  model: string;
  spec: string;
}

const MODEL_FLAGS: FlagNames = { model: '--model', spec: '--model-spec' };

/**
 * From the flags, else from a weights file's metadata; `fallback` is the built-in used when the
 * metadata names no model (the demo's default teacher).
 */
export function resolveModel(o: ModelFlags, weightsMeta?: Record<string, string>, flags = MODEL_FLAGS, fallback?: string): nn.ModelSource {
  if (o.model !== undefined && o.modelSpec !== undefined) throw new CliError(`give either ${flags.model} or ${flags.spec}, not both`);
  if (o.model !== undefined) return nn.builtinModel(o.model);
  if (o.modelSpec !== undefined) return readModelSpecFile(o.modelSpec, o.maxParams === undefined ? undefined : { params: o.maxParams });
  if (!weightsMeta) throw new CliError(`give ${flags.model} NAME (see \`kdgpu summary --help\` for the list) or ${flags.spec} FILE`);
  try {
    return nn.modelFromMetadata(weightsMeta);
  } catch (e) {
    if (!(e instanceof nn.ModelSourceError) || (e.code !== 'no-model-in-metadata' && e.code !== 'bad-metadata')) throw e;
    if (fallback !== undefined && e.code === 'no-model-in-metadata') return nn.builtinModel(fallback);
    throw new CliError(`${plain(e)}; give ${flags.model} NAME or ${flags.spec} FILE`);
  }
}

/** A model file a command was given: its model, and the weights to load (none for ONNX: built in). */
export interface ModelFile {
  path: string;
  src: nn.ModelSource;
  weights: nn.WeightsFile | null;
}

/**
 * A weights argument (`--weights`, `--teacher`): an ONNX file brings its own architecture and
 * weights; a safetensors or .h5 file is resolved through the flags or its metadata.
 */
export function resolveModelFile(path: string, o: ModelFlags & OnnxInputFlags, flags = MODEL_FLAGS, what = 'weights file', fallback?: string): ModelFile {
  if (isOnnxFile(path)) {
    if (o.model !== undefined || o.modelSpec !== undefined) throw new CliError(`${path} is an ONNX model with its own architecture; leave out ${flags.model} and ${flags.spec}`);
    const preprocess = o.onnxScale === undefined && o.onnxMean === undefined && o.onnxStd === undefined ? undefined : { scale: o.onnxScale, mean: o.onnxMean, std: o.onnxStd };
    return { path, src: onnxModelSource(path, { preprocess }), weights: null };
  }
  const weights = readWeightsFile(path, what);
  return { path, src: resolveModel(o, weights.metadata, flags, fallback), weights };
}
