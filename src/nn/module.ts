/**
 * Module: named parameters, buffers and children, train/eval mode — PyTorch's nn.Module, so the
 * names of `namedParameters()` / `stateDict()` are PyTorch's state_dict names ("0.weight",
 * "fc1.bias") and weights move between the two without renaming.
 */
import { keep } from '../autograd/scope.js';
import type { Tensor } from '../autograd/tensor.js';
import { fmt } from '../autograd/shape.js';

/** What `forward` returns: a tensor, or named tensors (e.g. logits and a hidden representation). */
export type ModuleOutput = Tensor | { [name: string]: Tensor };

/** Sees every leaf-layer call while set (model summaries trace non-sequential models with it). */
export type CallObserver = (m: Module, x: Tensor, y: Tensor) => void;
let callObserver: CallObserver | null = null;

/** Runs `fn` with `observer` told of every `Module.call` (and fused layer call); not reentrant. */
export function observeCalls<T>(observer: CallObserver, fn: () => T): T {
  if (callObserver) throw new Error('kdgpu: observeCalls: already observing');
  callObserver = observer;
  try {
    return fn();
  } finally {
    callObserver = null;
  }
}

/** Tells the observer (if any) of a layer call that bypassed `Module.call` (fused kernels). */
export function notifyCall(m: Module, x: Tensor, y: Tensor): void {
  callObserver?.(m, x, y);
}

/**
 * Base class of layers and models: subclasses register their parameters, buffers and child modules
 * by name and implement `forward`.
 */
export abstract class Module {
  /** Training mode (true, the default) or eval mode; set with `train()` / `eval()`. */
  training = true;
  private readonly params = new Map<string, Tensor | null>();
  private readonly buffers = new Map<string, Tensor | null>();
  private readonly children = new Map<string, Module>();
  /** Names of this module's own parameters that are frozen (kept across weight loads). */
  private readonly frozen = new Set<string>();

  /** Computes the module's output for input `x`; call `call()` when one tensor is expected. */
  abstract forward(x: Tensor): ModuleOutput;

  /** forward, checked to return a single tensor. */
  call(x: Tensor): Tensor {
    const y = this.forward(x);
    if (!isTensorLike(y)) {
      throw new Error(`kdgpu: ${this.constructor.name}.call: forward returned named outputs (${Object.keys(y).join(', ')}); use forward() to read them`);
    }
    callObserver?.(this, x, y);
    return y;
  }

  /** A short description for summaries, e.g. "Linear(784 → 10)". */
  describe(): string {
    return this.constructor.name;
  }

  /**
   * Registers (or replaces) a parameter under `name`: it must be float32, gets `requiresGrad` unless
   * frozen, and is kept out of tidy scopes. `null` reserves the name (e.g. a layer without bias).
   */
  protected registerParameter(name: string, t: Tensor | null): Tensor | null {
    if (t) {
      if (t.dtype !== 'float32') throw new Error(`kdgpu: parameter ${name} must be float32, got ${t.dtype}`);
      t.requiresGrad = !this.frozen.has(name);
      keep(t);
    }
    this.params.set(name, t);
    return t;
  }

  /** Registers (or replaces) a non-trainable state tensor (e.g. BatchNorm running stats); `null` reserves the name. */
  protected registerBuffer(name: string, t: Tensor | null): Tensor | null {
    if (t) keep(t);
    this.buffers.set(name, t);
    return t;
  }

  /** Registers a child module; its parameters and buffers are named `<name>.<child name>`. Returns `m`. */
  protected registerModule<M extends Module>(name: string, m: M): M {
    this.children.set(name, m);
    return m;
  }

  /** Replaces a parameter's tensor (same name), disposing the old one. */
  setParameter(name: string, t: Tensor): void {
    const old = this.params.get(name);
    if (old === undefined) throw new Error(`kdgpu: ${this.constructor.name} has no parameter '${name}'`);
    if (old && old !== t) old.dispose();
    this.registerParameter(name, t);
    // Layers keep their parameters in same-named fields too (Linear.weight): keep those in step.
    const self = this as unknown as Record<string, unknown>;
    if (old && self[name] === old) self[name] = t;
  }

  /**
   * Freezes (or unfreezes) this module's own parameters named in `names` (default: all): a frozen
   * parameter gets no gradient and is left out of `trainableParameters()`, so optimizers hold no
   * state for it. The mark survives `loadStateDict`. See nn/freeze.ts for whole models.
   */
  setFrozen(frozen: boolean, names?: readonly string[]): void {
    for (const n of names ?? [...this.params.keys()]) {
      if (!this.params.has(n)) throw new Error(`kdgpu: ${this.constructor.name} has no parameter '${n}'`);
      if (frozen) this.frozen.add(n);
      else this.frozen.delete(n);
      const t = this.params.get(n);
      if (t) t.requiresGrad = !frozen;
    }
  }

