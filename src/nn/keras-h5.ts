/**
 * Keras HDF5 weight files — `model.save_weights('x.h5')` (Keras 2) and `model.save('x.h5')`
 * (weights under 'model_weights', plus a `model_config` attribute) — into kdgpu models.
 *
 * Keras's layout (legacy_h5_format.py): the weights group has the attribute `layer_names` (byte
 * strings in model order, split into layer_names0, layer_names1, … when large); each layer group
 * has `weight_names`, and the datasets live at group[weight_name] ('conv2d/kernel:0' is a path).
 * Keras layers with weights are paired in order with the kdgpu modules that own parameters or
 * buffers, and each weight is converted to PyTorch's layout:
 *   Conv2D kernel [KH, KW, in, out] → [out, in, KH, KW]; DepthwiseConv2D depthwise_kernel
 *   [KH, KW, C, M] → [C·M, 1, KH, KW]; Dense kernel [in, out] → [out, in], with its input rows
 *   reordered when it follows a Flatten of a [C, H, W] map (Keras flattens NHWC, kdgpu NCHW);
 *   BatchNormalization gamma, beta, moving_mean, moving_variance → weight, bias, running_mean,
 *   running_var.
 * HDF5 is parsed by jsfive (pure JS, works in browsers); this file reads bytes, never the disk.
 */
// @ts-expect-error jsfive ships no type declarations; `Jsfive` below describes the part used here.
import * as jsfiveUntyped from 'jsfive';
import { tensor } from '../autograd/creation.js';
import { fmt } from '../autograd/shape.js';
import type { Tensor } from '../autograd/tensor.js';
import { Dropout } from './conv-layers.js';
import { Flatten, Identity, Linear, ReLU } from './layers.js';
import type { Module } from './module.js';
import { layerSequence, summary } from './summary.js';

interface H5Group {
  readonly keys: string[];
  readonly attrs: Record<string, unknown>;
  get(path: string): H5Group | H5Dataset | null;
}
interface H5Dataset {
  readonly shape: number[];
  readonly dtype: unknown;
  readonly value: ArrayLike<number>;
}
interface Jsfive {
  File: new (buffer: ArrayBuffer, name: string) => H5Group;
  Group: abstract new (...args: never[]) => H5Group;
  Dataset: abstract new (...args: never[]) => H5Dataset;
}
const jsfive = jsfiveUntyped as Jsfive;

/** One weight of a Keras layer, as stored in the file. */
export interface KerasWeight {
  /** As listed in `weight_names`, e.g. 'conv2d/kernel:0' or 'sequential/conv2d/kernel'. */
  path: string;
  /** The variable's own name: 'kernel', 'bias', 'gamma', … */
  name: string;
  /** In Keras's layout, e.g. [KH, KW, in, out] for a Conv2D kernel. */
  shape: number[];
  /** The dtype in the file; `data` holds the values as float32. */
  dtype: 'float32' | 'float64';
  /** The values, row-major in `shape` (Keras's layout), converted to float32. */
  data: Float32Array;
}

/** One layer of a Keras HDF5 file and its weights. */
export interface KerasLayer {
  /** The layer's name in `layer_names`, e.g. 'conv2d_1'. */
  name: string;
  /** Keras class name from `model_config` (full-model files), e.g. 'Conv2D'. */
  className?: string;
  /** Empty for layers without weights (pooling, flatten, dropout). */
  weights: KerasWeight[];
}

/** What `readKerasH5` found in a Keras HDF5 file. */
export interface KerasH5File {
  /** 'model': written by model.save (weights under 'model_weights'); 'weights': by save_weights. */
  layout: 'model' | 'weights';
  /** The `keras_version` attribute, if the file has one. */
  kerasVersion?: string;
  /** The `backend` attribute (e.g. 'tensorflow'), if the file has one. */
  backend?: string;
  /** The parsed `model_config` JSON of a full-model file. */
  modelConfig?: unknown;
  /** Every layer of `layer_names`, in model order. */
  layers: KerasLayer[];
}

const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/** Whether the bytes start with the HDF5 signature. */
export function isHdf5(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && HDF5_SIGNATURE.every((b, i) => bytes[i] === b);
}

