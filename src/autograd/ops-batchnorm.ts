/**
 * Batch normalization with PyTorch's F.batch_norm semantics, for [N, C, H, W] (batchNorm2d) and
 * [N, C] or [N, C, L] (batchNorm1d).
 *
 * Training (`training: true`): each channel is normalized with the batch's mean and biased
 * variance over every axis but C, x̂ = (x − μ)/√(σ² + eps), y = weight·x̂ + bias. When running
 * statistics are given they are updated in place, on the GPU, by work recorded with the forward
 * (no readback): running ← (1 − m)·running + m·batch, the variance term being the unbiased
 * σ²·n/(n − 1) (PyTorch; `unbiasedRunningVar: false` takes σ², as Keras 3 does), and
 * `numBatchesTracked` (int32 scalar) goes up by one; momentum null makes m = 1/numBatchesTracked
 * (the cumulative average). Gradients flow through μ and σ² to x, and to weight and bias.
 * Evaluation (`training: false`, the default as in F.batch_norm): the running statistics
 * normalize, nothing is updated, and dx = weight/√(running_var + eps)·dy.
 */
import { runBatchNormApply, runBatchNormEvalCoef, runBatchNormStats, type BatchNormGeometry } from '../kernels/batchnorm.js';
import { runBatchNormBackward } from '../kernels/batchnorm-grad.js';
import { record } from './graph.js';
import { fmt } from './shape.js';
import { fromBuffer, type Tensor } from './tensor.js';

/** Options for `batchNorm2d` and `batchNorm1d`. */
export interface BatchNormOptions {
  /** Normalize with the batch's statistics (and update the running ones, when given). Default false. */
  training?: boolean;
  /** Weight of the batch in the running averages (PyTorch's convention; Keras's is 1 − this). Default 0.1; null: cumulative average. */
  momentum?: number | null;
  /** Added to the variance. Default 1e-5. */
  eps?: number;
  /** int32 scalar incremented by each training call that updates running statistics; required for momentum null. */
  numBatchesTracked?: Tensor | null;
  /** The running variance takes the unbiased batch variance σ²·n/(n − 1) (default, PyTorch) or σ². */
  unbiasedRunningVar?: boolean;
}

function checkParam(op: string, what: string, t: Tensor | null, C: number, x: Tensor): void {
  if (!t) return;
  t.storageFor(op);
  if (t.dtype !== 'float32' || t.rank !== 1 || t.shape[0] !== C) {
    throw new Error(`kdgpu: ${op}: ${what} must be a float32 tensor of shape [${C}] for input ${fmt(x.shape)}, got ${t.dtype} ${fmt(t.shape)}`);
  }
}