  /** Replaces a direct child (same name), e.g. a classifier head; the old one is not disposed. */
  setModule(name: string, m: Module): void {
    const old = this.children.get(name);
    if (!old) throw new Error(`kdgpu: ${this.constructor.name} has no child module '${name}'`);
    this.children.set(name, m);
    // Models keep children in same-named fields too (ResNet.fc): keep those in step.
    const self = this as unknown as Record<string, unknown>;
    if (self[name] === old) self[name] = m;
  }

  /** Replaces a buffer's tensor (same name), disposing the old one. */
  setBuffer(name: string, t: Tensor): void {
    const old = this.buffers.get(name);
    if (old === undefined) throw new Error(`kdgpu: ${this.constructor.name} has no buffer '${name}'`);
    if (old && old !== t) old.dispose();
    this.registerBuffer(name, t);
  }

  /** Direct children, in registration order. */
  namedChildren(): [string, Module][] {
    return [...this.children.entries()];
  }

  /** This module and all descendants, depth first, with dotted names ('' for this one). */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [n, c] of this.children) out.push(...c.namedModules(prefix ? `${prefix}.${n}` : n));
    return out;
  }

  /** All parameters of this module and its descendants, with dotted state_dict names under `prefix`. */
  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [n, t] of this.params) if (t) out.push([prefix ? `${prefix}.${n}` : n, t]);
    for (const [n, c] of this.children) out.push(...c.namedParameters(prefix ? `${prefix}.${n}` : n));
    return out;
  }

  /** All parameters of this module and its descendants (frozen ones included), in `namedParameters()` order. */
  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  /** Parameters that are not frozen (what an optimizer should update). */
  trainableParameters(): Tensor[] {
    return this.parameters().filter((t) => t.requiresGrad);
  }

  /** All buffers of this module and its descendants, with dotted state_dict names under `prefix`. */
  namedBuffers(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [n, t] of this.buffers) if (t) out.push([prefix ? `${prefix}.${n}` : n, t]);
    for (const [n, c] of this.children) out.push(...c.namedBuffers(prefix ? `${prefix}.${n}` : n));
    return out;
  }

  /** Parameters and buffers by their PyTorch state_dict names. */
  stateDict(): Map<string, Tensor> {
    return new Map([...this.namedParameters(), ...this.namedBuffers()]);
  }

  /**
   * Replaces parameters and buffers by name. With `strict` (default) every name must match both
   * ways and every shape must agree; errors name the parameter.
   */
  loadStateDict(state: Map<string, Tensor>, opts: { strict?: boolean } = {}): void {
    const strict = opts.strict ?? true;
    const own = new Map<string, { owner: Module; local: string; kind: 'param' | 'buffer'; cur: Tensor }>();
    for (const [path, m] of this.namedModules()) {
      for (const [n, t] of m.params) if (t) own.set(path ? `${path}.${n}` : n, { owner: m, local: n, kind: 'param', cur: t });
      for (const [n, t] of m.buffers) if (t) own.set(path ? `${path}.${n}` : n, { owner: m, local: n, kind: 'buffer', cur: t });
    }
    if (strict) {
      const missing = [...own.keys()].filter((k) => !state.has(k));
      const unexpected = [...state.keys()].filter((k) => !own.has(k));
      if (missing.length || unexpected.length) {
        throw new Error(
          `kdgpu: loadStateDict: ${missing.length ? `missing ${missing.join(', ')}` : ''}${missing.length && unexpected.length ? '; ' : ''}${unexpected.length ? `unexpected ${unexpected.join(', ')}` : ''}`,
        );
      }
    }
    for (const [name, t] of state) {
      const slot = own.get(name);
      if (!slot) continue;
      if (slot.cur.shape.length !== t.shape.length || slot.cur.shape.some((d, i) => d !== t.shape[i])) {
        throw new Error(`kdgpu: loadStateDict: parameter '${name}' has shape ${fmt(t.shape)} in the file, the model expects ${fmt(slot.cur.shape)}`);
      }
      if (slot.kind === 'param') slot.owner.setParameter(slot.local, t);
      else slot.owner.setBuffer(slot.local, t);
    }
  }

  /** Sets training mode (default true) on this module and all descendants; returns this. */
  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  /** Sets eval mode on this module and all descendants (same as `train(false)`); returns this. */
  eval(): this {
    return this.train(false);
  }

  /** Disposes every parameter's gradient. */
  zeroGrad(): void {
    for (const p of this.parameters()) p.zeroGrad();
  }

  /** Number of parameter elements. */
  numParameters(): number {
    return this.parameters().reduce((s, p) => s + p.size, 0);
  }

  /** Frees all parameters and buffers. */
  dispose(): void {
    for (const [, t] of this.namedParameters()) t.dispose();
    for (const [, t] of this.namedBuffers()) t.dispose();
  }
}

function isTensorLike(y: ModuleOutput): y is Tensor {
  return typeof (y as Tensor).dispose === 'function' && Array.isArray((y as Tensor).shape);
}
