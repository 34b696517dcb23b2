/**
 * Distillation losses, composed from autograd ops (each op has a tested gradient).
 *
 * Conventions (as in Hinton et al. 2015 and the Keras distillation example):
 *   loss = alpha · KD + (1 − alpha) · CE
 * — alpha weighs the *distillation* term. Some reports use the opposite convention; pass
 * `weights: { kd, ce }` to set both weights independently (the PyTorch tutorial's 0.25 / 0.75).
 * The soft-target term is scaled by T² so its gradients keep their size as T changes.
 */
import { noGrad } from '../autograd/graph.js';
import { div, exp, mul, sqrt, sub, add } from '../autograd/ops-elementwise.js';
import { mean, sum } from '../autograd/ops-reduce.js';
import { flatten } from '../autograd/ops-shape.js';
import { klDiv, logSoftmax, softmaxCrossEntropy } from '../autograd/ops-softmax.js';
import { avgPool1d } from '../autograd/ops-pool.js';
import { tidy } from '../autograd/scope.js';
import { fmt } from '../autograd/shape.js';
import type { Tensor } from '../autograd/tensor.js';

/** 'kl': T²·KL(p_T ‖ q_T) with batchmean; 'ce': T²·cross-entropy(p_T, q_T), batch mean. */
export type SoftTargetForm = 'kl' | 'ce';

/** `T` if it is a finite number > 0; otherwise throws an error naming `op`. */
export function checkTemperature(op: string, T: unknown): number {
  if (typeof T !== 'number' || !Number.isFinite(T) || !(T > 0)) throw new Error(`kdgpu: ${op}: temperature must be a finite number > 0, got ${String(T)}`);
  return T;
}

/** log softmax(logits / T), without gradient: the teacher side of the soft-target loss. */
export function teacherLogProbs(teacherLogits: Tensor, temperature: number): Tensor {
  const T = checkTemperature('teacherLogProbs', temperature);
  return noGrad(() => tidy(() => logSoftmax(T === 1 ? teacherLogits : div(teacherLogits, T), -1)));
}

/**
 * Hinton's soft-target loss from the student's logits and the teacher's log-probabilities at T
 * (see `teacherLogProbs`), scaled by T². Both forms have the same gradient,
 * T·(softmax(s/T) − softmax(t/T)) / batch; they differ by the teacher's entropy (a constant),
 * so 'kl' is 0 when the student matches the teacher and 'ce' is not.
 */
export function softTargetLoss(studentLogits: Tensor, teacherLogP: Tensor, opts: { temperature: number; form?: SoftTargetForm }): Tensor {
  const op = 'softTargetLoss';
  const T = checkTemperature(op, opts.temperature);
  if (studentLogits.rank !== 2 || teacherLogP.rank !== 2 || studentLogits.shape[0] !== teacherLogP.shape[0] || studentLogits.shape[1] !== teacherLogP.shape[1]) {
    throw new Error(`kdgpu: ${op}: student logits ${fmt(studentLogits.shape)} and teacher log-probabilities ${fmt(teacherLogP.shape)} must both be [N, C] with the same shape`);
  }
  const form = opts.form ?? 'kl';
  return tidy(() => {
    let l: Tensor;
    if (form === 'ce') {
      l = softmaxCrossEntropy(studentLogits, noGrad(() => exp(teacherLogP)), { temperature: T });
    } else if (form === 'kl') {
      const s = logSoftmax(T === 1 ? studentLogits : div(studentLogits, T), -1);
      l = klDiv(s, teacherLogP, { reduction: 'batchmean', logTarget: true });
    } else {
      throw new Error(`kdgpu: ${op}: form must be 'kl' or 'ce', got '${String(form)}'`);
    }
    return T === 1 ? l : mul(l, T * T);
  });
}

/** `hintonLoss` on raw teacher logits: softTargetLoss(student, log softmax(teacher / T)). */
export function hintonLoss(studentLogits: Tensor, teacherLogits: Tensor, opts: { temperature: number; form?: SoftTargetForm }): Tensor {
  return tidy(() => softTargetLoss(studentLogits, teacherLogProbs(teacherLogits, opts.temperature), opts));
}

/** Options for `kdLoss` (and the loss part of `DistillConfig`). */
export interface KdLossOptions {
  /** Softmax temperature T > 0 of the soft targets. */
  temperature: number;
  /** Weight of the distillation term; the label term gets 1 − alpha. Default 0.5. */
  alpha?: number;
  /** Independent weights instead of alpha, e.g. { kd: 0.25, ce: 0.75 }. */
  weights?: {
    /** Weight of the distillation term. */
    kd: number;
    /** Weight of the hard-label cross-entropy. */
    ce: number;
  };
  /** Soft-target term: 'kl' (default) or 'ce'; same gradient, see `softTargetLoss`. */
  form?: SoftTargetForm;
  /** Temperature of the hard-label cross-entropy (one reference takes it on logits / T). Default 1. */
  labelTemperature?: number;
}

