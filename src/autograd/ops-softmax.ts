/**
 * softmax / logSoftmax along an axis, the fused softmax-cross-entropy with hard or soft targets
 * and a temperature, and klDiv (torch.nn.functional.kl_div), with their gradients.
 */
import { KL, runSoftmax, runSoftmaxBackward, runSoftmaxCrossEntropy, runSoftmaxCrossEntropyBackward } from '../kernels/softmax.js';
import type { CrossEntropyReduction, SoftmaxDims, TargetKind } from '../kernels/softmax.js';
import { registerDeviceCheck } from '../gpu/engine.js';
import { record } from './graph.js';
import { elementwise, mul } from './ops-elementwise.js';
import { mean, sum } from './ops-reduce.js';
import { fmt, normAxis, sameShape } from './shape.js';
import { fromBuffer, Storage, Tensor } from './tensor.js';

export type { CrossEntropyReduction } from '../kernels/softmax.js';

function expectFloat(op: string, x: Tensor, what = 'input'): void {
  x.storageFor(op);
  if (x.dtype !== 'float32') throw new Error(`kdgpu: ${op}: ${what} must be float32, got ${x.dtype} of shape ${fmt(x.shape)}`);
}

function dimsOf(shape: readonly number[], axis: number): SoftmaxDims {
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  return { outer, L: shape[axis], inner };
}

function softmaxOp(op: 'softmax' | 'logSoftmax', x: Tensor, axis: number): Tensor {
  expectFloat(op, x);
  if (x.rank === 0) throw new Error(`kdgpu: ${op}: expects a tensor of rank ≥ 1, got a scalar`);
  const a = normAxis(op, axis, x.rank);
  const dims = dimsOf(x.shape, a);
  const log = op === 'logSoftmax';
  const e = x.engine;
  const y = fromBuffer(e, runSoftmax(e, x.bufferFor(op), dims, log), x.shape, 'float32');
  const shape = x.shape;
  return record(`${op} ${fmt(shape)} axis ${a}`, [x], y, [y], (g, [ys]) => [
    fromBuffer(e, runSoftmaxBackward(e, g.bufferFor(op), ys.bufferFor(op), dims, log), shape, 'float32'),
  ]);
}

/** exp(x − max) / Σ exp(x − max) along `axis` (default: the last). */
export function softmax(x: Tensor, axis = -1): Tensor {
  return softmaxOp('softmax', x, axis);
}

/** (x − max) − log Σ exp(x − max) along `axis` (default: the last). */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return softmaxOp('logSoftmax', x, axis);
}

// ---- fused softmax-cross-entropy ------------------------------------------------------------

/** The kernel's record of labels out of range: (code, row, label, N, C, count). */
const LABEL_CHECK = registerDeviceCheck((r) => {
  const [, row, label, N, C, count] = r;
  return new Error(
    `kdgpu: softmaxCrossEntropy: label ${label | 0} at row ${row} is out of range for logits [${N}, ${C}], labels [${N}]; expected int32 labels in [0, ${C}). ` +
      `Found on the GPU: ${count} bad label${count === 1 ? '' : 's'} since the previous readback; those rows' loss and gradient are NaN.`,
  );
});

/** Options for `softmaxCrossEntropy`. */
export interface SoftmaxCrossEntropyOptions {
  /** Temperature T > 0: the loss is taken on logits / T. Default 1. */
  temperature?: number;
  /** Default 'mean' (over the batch). */
  reduction?: CrossEntropyReduction;
}

/** Class labels given on the CPU: checked there (see softmaxCrossEntropy). */
export type HostLabels = Int32Array | readonly number[];

/**
 * Cross-entropy of softmax(logits / T) against `target`, per row:
 *   loss_i = −Σ_j target_ij · log_softmax(logits_i / T)_j,
 * then the mean over the batch (default), the sum, or none ([N]). Matches
 * `F.cross_entropy(logits / T, target, reduction=...)` in PyTorch.
 *
 * `target` is either class labels [N] — an int32 tensor, or an Int32Array / number[] on the CPU —
 * or a float32 soft-target distribution [N, C] (e.g. a teacher's softmax(teacher / T)). The
 * forward is one dispatch (the batch mean/sum included), the backward one dispatch:
 *   d loss / d logits = (softmax(logits / T)·Σ_j target_ij − target) / T · upstream (/ N for mean),
 * which is (softmax − target) / T for targets that sum to 1. A soft target that requires grad
 * gets −log_softmax(logits / T) · upstream from the same dispatch. Multiply by T² yourself for
 * Hinton-style distillation.
 *
 * Labels out of [0, C) are errors, found where the labels are: labels given on the CPU are
 * checked there and throw at once; labels in an int32 tensor are checked by the forward kernel,
 * which makes those rows' loss and gradient NaN and records the first bad label in the engine's
 * device-side check record (Engine.errorFlags). The record rides along with the next readback
 * (`data()`, `item()`, … of any tensor; no extra submission or mapAsync, so a training loop pays
 * nothing), which then throws the Error naming the op, the shapes, the row, the label and the
 * expected range.
 */
