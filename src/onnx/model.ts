/**
 * OnnxModel: an imported ONNX graph as a kdgpu Module. Conv, Gemm (as Linear), BatchNormalization,
 * pooling and Dropout nodes become kdgpu layers named after the exporter's initializers
 * ('layer1.0.conv1.weight' → module 'layer1.0.conv1'), so the model trains, freezes, saves and
 * distills like a built-in one; other float initializers read as data become parameters of the
 * model itself under their ONNX names. The forward walks the planned nodes each call: shape
 * arithmetic on the host, everything else with kdgpu's ops (so gradients flow).
 */
import { tensor } from '../autograd/creation.js';
import { div, mul, sub } from '../autograd/ops-elementwise.js';
import { reshape } from '../autograd/ops-shape.js';
import type { Tensor } from '../autograd/tensor.js';
import { AvgPool2d, Conv2d, Dropout, GlobalAvgPool2d, MaxPool2d } from '../nn/conv-layers.js';
import { Linear } from '../nn/layers.js';
import { Module, type ModuleOutput } from '../nn/module.js';
import { OnnxError } from './errors.js';
import { label, parseOnnx, type OnnxGraph, type OnnxNode, type ParseOnnxOptions } from './graph.js';
import { runHostOp } from './host-ops.js';
import { OnnxBatchNorm, OnnxScope } from './layers.js';
import { runGpuOp, upload } from './ops.js';
import { planGraph, type GraphPlan } from './plan.js';
import type { HostTensor } from './tensor-data.js';

/**
 * Input preprocessing: an ONNX file does not say how its inputs were scaled. Applied in the
 * forward, in this order: x·scale, then (x − mean[c]) / std[c] per channel. Default: none (the
 * loaders' own scaling, e.g. Fashion-MNIST in [0, 1], is what the model sees).
 */
export interface OnnxPreprocess {
  /** Multiplies the input first (e.g. 255 for a model trained on 0…255 pixels). */
  scale?: number;
  /** Per-channel mean subtracted after scaling (one value, or one per channel). */
  mean?: readonly number[];
  /** Per-channel standard deviation divided by after the mean (one value, or one per channel). */
  std?: readonly number[];
  /** The input's channel axis (default 1, NCHW; 3 for an NHWC graph). */
  channelAxis?: number;
}

/** Options of `loadOnnx` / `loadOnnxFile`. */
export interface OnnxModelOptions extends ParseOnnxOptions {
  /**
   * Run a final Softmax/LogSoftmax too (default false: the model hands out the logits before it,
   * which is what a teacher's soft targets and a cross-entropy loss expect).
   */
  keepSoftmax?: boolean;
  /** Input scaling and normalization (see OnnxPreprocess). */
  preprocess?: OnnxPreprocess;
}

type Value = Tensor | HostTensor;
const isHost = (v: Value): v is HostTensor => 'data' in v && 'dims' in v;

/** An imported ONNX graph as a Module (see the module comment). */
export class OnnxModel extends Module {
  /** The graph's input name. */
  readonly inputName: string;
  /** One sample's shape (the declared input dims without the batch), or null when the file leaves some open. */
  readonly inputShape: number[] | null;
  /** The final activation kept out of the output ('Softmax' / 'LogSoftmax'), or null. */
  readonly finalActivation: 'Softmax' | 'LogSoftmax' | null;
  /** How the forward runs the graph. */
  readonly plan: GraphPlan;
  private readonly layers = new Map<OnnxNode, Module>();
  /** Parameters owned by the model itself (not by a layer), by ONNX initializer name. */
  private readonly own = new Map<string, Tensor>();
  /** ONNX initializer name → its place in the module tree. */
  private readonly initPlace = new Map<string, { owner: Module; local: string }>();
  private readonly counters = new Map<string, number>();

  constructor(
    /** The parsed graph. */
    readonly graph: OnnxGraph,
    /** Preprocessing and softmax options. */
    readonly options: OnnxModelOptions = {},
  ) {
    super();
    this.plan = planGraph(graph, { keepSoftmax: options.keepSoftmax });
    const input = graph.inputs[0];
    this.inputName = input.name;
    const dims = input.dims?.slice(1) ?? null;
    this.inputShape = dims && dims.every((d) => typeof d === 'number' && d > 0) ? (dims as number[]) : null;
    const acts = [...this.plan.logitsOf.values()].map((v) => v.op);
    this.finalActivation = acts[0] ?? null;
    checkPreprocess(graph.source, options.preprocess);
    try {
      this.build();
    } catch (e) {
      this.dispose(); // nothing half-built stays on the GPU
      throw e instanceof OnnxError ? e : new OnnxError(graph.source, (e as Error).message.replace(/^kdgpu: /, ''));
    }
  }

