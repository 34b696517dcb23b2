/**
 * A small JSON format for sequential models, so an architecture can be tried without writing
 * code (`kdgpu train --model-spec FILE`, or `nn.buildFromSpec`), and stored in a weights file's
 * metadata so the file says which model it holds:
 *
 *   { "name": "tiny-mlp",                      (optional; kept in the weights' metadata)
 *     "inputShape": [1, 28, 28],               ([C, H, W] images or [F] vectors)
 *     "layers": [
 *       { "type": "conv2d", "out": 32, "kernel": 3, "stride": 1, "padding": 0 },  (padding: n, "same", "valid")
 *       { "type": "relu" },
 *       { "type": "maxpool2d", "kernel": 2, "stride": 2 },                       (also "avgpool2d"; stride defaults to kernel)
 *       { "type": "flatten" },
 *       { "type": "dropout", "p": 0.5 },
 *       { "type": "linear", "out": 10 } ] }
 *
 * Input sizes of linear/conv2d layers are inferred by walking the shapes; the last layer must
 * give one score per class. Everything is checked before any GPU work, and errors name the
 * layer index and the field.
 */
import { Random } from '../autograd/random.js';
import { Conv2d, AvgPool2d, Dropout, MaxPool2d } from './conv-layers.js';
import type { InitScheme } from './init.js';
import { Flatten, Linear, ReLU, Sequential } from './layers.js';
import { ModelSourceError } from './model-errors.js';
import type { Module } from './module.js';

/** Padding of a conv or pool layer: pixels on each side, or TensorFlow's 'same' / 'valid'. */
export type SpecPadding = number | 'same' | 'valid';

/** One layer of a ModelSpec; sizes of inputs are inferred from the previous layer. */
export type LayerSpec =
  | {
      /** A fully connected layer (needs a flat input). */
      type: 'linear';
      /** Output features. */
      out: number;
    }
  | {
      /** A 2-D convolution. */
      type: 'conv2d';
      /** Output channels. */
      out: number;
      /** Square kernel size. */
      kernel: number;
      /** Default 1. */
      stride?: number;
      /** Default 0. */
      padding?: SpecPadding;
    }
  | {
      /** A pooling layer. */
      type: 'maxpool2d' | 'avgpool2d';
      /** Square window size. */
      kernel: number;
      /** Default: the kernel size. */
      stride?: number;
      /** Default 0. */
      padding?: SpecPadding;
    }
  | {
      /** Dropout while training. */
      type: 'dropout';
      /** Drop probability in [0, 1) (default 0.5). */
      p: number;
    }
  | {
      /** An activation or a reshape, without parameters. */
      type: 'relu' | 'flatten';
    };

/** A sequential model as JSON. */
export interface ModelSpec {
  /** Kept in the weights' metadata (default: the spec file's name). */
  name?: string;
  /** [C, H, W] images or [features] vectors, without the batch. */
  inputShape: number[];
  /** The layers in order; the last gives one score per class. */
  layers: LayerSpec[];
}

const FIELDS: Record<LayerSpec['type'], { required: string[]; optional: string[] }> = {
  linear: { required: ['out'], optional: [] },
  conv2d: { required: ['out', 'kernel'], optional: ['stride', 'padding'] },
  maxpool2d: { required: ['kernel'], optional: ['stride', 'padding'] },
  avgpool2d: { required: ['kernel'], optional: ['stride', 'padding'] },
  dropout: { required: [], optional: ['p'] },
  relu: { required: [], optional: [] },
  flatten: { required: [], optional: [] },
};

const isPosInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1;

/** Output size of a conv/pool window along one axis (PyTorch's floor rule; TensorFlow's for 'same'). */
function windowOut(size: number, kernel: number, stride: number, padding: SpecPadding): number {
  if (padding === 'same') return Math.ceil(size / stride);
  const p = padding === 'valid' ? 0 : padding;
  return Math.floor((size + 2 * p - kernel) / stride) + 1;
}

/**
 * Bounds on what a spec may describe, checked from the JSON before anything is allocated (a
 * spec of a few bytes can ask for billions of weights). Raise one through `parseModelSpec`'s or
 * `buildFromSpec`'s `limits`, or the CLI's `--max-params`.
 */
