/**
 * Distillation workflows as single calls: train a model (teacher or scratch baseline), distill a
 * teacher into a student, chain teacher → assistant → student. Each returns a RunRecord (config,
 * seed, data/teacher hashes, per-epoch history, test metrics).
 *
 * Runs with the same seed see the same batches (the loader's shuffle is seeded) and the same
 * dropout masks (the dropout stream is re-seeded), so a scratch student and a distilled student
 * built with the same seed differ only in their loss.
 */
import type { AugmentOptions } from '../autograd/ops-augment.js';
import { softmaxCrossEntropy } from '../autograd/ops-softmax.js';
import { mul, add } from '../autograd/ops-elementwise.js';
import { tidy } from '../autograd/scope.js';
import type { Tensor } from '../autograd/tensor.js';
import { engine } from '../gpu/context.js';
import type { ArrayDataset, Batch } from '../data/dataset.js';
import { forwardWithHidden } from '../nn/hidden.js';
import { Module, type ModuleOutput } from '../nn/module.js';
import type { OptimizerName } from '../nn/optim-factory.js';
import type { Optimizer } from '../nn/optim.js';
import { trainClassifier } from '../nn/train-classifier.js';
import { logitsOf, type EpochLog, type LossFn, type TrainCallbacks } from '../nn/train.js';
import { defaultTeacherCache, type TeacherCache } from './cache.js';
import { hashDataset, hashWeights } from './hash.js';
import { cosineHiddenLoss, hintMseLoss, kdLoss, kdWeights, teacherLogProbs, type KdLossOptions } from './losses.js';
import { asTeacher, Teacher } from './teacher.js';
import { runAdapter, testMetricsOf, type ConfigValue, type RunRecord } from './types.js';

export type { OptimizerName };

/** Settings of a training run (`trainModel`; the base of the other workflows' configs). */
export interface TrainConfig {
  /** Passes over the training set. */
  epochs: number;
  /** Default 256. */
  batchSize?: number;
  /** Default: 1e-3 for Adam and AdamW, 0.01 for SGD (`nn.defaultLearningRate`; 1e-3 for a function). */
  lr?: number;
  /** Default 'adam' (PyTorch defaults, built by `nn.createOptimizer`); or a function building any optimizer. */
  optimizer?: OptimizerName | ((params: Tensor[], lr: number) => Optimizer);
  /** Seeds the shuffle and dropout streams. Default 0. */
  seed?: number;
  /** Final metrics are computed on this set. */
  test: ArrayDataset;
  /** Evaluated after every epoch (e.g. a fixed test subset for learning curves). */
  validation?: ArrayDataset;
  /** Progress hooks passed to `fit`, called in order. */
  callbacks?: TrainCallbacks[];
  /** Steps between loss readbacks for callbacks (0: only at epoch ends). Default 50. */
  logEvery?: number;
  /** Drop the last incomplete batch of each epoch. Default false. */
  dropLast?: boolean;
  /** Run label (default: the role). */
  name?: string;
  /** Extra config values to record (model names, …). */
  record?: Record<string, ConfigValue>;
  /**
   * Random flips/rotation/brightness/zoom of each training batch, on the GPU (seeded by `seed`
   * unless given). In distillation the teacher's soft targets come from the un-augmented images
   * (they are computed once and cached), so the student matches the teacher's clean view.
   */
  augment?: AugmentOptions;
  /**
   * Set `stopped` to end training within a few steps (a Stop button, Ctrl-C); by default the run is
   * still evaluated (see `onStop`).
   */
  signal?: {
    /** Set to true to stop. */
    stopped: boolean;
  };
  /**
   * What a stop by `signal` leads to: 'evaluate' (default) evaluates the run as after a full one;
   * 'checkpoint' throws a `RunStoppedError` carrying a checkpoint of the step reached, to resume.
   */
  onStop?: 'evaluate' | 'checkpoint';
  /** Called after every epoch, and at a stop by `signal`, with a checkpoint (see `nn.fit`). */
  checkpoint?: (bytes: Uint8Array, epoch: number) => void | Promise<void>;
  /** Continue from a checkpoint of this run (same model, data, batch size and seed). */
  resumeFrom?: Uint8Array;
  /** Names `resumeFrom` in errors (e.g. its path). */
  resumeName?: string;
}

/** Thrown by a workflow stopped by its `signal` with `onStop: 'checkpoint'`: the state reached, to resume. */
export class RunStoppedError extends Error {
  constructor(
    /** A checkpoint of the step reached, for `resumeFrom`. */
    readonly checkpoint: Uint8Array,
    /** The epochs finished in this call. */
    readonly history: EpochLog[],
  ) {
    super('kdgpu: the run was stopped (its checkpoint is attached)');
    this.name = 'RunStoppedError';
  }
}

