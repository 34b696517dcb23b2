/**
 * BatchNorm2d and BatchNorm1d layers: PyTorch's nn.BatchNorm2d/1d, with the same state_dict
 * names (weight, bias, running_mean, running_var, num_batches_tracked — the counter is int32
 * here, int64 in PyTorch; int64 files load into it).
 *
 * Keras conventions (`keras: true`): epsilon 1e-3 and Keras momentum 0.99, which is PyTorch
 * momentum 1 − 0.99 = 0.01 (Keras keeps `moving = moving·m + batch·(1 − m)`). The running
 * variance differs between Keras versions, and this follows each:
 * - tf.keras (TF 2.x, `keras: true` or 'tf.keras'): 4-D inputs take the fused kernel, whose batch
 *   variance carries Bessel's correction (keras' `_fused_batch_norm` keeps it, as
 *   `_bessels_correction_test_only` is True), so moving_variance gets the unbiased variance —
 *   PyTorch's rule; 2-D/3-D inputs take the unfused path (tf.nn.moments, the biased variance).
 * - Keras 3 ('keras3'): ops.moments, the biased variance, for every rank.
 * `runningVar: 'unbiased' | 'biased'` overrides either.
 */
import { ones, zeros } from '../autograd/creation.js';
import { batchNorm1d, batchNorm2d, type BatchNormOptions } from '../autograd/ops-batchnorm.js';
import type { Tensor } from '../autograd/tensor.js';
import { Module } from './module.js';

/** Options of BatchNorm2d / BatchNorm1d (PyTorch's arguments, plus the Keras conventions). */
export interface BatchNormLayerOptions {
  /** Default 1e-5 (1e-3 with `keras`). */
  eps?: number;
  /**
   * Weight of each batch in the running averages, PyTorch's convention: default 0.1 (0.01 with
   * `keras`, i.e. Keras's momentum 0.99); null: the cumulative average over all batches.
   */
  momentum?: number | null;
  /** Learnable per-channel weight (ones) and bias (zeros). Default true. */
  affine?: boolean;
  /**
   * Keep running statistics (default true). Without them the batch statistics normalize in eval
   * mode too, and the layer has no buffers.
   */
  trackRunningStats?: boolean;
  /** Keras's defaults and running-variance rule (see the module comment); true means tf.keras. */
  keras?: boolean | 'tf.keras' | 'keras3';
  /** Which batch variance updates running_var; default 'unbiased' (PyTorch), or as `keras` says. */
  runningVar?: 'unbiased' | 'biased';
}

/** What BatchNorm2d and BatchNorm1d share (everything but the input's rank). */
export abstract class BatchNorm extends Module {
  /** Per-channel scale γ [numFeatures] (parameter 'weight'), or null without `affine`. */
  weight: Tensor | null;
  /** Per-channel shift β [numFeatures] (parameter 'bias'), or null without `affine`. */
  bias: Tensor | null;
  /** Running mean [numFeatures] (buffer 'running_mean'), or null without running statistics. */
  runningMean: Tensor | null;
  /** Running variance [numFeatures] (buffer 'running_var'), or null without running statistics. */
  runningVar: Tensor | null;
  /** Count of training batches seen, an int32 scalar (buffer 'num_batches_tracked'), or null. */
  numBatchesTracked: Tensor | null;
  /** Added to the variance before the square root. */
  readonly eps: number;
  /** Weight of each batch in the running averages (PyTorch's convention); null: cumulative average. */
  readonly momentum: number | null;
  /** Whether the layer has a learnable weight and bias. */
  readonly affine: boolean;
  /** Whether the layer keeps running statistics (buffers) for eval mode. */
  readonly trackRunningStats: boolean;
  /** Whether running_var takes the unbiased batch variance. */
  readonly unbiasedRunningVar: boolean;
  /**
   * Use (and never update) the running statistics even in training mode — Keras's frozen
   * BatchNormalization (trainable = False). The weight and bias still get gradients; exclude
   * them from the optimizer to freeze them too. (Without running statistics there are none to
   * use: such a layer keeps normalizing with the batch's.)
   */
  inferenceOnly = false;