/**
 * The superblock records the file's length (as HDF5 itself checks on opening); jsfive does not
 * check it, and a file cut short in unused space would otherwise read without complaint.
 */
function checkLength(u8: Uint8Array, fail: (msg: string) => never): void {
  const version = u8.length > 8 ? u8[8] : -1;
  // [offset size, base address, end-of-file address] positions per superblock version
  const at = version === 0 ? [13, 24, 40] : version === 1 ? [13, 28, 44] : version === 2 || version === 3 ? [9, 12, 28] : undefined;
  if (!at) return fail(version < 0 ? `truncated: ${u8.length} bytes end inside the HDF5 superblock` : `unsupported HDF5 superblock version ${version}`);
  if (u8.length < at[2] + 8) return fail(`truncated: ${u8.length} bytes end inside the HDF5 superblock`);
  if (u8[at[0]] !== 8) return; // jsfive reports other address sizes itself
  const dv = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
  const end = dv.getBigUint64(at[1], true) + dv.getBigUint64(at[2], true);
  if (end > BigInt(u8.length)) fail(`truncated: the HDF5 superblock says the file has ${end} bytes, it has ${u8.length}`);
}

/** Runs `fn` with the console's printing methods muted (a library's, never ours). */
function quietly<T>(fn: () => T): T {
  const c = console as unknown as Record<string, unknown>;
  const names = ['log', 'warn', 'info', 'debug', 'error'];
  const saved = names.map((k) => c[k]);
  for (const k of names) c[k] = () => {};
  try {
    return fn();
  } finally {
    names.forEach((k, i) => (c[k] = saved[i]));
  }
}

/** jsfive throws strings as well as Errors. */
function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** A string as HDF5 stores it: fixed-length strings end at the first NUL. */
function cleanString(s: string): string {
  const nul = s.indexOf('\0');
  return nul < 0 ? s : s.slice(0, nul);
}

function dtypeName(dtype: unknown): string {
  if (typeof dtype !== 'string') return JSON.stringify(dtype);
  const m = /^[<>=|!]?([fiu])(\d+)$/.exec(dtype);
  if (!m) return dtype;
  const kind = { f: 'float', i: 'int', u: 'uint' }[m[1] as 'f' | 'i' | 'u'];
  return `${kind}${Number(m[2]) * 8}`;
}

/**
 * Lists a Keras HDF5 file's layers and reads their weights (as float32). Every structural problem
 * is reported here, naming the file (`name`) and what is wrong; nothing touches the GPU.
 */