  /** The value an initializer holds as a float array, for layers. */
  private init(name: string): Tensor {
    const h = this.graph.initializers.get(name)!;
    return upload(h);
  }

  /** Whether `name` is a float initializer read by this node only (a layer may own it). */
  private ownable(name: string | undefined, rank?: number): boolean {
    if (!name) return false;
    const h = this.graph.initializers.get(name);
    return !!h && h.dtype === 'float' && (rank === undefined || h.dims.length === rank) && this.plan.uses.get(name) === 1;
  }

  /**
   * Puts layer `m` at a dotted path: from its weight's name ('layer1.0.conv1.weight'), else from a
   * PyTorch-style node name ('/layer1/layer1.0/conv1/Conv' → 'layer1.0.conv1', as fused exports
   * name weights 'onnx::Conv_12'), else a generated one ('conv_0').
   */
  private place(m: Module, weightName: string | undefined, n: OnnxNode): void {
    const op = n.opType;
    const ident = /^[A-Za-z_]\w*(?:\.\w+)*$/;
    const fromName = weightName?.match(/^(.+)\.weight$/)?.[1];
    if (fromName && ident.test(fromName) && this.tryPlace(fromName.split('.'), m)) return;
    // PyTorch names a child scope '<parent>.<child>' ('/layer2/layer2.0/downsample/downsample.0/Conv').
    const parts: string[] = [];
    for (const seg of n.name.startsWith('/') ? n.name.split('/').slice(1, -1) : []) {
      if (parts.length && seg.startsWith(`${parts[parts.length - 1]}.`)) parts.pop();
      parts.push(seg);
    }
    const path = parts.join('.');
    if (path && ident.test(path) && this.tryPlace(path.split('.'), m)) return;
    for (;;) {
      const k = this.counters.get(op) ?? 0;
      this.counters.set(op, k + 1);
      if (this.tryPlace([`${op.toLowerCase()}_${k}`], m)) return;
    }
  }

  private tryPlace(path: string[], m: Module): boolean {
    let parent: Module = this;
    for (let i = 0; i < path.length; i++) {
      const seg = path[i];
      const existing = parent.namedChildren().find(([n]) => n === seg)?.[1];
      const last = i === path.length - 1;
      if (last) {
        if (existing || this.own.has(path.join('.'))) return false;
        if (parent === this) this.registerModule(seg, m);
        else (parent as OnnxScope).add(seg, m);
        return true;
      }
      if (existing && !(existing instanceof OnnxScope)) return false;
      const scope = existing ?? new OnnxScope();
      if (!existing) {
        if (parent === this) this.registerModule(seg, scope);
        else (parent as OnnxScope).add(seg, scope);
      }
      parent = scope;
    }
    return false;
  }

  private build(): void {
    const g = this.graph;
    const claimed = new Set<string>();
    for (const { node: n, host } of this.plan.steps) {
      if (host) continue;
      const a = (k: string) => n.attrs.get(k);
      try {
        const layer = this.layerFor(n, a, claimed);
        if (layer) this.layers.set(n, layer);
      } catch (e) {
        throw new OnnxError(g.source, `node ${label(n)}: ${(e as Error).message.replace(/^kdgpu: /, '')}`);
      }
    }
    for (const name of this.plan.params) {
      if (claimed.has(name)) continue;
      const t = this.init(name);
      this.own.set(name, t);
      this.registerParameter(name, t);
      this.initPlace.set(name, { owner: this, local: name });
    }
  }

