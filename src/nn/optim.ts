/**
 * Optimizers (SGD, Adam, AdamW) whose updates run on the GPU in place, gradient clipping by
 * global norm without readback, and learning-rate schedules. Numerics follow torch.optim;
 * Adam's `epsilonConvention: 'keras'` follows tf.keras (eps added to √v before bias correction).
 */
import { full, tensor } from '../autograd/creation.js';
import { noGrad } from '../autograd/graph.js';
import { add, minimum, mul, sqrt } from '../autograd/ops-elementwise.js';
import { sum } from '../autograd/ops-reduce.js';
import { keep, tidy } from '../autograd/scope.js';
import type { Tensor } from '../autograd/tensor.js';
import { runAdam, runSgd, type FlagTarget } from '../kernels/optimizer.js';
import { FiniteFlag } from './finite-flag.js';

/** Options every optimizer takes. */
export interface OptimizerOptions {
  /** Learning rate (≥ 0). */
  lr: number;
  /** Clip gradients to this global L2 norm before the update (torch.nn.utils.clip_grad_norm_). */
  clipNorm?: number;
}

/**
 * Base class of optimizers: holds the parameters, the learning rate and optional gradient clipping;
 * `step()` clips and calls `update` for each parameter that has a gradient.
 */
export abstract class Optimizer {
  /** Current learning rate; schedulers overwrite it. */
  lr: number;
  /** Number of completed steps. */
  stepCount = 0;
  /** Global L2 norm gradients are clipped to, or undefined for no clipping. */
  protected readonly clipNorm: number | undefined;
  private one: Tensor | null = null;
  private flag: FiniteFlag | null = null;

  constructor(
    /** The parameters updated, each requiring grad. */
    readonly params: Tensor[],
    opts: OptimizerOptions,
  ) {
    if (!(opts.lr >= 0)) throw new Error(`kdgpu: optimizer: learning rate must be ≥ 0, got ${opts.lr}`);
    if (opts.clipNorm !== undefined && !(opts.clipNorm > 0)) throw new Error(`kdgpu: optimizer: clipNorm must be > 0, got ${opts.clipNorm}`);
    for (const p of params) {
      if (!p.requiresGrad) throw new Error(`kdgpu: optimizer: parameter ${p.toString()} does not require grad`);
    }
    this.lr = opts.lr;
    this.clipNorm = opts.clipNorm;
  }

  /** Disposes every parameter's gradient. */
  zeroGrad(): void {
    for (const p of this.params) p.zeroGrad();
  }

  /**
   * Updates every parameter that has a gradient, then submits the step's GPU work (one queue
   * submission per training step).
   */
  step(opts: { flush?: boolean } = {}): void {
    this.stepCount++;
    const withGrad = this.params.filter((p) => p.grad);
    if (withGrad.length) {
      const scale = this.clipNorm !== undefined ? clipScale(withGrad.map((p) => p.grad!), this.clipNorm) : this.unitScale();
      const flag = this.finiteFlag;
      for (const [i, p] of this.params.entries()) {
        if (p.grad) this.update(p, p.grad, scale, { buffer: flag.buffer, step: flag.step, param: i });
      }
      if (scale !== this.one) scale.dispose();
      withGrad[0].engine.markStep();
      if (opts.flush ?? true) withGrad[0].engine.flush();
    }
  }

  /**
   * Where the updates record the first step at which a gradient, weight or state value is not
   * finite (and `fit` its loss sum); `fit` reads it with its loss readbacks and sets its `step`.
   */
  get finiteFlag(): FiniteFlag {
    if (!this.flag) this.flag = new FiniteFlag();
    return this.flag;
  }

  /**
   * Updates parameter `p` in place from its gradient `g` times `gradScale` (a one-element tensor:
   * the clipping factor, or 1), recording non-finite values in `flag`.
   */
  protected abstract update(p: Tensor, g: Tensor, gradScale: Tensor, flag: FlagTarget): void;

  /** State tensors by name ("<param index>.<slot>"), for checkpoints. */
  abstract stateTensors(): [string, Tensor][];