export function readKerasH5(bytes: Uint8Array | ArrayBuffer, name: string): KerasH5File {
  const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const fail = (msg: string): never => {
    throw new Error(`kdgpu: ${name}: ${msg}`);
  };
  if (!isHdf5(u8)) {
    fail(`not an HDF5 file (${u8.length < 8 ? `${u8.length} bytes` : 'it does not start with the HDF5 signature'}); expected a Keras .h5 file`);
  }
  checkLength(u8, fail);
  // Any read may run into damage: report jsfive's complaint with what was being read. jsfive
  // prints to the console on some damage (tens of KB of raw bytes): silenced while it runs.
  const guard = <T>(what: string, fn: () => T): T => {
    try {
      return quietly(fn);
    } catch (e) {
      const m = messageOf(e);
      return fail(`${what} failed, the file is truncated or damaged (${m.length > 200 ? `${m.slice(0, 200)}…` : m})`);
    }
  };
  const buffer = u8.byteOffset === 0 && u8.byteLength === u8.buffer.byteLength ? (u8.buffer as ArrayBuffer) : u8.slice().buffer;
  const file = guard('opening the HDF5 file', () => new jsfive.File(buffer, name));
  const keysOf = (g: H5Group, where: string) => guard(`listing ${where}`, () => g.keys);
  const attrsOf = (g: H5Group, where: string) => guard(`reading the attributes of ${where}`, () => g.attrs);
  /** The subgroup `key` of `parent` (described as `parentLabel`), shown as `label`; undefined if absent. */
  const groupAt = (parent: H5Group, parentLabel: string, key: string, label: string): H5Group | undefined => {
    if (!keysOf(parent, parentLabel).includes(key)) return undefined;
    const g = guard(`reading ${label}`, () => parent.get(key));
    return g instanceof jsfive.Group ? g : undefined;
  };

  const rootKeys = keysOf(file, 'the root group');
  const weightsGroup = groupAt(file, 'the root group', 'model_weights', "'model_weights'");
  const layout = weightsGroup ? 'model' : 'weights';
  const g = weightsGroup ?? file;
  const gName = weightsGroup ? "'model_weights'" : 'the root group';
  const rootAttrs = attrsOf(file, 'the root group');
  const gAttrs = attrsOf(g, gName);

  /** Keras's load_attributes_from_hdf5_group: `attr` or its chunks attr0, attr1, …; undefined if absent. */
  const stringList = (attrs: Record<string, unknown>, attr: string, where: string): string[] | undefined => {
    const parts: unknown[] = [];
    if (attr in attrs) parts.push(attrs[attr]);
    else for (let i = 0; `${attr}${i}` in attrs; i++) parts.push(attrs[`${attr}${i}`]);
    if (parts.length === 0) return undefined;
    const out: string[] = [];
    for (const p of parts) {
      const items = typeof p === 'string' ? [p] : Array.isArray(p) ? p : undefined;
      if (!items) fail(`attribute '${attr}' of ${where} is not a list of strings`);
      for (const s of items!) {
        if (typeof s !== 'string') fail(`attribute '${attr}' of ${where} holds ${JSON.stringify(s)}, expected strings`);
        out.push(cleanString(s as string));
      }
    }
    return out;
  };

  const layerNames = stringList(gAttrs, 'layer_names', gName);
  if (!layerNames) {
    const newFormat = rootKeys.includes('layers') || rootKeys.includes('vars');
    fail(
      `no 'layer_names' attribute in ${gName}: not a Keras HDF5 weights file` +
        (newFormat ? " (this looks like Keras 3's '.weights.h5' format; save with model.save('x.h5') for the HDF5 layout kdgpu reads)" : ''),
    );
  }
  const seen = new Set<string>();
  for (const l of layerNames!) {
    if (!l) fail(`'layer_names' of ${gName} holds an empty name`);
    if (seen.has(l)) fail(`'layer_names' of ${gName} lists layer '${l}' twice`);
    seen.add(l);
  }

  const classNames = kerasClassNames(rootAttrs, fail);
  const layers: KerasLayer[] = layerNames!.map((layerName) => {
    const where = weightsGroup ? `'model_weights/${layerName}'` : `'${layerName}'`;
    const lg = groupAt(g, gName, layerName, where);
    if (!lg) fail(`Keras layer '${layerName}' is listed in 'layer_names' but the file has no group ${where}`);
    const weightNames = stringList(attrsOf(lg!, where), 'weight_names', where) ?? [];
    const weights = weightNames.map((path) => readWeight(lg!, layerName, path, fail, guard));
    return { name: layerName, className: classNames.get(layerName), weights };
  });

  const topLabel = weightsGroup ? "'model_weights/top_level_model_weights'" : "'top_level_model_weights'";
  const top = groupAt(g, gName, 'top_level_model_weights', topLabel);
  const topNames = top ? stringList(attrsOf(top, topLabel), 'weight_names', topLabel) ?? [] : [];
  if (topNames.length) fail(`the model has ${topNames.length} top-level weights (${topNames.join(', ')}) that belong to no layer; kdgpu cannot place them`);

  const str = (v: unknown) => (typeof v === 'string' ? cleanString(v) : undefined);
  let modelConfig: unknown;
  if ('model_config' in rootAttrs) modelConfig = parseConfig(rootAttrs.model_config, fail);
  return {
    layout,
    kerasVersion: str(gAttrs.keras_version) ?? str(rootAttrs.keras_version),
    backend: str(gAttrs.backend) ?? str(rootAttrs.backend),
    modelConfig,
    layers,
  };
}

