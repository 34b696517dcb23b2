/**
 * Subclass distillation (Müller, Kornblith & Hinton 2020, "Subclass distillation"): a teacher
 * with C·S logits per row (subclass j of class c is column c·S + j), the collapse of its subclass
 * logits to class logits, the auxiliary loss that spreads the batch over the subclasses, and the
 * losses that train the teacher and distil it into a student. All are tape ops built from the
 * existing ones; nothing is read back to the CPU.
 */
import { noGrad } from '../autograd/graph.js';
import { add, div, exp, log, mul, sqrt, sub } from '../autograd/ops-elementwise.js';
import { max, mean, sum } from '../autograd/ops-reduce.js';
import { reshape } from '../autograd/ops-shape.js';
import { matmul } from '../autograd/ops-matmul.js';
import { softmax, softmaxCrossEntropy, type HostLabels } from '../autograd/ops-softmax.js';
import { tidy } from '../autograd/scope.js';
import { fmt } from '../autograd/shape.js';
import type { Tensor } from '../autograd/tensor.js';

/** How subclass logits become class logits; see `collapseSubclassLogits`. */
export type CollapseMode = 'logsumexp' | 'notebook';
/** Which auxiliary loss: the paper's contrastive one or the reference notebook's; see `subclassAuxLoss`. */
export type AuxForm = 'paper' | 'notebook';

/** Added to each row's (population) variance before the square root, so a constant row gives v = 0, not NaN. */
export const SUBCLASS_AUX_EPS = 1e-8;

function checkLogits(op: string, z: Tensor, what = 'logits'): [number, number] {
  z.storageFor(op);
  if (z.dtype !== 'float32') throw new Error(`kdgpu: ${op}: ${what} must be float32, got ${z.dtype} of shape ${fmt(z.shape)}`);
  if (z.rank !== 2) throw new Error(`kdgpu: ${op}: ${what} must be 2-D [n, C·S], got shape ${fmt(z.shape)} (rank ${z.rank})`);
  const [n, k] = z.shape;
  if (n < 1 || k < 1) throw new Error(`kdgpu: ${op}: ${what} ${fmt(z.shape)} are empty; expected n ≥ 1 rows and C·S ≥ 1 columns`);
  return [n, k];
}

function checkClasses(op: string, z: Tensor, C: number, S: number): void {
  const [, k] = checkLogits(op, z);
  for (const [name, v] of [['C', C], ['S', S]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`kdgpu: ${op}: ${name} must be an integer ≥ 1, got ${String(v)} (logits ${fmt(z.shape)})`);
  }
  if (C * S !== k) throw new Error(`kdgpu: ${op}: logits ${fmt(z.shape)} have ${k} columns; expected C·S = ${C}·${S} = ${C * S}`);
}

function checkPositive(op: string, name: string, v: unknown, z: Tensor): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || !(v > 0)) {
    throw new Error(`kdgpu: ${op}: ${name} must be a finite number > 0, got ${String(v)} (logits ${fmt(z.shape)})`);
  }
  return v;
}

/**
 * log Σ exp(x) along `axis` (kept as size 1), stable: the max is subtracted first. The max is taken
 * under noGrad: its gradient through m + log Σ exp(x − m) cancels exactly, so leaving it off the
 * tape saves work and the max op's tie-splitting.
 */
function logSumExp(x: Tensor, axis: number): Tensor {
  return tidy(() => {
    const m = noGrad(() => max(x, axis, { keepdims: true }));
    return add(m, log(sum(exp(sub(x, m)), axis, { keepdims: true })));
  });
}

/**
 * Class logits [n, C] from subclass logits [n, C·S].
 * - 'logsumexp' (default): log Σ_j exp(z[c·S + j]), so softmax of the class logits is the sum of
 *   the subclass probabilities; stable for logits of any magnitude.
 * - 'notebook': Σ_j z[c·S + j], the plain sum of each class's S logits (the reference notebook).
 */