export function softmaxCrossEntropy(logits: Tensor, target: Tensor | HostLabels, opts: SoftmaxCrossEntropyOptions = {}): Tensor {
  const op = 'softmaxCrossEntropy';
  expectFloat(op, logits, 'logits');
  if (logits.rank !== 2) {
    throw new Error(`kdgpu: ${op}: logits must be 2-D [N, C], got shape ${fmt(logits.shape)} (rank ${logits.rank})`);
  }
  const [N, C] = logits.shape;
  if (N === 0 || C === 0) throw new Error(`kdgpu: ${op}: logits ${fmt(logits.shape)} are empty; expected N ≥ 1 rows and C ≥ 1 classes`);
  const T = opts.temperature ?? 1;
  if (typeof T !== 'number' || !(T > 0) || !Number.isFinite(T)) {
    throw new Error(`kdgpu: ${op}: temperature must be a finite number > 0, got ${String(T)} (logits ${fmt(logits.shape)})`);
  }
  const reduction = opts.reduction ?? 'mean';
  if (reduction !== 'mean' && reduction !== 'sum' && reduction !== 'none') {
    throw new Error(`kdgpu: ${op}: reduction must be 'mean', 'sum' or 'none', got '${String(reduction)}'`);
  }

  let t: Tensor;
  let ownTarget = false;
  let kind: TargetKind;
  if (!(target instanceof Tensor)) {
    if (!(target instanceof Int32Array) && !Array.isArray(target)) {
      throw new Error(`kdgpu: ${op}: target must be a Tensor, an Int32Array or an array of class labels, got ${typeof target} (logits ${fmt(logits.shape)})`);
    }
    const labels = target as ArrayLike<number>;
    if (labels.length !== N) {
      throw new Error(`kdgpu: ${op}: ${labels.length} labels for logits ${fmt(logits.shape)}; expected ${N} labels (one per row)`);
    }
    for (let i = 0; i < labels.length; i++) {
      const v = labels[i];
      if (!Number.isInteger(v) || v < 0 || v >= C) {
        throw new Error(`kdgpu: ${op}: label ${v} at row ${i} is out of range for logits ${fmt(logits.shape)}; expected an integer in [0, ${C})`);
      }
    }
    const e = logits.engine;
    t = new Tensor(new Storage(e, e.upload(labels instanceof Int32Array ? labels : Int32Array.from(labels))), [N], 'int32');
    ownTarget = true;
    kind = 'labels';
  } else {
    t = target;
    t.storageFor(op);
    if (t.rank === 1) {
      if (t.dtype !== 'int32') {
        throw new Error(`kdgpu: ${op}: class labels must be int32, got ${t.dtype} of shape ${fmt(t.shape)} (logits ${fmt(logits.shape)}); cast them, or pass soft targets of shape [${N}, ${C}]`);
      }
      if (t.shape[0] !== N) {
        throw new Error(`kdgpu: ${op}: labels of shape ${fmt(t.shape)} for logits ${fmt(logits.shape)}; expected int32 labels [${N}]`);
      }
      kind = 'labels';
    } else if (t.rank === 2) {
      if (t.dtype !== 'float32') {
        throw new Error(`kdgpu: ${op}: soft targets must be float32, got ${t.dtype} of shape ${fmt(t.shape)} (logits ${fmt(logits.shape)})`);
      }
      if (!sameShape(t.shape, logits.shape)) {
        throw new Error(`kdgpu: ${op}: soft targets of shape ${fmt(t.shape)} for logits ${fmt(logits.shape)}; expected float32 [${N}, ${C}]`);
      }
      kind = 'probs';
    } else {
      throw new Error(
        `kdgpu: ${op}: target of shape ${fmt(t.shape)} (${t.dtype}) for logits ${fmt(logits.shape)}; expected int32 labels [${N}] or float32 soft targets [${N}, ${C}]`,
      );
    }
  }

  const e = logits.engine;
  const args = {
    logits: logits.bufferFor(op),
    target: t.bufferFor(op),
    kind,
    N,
    C,
    temperature: T,
    reduction,
    // labels from a tensor are checked by the kernel (labels from the CPU were checked above)
    check: kind === 'labels' ? { flags: e.errorFlags(), code: LABEL_CHECK } : undefined,
  };
  const { loss, stats } = runSoftmaxCrossEntropy(e, args);
  const y = fromBuffer(e, loss, reduction === 'none' ? [N] : [], 'float32');
  const statsT = fromBuffer(e, stats, [N, 4], 'float32');
  const targetGrad = kind === 'probs' && t.requiresGrad;
  const inputs = kind === 'probs' ? [logits, t] : [logits];
  const desc = `${op} ${fmt(logits.shape)}, target ${fmt(t.shape)} T=${T} ${reduction}`;
  const result = record(desc, inputs, y, [logits, t, statsT], (g, [zs, ts, ss]) => {
    const r = runSoftmaxCrossEntropyBackward(e, {
      ...args,
      logits: zs.bufferFor(op),
      target: ts.bufferFor(op),
      stats: ss.bufferFor(op),
      g: g.bufferFor(op),
      targetGrad,
    });
    const gz = fromBuffer(e, r.gLogits, [N, C], 'float32');
    return r.gTarget ? [gz, fromBuffer(e, r.gTarget, [N, C], 'float32')] : [gz];
  });
  statsT.dispose();
  if (ownTarget) t.dispose();
  return result;
}