function readWeight(
  lg: H5Group,
  layer: string,
  path: string,
  fail: (msg: string) => never,
  guard: <T>(what: string, fn: () => T) => T,
): KerasWeight {
  const what = `weight '${path}' of Keras layer '${layer}'`;
  let ds: H5Group | H5Dataset | null;
  try {
    ds = lg.get(path);
  } catch (e) {
    // jsfive's word for a link that is not there; anything else is damage.
    if (/not found in group/.test(messageOf(e))) return fail(`${what} is listed in 'weight_names' but missing (${messageOf(e)})`);
    return guard(`reading ${what}`, () => {
      throw e;
    });
  }
  if (!(ds instanceof jsfive.Dataset)) return fail(`${what} is not a dataset`);
  const d = ds as H5Dataset;
  const dtype = guard(`reading the dtype of ${what}`, () => d.dtype);
  const kind = typeof dtype === 'string' ? /^[<>=|!]?f([48])$/.exec(dtype) : null;
  if (!kind) return fail(`${what} is ${dtypeName(dtype)}; only float32 and float64 weights are supported`);
  const shape = guard(`reading the shape of ${what}`, () => d.shape);
  if (!Array.isArray(shape) || shape.some((n) => !Number.isSafeInteger(n) || n < 0)) return fail(`${what} has an invalid shape ${JSON.stringify(shape)}`);
  const count = shape.reduce((p, n) => p * n, 1);
  const values = guard(`reading the values of ${what}`, () => d.value);
  if (values.length !== count) return fail(`${what} holds ${values.length} values, its shape ${fmt(shape)} needs ${count}`);
  const name = path.split('/').pop()!.replace(/:\d+$/, '');
  return { path, name, shape: [...shape], dtype: kind[1] === '4' ? 'float32' : 'float64', data: Float32Array.from(values) };
}

function parseConfig(raw: unknown, fail: (msg: string) => never): unknown {
  const text = typeof raw === 'string' ? cleanString(raw) : undefined;
  if (text === undefined) return fail("attribute 'model_config' is not a string");
  try {
    return JSON.parse(text);
  } catch (e) {
    return fail(`attribute 'model_config' is not valid JSON (${messageOf(e)})`);
  }
}

/** Layer name → Keras class, from model_config (Sequential or Functional); empty when absent. */
function kerasClassNames(rootAttrs: Record<string, unknown>, fail: (msg: string) => never): Map<string, string> {
  const out = new Map<string, string>();
  if (!('model_config' in rootAttrs)) return out;
  const config = parseConfig(rootAttrs.model_config, fail) as { config?: unknown } | null;
  const inner = config?.config;
  // Keras 2.0 Sequential configs are a bare list of layers; later ones {name, layers}.
  const list = Array.isArray(inner) ? inner : (inner as { layers?: unknown } | undefined)?.layers;
  if (!Array.isArray(list)) return out;
  for (const l of list as { class_name?: unknown; name?: unknown; config?: { name?: unknown } }[]) {
    const lname = l?.config?.name ?? l?.name;
    if (typeof lname === 'string' && typeof l.class_name === 'string') out.set(lname, l.class_name);
  }
  return out;
}

// ---- conversions to PyTorch's layouts --------------------------------------------------------------

/** A weight converted to kdgpu's (PyTorch's) layout. */
export interface LayoutArray {
  /** The shape in PyTorch's layout, e.g. [out, in, KH, KW]. */
  shape: number[];
  /** The values, row-major in `shape`. */
  data: Float32Array;
}

function expectRank(what: string, shape: readonly number[], rank: number, layout: string): void {
  if (shape.length !== rank) throw new Error(`kdgpu: ${what}: expected a ${layout} array, got shape ${fmt(shape)}`);
}

/** Conv2D kernel HWIO [KH, KW, in, out] → OIHW [out, in, KH, KW]. */
export function convKernelToOIHW(data: ArrayLike<number>, shape: readonly number[]): LayoutArray {
  expectRank('convKernelToOIHW', shape, 4, '[KH, KW, in, out]');
  const [kh, kw, ci, co] = shape;
  const out = new Float32Array(kh * kw * ci * co);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < ci; i++)
        for (let o = 0; o < co; o++) out[((o * ci + i) * kh + y) * kw + x] = data[((y * kw + x) * ci + i) * co + o];
  return { shape: [co, ci, kh, kw], data: out };
}