export function collapseSubclassLogits(z: Tensor, C: number, S: number, mode: CollapseMode = 'logsumexp'): Tensor {
  const op = 'collapseSubclassLogits';
  checkClasses(op, z, C, S);
  if (mode !== 'logsumexp' && mode !== 'notebook') throw new Error(`kdgpu: ${op}: mode must be 'logsumexp' or 'notebook', got '${String(mode)}'`);
  const n = z.shape[0];
  return tidy(() => {
    const z3 = reshape(z, [n, C, S]);
    return reshape(mode === 'notebook' ? sum(z3, 2) : logSumExp(z3, 2), [n, C]);
  });
}

/** Options for `subclassAuxLoss`. */
export interface SubclassAuxOptions {
  /** T > 0 of the similarities vᵢ·vⱼ/T. */
  temperature: number;
  /** 'paper' (default) or 'notebook'; see subclassAuxLoss. */
  form?: AuxForm;
}

/**
 * The auxiliary loss on subclass logits z [n, K] (K = C·S ≥ 2). Each row is normalized to zero mean
 * and unit population variance, with SUBCLASS_AUX_EPS added to the variance, and divided by √K:
 *   vᵢ = (zᵢ − mean(zᵢ)) / √(var(zᵢ) + eps) / √K, so ‖vᵢ‖ = 1 (slightly less for near-constant rows).
 * - 'paper' (default): (1/n)·Σᵢ log Σⱼ exp(vᵢ·vⱼ/T) − log n − 1/T, j over the whole batch (i too);
 *   the contrastive loss that pushes the rows apart (0 when all rows are equal).
 * - 'notebook': (1/n)·Σᵢⱼ vᵢ·vⱼ/T − 1/T − log n, the reference notebook's log(exp(·)) form. It is
 *   NOT the paper's loss: the log and exp cancel, leaving the mean over i of the SUM of similarities
 *   (= ‖Σᵢ vᵢ‖²/(nT)), not a log-sum-exp.
 */
export function subclassAuxLoss(z: Tensor, opts: SubclassAuxOptions): Tensor {
  const op = 'subclassAuxLoss';
  const [n, k] = checkLogits(op, z);
  if (k < 2) throw new Error(`kdgpu: ${op}: logits ${fmt(z.shape)} have 1 column; normalizing a row needs C·S ≥ 2`);
  const T = checkPositive(op, 'temperature', opts?.temperature, z);
  const form = opts.form ?? 'paper';
  if (form !== 'paper' && form !== 'notebook') throw new Error(`kdgpu: ${op}: form must be 'paper' or 'notebook', got '${String(form)}'`);
  return tidy(() => {
    // v does not change when a row is shifted, so shift by the (untaped) row max first: a constant
    // row then becomes exactly 0 (v = 0) at any magnitude, and a large common offset cancels
    // before the mean is taken, not after (float32 rounding of the mean of 1e4s is ≫ eps).
    const zs = sub(z, noGrad(() => max(z, 1, { keepdims: true })));
    const d = sub(zs, mean(zs, 1, { keepdims: true }));
    // Σd² = K·var, so d / √(Σd² + K·eps) = d / √(var + eps) / √K in one step.
    const v = div(d, sqrt(add(sum(mul(d, d), 1, { keepdims: true }), k * SUBCLASS_AUX_EPS)));
    if (form === 'notebook') {
      // Σᵢⱼ vᵢ·vⱼ = ‖Σᵢ vᵢ‖²: O(n·K) instead of the n×n similarity matrix.
      const u = sum(v, 0);
      return sub(mul(sum(mul(u, u)), 1 / (n * T)), 1 / T + Math.log(n));
    }
    const sim = mul(matmul(v, v, { transB: true }), 1 / T); // [n, n]
    return sub(mean(logSumExp(sim, 1)), Math.log(n) + 1 / T);
  });
}

function checkLabels(op: string, labels: Tensor | HostLabels, z: Tensor): void {
  // softmaxCrossEntropy checks the values and shapes; here only that something was passed.
  if (labels === undefined || labels === null) throw new Error(`kdgpu: ${op}: labels are missing (logits ${fmt(z.shape)})`);
}

function checkWeight(op: string, name: string, v: unknown, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) {
    throw new Error(`kdgpu: ${op}: ${name} must be a number in [${lo}, ${hi === Infinity ? '∞' : hi}], got ${String(v)}`);
  }
  return v;
}