  private layerFor(n: OnnxNode, a: (k: string) => unknown, claimed: Set<string>): Module | undefined {
    const [w, b] = [n.inputs[1], n.inputs[2]];
    const claim = (m: Module, names: [string | undefined, string][]) => {
      for (const [init, local] of names) {
        if (!init) continue;
        claimed.add(init);
        this.initPlace.set(init, { owner: m, local });
      }
    };
    switch (n.opType) {
      case 'Conv': {
        if (!this.ownable(w, 4) || (b && !this.ownable(b, 1))) return undefined;
        const W = this.graph.initializers.get(w)!;
        const groups = (a('group') as number | undefined) ?? 1;
        const conv = new Conv2d(W.dims[1] * groups, W.dims[0], [W.dims[2], W.dims[3]], {
          stride: (a('strides') as [number, number] | undefined) ?? 1,
          dilation: (a('dilations') as [number, number] | undefined) ?? 1,
          groups,
          bias: !!b,
        });
        conv.setParameter('weight', this.init(w));
        if (b) conv.setParameter('bias', this.init(b));
        this.place(conv, w, n);
        claim(conv, [[w, 'weight'], [b, 'bias']]);
        return conv;
      }
      case 'Gemm': {
        const plain = a('transA') !== 1 && a('transB') === 1 && (a('alpha') ?? 1) === 1 && (a('beta') ?? 1) === 1;
        if (!plain || !this.ownable(w, 2) || (b && !this.ownable(b, 1))) return undefined;
        const W = this.graph.initializers.get(w)!;
        if (b && this.graph.initializers.get(b)!.dims[0] !== W.dims[0]) return undefined;
        const lin = new Linear(W.dims[1], W.dims[0], { bias: !!b });
        lin.setParameter('weight', this.init(w));
        if (b) lin.setParameter('bias', this.init(b));
        this.place(lin, w, n);
        claim(lin, [[w, 'weight'], [b, 'bias']]);
        return lin;
      }
      case 'BatchNormalization': {
        const [scale, bias, mean, variance] = n.inputs.slice(1, 5);
        if (![scale, bias, mean, variance].every((s) => this.ownable(s, 1))) {
          throw new Error('its scale, bias, mean and variance must be 1-D float initializers used by this node only');
        }
        const C = this.graph.initializers.get(scale)!.dims[0];
        const bn = new OnnxBatchNorm(C, { eps: (a('epsilon') as number | undefined) ?? 1e-5, momentum: 1 - ((a('momentum') as number | undefined) ?? 0.9) });
        bn.setParameter('weight', this.init(scale));
        bn.setParameter('bias', this.init(bias));
        bn.setBuffer('running_mean', this.init(mean));
        bn.setBuffer('running_var', this.init(variance));
        this.place(bn, scale, n);
        claim(bn, [[scale, 'weight'], [bias, 'bias'], [mean, 'running_mean'], [variance, 'running_var']]);
        return bn;
      }
      case 'MaxPool':
      case 'AveragePool': {
        const kernel = a('kernel_shape') as [number, number];
        const stride = (a('strides') as [number, number] | undefined) ?? [1, 1];
        const m = n.opType === 'MaxPool' ? new MaxPool2d({ kernel, stride }) : new AvgPool2d({ kernel, stride, countIncludePad: a('count_include_pad') === 1 });
        this.place(m, undefined, n);
        return m;
      }
      case 'GlobalAveragePool': {
        const m = new GlobalAvgPool2d();
        this.place(m, undefined, n);
        return m;
      }
      case 'Dropout': {
        const ratio = n.inputs[1] ? this.constantValue(n.inputs[1]) : ((a('ratio') as number | undefined) ?? 0.5);
        if (ratio === undefined) throw new Error(`its ratio ('${n.inputs[1]}') must be a constant`);
        const m = new Dropout(ratio);
        this.place(m, undefined, n);
        return m;
      }
      default:
        return undefined;
    }
  }

  /** A scalar known without running the graph (an initializer or a Constant node's value). */
  private constantValue(name: string): number | undefined {
    const init = this.graph.initializers.get(name);
    if (init) return init.data[0];
    const node = this.graph.nodes.find((n) => n.opType === 'Constant' && n.outputs[0] === name);
    if (!node) return undefined;
    const [v] = runHostOp(this.graph.source, node, []);
    return v.data[0];
  }

  /** Reshapes a flat sample to the declared input shape, checks the shape, applies the preprocessing. */
  private prepare(x: Tensor): Tensor {
    const src = this.graph.source;
    let h = x;
    if (this.inputShape) {
      const want = this.inputShape;
      const size = want.reduce((p, d) => p * d, 1);
      const same = x.rank === want.length + 1 && want.every((d, i) => x.shape[i + 1] === d);
      if (!same) {
        if (x.rank >= 1 && x.size === x.shape[0] * size) h = reshape(x, [x.shape[0], ...want]);
        else throw new OnnxError(src, `input ${JSON.stringify(x.shape)} does not fit the model's input '${this.inputName}' [N, ${want.join(', ')}]`);
      }
    }
    const p = this.options.preprocess;
    if (!p) return h;
    if (p.scale !== undefined && p.scale !== 1) h = mul(h, p.scale);
    const axis = p.channelAxis ?? 1;
    const perChannel = (v: readonly number[]) => {
      if (v.length === 1) return v[0];
      if (h.shape[axis] !== v.length) throw new OnnxError(src, `preprocessing has ${v.length} channel values, but input ${JSON.stringify(h.shape)} has ${h.shape[axis]} channels on axis ${axis}`);
      return tensor(Float32Array.from(v), h.shape.map((d, i) => (i === axis ? d : 1)));
    };
    if (p.mean) h = sub(h, perChannel(p.mean));
    if (p.std) h = div(h, perChannel(p.std));
    return h;
  }