/** DepthwiseConv2D kernel [KH, KW, C, M] → [C·M, 1, KH, KW]; output channel c·M + m, as TensorFlow orders them. */
export function depthwiseKernelToOIHW(data: ArrayLike<number>, shape: readonly number[]): LayoutArray {
  expectRank('depthwiseKernelToOIHW', shape, 4, '[KH, KW, C, multiplier]');
  const [kh, kw, c, m] = shape;
  const out = new Float32Array(kh * kw * c * m);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let ci = 0; ci < c; ci++)
        for (let j = 0; j < m; j++) out[((ci * m + j) * kh + y) * kw + x] = data[((y * kw + x) * c + ci) * m + j];
  return { shape: [c * m, 1, kh, kw], data: out };
}

/**
 * Dense kernel [in, out] → Linear weight [out, in]. With `flattenedFrom` = [C, H, W] (the Dense
 * reads a flattened feature map), Keras's input row (h·W + w)·C + c becomes kdgpu's column
 * (c·H + h)·W + w.
 */
export function denseKernelToLinear(data: ArrayLike<number>, shape: readonly number[], flattenedFrom?: readonly number[]): LayoutArray {
  expectRank('denseKernelToLinear', shape, 2, '[in, out]');
  const [nin, nout] = shape;
  const out = new Float32Array(nin * nout);
  if (!flattenedFrom) {
    for (let i = 0; i < nin; i++) for (let o = 0; o < nout; o++) out[o * nin + i] = data[i * nout + o];
    return { shape: [nout, nin], data: out };
  }
  expectRank('denseKernelToLinear', flattenedFrom, 3, '[C, H, W] (flattenedFrom)');
  const [c, h, w] = flattenedFrom;
  if (c * h * w !== nin) throw new Error(`kdgpu: denseKernelToLinear: the kernel has ${nin} input rows, a flattened ${fmt(flattenedFrom)} map has ${c * h * w}`);
  for (let ci = 0; ci < c; ci++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const col = (ci * h + y) * w + x;
        const row = (y * w + x) * c + ci;
        for (let o = 0; o < nout; o++) out[o * nin + col] = data[row * nout + o];
      }
  return { shape: [nout, nin], data: out };
}

/** Keras variable name → kdgpu (PyTorch) parameter or buffer name. */
export const KERAS_TO_KDGPU_NAMES: Readonly<Record<string, string>> = {
  kernel: 'weight',
  depthwise_kernel: 'weight',
  bias: 'bias',
  gamma: 'weight',
  beta: 'bias',
  moving_mean: 'running_mean',
  moving_variance: 'running_var',
};

// ---- pairing Keras layers with kdgpu modules -------------------------------------------------------

/** A kdgpu module that owns parameters or buffers, as the loader pairs it with a Keras layer. */
export interface KerasTarget {
  /** The module's path in the model ('0', 'features.3'). */
  path: string;
  /** Its class, for messages. */
  type: string;
  /** Its own parameters and buffers (local names). */
  entries: {
    /** Local parameter or buffer name, e.g. 'weight'. */
    name: string;
    /** Its shape in the model. */
    shape: readonly number[];
  }[];
  /** For a Linear that reads a flattened [C, H, W] feature map: that shape. */
  flattenedFrom?: readonly number[];
}

/** PyTorch's BatchNorm counter: Keras has no counterpart, so it keeps its value. */
const KDGPU_ONLY = new Set(['num_batches_tracked']);

const full = (t: KerasTarget, local: string) => (t.path ? `${t.path}.${local}` : local);

