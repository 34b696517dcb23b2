/** Convolution, pooling and dropout layers (PyTorch names and NCHW layout). */
import { conv2d, type Conv2dOptions, type IntPair } from '../autograd/ops-conv.js';
import { dropout } from '../autograd/ops-dropout.js';
import { avgPool1d, avgPool2d, globalAvgPool2d, maxPool2d, type Pool2dOptions } from '../autograd/ops-pool.js';
import type { Tensor } from '../autograd/tensor.js';
import { initBias, initWeight } from './init.js';
import { rngOf, type LayerInit } from './layers.js';
import { Module } from './module.js';

/** Conv2d options: stride, padding, dilation and groups (as torch.nn.Conv2d), initialization, bias. */
export interface Conv2dLayerOptions extends LayerInit, Omit<Conv2dOptions, 'relu' | 'relu6'> {
  /** Whether the layer has a learnable bias (default true). */
  bias?: boolean;
  /** Fuse a ReLU or ReLU6 into the convolution. */
  activation?: 'relu' | 'relu6';
}

/** 2-D convolution of [N, C, H, W] input (PyTorch's nn.Conv2d), optionally with a fused activation. */
export class Conv2d extends Module {
  /** Kernel [outChannels, inChannels / groups, kh, kw] (PyTorch's layout). */
  weight: Tensor;
  /** Bias [outChannels], or null with `bias: false`. */
  bias: Tensor | null;
  /** Kernel height and width. */
  readonly kernelSize: [number, number];
  /** Stride, padding, dilation and groups passed to the conv2d op. */
  readonly options: Conv2dOptions;
  /** Activation fused into the convolution, if any. */
  readonly activation: 'relu' | 'relu6' | undefined;
  /** Number of channel groups (inChannels for a depthwise convolution). */
  readonly groups: number;

  constructor(
    /** Input channels C. */
    readonly inChannels: number,
    /** Output channels. */
    readonly outChannels: number,
    kernelSize: IntPair,
    opts: Conv2dLayerOptions = {},
  ) {
    super();
    const k: [number, number] = typeof kernelSize === 'number' ? [kernelSize, kernelSize] : [kernelSize[0], kernelSize[1]];
    if (![inChannels, outChannels, ...k].every((v) => Number.isInteger(v) && v >= 1)) {
      throw new Error(`kdgpu: Conv2d(${inChannels}, ${outChannels}, ${JSON.stringify(kernelSize)}): channels and kernel size must be positive integers`);
    }
    const groups = opts.groups ?? 1;
    if (!Number.isInteger(groups) || groups < 1 || inChannels % groups !== 0 || outChannels % groups !== 0) {
      throw new Error(
        `kdgpu: Conv2d(${inChannels}, ${outChannels}, ${JSON.stringify(kernelSize)}): groups = ${JSON.stringify(groups)} must be a positive integer dividing both channel counts`,
      );
    }
    if (opts.activation !== undefined && opts.activation !== 'relu' && opts.activation !== 'relu6') {
      throw new Error(`kdgpu: Conv2d(${inChannels}, ${outChannels}, ${JSON.stringify(kernelSize)}): activation must be 'relu' or 'relu6', got ${JSON.stringify(opts.activation)}`);
    }
    this.kernelSize = k;
    this.groups = groups;
    const rng = rngOf(opts);
    const scheme = opts.init ?? 'pytorch';
    // PyTorch's layout; fan-in (init.ts's fans) is then (in / groups)·kh·kw, as in PyTorch.
    const shape = [outChannels, inChannels / groups, k[0], k[1]];
    this.weight = this.registerParameter('weight', initWeight(shape, scheme, rng))!;
    this.bias = opts.bias === false ? null : this.registerParameter('bias', initBias(outChannels, shape, scheme, rng));
    this.options = { stride: opts.stride, padding: opts.padding, dilation: opts.dilation, groups };
    this.activation = opts.activation;
  }

  forward(x: Tensor): Tensor {
    return this.forwardFused(x, false);
  }

  /**
   * The convolution with its activation, and with a ReLU fused in when `relu` (Sequential uses it
   * for Conv2d → ReLU; a ReLU after ReLU6 changes nothing).
   */
  forwardFused(x: Tensor, relu: boolean): Tensor {
    const activation = this.activation ?? (relu ? 'relu' : undefined);
    return conv2d(x, this.weight, this.bias, { ...this.options, relu: activation === 'relu', relu6: activation === 'relu6' });
  }

  override describe(): string {
    return `Conv2d(${this.inChannels} → ${this.outChannels}, ${this.kernelSize.join('×')}${this.groups > 1 ? `, groups ${this.groups}` : ''})`;
  }
}

/** 2-D max pooling of [N, C, H, W] (PyTorch's nn.MaxPool2d). */
export class MaxPool2d extends Module {
  constructor(
    /** Kernel size, stride and padding. */
    readonly options: Pool2dOptions,
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return maxPool2d(x, this.options);
  }
  /** Kernel area (the TensorFlow profiler counts k² ops per output). */
  get kernelArea(): number {
    const k = this.options.kernel;
    return typeof k === 'number' ? k * k : k[0] * k[1];
  }
}

/** 2-D average pooling of [N, C, H, W] (PyTorch's nn.AvgPool2d). */
export class AvgPool2d extends MaxPool2d {
  override forward(x: Tensor): Tensor {
    return avgPool2d(x, this.options);
  }
}

/** N×C×H×W → N×C. */
export class GlobalAvgPool2d extends Module {
  forward(x: Tensor): Tensor {
    return globalAvgPool2d(x);
  }
}

/** Average pooling over the last axis (shrinks a hidden vector [N, D]). */
export class AvgPool1d extends Module {
  constructor(
    /** Window length. */
    readonly kernel: number,
    /** Step between windows (default: `kernel`). */
    readonly stride?: number,
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return avgPool1d(x, { kernel: this.kernel, stride: this.stride });
  }
}

/** Inverted dropout in training mode, identity in eval mode. */
export class Dropout extends Module {
  constructor(
    /** Probability of zeroing an element (default 0.5); survivors are scaled by 1 / (1 − p). */
    readonly p = 0.5,
  ) {
    super();
    if (!(p >= 0 && p <= 1)) throw new Error(`kdgpu: Dropout: p must be in [0, 1], got ${p}`);
  }
  forward(x: Tensor): Tensor {
    return dropout(x, { p: this.p, training: this.training });
  }
  override describe(): string {
    return `Dropout(${this.p})`;
  }
}