  /** Per-parameter step counts and the like, for checkpoints. */
  abstract stateMeta(): Record<string, unknown>;

  /**
   * Restores what stateTensors/stateMeta returned (values are copied into this optimizer's own
   * tensors, created as needed). Errors name the slot.
   */
  abstract loadState(tensors: Map<string, { shape: readonly number[]; data: Float32Array }>, meta: Record<string, unknown>): void;

  private unitScale(): Tensor {
    if (!this.one) this.one = keep(full([1], 1));
    return this.one;
  }

  /** Frees optimizer state. */
  dispose(): void {
    this.one?.dispose();
    this.one = null;
    this.flag?.dispose();
    this.flag = null;
  }
}

/** min(1, maxNorm / (‖g‖₂ + 1e-6)) over all gradients, as a one-element GPU tensor. */
export function clipScale(grads: Tensor[], maxNorm: number): Tensor {
  return keep(
    noGrad(() =>
      tidy(() => {
        let total: Tensor | null = null;
        for (const g of grads) {
          const s = sum(mul(g, g));
          total = total ? add(total, s) : s;
        }
        const norm = sqrt(total!);
        return minimum(mul(add(norm, 1e-6).pow(-1), maxNorm), 1).reshape([1]);
      }),
    ),
  );
}

function checkSlot(name: string, got: readonly number[], want: readonly number[]): void {
  if (got.length !== want.length || got.some((d, i) => d !== want[i])) {
    throw new Error(`kdgpu: optimizer state '${name}' has shape [${got.join(', ')}], the parameter has [${want.join(', ')}]`);
  }
}

function stateLike(p: Tensor): Tensor {
  return keep(full(p.shape, 0));
}

/** SGD options (torch.optim.SGD's). */
export interface SGDOptions extends OptimizerOptions {
  /** Momentum factor (default 0: plain SGD). */
  momentum?: number;
  /** Dampening of the momentum (default 0). */
  dampening?: number;
  /** Nesterov momentum (default false; needs momentum > 0 and zero dampening). */
  nesterov?: boolean;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay?: number;
}

/** Stochastic gradient descent with optional momentum, Nesterov and weight decay, as torch.optim.SGD. */
export class SGD extends Optimizer {
  private readonly momentum: number;
  private readonly dampening: number;
  private readonly nesterov: boolean;
  private readonly weightDecay: number;
  private readonly buffers = new Map<Tensor, Tensor>();
  private readonly started = new Set<Tensor>();

  constructor(params: Tensor[], opts: SGDOptions) {
    super(params, opts);
    this.momentum = opts.momentum ?? 0;
    this.dampening = opts.dampening ?? 0;
    this.nesterov = opts.nesterov ?? false;
    this.weightDecay = opts.weightDecay ?? 0;
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) {
      throw new Error('kdgpu: SGD: Nesterov momentum requires a momentum > 0 and zero dampening');
    }
  }

  protected update(p: Tensor, g: Tensor, gradScale: Tensor, flag: FlagTarget): void {
    let buf = this.buffers.get(p);
    if (!buf) {
      // Without momentum the buffer is never read; a one-element placeholder binds the slot.
      buf = this.momentum !== 0 ? stateLike(p) : keep(full([1], 0));
      this.buffers.set(p, buf);
    }
    const first = !this.started.has(p);
    this.started.add(p);
    runSgd(
      p.engine,
      p.size,
      { param: p.bufferFor('SGD.step'), grad: g.bufferFor('SGD.step'), gradScale: gradScale.bufferFor('SGD.step'), buf: buf.bufferFor('SGD.step') },
      { lr: this.lr, momentum: this.momentum, dampening: this.dampening, wd: this.weightDecay, nesterov: this.nesterov, first },
      flag,
    );
  }

  stateTensors(): [string, Tensor][] {
    return this.params.flatMap((p, i) => {
      const b = this.buffers.get(p);
      return b && this.momentum !== 0 ? [[`${i}.momentum_buffer`, b] as [string, Tensor]] : [];
    });
  }

  stateMeta(): Record<string, unknown> {
    return { started: this.params.map((p) => this.started.has(p)) };
  }

  loadState(tensors: Map<string, { shape: readonly number[]; data: Float32Array }>, meta: Record<string, unknown>): void {
    const started = (meta.started as boolean[] | undefined) ?? [];
    this.params.forEach((p, i) => {
      if (started[i]) this.started.add(p);
      const t = tensors.get(`${i}.momentum_buffer`);
      if (!t) return;
      checkSlot(`${i}.momentum_buffer`, t.shape, p.shape);
      this.buffers.get(p)?.dispose();
      this.buffers.set(p, keep(tensor(t.data, p.shape)));
    });
  }

  override dispose(): void {
    for (const b of this.buffers.values()) b.dispose();
    this.buffers.clear();
    super.dispose();
  }
}