/** The weight in kdgpu's layout, or the reason it cannot be converted. */
function convert(w: KerasWeight, target: KerasTarget): LayoutArray | string {
  switch (w.name) {
    case 'kernel':
      if (w.shape.length === 4) return convKernelToOIHW(w.data, w.shape);
      if (w.shape.length === 2) {
        const f = target.flattenedFrom;
        // A mismatched Dense is reported by the shape check, not by the permutation.
        return denseKernelToLinear(w.data, w.shape, f && f[0] * f[1] * f[2] === w.shape[0] ? f : undefined);
      }
      return `a kernel of rank ${w.shape.length} (shape ${fmt(w.shape)}); only Conv2D [KH, KW, in, out] and Dense [in, out] kernels are supported`;
    case 'depthwise_kernel':
      if (w.shape.length === 4) return depthwiseKernelToOIHW(w.data, w.shape);
      return `a depthwise kernel of shape ${fmt(w.shape)}, expected [KH, KW, C, multiplier]`;
    case 'bias':
    case 'gamma':
    case 'beta':
    case 'moving_mean':
    case 'moving_variance':
      return { shape: [...w.shape], data: w.data };
    default:
      return `a weight named '${w.name}', which kdgpu has no counterpart for (known: ${Object.keys(KERAS_TO_KDGPU_NAMES).join(', ')})`;
  }
}

/**
 * Pairs the file's layers with weights and the targets in order and converts every weight; the
 * result maps kdgpu state_dict names to arrays of the model's shapes. Counts, names and shapes
 * are all checked; errors name the file, the Keras layer and the kdgpu parameter.
 */
export function planKerasLoad(file: KerasH5File, targets: readonly KerasTarget[], fileName: string): Map<string, LayoutArray> {
  const fail = (msg: string): never => {
    throw new Error(`kdgpu: ${fileName}: ${msg}`);
  };
  const keras = file.layers.filter((l) => l.weights.length > 0);
  const kerasLabel = (l: KerasLayer) => `'${l.name}'${l.className ? ` (${l.className})` : ''}`;
  const targetLabel = (t: KerasTarget) => `'${t.path}' (${t.type})`;
  if (keras.length !== targets.length) {
    const n = Math.min(keras.length, targets.length);
    const extra = keras.length > n ? `Keras layer ${kerasLabel(keras[n])} has no kdgpu counterpart` : `kdgpu layer ${targetLabel(targets[n])} (parameters ${targets[n].entries.map((e) => full(targets[n], e.name)).join(', ')}) has no Keras counterpart`;
    fail(
      `the file has ${keras.length} Keras layers with weights (${keras.map((l) => l.name).join(', ')}), the model has ${targets.length} layers with parameters (${targets.map((t) => t.path).join(', ')}): ${extra}`,
    );
  }
  const out = new Map<string, LayoutArray>();
  keras.forEach((layer, k) => {
    const t = targets[k];
    const filled = new Set<string>();
    for (const w of layer.weights) {
      const local = KERAS_TO_KDGPU_NAMES[w.name];
      const converted = convert(w, t);
      if (typeof converted === 'string') fail(`Keras layer ${kerasLabel(layer)} weight '${w.path}' is ${converted}`);
      const entry = t.entries.find((e) => e.name === local);
      if (!entry) {
        fail(`Keras layer ${kerasLabel(layer)} weight '${w.path}' goes to '${local}', which kdgpu layer ${targetLabel(t)} does not have (it has ${t.entries.map((e) => e.name).join(', ')})`);
      }
      if (filled.has(local)) fail(`Keras layer ${kerasLabel(layer)} has two weights for kdgpu parameter '${full(t, local)}' (the second is '${w.path}')`);
      const c = converted as LayoutArray;
      const want = entry!.shape;
      if (c.shape.length !== want.length || c.shape.some((d, i) => d !== want[i])) {
        const asKdgpu = c.shape.join() === w.shape.join() ? '' : ` (${fmt(c.shape)} in kdgpu's layout)`;
        fail(`Keras layer ${kerasLabel(layer)} weight '${w.path}' has shape ${fmt(w.shape)}${asKdgpu}, kdgpu parameter '${full(t, local)}' of ${targetLabel(t)} has shape ${fmt(want)}`);
      }
      filled.add(local);
      out.set(full(t, local), c);
    }
    const unfilled = t.entries.filter((e) => !filled.has(e.name) && !KDGPU_ONLY.has(e.name));
    if (unfilled.length) {
      fail(
        `kdgpu parameter '${full(t, unfilled[0].name)}' of ${targetLabel(t)} has no counterpart in Keras layer ${kerasLabel(layer)} (its weights: ${layer.weights.map((w) => w.name).join(', ')})`,
      );
    }
  });
  return out;
}

