/** One place that builds an optimizer by name, with one set of defaults (the CLI and the kd workflows use it). */
import type { Tensor } from '../autograd/tensor.js';
import { Adam, AdamW, SGD, type Optimizer } from './optim.js';

/** Built-in optimizers, with PyTorch's default hyperparameters apart from the learning rate. */
export type OptimizerName = 'adam' | 'adamw' | 'sgd';

/** The optimizer names `createOptimizer` accepts. */
export const OPTIMIZER_NAMES: readonly OptimizerName[] = ['adam', 'adamw', 'sgd'];

/** Options of `createOptimizer`. */
export interface CreateOptimizerOptions {
  /** Learning rate (default `defaultLearningRate(name)`). */
  lr?: number;
  /** SGD momentum (default 0); an error for the other optimizers. */
  momentum?: number;
  /** Adam and SGD: L2 penalty; AdamW: decoupled decay (default 0, AdamW 0.01). */
  weightDecay?: number;
}

/** The default learning rate: 1e-3 for Adam and AdamW, 0.01 for SGD. */
export function defaultLearningRate(name: OptimizerName): number {
  return name === 'sgd' ? 0.01 : 1e-3;
}

/** Builds the named optimizer over `params`. */
export function createOptimizer(name: OptimizerName, params: Tensor[], opts: CreateOptimizerOptions = {}): Optimizer {
  if (!OPTIMIZER_NAMES.includes(name)) throw new Error(`kdgpu: createOptimizer: optimizer must be one of ${OPTIMIZER_NAMES.join(', ')}, got '${String(name)}'`);
  if (opts.momentum !== undefined && name !== 'sgd') throw new Error(`kdgpu: createOptimizer: momentum applies to 'sgd', not '${name}'`);
  const lr = opts.lr ?? defaultLearningRate(name);
  // Unset weight decay keeps each optimizer's own default (AdamW's is 0.01).
  const wd = opts.weightDecay === undefined ? {} : { weightDecay: opts.weightDecay };
  if (name === 'sgd') return new SGD(params, { lr, momentum: opts.momentum ?? 0, ...wd });
  return name === 'adamw' ? new AdamW(params, { lr, ...wd }) : new Adam(params, { lr, ...wd });
}