export function checkConfig(op: string, cfg: TrainConfig): void {
  if (!(Number.isInteger(cfg.epochs) && cfg.epochs >= 1)) throw new Error(`kdgpu: ${op}: epochs must be a positive integer, got ${String(cfg.epochs)}`);
  if (!cfg.test) throw new Error(`kdgpu: ${op}: a test set is required (config.test)`);
}

/** Fits `model` with `loss` and evaluates it: the shared body of every workflow. */
export async function runTraining(
  role: string,
  model: Module,
  train: ArrayDataset,
  cfg: TrainConfig,
  loss: LossFn | undefined,
  extra: Record<string, ConfigValue>,
  teacherHash?: string,
  /** Evaluated instead of `model` (e.g. a view that collapses subclass logits). */
  evalModel: Module = model,
): Promise<RunRecord> {
  const t0 = performance.now();
  const seed = cfg.seed ?? 0;
  const batchSize = cfg.batchSize ?? 256;
  const r = await trainClassifier(model, train, {
    epochs: cfg.epochs,
    batchSize,
    optimizer: cfg.optimizer,
    lr: cfg.lr,
    seed,
    dropLast: cfg.dropLast,
    loss,
    validation: cfg.validation,
    test: cfg.test,
    evalModel,
    callbacks: cfg.callbacks,
    logEvery: cfg.logEvery,
    augment: cfg.augment,
    signal: cfg.signal,
    onStop: cfg.onStop,
    checkpoint: cfg.checkpoint,
    resumeFrom: cfg.resumeFrom,
    resumeName: cfg.resumeName,
  });
  if (r.stopReason === 'signal' && cfg.onStop === 'checkpoint') throw new RunStoppedError(r.checkpoint!, r.history);
  const dataHash = await hashDataset(train);
  return {
    name: cfg.name ?? role,
    config: {
      role,
      epochs: cfg.epochs,
      batchSize,
      lr: r.lr,
      optimizer: typeof cfg.optimizer === 'function' ? 'custom' : (cfg.optimizer ?? 'adam'),
      trainCount: train.count,
      testCount: cfg.test.count,
      ...extra,
      ...cfg.record,
    },
    seed,
    hashes: teacherHash ? { data: dataHash, teacher: teacherHash } : { data: dataHash },
    history: r.history,
    test: testMetricsOf(r.test!),
    seconds: (performance.now() - t0) / 1000,
    adapter: runAdapter(engine().adapter),
  };
}

/** Trains a model on hard labels (a teacher, or the from-scratch baseline student). */
export function trainModel(model: Module, train: ArrayDataset, cfg: TrainConfig & { role?: string }): Promise<RunRecord> {
  checkConfig('trainModel', cfg);
  return runTraining(cfg.role ?? 'scratch', model, train, cfg, undefined, {});
}

/** A hidden-representation term: cosine similarity, or MSE through a trainable regressor (FitNets). */
export interface HiddenLossConfig {
  /** 'cosine': 1 − cosine similarity; 'mse': mean squared error, through `regressor` when given (FitNets). */
  kind: 'cosine' | 'mse';
  /** Weight of the hidden term in the total loss. */
  weight: number;
  /** Where to read the student's / teacher's representation (see nn/hidden.ts). */
  studentTap: string;
  /** Where to read the teacher's representation. */
  teacherTap: string;
  /** For 'mse': maps the student's representation to the teacher's shape; trained with the student. */
  regressor?: Module;
}

/** Settings of `distill`: a training run plus the KD loss, an optional hidden term and the teacher cache. */
export interface DistillConfig extends TrainConfig, KdLossOptions {
  /** Adds a hidden-representation term to the loss (the teacher then runs on every batch). */
  hidden?: HiddenLossConfig;
  /** Where teacher outputs are cached (default: a shared cache); false runs the teacher every batch. */
  cache?: TeacherCache | false;
  /** Input transform/augmentation settings: part of the cache key. */
  transform?: unknown;
}

/** The student plus an optional regressor, trained together; forward gives logits and the hidden representation. */
class StudentWithHidden extends Module {
  constructor(
    readonly student: Module,
    readonly tap: string,
    readonly regressor?: Module,
  ) {
    super();
    this.registerModule('student', student);
    if (regressor) this.registerModule('regressor', regressor);
  }
  forward(x: Tensor): ModuleOutput {
    const { logits, hidden } = forwardWithHidden(this.student, x, this.tap);
    return { logits, hidden: this.regressor ? this.regressor.call(hidden) : hidden };
  }
}