/** Options of `loadKerasH5Weights` / `applyKerasH5`. */
export interface KerasLoadOptions {
  /**
   * One sample's shape in kdgpu's layout, e.g. [1, 28, 28]. Needed when the model has a Flatten
   * (a shape pass finds the [C, H, W] map each Dense kernel after it reads).
   */
  inputShape?: readonly number[];
  /** The Keras model's data_format (default 'channels_last'); 'channels_first' flattens as kdgpu does. */
  dataFormat?: 'channels_last' | 'channels_first';
}

/** Layers that leave a flattened vector's order alone between a Flatten and its Dense. */
const ORDER_KEEPING = [ReLU, Dropout, Identity];

/**
 * The modules of `model` that own parameters or buffers, in order, each with its own entries,
 * and, for a Linear fed by a Flatten of a [C, H, W] map, that shape (found by `summary`'s shape
 * pass over `layerSequence`, on the GPU).
 */
export function kerasTargets(model: Module, fileName: string, opts: KerasLoadOptions = {}): KerasTarget[] {
  const targets: KerasTarget[] = [];
  const byModule = new Map<Module, KerasTarget>();
  for (const [path, m] of model.namedModules()) {
    const own = [...m.namedParameters(), ...m.namedBuffers()].filter(([n]) => !n.includes('.'));
    if (own.every(([n]) => KDGPU_ONLY.has(n))) continue;
    const t: KerasTarget = { path, type: m.constructor.name, entries: own.map(([name, p]) => ({ name, shape: p.shape })) };
    targets.push(t);
    byModule.set(m, t);
  }
  const seq = layerSequence(model);
  if ((opts.dataFormat ?? 'channels_last') === 'channels_last' && seq.some(([, m]) => m instanceof Flatten)) {
    if (!opts.inputShape) {
      throw new Error(
        `kdgpu: ${fileName}: the model has a Flatten, so the Dense kernel after it must be reordered from Keras's NHWC flatten order; pass inputShape (one sample in kdgpu's layout, e.g. [1, 28, 28])`,
      );
    }
    const shapes = summary(model, opts.inputShape).layers.map((l) => l.outputShape);
    let prev: readonly number[] = opts.inputShape;
    let pending: readonly number[] | undefined;
    seq.forEach(([, m], i) => {
      if (m instanceof Flatten) pending = prev.length === 3 && m.startDim === 1 && (m.endDim === -1 || m.endDim === 3) ? prev : undefined;
      else if (m instanceof Linear) {
        const t = byModule.get(m);
        if (pending && t) t.flattenedFrom = pending;
        pending = undefined;
      } else if (!ORDER_KEEPING.some((c) => m instanceof c)) pending = undefined;
      prev = shapes[i];
    });
  }
  return targets;
}

/** Copies an already read Keras file into `model` (see `loadKerasH5Weights`). */
export function applyKerasH5(model: Module, file: KerasH5File, fileName: string, opts: KerasLoadOptions = {}): void {
  const plan = planKerasLoad(file, kerasTargets(model, fileName, opts), fileName);
  const state = new Map<string, Tensor>();
  for (const [n, a] of plan) state.set(n, tensor(a.data, a.shape));
  model.loadStateDict(state, { strict: false });
}

/**
 * Loads a Keras HDF5 file (`bytes`, called `name` in messages) into `model`: Keras layers with
 * weights are paired in order with the model's modules that own parameters, and converted to
 * kdgpu's layouts. Returns what was read.
 */
export function loadKerasH5Weights(model: Module, bytes: Uint8Array | ArrayBuffer, name: string, opts: KerasLoadOptions = {}): KerasH5File {
  const file = readKerasH5(bytes, name);
  applyKerasH5(model, file, name, opts);
  return file;
}