export interface SpecLimits {
  /** Trainable parameters in all (default 10⁸: 400 MB of float32, four times that with Adam). */
  params: number;
  /** Activation values of one sample, summed over the layers (default 10⁸). */
  activations: number;
  /** Layers (default 1,000). */
  layers: number;
  /** Scores of the last layer (default 100,000). */
  classes: number;
}

/** The default SpecLimits. */
export const SPEC_LIMITS: Readonly<SpecLimits> = { params: 1e8, activations: 1e8, layers: 1000, classes: 100_000 };

/** What `parseModelSpec` returns. */
export interface ParsedModelSpec {
  /** The checked spec. */
  spec: ModelSpec;
  /** Output shape of every layer, one sample. */
  shapes: number[][];
  /** Width of the last layer: one score per class. */
  classes: number;
  /** Trainable parameters of the model the spec describes. */
  params: number;
}

/**
 * Checks a parsed JSON value (`source` names it in errors) against the format and the `limits`
 * (default SPEC_LIMITS); returns the spec, every layer's output shape, the class count and the
 * parameter count.
 */
export function parseModelSpec(raw: unknown, source: string, limits: Partial<SpecLimits> = {}): ParsedModelSpec {
  const lim = { ...SPEC_LIMITS, ...limits };
  const fail = (msg: string): never => {
    throw new ModelSourceError('bad-spec', `model spec ${source}: ${msg}`);
  };
  const over = (what: string, n: number, limit: number, raise: string): never =>
    fail(`${what} ${n.toLocaleString('en-US')}, more than the limit of ${limit.toLocaleString('en-US')} (raise it with ${raise})`);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('expected a JSON object with "inputShape" and "layers"');
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!['name', 'inputShape', 'layers'].includes(k)) fail(`unknown field "${k}" (expected name, inputShape, layers)`);
  if (o.name !== undefined && typeof o.name !== 'string') fail('"name" must be a string');
  const inputShape = o.inputShape;
  if (!Array.isArray(inputShape) || !(inputShape.length === 1 || inputShape.length === 3) || !inputShape.every(isPosInt)) {
    fail(`"inputShape" must be [C, H, W] or [features] of positive integers, got ${JSON.stringify(inputShape)}`);
  }
  if (!Array.isArray(o.layers) || o.layers.length === 0) fail('"layers" must be a non-empty array');
  if ((o.layers as unknown[]).length > lim.layers) over('the spec has', (o.layers as unknown[]).length, lim.layers, 'limits.layers');
  let shape = [...(inputShape as number[])];
  let params = 0;
  let activations = (inputShape as number[]).reduce((a, b) => a * b, 1);
  const shapes: number[][] = [];
  const layers: LayerSpec[] = [];
  (o.layers as unknown[]).forEach((l, i) => {
    const at = (msg: string): never => fail(`layers[${i}]${typeof l === 'object' && l && 'type' in l ? ` (${String((l as { type: unknown }).type)})` : ''}: ${msg}`);
    if (typeof l !== 'object' || l === null || Array.isArray(l)) at('expected an object like {"type": "linear", "out": 10}');
    const layer = l as Record<string, unknown>;
    const type = layer.type as LayerSpec['type'];
    const fields = FIELDS[type];
    if (typeof type !== 'string' || !fields) at(`"type" must be one of ${Object.keys(FIELDS).join(', ')}, got ${JSON.stringify(layer.type)}`);
    for (const k of Object.keys(layer)) if (k !== 'type' && !fields.required.includes(k) && !fields.optional.includes(k)) at(`unknown field "${k}" (allowed: ${[...fields.required, ...fields.optional].join(', ') || 'none'})`);
    for (const k of fields.required) if (layer[k] === undefined) at(`"${k}" is required`);
    for (const k of ['out', 'kernel', 'stride']) if (layer[k] !== undefined && !isPosInt(layer[k])) at(`"${k}" must be a positive integer, got ${JSON.stringify(layer[k])}`);
    const padding = (layer.padding ?? 0) as SpecPadding;
    if (!(padding === 'same' || padding === 'valid' || (typeof padding === 'number' && Number.isInteger(padding) && padding >= 0))) {
      at(`"padding" must be an integer ≥ 0, "same" or "valid", got ${JSON.stringify(layer.padding)}`);
    }
    const image = () => (shape.length === 3 ? shape : at(`needs a [C, H, W] input, got [${shape.join(', ')}]`));
    switch (type) {
      case 'linear':
        if (shape.length !== 1) at(`needs a flat input, got [${shape.join(', ')}]; add {"type": "flatten"} before it`);
        params += shape[0] * (layer.out as number) + (layer.out as number);
        shape = [layer.out as number];
        break;
      case 'conv2d':
      case 'maxpool2d':
      case 'avgpool2d': {
        const [c, h, w] = image();
        const k = layer.kernel as number;
        const s = (layer.stride as number | undefined) ?? (type === 'conv2d' ? 1 : k);
        const oh = windowOut(h, k, s, padding);
        const ow = windowOut(w, k, s, padding);
        if (oh < 1 || ow < 1) at(`a ${k}×${k} window does not fit the [${c}, ${h}, ${w}] input`);
        if (type === 'conv2d') params += (layer.out as number) * (c * k * k + 1);
        shape = [type === 'conv2d' ? (layer.out as number) : c, oh, ow];
        break;
      }
      case 'dropout':
        if (layer.p !== undefined && !(typeof layer.p === 'number' && layer.p >= 0 && layer.p < 1)) at(`"p" must be a number in [0, 1), got ${JSON.stringify(layer.p)}`);
        break;
      case 'flatten':
        shape = [shape.reduce((a, b) => a * b, 1)];
        break;
      case 'relu':
        break;
    }
    if (params > lim.params) at(`brings the parameters to ${params.toLocaleString('en-US')}, more than the limit of ${lim.params.toLocaleString('en-US')} (raise it with limits.params or --max-params)`);
    activations += shape.reduce((a, b) => a * b, 1);
    if (activations > lim.activations) at(`brings the activations of one sample to ${activations.toLocaleString('en-US')}, more than the limit of ${lim.activations.toLocaleString('en-US')} (raise it with limits.activations)`);
    layers.push(layer as unknown as LayerSpec);
    shapes.push([...shape]);
  });
  if (shape.length !== 1) fail(`the last layer gives [${shape.join(', ')}], expected one score per class; end with flatten and linear`);
  if (shape[0] > lim.classes) over('the last layer gives', shape[0], lim.classes, 'limits.classes');
  return { spec: { name: o.name as string | undefined, inputShape: inputShape as number[], layers }, shapes, classes: shape[0], params };
}

