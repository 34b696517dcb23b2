/**
 * Subclass distillation workflows (Müller, Kornblith & Hinton 2020): a teacher with C·S logits
 * trained on C class labels plus the auxiliary loss that spreads each class over S subclasses,
 * and a student trained on the teacher's subclass soft targets. Both are evaluated on their
 * collapsed class logits.
 */
import type { Tensor } from '../autograd/tensor.js';
import type { ArrayDataset, Batch } from '../data/dataset.js';
import { Module, type ModuleOutput } from '../nn/module.js';
import { logitsOf, type LossFn } from '../nn/train.js';
import { defaultTeacherCache, type TeacherCache } from './cache.js';
import { hashWeights } from './hash.js';
import { collapseSubclassLogits, subclassDistillationLoss, subclassTeacherLoss, type AuxForm, type CollapseMode } from './subclass.js';
import { asTeacher, type Teacher } from './teacher.js';
import type { RunRecord } from './types.js';
import { checkConfig, runTraining, type TrainConfig } from './workflows.js';

/** A model with C·S subclass logits seen as a C-class model (for evaluation and prediction). */
export class SubclassCollapse extends Module {
  constructor(
    /** The model with C·S outputs. */
    readonly inner: Module,
    /** Number of classes C. */
    readonly classes: number,
    /** Subclasses per class S. */
    readonly subclasses: number,
    /** How subclass logits are collapsed. Default 'logsumexp'. */
    readonly mode: CollapseMode = 'logsumexp',
  ) {
    super();
    this.registerModule('inner', inner);
  }
  override describe(): string {
    return `SubclassCollapse(C=${this.classes}, S=${this.subclasses}, ${this.mode})`;
  }
  forward(x: Tensor): ModuleOutput {
    return collapseSubclassLogits(logitsOf(this.inner.forward(x)), this.classes, this.subclasses, this.mode);
  }
}

/** Settings of `trainSubclassTeacher` (and the base of `SubclassDistillConfig`). */
export interface SubclassConfig extends TrainConfig {
  /** Number of classes C (the labels' range). */
  classes: number;
  /** Subclasses per class S; the model has C·S outputs. */
  subclasses: number;
  /** Temperature of the auxiliary loss (teacher) or of the soft targets (student). */
  temperature: number;
  /** Weight of the auxiliary loss. */
  beta: number;
  /** How subclass logits are collapsed for the label term and evaluation. Default 'logsumexp'. */
  collapse?: CollapseMode;
  /** Form of the auxiliary loss. Default 'paper'. */
  form?: AuxForm;
}

/** Trains a subclass teacher: CE(collapse(z), labels) + beta·aux(z). */
export function trainSubclassTeacher(model: Module, train: ArrayDataset, cfg: SubclassConfig): Promise<RunRecord> {
  checkConfig('trainSubclassTeacher', cfg);
  const { classes: C, subclasses: S } = cfg;
  const loss: LossFn = (out, y) => subclassTeacherLoss(logitsOf(out), y, C, S, { temperature: cfg.temperature, beta: cfg.beta, collapse: cfg.collapse, form: cfg.form });
  const extra = { classes: C, subclasses: S, temperature: cfg.temperature, beta: cfg.beta, form: cfg.form ?? 'paper' };
  return runTraining('subclass-teacher', model, train, cfg, loss, extra, undefined, new SubclassCollapse(model, C, S, cfg.collapse));
}

/** Settings of `distillSubclasses`. */
export interface SubclassDistillConfig extends SubclassConfig {
  /** Weight of the soft-target term; the label term gets 1 − alpha. */
  alpha: number;
  /** Temperature of the student's auxiliary loss (default: temperature). */
  auxTemperature?: number;
  /** Where teacher outputs are cached (default: a shared cache); false runs the teacher every batch. */
  cache?: TeacherCache | false;
}

/** Distills a subclass teacher's C·S soft targets into a student with C·S outputs. */
export async function distillSubclasses(student: Module, teacherIn: Module | Teacher, train: ArrayDataset, cfg: SubclassDistillConfig): Promise<RunRecord> {
  checkConfig('distillSubclasses', cfg);
  const teacher = asTeacher(teacherIn);
  const { classes: C, subclasses: S } = cfg;
  const opts = { temperature: cfg.temperature, alpha: cfg.alpha, beta: cfg.beta, auxTemperature: cfg.auxTemperature, collapse: cfg.collapse, form: cfg.form };
  const extra = { classes: C, subclasses: S, temperature: cfg.temperature, alpha: cfg.alpha, beta: cfg.beta, form: cfg.form ?? 'paper' };
  const view = new SubclassCollapse(student, C, S, cfg.collapse);
  const cache = cfg.cache === undefined ? defaultTeacherCache : cfg.cache;
  if (cache) {
    const found = await cache.get(teacher, train);
    const loss: LossFn = (out, y, _x, batch: Batch) => subclassDistillationLoss(logitsOf(out), batch.gather(found.raw), y, C, S, opts);
    return runTraining('subclass-student', student, train, cfg, loss, extra, found.teacherHash, view);
  }
  const loss: LossFn = (out, y, x) => subclassDistillationLoss(logitsOf(out), teacher.raw(x), y, C, S, opts);
  return runTraining('subclass-student', student, train, cfg, loss, extra, await hashWeights(teacher), view);
}