/** The (kd, ce) weights an options object asks for, validated. */
export function kdWeights(opts: Pick<KdLossOptions, 'alpha' | 'weights'>): {
  /** Weight of the distillation term. */
  kd: number;
  /** Weight of the hard-label cross-entropy. */
  ce: number;
} {
  if (opts.weights && opts.alpha !== undefined) throw new Error(`kdgpu: kdLoss: give either alpha or weights, not both`);
  if (opts.weights) {
    const { kd, ce } = opts.weights;
    for (const [k, v] of [['kd', kd], ['ce', ce]] as const) {
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new Error(`kdgpu: kdLoss: weights.${k} must be a finite number ≥ 0, got ${String(v)}`);
    }
    if (kd === 0 && ce === 0) throw new Error('kdgpu: kdLoss: both weights are 0; nothing to train on');
    return { kd, ce };
  }
  const a = opts.alpha ?? 0.5;
  if (typeof a !== 'number' || !(a >= 0 && a <= 1)) throw new Error(`kdgpu: kdLoss: alpha must be in [0, 1], got ${String(a)}`);
  return { kd: a, ce: 1 - a };
}

/** alpha · T²·soft-target loss + (1 − alpha) · cross-entropy with the labels. */
export function kdLoss(studentLogits: Tensor, teacherLogP: Tensor, labels: Tensor, opts: KdLossOptions): Tensor {
  const w = kdWeights(opts);
  const Tl = checkTemperature('kdLoss (labelTemperature)', opts.labelTemperature ?? 1);
  return tidy(() => {
    const parts: Tensor[] = [];
    if (w.kd > 0) parts.push(mul(softTargetLoss(studentLogits, teacherLogP, opts), w.kd));
    if (w.ce > 0) parts.push(mul(softmaxCrossEntropy(studentLogits, labels, { temperature: Tl }), w.ce));
    if (parts.length === 0) throw new Error('kdgpu: kdLoss: both weights are 0; nothing to train on');
    return parts.length === 1 ? parts[0] : add(parts[0], parts[1]);
  });
}

/**
 * Flattens both representations to [N, d]; when the widths differ, the wider one is average-pooled
 * (avg_pool1d with kernel = ratio, as the PyTorch tutorial does) down to the narrower width.
 */
export function matchWidths(student: Tensor, teacher: Tensor, op = 'matchWidths'): [Tensor, Tensor] {
  const s = student.rank > 2 ? flatten(student, 1) : student;
  const t = teacher.rank > 2 ? flatten(teacher, 1) : teacher;
  if (s.rank !== 2 || t.rank !== 2 || s.shape[0] !== t.shape[0]) {
    throw new Error(`kdgpu: ${op}: representations ${fmt(student.shape)} and ${fmt(teacher.shape)} need the same batch size and rank ≥ 2`);
  }
  const [ds, dt] = [s.shape[1], t.shape[1]];
  if (ds === dt) return [s, t];
  const [wide, narrow] = ds > dt ? [ds, dt] : [dt, ds];
  if (wide % narrow !== 0) {
    throw new Error(`kdgpu: ${op}: widths ${ds} (student) and ${dt} (teacher) are not multiples of each other; pick taps whose widths divide, or use a regressor`);
  }
  const k = wide / narrow;
  return ds > dt ? [avgPool1d(s, { kernel: k }), t] : [s, avgPool1d(t, { kernel: k })];
}

/**
 * 1 − cos(student, teacher), averaged over the batch (torch.nn.CosineEmbeddingLoss with target 1,
 * including its 1e-12 inside the norms).
 */
export function cosineHiddenLoss(student: Tensor, teacher: Tensor): Tensor {
  return tidy(() => {
    const [s, t] = matchWidths(student, teacher, 'cosineHiddenLoss');
    const dot = sum(mul(s, t), 1);
    const ns = add(sum(mul(s, s), 1), 1e-12);
    const nt = add(sum(mul(t, t), 1), 1e-12);
    return mean(sub(1, div(dot, sqrt(mul(ns, nt)))));
  });
}

/** Mean squared error between a (regressed) student representation and the teacher's. */
export function hintMseLoss(student: Tensor, teacher: Tensor): Tensor {
  if (student.shape.length !== teacher.shape.length || student.shape.some((d, i) => d !== teacher.shape[i])) {
    throw new Error(`kdgpu: hintMseLoss: student ${fmt(student.shape)} and teacher ${fmt(teacher.shape)} differ; a regressor must map the student's representation to the teacher's shape`);
  }
  return tidy(() => {
    const d = sub(student, teacher);
    return mean(mul(d, d));
  });
}