/** Adam / AdamW options (torch.optim.Adam's, plus the Keras epsilon convention). */
export interface AdamOptions extends OptimizerOptions {
  /** Decay rates of the first and second moment averages, each in [0, 1) (default [0.9, 0.999]). */
  betas?: [number, number];
  /** Default 1e-8 (PyTorch); Keras uses 1e-7 with epsilonConvention 'keras'. */
  eps?: number;
  /** L2 penalty added to the gradient (Adam) — or, for AdamW, the decoupled decay rate. */
  weightDecay?: number;
  /** 'pytorch' (default): eps added after bias correction of √v; 'keras': before. */
  epsilonConvention?: 'pytorch' | 'keras';
}

/** Adam (torch.optim.Adam), with L2 weight decay added to the gradient. */
export class Adam extends Optimizer {
  /** Decay rates of the first and second moment averages. */
  protected readonly betas: [number, number];
  /** Term added to the denominator for numerical stability. */
  protected readonly eps: number;
  /** L2 penalty (Adam) or decoupled decay rate (AdamW). */
  protected readonly weightDecay: number;
  /** Whether weight decay is decoupled from the gradient (true in AdamW). */
  protected readonly decoupled: boolean = false;
  private readonly keras: boolean;
  private readonly state = new Map<Tensor, { m: Tensor; v: Tensor; step: number }>();

  constructor(params: Tensor[], opts: AdamOptions) {
    super(params, opts);
    this.betas = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0;
    this.keras = opts.epsilonConvention === 'keras';
    for (const b of this.betas) if (!(b >= 0 && b < 1)) throw new Error(`kdgpu: Adam: betas must be in [0, 1), got [${this.betas.join(', ')}]`);
  }

  protected update(p: Tensor, g: Tensor, gradScale: Tensor, flag: FlagTarget): void {
    let s = this.state.get(p);
    if (!s) {
      s = { m: stateLike(p), v: stateLike(p), step: 0 };
      this.state.set(p, s);
    }
    s.step++;
    runAdam(
      p.engine,
      p.size,
      {
        param: p.bufferFor('Adam.step'),
        grad: g.bufferFor('Adam.step'),
        gradScale: gradScale.bufferFor('Adam.step'),
        m: s.m.bufferFor('Adam.step'),
        v: s.v.bufferFor('Adam.step'),
      },
      {
        lr: this.lr,
        beta1: this.betas[0],
        beta2: this.betas[1],
        eps: this.eps,
        step: s.step,
        l2: this.decoupled ? 0 : this.weightDecay,
        decoupled: this.decoupled ? this.weightDecay : 0,
        kerasEps: this.keras,
      },
      flag,
    );
  }

  /**
   * The state of a parameter (for checkpoints), or undefined before its first update: `m` and `v`
   * are the first and second moment averages, `step` its number of updates.
   */
  stateOf(p: Tensor): {
    /** First moment (exp_avg). */
    m: Tensor;
    /** Second moment (exp_avg_sq). */
    v: Tensor;
    /** Number of updates of this parameter. */
    step: number;
  } | undefined {
    return this.state.get(p);
  }