  forward(x: Tensor): ModuleOutput {
    const src = this.graph.source;
    const env = new Map<string, Value>();
    env.set(this.inputName, this.prepare(x));
    const lookup = (name: string, gpu: boolean): Value | undefined => {
      const v = env.get(name);
      if (v) return v;
      if (gpu) {
        const own = this.own.get(name);
        if (own) return own;
      }
      return this.graph.initializers.get(name);
    };
    for (const { node: n, host } of this.plan.steps) {
      let out: Value;
      if (host) {
        const ins = n.inputs.map((i) => (i ? lookup(i, false) : undefined));
        out = runHostOp(src, n, ins as (HostTensor | Tensor | undefined)[])[0];
      } else {
        const get = (i: number) => (n.inputs[i] ? lookup(n.inputs[i], true) : undefined);
        out = runGpuOp(
          {
            source: src,
            opset: this.graph.opset,
            training: this.training,
            layer: this.layers.get(n),
            has: (i) => !!n.inputs[i],
            isHost: (i) => {
              const v = get(i);
              return !!v && isHost(v);
            },
            tensor: (i) => {
              const v = get(i);
              if (!v) throw new OnnxError(src, `node ${label(n)}: input ${i} is missing`);
              return isHost(v) ? upload(v) : v;
            },
            host: (i) => {
              const v = get(i);
              if (v && !isHost(v)) throw new OnnxError(src, `node ${label(n)}: input ${i} ('${n.inputs[i]}') must be known before the forward`);
              return v;
            },
          },
          n,
        );
      }
      env.set(n.outputs[0], out);
    }
    const outs = this.graph.outputs.map((o) => {
      const name = this.plan.logitsOf.get(o.name)?.value ?? o.name;
      const v = env.get(name) ?? lookup(name, true);
      if (!v) throw new OnnxError(src, `graph output '${o.name}' was not computed`);
      return [o.name, isHost(v) ? upload(v) : v] as const;
    });
    return outs.length === 1 ? outs[0][1] : Object.fromEntries(outs);
  }

  /** Parameters and buffers by their ONNX initializer names (for comparisons with the file, and for export). */
  onnxTensors(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const [init, { owner, local }] of this.initPlace) {
      const t = owner.stateDict().get(local);
      if (t) out.set(init, t);
    }
    return out;
  }

  override setParameter(name: string, t: Tensor): void {
    super.setParameter(name, t);
    if (this.own.has(name)) this.own.set(name, t);
  }

  override describe(): string {
    return `OnnxModel(${this.graph.source}: ${this.graph.nodes.length} nodes, opset ${this.graph.opset})`;
  }
}

function checkPreprocess(source: string, p: OnnxPreprocess | undefined): void {
  if (!p) return;
  const finite = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
  if (p.scale !== undefined && !finite(p.scale)) throw new OnnxError(source, `preprocess.scale must be a finite number, got ${String(p.scale)}`);
  for (const k of ['mean', 'std'] as const) {
    const v = p[k];
    if (v !== undefined && (!Array.isArray(v) || v.length === 0 || !v.every(finite))) throw new OnnxError(source, `preprocess.${k} must be a non-empty list of finite numbers, got ${JSON.stringify(v)}`);
  }
  if (p.std?.some((s) => s === 0)) throw new OnnxError(source, 'preprocess.std must not contain 0');
}

/**
 * Imports an ONNX model from its bytes (Node and browsers): decodes and checks everything on the
 * host first — a malformed file, an unsupported op or a bad size fails before any GPU buffer is
 * made — then builds the OnnxModel. Call `init()` first.
 */
export function loadOnnx(bytes: Uint8Array, opts: OnnxModelOptions = {}): OnnxModel {
  return new OnnxModel(parseOnnx(bytes, opts), opts);
}