  constructor(
    /** Number of channels C (dimension 1 of the input). */
    readonly numFeatures: number,
    opts: BatchNormLayerOptions,
    /** Whether tf.keras would run this rank through its fused (Bessel-corrected) kernel. */
    fusedInKeras: boolean,
  ) {
    super();
    const name = `${this.constructor.name}(${numFeatures})`;
    if (!Number.isInteger(numFeatures) || numFeatures < 1) throw new Error(`kdgpu: ${name}: numFeatures must be a positive integer`);
    const keras = opts.keras === true ? 'tf.keras' : opts.keras || null;
    if (keras !== null && keras !== 'tf.keras' && keras !== 'keras3') {
      throw new Error(`kdgpu: ${name}: keras must be true, 'tf.keras' or 'keras3', got ${JSON.stringify(opts.keras)}`);
    }
    this.eps = opts.eps ?? (keras ? 1e-3 : 1e-5);
    this.momentum = opts.momentum === undefined ? (keras ? 1 - 0.99 : 0.1) : opts.momentum;
    if (typeof this.eps !== 'number' || !(this.eps >= 0) || !Number.isFinite(this.eps)) throw new Error(`kdgpu: ${name}: eps must be a finite number ≥ 0, got ${String(this.eps)}`);
    if (this.momentum !== null && (typeof this.momentum !== 'number' || !(this.momentum >= 0 && this.momentum <= 1))) {
      throw new Error(`kdgpu: ${name}: momentum must be in [0, 1] (PyTorch's convention: Keras's momentum 0.99 is 0.01 here) or null, got ${String(this.momentum)}`);
    }
    if (opts.runningVar !== undefined && opts.runningVar !== 'unbiased' && opts.runningVar !== 'biased') {
      throw new Error(`kdgpu: ${name}: runningVar must be 'unbiased' or 'biased', got ${JSON.stringify(opts.runningVar)}`);
    }
    const kerasUnbiased = keras === 'tf.keras' && fusedInKeras;
    this.unbiasedRunningVar = opts.runningVar ? opts.runningVar === 'unbiased' : keras ? kerasUnbiased : true;
    this.affine = opts.affine ?? true;
    this.trackRunningStats = opts.trackRunningStats ?? true;
    this.weight = this.affine ? this.registerParameter('weight', ones([numFeatures])) : null;
    this.bias = this.affine ? this.registerParameter('bias', zeros([numFeatures])) : null;
    if (this.trackRunningStats) {
      this.runningMean = this.registerBuffer('running_mean', zeros([numFeatures]));
      this.runningVar = this.registerBuffer('running_var', ones([numFeatures]));
      this.numBatchesTracked = this.registerBuffer('num_batches_tracked', zeros([], { dtype: 'int32' }));
    } else {
      this.runningMean = this.runningVar = this.numBatchesTracked = null;
    }
  }

  /** The autograd op for this input rank (batchNorm2d or batchNorm1d). */
  protected abstract op: typeof batchNorm2d;

  forward(x: Tensor): Tensor {
    if (x.rank >= 2 && x.shape[1] !== this.numFeatures) {
      throw new Error(`kdgpu: ${this.constructor.name}(${this.numFeatures}): input [${x.shape.join(', ')}] has ${x.shape[1]} channels (dimension 1), expected ${this.numFeatures}`);
    }
    // Batch statistics in training (unless frozen), and always when there are no running ones.
    const batchStats = (this.training && !this.inferenceOnly) || !this.trackRunningStats;
    const update = batchStats && this.trackRunningStats;
    const opts: BatchNormOptions = {
      training: batchStats,
      momentum: this.momentum,
      eps: this.eps,
      numBatchesTracked: update ? this.numBatchesTracked : null,
      unbiasedRunningVar: this.unbiasedRunningVar,
    };
    const useRunning = update || !batchStats;
    return this.op(x, this.weight, this.bias, useRunning ? this.runningMean : null, useRunning ? this.runningVar : null, opts);
  }

  /** Keeps the runningMean/runningVar/numBatchesTracked fields on the buffers loadStateDict sets. */
  override setBuffer(name: string, t: Tensor): void {
    super.setBuffer(name, t);
    if (name === 'running_mean') this.runningMean = t;
    else if (name === 'running_var') this.runningVar = t;
    else if (name === 'num_batches_tracked') this.numBatchesTracked = t;
  }

  override describe(): string {
    return `${this.constructor.name}(${this.numFeatures}${this.affine ? '' : ', affine=false'}${this.trackRunningStats ? '' : ', no running stats'})`;
  }
}

/** Batch normalization of [N, C, H, W] over N, H and W per channel (PyTorch's nn.BatchNorm2d). */
export class BatchNorm2d extends BatchNorm {
  protected op = batchNorm2d;
  constructor(numFeatures: number, opts: BatchNormLayerOptions = {}) {
    super(numFeatures, opts, true);
  }
}

/** Batch normalization of [N, C] or [N, C, L] per channel C (PyTorch's nn.BatchNorm1d). */
export class BatchNorm1d extends BatchNorm {
  protected op = batchNorm1d;
  constructor(numFeatures: number, opts: BatchNormLayerOptions = {}) {
    super(numFeatures, opts, false);
  }
}