  stateTensors(): [string, Tensor][] {
    return this.params.flatMap((p, i) => {
      const s = this.state.get(p);
      return s ? ([[`${i}.exp_avg`, s.m], [`${i}.exp_avg_sq`, s.v]] as [string, Tensor][]) : [];
    });
  }

  stateMeta(): Record<string, unknown> {
    return { steps: this.params.map((p) => this.state.get(p)?.step ?? 0) };
  }

  loadState(tensors: Map<string, { shape: readonly number[]; data: Float32Array }>, meta: Record<string, unknown>): void {
    const steps = (meta.steps as number[] | undefined) ?? [];
    this.params.forEach((p, i) => {
      const m = tensors.get(`${i}.exp_avg`);
      const v = tensors.get(`${i}.exp_avg_sq`);
      if (!m || !v) return;
      checkSlot(`${i}.exp_avg`, m.shape, p.shape);
      checkSlot(`${i}.exp_avg_sq`, v.shape, p.shape);
      const old = this.state.get(p);
      old?.m.dispose();
      old?.v.dispose();
      this.state.set(p, { m: keep(tensor(m.data, p.shape)), v: keep(tensor(v.data, p.shape)), step: steps[i] ?? 0 });
    });
  }

  override dispose(): void {
    for (const s of this.state.values()) {
      s.m.dispose();
      s.v.dispose();
    }
    this.state.clear();
    super.dispose();
  }
}

/** Adam with decoupled weight decay (default 0.01, as torch.optim.AdamW). */
export class AdamW extends Adam {
  protected override readonly decoupled = true;
  constructor(params: Tensor[], opts: AdamOptions) {
    super(params, { weightDecay: 0.01, ...opts });
  }
}

// ---- learning-rate schedules (closed forms of torch.optim.lr_scheduler) ----------------------

/** Base class of learning-rate schedules: `step()` sets the optimizer's lr to `lrAt(epoch)`. */
export abstract class LRScheduler {
  /** The optimizer's lr when the scheduler was created. */
  readonly baseLr: number;
  /** Number of `step()` calls so far. */
  epoch = 0;
  constructor(
    /** The optimizer whose lr is set. */
    readonly optimizer: Optimizer,
  ) {
    this.baseLr = optimizer.lr;
  }
  /** The learning rate after `epoch` steps. */
  protected abstract lrAt(epoch: number): number;
  /** Advances one epoch (or step, as you call it) and sets the optimizer's lr. */
  step(): void {
    this.epoch++;
    this.optimizer.lr = this.lrAt(this.epoch);
  }
}

/** Multiplies the lr by `gamma` every `stepSize` epochs (torch.optim.lr_scheduler.StepLR). */
export class StepLR extends LRScheduler {
  constructor(
    optimizer: Optimizer,
    /** Epochs between decays (≥ 1). */
    readonly stepSize: number,
    /** Multiplicative decay factor (default 0.1). */
    readonly gamma = 0.1,
  ) {
    super(optimizer);
    if (!(stepSize >= 1)) throw new Error(`kdgpu: StepLR: stepSize must be ≥ 1, got ${stepSize}`);
  }
  protected lrAt(epoch: number): number {
    return this.baseLr * this.gamma ** Math.floor(epoch / this.stepSize);
  }
}

/**
 * Cosine annealing from the base lr down to `etaMin` over `tMax` epochs, without restarts
 * (torch.optim.lr_scheduler.CosineAnnealingLR's closed form).
 */
export class CosineAnnealingLR extends LRScheduler {
  constructor(
    optimizer: Optimizer,
    /** Epochs of the half cosine period (≥ 1). */
    readonly tMax: number,
    /** Minimum learning rate (default 0). */
    readonly etaMin = 0,
  ) {
    super(optimizer);
    if (!(tMax >= 1)) throw new Error(`kdgpu: CosineAnnealingLR: tMax must be ≥ 1, got ${tMax}`);
  }
  protected lrAt(epoch: number): number {
    return this.etaMin + ((this.baseLr - this.etaMin) * (1 + Math.cos((Math.PI * epoch) / this.tMax))) / 2;
  }
}
