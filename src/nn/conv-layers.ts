/** Convolution, pooling and dropout layers (PyTorch names and NCHW layout). */
import { conv2d, type Conv2dOptions, type IntPair } from '../autograd/ops-conv.js';
import { dropout } from '../autograd/ops-dropout.js';
import { avgPool1d, avgPool2d, globalAvgPool2d, maxPool2d, type Pool2dOptions } from '../autograd/ops-pool.js';
import type { Tensor } from '../autograd/tensor.js';
import { initBias, initWeight } from './init.js';
import { rngOf, type LayerInit } from './layers.js';
import { Module } from './module.js';

export interface Conv2dLayerOptions extends LayerInit, Omit<Conv2dOptions, 'relu'> {
  bias?: boolean;
  /** Fuse a ReLU into the convolution kernel. */
  activation?: 'relu';
}

export class Conv2d extends Module {
  weight: Tensor;
  bias: Tensor | null;
  readonly kernelSize: [number, number];
  readonly options: Conv2dOptions;
  readonly activation: 'relu' | undefined;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: IntPair,
    opts: Conv2dLayerOptions = {},
  ) {
    super();
    const k: [number, number] = typeof kernelSize === 'number' ? [kernelSize, kernelSize] : [kernelSize[0], kernelSize[1]];
    if (![inChannels, outChannels, ...k].every((v) => Number.isInteger(v) && v >= 1)) {
      throw new Error(`kdgpu: Conv2d(${inChannels}, ${outChannels}, ${JSON.stringify(kernelSize)}): channels and kernel size must be positive integers`);
    }
    if ((opts.groups ?? 1) !== 1) throw new Error('kdgpu: Conv2d: only groups = 1 is supported');
    this.kernelSize = k;
    const rng = rngOf(opts);
    const scheme = opts.init ?? 'pytorch';
    const shape = [outChannels, inChannels, k[0], k[1]];
    this.weight = this.registerParameter('weight', initWeight(shape, scheme, rng))!;
    this.bias = opts.bias === false ? null : this.registerParameter('bias', initBias(outChannels, shape, scheme, rng));
    this.options = { stride: opts.stride, padding: opts.padding, dilation: opts.dilation };
    this.activation = opts.activation;
  }

  forward(x: Tensor): Tensor {
    return this.forwardFused(x, this.activation === 'relu');
  }

  /** The convolution with the ReLU fused in (Sequential uses it for Conv2d → ReLU). */
  forwardFused(x: Tensor, relu: boolean): Tensor {
    return conv2d(x, this.weight, this.bias, { ...this.options, relu });
  }

  override describe(): string {
    return `Conv2d(${this.inChannels} → ${this.outChannels}, ${this.kernelSize.join('×')})`;
  }
}

export class MaxPool2d extends Module {
  constructor(readonly options: Pool2dOptions) {
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
    readonly kernel: number,
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
  constructor(readonly p = 0.5) {
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