/** Options of `buildFromSpec` and `ModelSource.build`. */
export interface BuildOptions {
  /** Seeds the weights (default 0). */
  seed?: number;
  /** Weight initializer (default 'pytorch'). */
  init?: InitScheme;
  /** Bounds on the spec (default SPEC_LIMITS). */
  limits?: Partial<SpecLimits>;
}

/** Builds the spec as a Sequential (state_dict names "0.weight", … like PyTorch's nn.Sequential). */
export function buildFromSpec(spec: ModelSpec, opts: BuildOptions = {}): Sequential {
  const { shapes } = parseModelSpec(spec, spec.name ?? 'model', opts.limits);
  const l = { rng: new Random(opts.seed ?? 0), init: opts.init ?? 'pytorch' };
  const modules = spec.layers.map((layer, i): Module => {
    const inShape = i === 0 ? spec.inputShape : shapes[i - 1];
    switch (layer.type) {
      case 'linear':
        return new Linear(inShape[0], layer.out, l);
      case 'conv2d':
        return new Conv2d(inShape[0], layer.out, layer.kernel, { ...l, stride: layer.stride ?? 1, padding: layer.padding ?? 0 });
      case 'maxpool2d':
        return new MaxPool2d({ kernel: layer.kernel, stride: layer.stride ?? layer.kernel, padding: layer.padding ?? 0 });
      case 'avgpool2d':
        return new AvgPool2d({ kernel: layer.kernel, stride: layer.stride ?? layer.kernel, padding: layer.padding ?? 0 });
      case 'dropout':
        return new Dropout(layer.p ?? 0.5);
      case 'relu':
        return new ReLU();
      case 'flatten':
        return new Flatten();
    }
  });
  return new Sequential(...modules);
}