/**
 * Distills `teacher` (a model or a Teacher ensemble) into `student`:
 *   loss = alpha · T²·KD(teacher ‖ student) + (1 − alpha) · CE(labels) [+ hidden.weight · hidden term].
 * Without a hidden term the teacher's logits come from the cache (one teacher pass over the
 * training set, then none); with one, the teacher runs on every batch.
 */
export async function distill(student: Module, teacherIn: Module | Teacher, train: ArrayDataset, cfg: DistillConfig): Promise<RunRecord> {
  checkConfig('distill', cfg);
  const teacher = asTeacher(teacherIn);
  const T = cfg.temperature;
  const w = kdWeights(cfg);
  if (!(typeof T === 'number' && Number.isFinite(T) && T > 0)) throw new Error(`kdgpu: distill: temperature must be a finite number > 0, got ${String(T)}`);
  const h = cfg.hidden;
  if (h) {
    if (h.kind !== 'cosine' && h.kind !== 'mse') throw new Error(`kdgpu: distill: hidden.kind must be 'cosine' or 'mse', got '${String(h.kind)}'`);
    if (!(h.weight >= 0 && Number.isFinite(h.weight))) throw new Error(`kdgpu: distill: hidden.weight must be a finite number ≥ 0, got ${String(h.weight)}`);
  }
  const extra: Record<string, ConfigValue> = {
    temperature: T,
    alpha: cfg.weights ? null : w.kd,
    kdWeight: w.kd,
    ceWeight: w.ce,
    form: cfg.form ?? 'kl',
    labelTemperature: cfg.labelTemperature ?? 1,
    teacherMembers: teacher.size,
    combine: teacher.combine,
    hidden: h ? h.kind : null,
    hiddenWeight: h ? h.weight : null,
  };
  const cache = cfg.cache === undefined ? defaultTeacherCache : cfg.cache;

  if (h) {
    const model = new StudentWithHidden(student, h.studentTap, h.regressor);
    const loss: LossFn = (out, y, x) => {
      const o = out as { logits: Tensor; hidden: Tensor };
      const t = teacher.hidden(x, h.teacherTap);
      const main = kdLoss(o.logits, teacherLogProbs(t.logits, T), y, cfg);
      const hid = h.kind === 'cosine' ? cosineHiddenLoss(o.hidden, t.hidden) : hintMseLoss(o.hidden, t.hidden);
      return add(main, mul(hid, h.weight));
    };
    return runTraining('distill', model, train, cfg, loss, extra, await hashWeights(teacher));
  }

  const lossFromRaw: (raw: Tensor, out: ModuleOutput, y: Tensor) => Tensor = (raw, out, y) => kdLoss(logitsOf(out), teacher.logProbs(raw, T), y, cfg);
  if (cache) {
    const found = await cache.get(teacher, train, { transform: cfg.transform ?? null });
    const loss: LossFn = (out, y, _x, batch: Batch) => lossFromRaw(batch.gather(found.raw), out, y);
    return runTraining('distill', student, train, cfg, loss, { ...extra, cached: true }, found.teacherHash);
  }
  const loss: LossFn = (out, y, x) => lossFromRaw(teacher.raw(x), out, y);
  return runTraining('distill', student, train, cfg, loss, { ...extra, cached: false }, await hashWeights(teacher));
}

/** The two runs of `distillChain`. */
export interface ChainResult {
  /** Teacher → assistant. */
  assistant: RunRecord;
  /** Assistant → student. */
  student: RunRecord;
}

/** Teacher → assistant → student (Mirzadeh et al.'s teacher assistant), as one call. */
export async function distillChain(teacher: Module | Teacher, assistant: Module, student: Module, train: ArrayDataset, cfg: DistillConfig & { assistantConfig?: Partial<DistillConfig> }): Promise<ChainResult> {
  for (const c of [cfg, cfg.assistantConfig ?? {}]) {
    if (c.checkpoint || c.resumeFrom) throw new Error('kdgpu: distillChain: checkpoints and resuming are per run; call distill for each stage instead');
  }
  const a = await distill(assistant, teacher, train, { ...cfg, name: 'assistant', ...cfg.assistantConfig });
  const s = await distill(student, new Teacher(assistant), train, { ...cfg, name: cfg.name ?? 'student via assistant' });
  assistant.train();
  return { assistant: a, student: s };
}

/** Plain cross-entropy on the logits, exported for custom workflows. */
export const hardLabelLoss: LossFn = (out, y) => tidy(() => softmaxCrossEntropy(logitsOf(out), y));