/** Σ wᵢ·termᵢ() over the terms with wᵢ ≠ 0 (a zero weight costs nothing). At least one is non-zero. */
function weighted(terms: [number, () => Tensor][]): Tensor {
  let total: Tensor | null = null;
  for (const [w, f] of terms) {
    if (w === 0) continue;
    const t = w === 1 ? f() : mul(f(), w);
    total = total ? add(total, t) : t;
  }
  return total!;
}

/** Options for `subclassTeacherLoss`. */
export interface SubclassTeacherOptions {
  /** Temperature of the auxiliary loss. */
  temperature: number;
  /** Weight of the auxiliary loss (≥ 0). */
  beta: number;
  /** How the label term collapses subclass logits to class logits. Default 'logsumexp'. */
  collapse?: CollapseMode;
  /** Form of the auxiliary loss. Default 'paper'. */
  form?: AuxForm;
}

/** Loss of a subclass teacher: CE(collapse(z), labels) + beta·aux(z). z [n, C·S], labels [n] in [0, C). */
export function subclassTeacherLoss(z: Tensor, labels: Tensor | HostLabels, C: number, S: number, opts: SubclassTeacherOptions): Tensor {
  const op = 'subclassTeacherLoss';
  checkClasses(op, z, C, S);
  checkLabels(op, labels, z);
  const T = checkPositive(op, 'temperature', opts?.temperature, z);
  const beta = checkWeight(op, 'beta', opts.beta, 0, Infinity);
  return tidy(() =>
    weighted([
      [1, () => softmaxCrossEntropy(collapseSubclassLogits(z, C, S, opts.collapse), labels)],
      [beta, () => subclassAuxLoss(z, { temperature: T, form: opts.form })],
    ]),
  );
}

/** Options for `subclassDistillationLoss`. */
export interface SubclassDistillationOptions {
  /** Distillation temperature T of the soft-target term. */
  temperature: number;
  /** Weight of the soft-target term, in [0, 1]; the label term gets 1 − alpha. */
  alpha: number;
  /** Weight of the auxiliary loss on the student's subclass logits (≥ 0; 0 skips it). */
  beta: number;
  /** Temperature of the auxiliary loss; default `temperature`. */
  auxTemperature?: number;
  /** How the label term collapses subclass logits to class logits. Default 'logsumexp'. */
  collapse?: CollapseMode;
  /** Form of the auxiliary loss. Default 'paper'. */
  form?: AuxForm;
}

/**
 * A student's subclass-distillation loss, student and teacher logits both [n, C·S]:
 *   alpha·T²·CE(softmax(teacher/T), student at T)     (Hinton soft targets on the subclasses)
 *   + (1 − alpha)·CE(collapse(student), labels)
 *   + beta·aux(student).
 * The teacher's logits are targets only: no gradient reaches them.
 */
export function subclassDistillationLoss(
  student: Tensor,
  teacher: Tensor,
  labels: Tensor | HostLabels,
  C: number,
  S: number,
  opts: SubclassDistillationOptions,
): Tensor {
  const op = 'subclassDistillationLoss';
  checkClasses(op, student, C, S);
  checkLogits(op, teacher, 'teacher logits');
  if (teacher.shape[0] !== student.shape[0] || teacher.shape[1] !== student.shape[1]) {
    throw new Error(`kdgpu: ${op}: teacher logits ${fmt(teacher.shape)} and student logits ${fmt(student.shape)} differ; expected the same shape`);
  }
  checkLabels(op, labels, student);
  const T = checkPositive(op, 'temperature', opts?.temperature, student);
  const Taux = checkPositive(op, 'auxTemperature', opts.auxTemperature ?? T, student);
  const alpha = checkWeight(op, 'alpha', opts.alpha, 0, 1);
  const beta = checkWeight(op, 'beta', opts.beta, 0, Infinity);
  return tidy(() =>
    weighted([
      [
        alpha * T * T,
        () => {
          const soft = noGrad(() => softmax(div(teacher, T)));
          return softmaxCrossEntropy(student, soft, { temperature: T });
        },
      ],
      [1 - alpha, () => softmaxCrossEntropy(collapseSubclassLogits(student, C, S, opts.collapse), labels)],
      [beta, () => subclassAuxLoss(student, { temperature: Taux, form: opts.form })],
    ]),
  );
}
