/**
 * Teachers: one frozen model, or an ensemble of them. A teacher runs in eval mode with no tape
 * (no gradients, no dropout) and counts its forward passes, so tests and users can see when a
 * cache saved them.
 *
 * A teacher's per-batch "raw output" is what a cache stores: the logits [n, C] for a single
 * teacher or a logit-averaging ensemble, and every member's logits [n, K, C] for a
 * probability-averaging ensemble (whose soft targets mean_k softmax(z_k / T) depend on T).
 * `logProbs(raw, T)` turns it into the log soft targets at temperature T.
 */
import { noGrad } from '../autograd/graph.js';
import { div, sub } from '../autograd/ops-elementwise.js';
import { max, mean, sum } from '../autograd/ops-reduce.js';
import { reshape, concat } from '../autograd/ops-shape.js';
import { logSoftmax } from '../autograd/ops-softmax.js';
import { tidy } from '../autograd/scope.js';
import type { Tensor } from '../autograd/tensor.js';
import { forwardWithHidden, type HiddenOutput } from '../nn/hidden.js';
import { Module, type ModuleOutput } from '../nn/module.js';
import { logitsOf } from '../nn/train.js';
import { checkTemperature } from './losses.js';

/** How an ensemble combines its members: average the logits, or average the probabilities. */
export type EnsembleCombine = 'logits' | 'probs';

export class Teacher extends Module {
  /** The frozen models (one for a single teacher). */
  readonly members: Module[];
  /** How the members' outputs are averaged (default 'logits'). */
  readonly combine: EnsembleCombine;
  /** Member forward passes run so far (one per member per batch). */
  forwardPasses = 0;

  constructor(models: Module | readonly Module[], opts: { combine?: EnsembleCombine } = {}) {
    super();
    const list = Array.isArray(models) ? [...models] : [models as Module];
    if (list.length === 0) throw new Error('kdgpu: Teacher: an ensemble needs at least one model');
    this.members = list;
    this.combine = opts.combine ?? 'logits';
    if (this.combine !== 'logits' && this.combine !== 'probs') throw new Error(`kdgpu: Teacher: combine must be 'logits' or 'probs', got '${String(this.combine)}'`);
    list.forEach((m, i) => this.registerModule(list.length === 1 ? 'model' : String(i), m));
    this.eval();
  }

  /** Always eval mode: a teacher never trains inside a distillation run. */
  override train(_mode = true): this {
    return super.train(false);
  }

  /** Number of members. */
  get size(): number {
    return this.members.length;
  }

  private memberLogits(x: Tensor): Tensor[] {
    return this.members.map((m) => {
      this.forwardPasses++;
      return logitsOf(m.forward(x));
    });
  }

  /** What a cache stores for a batch: [n, C], or [n, K, C] for a probability-averaging ensemble. */
  raw(x: Tensor): Tensor {
    return noGrad(() =>
      tidy(() => {
        const zs = this.memberLogits(x);
        if (zs.length === 1) return zs[0];
        const [n, C] = zs[0].shape;
        const stacked = concat(zs.map((z) => reshape(z, [n, 1, C])), 1);
        return this.combine === 'probs' ? stacked : mean(stacked, 1);
      }),
    );
  }

  /** log soft targets at temperature T from a raw output. */
  logProbs(raw: Tensor, temperature: number): Tensor {
    const T = checkTemperature('Teacher.logProbs', temperature);
    return noGrad(() =>
      tidy(() => {
        const scaled = T === 1 ? raw : div(raw, T);
        if (raw.rank === 2) return logSoftmax(scaled, -1);
        // log mean_k softmax(z_k / T) = logsumexp_k log softmax(z_k / T) − log K
        const ls = logSoftmax(scaled, -1);
        const m = max(ls, 1, { keepdims: true });
        const lse = sum(sub(ls, m).exp(), 1).log().add(reshape(m, [raw.shape[0], raw.shape[2]]));
        return sub(lse, Math.log(raw.shape[1]));
      }),
    );
  }

  /** The ensemble's logits (for evaluation): mean logits, or log of the mean probabilities. */
  forward(x: Tensor): ModuleOutput {
    return noGrad(() => tidy(() => (this.combine === 'probs' && this.members.length > 1 ? this.logProbs(this.raw(x), 1) : this.raw(x))));
  }

  /** Logits and a hidden representation of a single teacher, without gradient. */
  hidden(x: Tensor, tap: string): HiddenOutput {
    if (this.members.length !== 1) throw new Error(`kdgpu: Teacher: hidden representations need a single teacher, this is an ensemble of ${this.members.length}`);
    this.forwardPasses++;
    return noGrad(() => forwardWithHidden(this.members[0], x, tap));
  }
}

/** A Module or a Teacher as a Teacher. */
export function asTeacher(t: Module | Teacher): Teacher {
  return t instanceof Teacher ? t : new Teacher(t);
}
