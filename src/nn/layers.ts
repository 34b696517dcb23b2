/** Basic layers: Linear, ReLU, ReLU6, Flatten, Identity, Sequential. */
import { defaultGenerator } from '../autograd/creation.js';
import { relu, relu6 } from '../autograd/ops-elementwise.js';
import { linear } from '../autograd/ops-matmul.js';
import { flatten } from '../autograd/ops-shape.js';
import { Random } from '../autograd/random.js';
import type { Tensor } from '../autograd/tensor.js';
import { initBias, initWeight, type InitScheme } from './init.js';
import { Module, notifyCall, type ModuleOutput } from './module.js';

/** Weight initialization options shared by Linear and Conv2d. */
export interface LayerInit {
  /** Initializer scheme (default 'pytorch'). */
  init?: InitScheme;
  /** A generator shared by a model's layers, or a seed; default: the global generator. */
  rng?: Random | number;
}

/** The generator `opts.rng` names: itself, a new one seeded with it, or the global generator. */
export function rngOf(opts: LayerInit): Random {
  if (opts.rng instanceof Random) return opts.rng;
  if (typeof opts.rng === 'number') return new Random(opts.rng);
  return defaultGenerator();
}

/** y = x·Wᵀ + b on [N, inFeatures] (PyTorch's nn.Linear), optionally with a fused ReLU. */
export class Linear extends Module {
  /** Weight [outFeatures, inFeatures] (PyTorch's layout). */
  weight: Tensor;
  /** Bias [outFeatures], or null with `bias: false`. */
  bias: Tensor | null;
  constructor(
    /** Input features. */
    readonly inFeatures: number,
    /** Output features. */
    readonly outFeatures: number,
    opts: LayerInit & { bias?: boolean; activation?: 'relu' } = {},
  ) {
    super();
    if (!Number.isInteger(inFeatures) || !Number.isInteger(outFeatures) || inFeatures < 1 || outFeatures < 1) {
      throw new Error(`kdgpu: Linear(${inFeatures}, ${outFeatures}): feature counts must be positive integers`);
    }
    const rng = rngOf(opts);
    const scheme = opts.init ?? 'pytorch';
    const shape = [outFeatures, inFeatures];
    this.weight = this.registerParameter('weight', initWeight(shape, scheme, rng))!;
    this.bias = opts.bias === false ? null : this.registerParameter('bias', initBias(outFeatures, shape, scheme, rng));
    this.activation = opts.activation;
  }
  /** Activation fused into the product, if any. */
  readonly activation: 'relu' | undefined;
  forward(x: Tensor): Tensor {
    return this.forwardFused(x, this.activation === 'relu');
  }
  /** The product with the ReLU fused in (Sequential uses it for Linear → ReLU). */
  forwardFused(x: Tensor, relu: boolean): Tensor {
    return linear(x, this.weight, this.bias, { relu });
  }
  override describe(): string {
    return `Linear(${this.inFeatures} → ${this.outFeatures}${this.activation ? `, ${this.activation}` : ''})`;
  }
}

/** max(x, 0). */
export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return relu(x);
  }
}

/** min(max(x, 0), 6) (MobileNetV2's activation). */
export class ReLU6 extends Module {
  forward(x: Tensor): Tensor {
    return relu6(x);
  }
}

/** Returns its input unchanged (e.g. a removed classifier head). */
export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}

/** Flattens all dimensions after the first (Keras Flatten / PyTorch nn.Flatten). */
export class Flatten extends Module {
  constructor(
    /** First dimension flattened (default 1). */
    readonly startDim = 1,
    /** Last dimension flattened, negative from the end (default -1). */
    readonly endDim = -1,
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return flatten(x, this.startDim, this.endDim);
  }
}

/** Runs children in order; their state_dict names are "0", "1", … as in PyTorch. */
export class Sequential extends Module {
  /** The children, in order. */
  readonly layers: Module[];
  constructor(...layers: Module[]) {
    super();
    this.layers = layers;
    layers.forEach((m, i) => this.registerModule(String(i), m));
  }
  forward(x: Tensor): ModuleOutput {
    return this.forwardCapture(x, []).output;
  }

  override setModule(name: string, m: Module): void {
    super.setModule(name, m);
    const i = Number(name);
    if (Number.isInteger(i) && this.layers[i]) this.layers[i] = m;
  }

  /**
   * forward, also returning the outputs of the layers at `taps` (indices into `layers`), e.g. a
   * hidden representation for distillation. A tapped Linear/Conv2d is not fused with its ReLU, so
   * the tap sees the pre-activation output as it would in PyTorch.
   */
  forwardCapture(
    x: Tensor,
    taps: readonly number[],
  ): {
    /** The model's output. */
    output: Tensor;
    /** The tapped layers' outputs, in the order of `taps`. */
    taps: Tensor[];
  } {
    for (const t of taps) {
      if (!(Number.isInteger(t) && t >= 0 && t < this.layers.length)) {
        throw new Error(`kdgpu: Sequential: tap ${t} is not a layer index (0…${this.layers.length - 1})`);
      }
    }
    const captured: Tensor[] = new Array(taps.length);
    const capture = (i: number, h: Tensor) => taps.forEach((t, k) => t === i && (captured[k] = h));
    let h = x;
    for (let i = 0; i < this.layers.length; i++) {
      const m = this.layers[i];
      const next = this.layers[i + 1];
      // Linear/Conv2d followed by ReLU run as one fused kernel; the ReLU keeps its place (and
      // PyTorch's numbering) in the state_dict.
      if (next instanceof ReLU && isFusable(m) && !m.activation && !taps.includes(i)) {
        const y = m.forwardFused(h, true);
        notifyCall(m, h, y);
        h = y;
        i++;
      } else {
        h = m.call(h);
      }
      capture(i, h);
    }
    return { output: h, taps: captured };
  }
}

interface Fusable {
  activation: 'relu' | undefined;
  forwardFused(x: Tensor, relu: boolean): Tensor;
}

function isFusable(m: Module): m is Module & Fusable {
  return typeof (m as unknown as Fusable).forwardFused === 'function';
}
