/**
 * A whole training run as one call: a seeded, shuffled loader over a dataset, an optimizer by name,
 * `fit`, and the final test metrics — with optional validation, checkpoints and resuming, and a
 * stop signal. The kd workflows run on it; so do `kdgpu train` and the demo's teacher.
 *
 * The seed fixes the shuffle and the dropout stream, so two runs with the same seed see the same
 * batches and masks.
 */
import type { AugmentOptions } from '../autograd/ops-augment.js';
import { dropoutSeed } from '../autograd/ops-dropout.js';
import type { Tensor } from '../autograd/tensor.js';
import { GpuLoader, type ArrayDataset } from '../data/dataset.js';
import type { ClassificationMetrics } from './metrics.js';
import type { Module } from './module.js';
import { createOptimizer, type OptimizerName } from './optim-factory.js';
import type { Optimizer } from './optim.js';
import { evaluate, fit, type EpochLog, type FitResult, type LossFn, type TrainCallbacks } from './train.js';

/** Options of `trainClassifier`. */
export interface TrainClassifierOptions {
  /** Last epoch to train (a resumed run continues up to it). */
  epochs: number;
  /** Default 256. */
  batchSize?: number;
  /** Default 'adam'; or a function building any optimizer from the parameters and the learning rate. */
  optimizer?: OptimizerName | ((params: Tensor[], lr: number) => Optimizer);
  /** Default: `defaultLearningRate` of the optimizer (1e-3 for Adam/AdamW, 0.01 for SGD). */
  lr?: number;
  /** SGD momentum (see `createOptimizer`). */
  momentum?: number;
  /** Weight decay (see `createOptimizer`). */
  weightDecay?: number;
  /** Seeds the shuffle and the dropout stream. Default 0. */
  seed?: number;
  /** Drop the last incomplete batch of each epoch. Default false. */
  dropLast?: boolean;
  /** Training loss (default cross-entropy on the logits). */
  loss?: LossFn;
  /** Evaluated after every epoch. */
  validation?: ArrayDataset;
  /** Final metrics on this set, when given. */
  test?: ArrayDataset;
  /** Evaluated on `validation` and `test` instead of the trained model (e.g. a view of it). */
  evalModel?: Module;
  /** Progress hooks, called in order. */
  callbacks?: TrainCallbacks[];
  /** Steps between loss readbacks for callbacks (0: only at epoch ends). Default 50. */
  logEvery?: number;
  /** Random augmentation of every training batch (seeded by `seed` unless given). */
  augment?: AugmentOptions;
  /** Called after every epoch, and at a stop by `signal` (mid-epoch), with a checkpoint (weights, optimizer, shuffle and RNG state). */
  checkpoint?: (bytes: Uint8Array, epoch: number) => void | Promise<void>;
  /** Continue from a checkpoint (as written by `checkpoint`), with the same model, data and batch size. */
  resumeFrom?: Uint8Array;
  /** Names the checkpoint being resumed in errors (e.g. its path). Default 'checkpoint'. */
  resumeName?: string;
  /** Set `stopped` to end training within a few steps (a Stop button, Ctrl-C); see `fit`. */
  signal?: {
    /** True to stop. */
    stopped: boolean;
  };
  /**
   * What a stop by `signal` leads to: 'evaluate' (default) computes the test metrics as after a
   * full run; 'checkpoint' skips them and returns the state reached as `checkpoint`, to resume.
   */
  onStop?: 'evaluate' | 'checkpoint';
}

/** What `trainClassifier` returns. */
export interface TrainClassifierResult {
  /** One log per epoch trained in this call. */
  history: EpochLog[];
  /** Why training ended. */
  stopReason: FitResult['stopReason'];
  /** The learning rate the optimizer started with. */
  lr: number;
  /** Metrics on `test` (absent without a test set, or after a stop with `onStop: 'checkpoint'`). */
  test?: ClassificationMetrics & {
    /** Mean cross-entropy. */
    loss: number;
  };
  /** After a stop by `signal` with `onStop: 'checkpoint'`: the state reached, for `resumeFrom`. */
  checkpoint?: Uint8Array;
}

/** Trains `model` on `train` (see the file comment); the optimizer and loader are disposed at the end. */
export async function trainClassifier(model: Module, train: ArrayDataset, opts: TrainClassifierOptions): Promise<TrainClassifierResult> {
  if (!(Number.isInteger(opts.epochs) && opts.epochs >= 1)) throw new Error(`kdgpu: trainClassifier: epochs must be a positive integer, got ${String(opts.epochs)}`);
  const seed = opts.seed ?? 0;
  dropoutSeed(seed);
  const loader = new GpuLoader(train, { batchSize: opts.batchSize ?? 256, shuffle: true, seed, dropLast: opts.dropLast });
  const params = model.trainableParameters();
  const o = opts.optimizer ?? 'adam';
  const optimizer = typeof o === 'function' ? o(params, opts.lr ?? 1e-3) : createOptimizer(o, params, { lr: opts.lr, momentum: opts.momentum, weightDecay: opts.weightDecay });
  try {
    const lr = optimizer.lr;
    const evalModel = opts.evalModel ?? model;
    const { history, stopReason, checkpoint } = await fit(model, loader, {
      optimizer,
      epochs: opts.epochs,
      loss: opts.loss,
      validation: opts.validation,
      validationModel: evalModel,
      callbacks: opts.callbacks,
      logEvery: opts.logEvery,
      signal: opts.signal,
      augment: opts.augment ? { seed, ...opts.augment } : undefined,
      checkpoint: opts.checkpoint,
      resumeFrom: opts.resumeFrom,
      resumeName: opts.resumeName,
    });
    if (stopReason === 'signal' && opts.onStop === 'checkpoint') {
      return { history, stopReason, lr, checkpoint };
    }
    const test = opts.test ? await evaluate(evalModel, opts.test) : undefined;
    return { history, stopReason, lr, ...(test ? { test } : {}) };
  } finally {
    optimizer.dispose();
    loader.dispose();
  }
}