function batchNorm(
  op: string,
  geo: BatchNormGeometry,
  x: Tensor,
  weight: Tensor | null,
  bias: Tensor | null,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  opts: BatchNormOptions,
): Tensor {
  const { C } = geo;
  checkParam(op, 'weight', weight, C, x);
  checkParam(op, 'bias', bias, C, x);
  checkParam(op, 'runningMean', runningMean, C, x);
  checkParam(op, 'runningVar', runningVar, C, x);
  if ((weight === null) !== (bias === null)) {
    throw new Error(`kdgpu: ${op}: pass both weight and bias or neither (input ${fmt(x.shape)}); for an affine map without one of them, pass ones or zeros`);
  }
  if ((runningMean === null) !== (runningVar === null)) {
    throw new Error(`kdgpu: ${op}: pass both runningMean and runningVar or neither (input ${fmt(x.shape)})`);
  }
  const training = opts.training ?? false;
  const eps = opts.eps ?? 1e-5;
  const momentum = opts.momentum === undefined ? 0.1 : opts.momentum;
  if (typeof eps !== 'number' || !(eps >= 0) || !Number.isFinite(eps)) throw new Error(`kdgpu: ${op}: eps must be a finite number ≥ 0, got ${String(eps)} (input ${fmt(x.shape)})`);
  if (momentum !== null && (typeof momentum !== 'number' || !(momentum >= 0 && momentum <= 1))) {
    throw new Error(`kdgpu: ${op}: momentum must be a number in [0, 1] or null (cumulative average), got ${String(momentum)} (input ${fmt(x.shape)})`);
  }
  const n = geo.N * geo.S;
  const e = x.engine;
  let coef;
  if (training) {
    if (n <= 1) {
      throw new Error(`kdgpu: ${op}: expected more than 1 value per channel when training, got input ${fmt(x.shape)} (${n} per channel); use eval mode or a larger batch`);
    }
    const counter = opts.numBatchesTracked ?? null;
    if (counter) {
      counter.storageFor(op);
      if (counter.dtype !== 'int32' || counter.size !== 1) {
        throw new Error(`kdgpu: ${op}: numBatchesTracked must be an int32 tensor with one element, got ${counter.dtype} ${fmt(counter.shape)}`);
      }
    }
    if (runningMean && momentum === null && !counter) {
      throw new Error(`kdgpu: ${op}: momentum null (cumulative average) needs numBatchesTracked to count the batches (input ${fmt(x.shape)})`);
    }
    coef = runBatchNormStats(e, x.bufferFor(op), geo, {
      eps,
      weight: weight?.bufferFor(op) ?? null,
      bias: bias?.bufferFor(op) ?? null,
      running: runningMean
        ? {
            mean: runningMean.bufferFor(op),
            var: runningVar!.bufferFor(op),
            count: counter ? counter.bufferFor(op) : null,
            momentum,
            unbiased: opts.unbiasedRunningVar ?? true,
          }
        : null,
    });
  } else {
    if (!runningMean) {
      throw new Error(`kdgpu: ${op}: evaluation mode (training: false) normalizes with running statistics; pass runningMean and runningVar, or training: true (input ${fmt(x.shape)})`);
    }
    coef = runBatchNormEvalCoef(e, C, {
      eps,
      runningMean: runningMean.bufferFor(op),
      runningVar: runningVar!.bufferFor(op),
      weight: weight?.bufferFor(op) ?? null,
      bias: bias?.bufferFor(op) ?? null,
    });
  }
  const y = fromBuffer(e, runBatchNormApply(e, x.bufferFor(op), coef, geo), x.shape, 'float32');
  // the per-channel coefficients (see kernels/batchnorm.ts): all the backward pass needs besides x
  const coefT = fromBuffer(e, coef, [2, C, 4], 'float32');
  const inputs = weight ? [x, weight, bias!] : [x];
  const desc = `${op} ${fmt(x.shape)} ${training ? 'batch statistics' : 'running statistics'} eps=${eps}`;
  const result = record(desc, inputs, y, [x, coefT], (g, [xs, cs], needs) => {
    const want = { input: needs[0], params: inputs.length > 1 && (needs[1] || needs[2]), batchStats: training };
    const r = runBatchNormBackward(e, g.bufferFor(op), xs.bufferFor(op), cs.bufferFor(op), geo, want);
    const grads: (Tensor | null)[] = [r.dx ? fromBuffer(e, r.dx, x.shape, 'float32') : null];
    if (inputs.length > 1) {
      grads.push(r.dWeight ? fromBuffer(e, r.dWeight, [C], 'float32') : null, r.dBias ? fromBuffer(e, r.dBias, [C], 'float32') : null);
    }
    return grads;
  });
  coefT.dispose(); // the tape holds its own handle when it needs one
  return result;
}

function checkInput(op: string, x: Tensor, ranks: readonly number[], expected: string): void {
  x.storageFor(op);
  if (x.dtype !== 'float32') throw new Error(`kdgpu: ${op}: expects a float32 tensor, got ${x.dtype} of shape ${fmt(x.shape)}`);
  if (!ranks.includes(x.rank)) throw new Error(`kdgpu: ${op}: expects ${expected}, got shape ${fmt(x.shape)} (rank ${x.rank})`);
}

/** Batch normalization of [N, C, H, W] per channel C; see the module comment. */
export function batchNorm2d(
  x: Tensor,
  weight: Tensor | null,
  bias: Tensor | null,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  opts: BatchNormOptions = {},
): Tensor {
  const op = 'batchNorm2d';
  checkInput(op, x, [4], 'a 4-D input [N, C, H, W]');
  const [N, C, H, W] = x.shape;
  return batchNorm(op, { N, C, S: H * W }, x, weight, bias, runningMean, runningVar, opts);
}

/** Batch normalization of [N, C] or [N, C, L] per channel C; see the module comment. */
export function batchNorm1d(
  x: Tensor,
  weight: Tensor | null,
  bias: Tensor | null,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  opts: BatchNormOptions = {},
): Tensor {
  const op = 'batchNorm1d';
  checkInput(op, x, [2, 3], 'a 2-D input [N, C] or a 3-D input [N, C, L]');
  const [N, C, L = 1] = x.shape;
  return batchNorm(op, { N, C, S: L }, x, weight, bias, runningMean, runningVar, opts);
}