// ---- KL divergence --------------------------------------------------------------------------

/** Options for `klDiv`. */
export interface KlDivOptions {
  /** Default 'mean' (PyTorch's default; 'batchmean' is the mathematically right one). */
  reduction?: 'batchmean' | 'sum' | 'mean' | 'none';
  /** The target holds log-probabilities. Default false. */
  logTarget?: boolean;
}

/**
 * torch.nn.functional.kl_div: `input` holds log-probabilities log q, `target` probabilities p
 * (or log p with logTarget); pointwise p·(log p − log q) (0 where p = 0), or
 * exp(t)·(t − input) with logTarget. 'batchmean' divides the sum by input.shape[0], 'mean' by the
 * number of elements. Gradients flow to both arguments.
 */
export function klDiv(input: Tensor, target: Tensor, opts: KlDivOptions = {}): Tensor {
  const op = 'klDiv';
  expectFloat(op, input, 'input');
  expectFloat(op, target, 'target');
  if (!sameShape(input.shape, target.shape)) {
    throw new Error(`kdgpu: ${op}: input ${fmt(input.shape)} and target ${fmt(target.shape)} differ; expected the same shape`);
  }
  const reduction = opts.reduction ?? 'mean';
  if (!['batchmean', 'sum', 'mean', 'none'].includes(reduction)) {
    throw new Error(`kdgpu: ${op}: reduction must be 'batchmean', 'sum', 'mean' or 'none', got '${String(reduction)}'`);
  }
  if (reduction === 'batchmean' && input.rank === 0) {
    throw new Error(`kdgpu: ${op}: 'batchmean' needs a batch dimension; input is a scalar`);
  }
  const lt = opts.logTarget ?? false;
  const pw = elementwise(op, lt ? KL.forwardLogTarget : KL.forward, [input, target]);
  const needInput = input.requiresGrad;
  const needTarget = target.requiresGrad;
  const pointwise = record(`${op} ${fmt(input.shape)}${lt ? ' logTarget' : ''}`, [input, target], pw, [input, target], (g, [xs, ts]) => [
    needInput ? elementwise(op, lt ? KL.gradInputLogTarget : KL.gradInput, [g, xs, ts]) : null,
    needTarget ? elementwise(op, lt ? KL.gradTargetLogTarget : KL.gradTarget, [g, xs, ts]) : null,
  ]);
  if (reduction === 'none') return pointwise;
  try {
    if (reduction === 'mean') return mean(pointwise);
    const s = sum(pointwise);
    if (reduction === 'sum') return s;
    try {
      return mul(s, 1 / input.shape[0]);
    } finally {
      s.dispose();
    }
  } finally {
    pointwise.dispose();
  }
}
