/**
 * The recipe where distillation pays: a well-trained teacher, a small student, and only a small
 * labelled transfer set, trained for many epochs. With 1,000 labelled images a 784-256-256-10 MLP
 * trained on the labels alone overfits; the teacher's soft targets (T = 4, alpha = 0.9 on the
 * distillation term) carry what the labels lack, and the distilled student ends up clearly ahead.
 *
 * Two students are built from the same seed (same initial weights) and trained by `trainModel`
 * (the scratch baseline) and `distill` (the KD student). Both workflows seed the shuffle and the
 * dropout stream from the same seed, so they see the same batches and differ only in their loss.
 * Per-epoch accuracy curves come from a fixed test subset (passed as `validation`); the final
 * metrics from the whole test set. Browser-safe: no Node built-ins.
 *
 *   const r = await runTransferRecipe({ teacher, train: fashionMnistDataset('train'), test: fashionMnistDataset('test') });
 *   r.kd.test.accuracy - r.scratch.test.accuracy   // > 0
 */
import { sampleSize, take, type ArrayDataset } from '../data/dataset.js';
import { classificationMetrics } from '../nn/metrics.js';
import { buildFromSpec, type ModelSpec } from '../nn/model-spec.js';
import type { Module } from '../nn/module.js';
import { summary } from '../nn/summary.js';
import { evaluate, predict, type EpochLog, type TrainCallbacks } from '../nn/train.js';
import type { TeacherCache } from './cache.js';
import { Teacher } from './teacher.js';
import type { RunRecord } from './types.js';
import { distill, trainModel, type TrainConfig } from './workflows.js';

/** The recipe's defaults (the numbers bench/kd_torch.py `pays` uses). */
export const TRANSFER_RECIPE = {
  /** Labelled transfer images: the first n of the training set. */
  trainCount: 1000,
  /** Test images of the per-epoch curves: the first n of the test set (0: no curves). */
  curveCount: 2000,
  /** Training epochs of each student. */
  epochs: 120,
  /** Batch size. */
  batchSize: 256,
  /** Adam's learning rate. */
  lr: 1e-3,
  /** Distillation temperature T. */
  temperature: 4,
  /** Weight of the distillation term: alpha · T²·KL + (1 − alpha) · CE. */
  alpha: 0.9,
  /** Seed of the students' weights, the shuffle and dropout. */
  seed: 0,
  /** Hidden widths of the default MLP student. */
  hidden: [256, 256] as readonly number[],
} as const;

/** The two students: trained on the labels alone, or distilled from the teacher. */
export type TransferRole = 'scratch' | 'kd';

/** Options for `runTransferRecipe`; unset numbers take TRANSFER_RECIPE's values. */
export interface TransferRecipeOptions {
  /** A trained teacher (a model or a Teacher ensemble). */
  teacher: Module | Teacher;
  /** Training images; the first `trainCount` form the labelled transfer set. */
  train: ArrayDataset;
  /** Final metrics on all of it; its first `curveCount` images give the per-epoch curves. */
  test: ArrayDataset;
  /** Size of the labelled transfer set. Default 1000. */
  trainCount?: number;
  /** Test images of the per-epoch curves (0: no curves). Default min(2000, test size). */
  curveCount?: number;
  /** Test images (the first n) over which the students' inference speed is timed. Default min(2000, test size). */
  inferenceCount?: number;
  /** Evaluate the curve subset every n epochs (and after the last). Default 1 (fit's `validation`). */
  curveEvery?: number;
  /** Training epochs of each student. Default 120. */
  epochs?: number;
  /** Default 256. */
  batchSize?: number;
  /** Adam's learning rate. */
  lr?: number;
  /** Distillation temperature T. Default 4. */
  temperature?: number;
  /** Weight of the distillation term. Default 0.9. */
  alpha?: number;
  /** Seeds the students' weights, the shuffle and dropout. */
  seed?: number;
  /** Hidden widths of the default student MLP (flatten → Linear → ReLU … → Linear(classes)). */
  hidden?: readonly number[];
  /** Builds a student; called twice with the same seed, it must give the same weights. Default: the MLP. */
  student?: (seed: number) => Module;
  /** The student's name in the records (default: mlp-256-256 for the default student, else 'custom'). */
  studentName?: string;
  /** Progress callbacks of a student's training. */
  callbacks?: (role: TransferRole) => TrainCallbacks[];
  /** Steps between loss readbacks for callbacks (see fit). */
  logEvery?: number;
  /** Called when a stage starts: evaluating the teacher, training the scratch or the KD student. */
  onStage?: (stage: 'teacher' | TransferRole) => void;
  /** Teacher-output cache of the KD run (default: the shared one; false: the teacher runs every batch). */
  cache?: TeacherCache | false;
  /** The teacher's report from an earlier call with the same teacher and test set: skips its evaluation. */
  teacherReport?: TransferTeacherReport;
  /** Called with each trained student (e.g. to save its weights) before it is disposed. */
  onModel?: (role: TransferRole, model: Module) => void | Promise<void>;
}

/** One point of a per-epoch accuracy curve. */
export interface CurvePoint {
  /** Epoch number, from 1. */
  epoch: number;
  /** Accuracy on the curve subset after that epoch. */
  accuracy: number;
}

/** The teacher's test metrics, cost and speed. */
export interface TransferTeacherReport {
  /** Accuracy and macro F1 on the whole test set. */
  accuracy: number;
  /** Macro F1 on the whole test set. */
  macroF1: number;
  /** Summed over an ensemble's members. */
  params: number;
  /** The TensorFlow profiler's FLOPs of one image (total_float_ops // 2), as kd.nn.summary gives them. */
  flops: number;
  /** Inference images/s over the test set (kd.nn.predict, after a warm-up batch), measured like the students'. */
  inferenceImagesPerSecond: number;
  /** Ensemble members (1 for a single model). */
  members: number;
}

/** A student's run record with its cost and speed. */
export interface TransferStudentReport extends RunRecord {
  /** Number of parameters. */
  params: number;
  /** FLOPs of one image, counted as the TensorFlow profiler does (as the teacher's). */
  flops: number;
  /** Training images/s from the history (epochs after the first, which compiles the pipelines). */
  imagesPerSecond: number;
  /** Inference images/s over the first `inferenceCount` test images, measured like the teacher's. */
  inferenceImagesPerSecond: number;
}

/** What `runTransferRecipe` returns: the settings, the teacher's report and both students'. */
export interface TransferRecipeResult {
  /** The numbers the recipe ran with. */
  config: {
    /** Size of the labelled transfer set. */
    trainCount: number;
    /** Size of the test set. */
    testCount: number;
    /** Test images of the per-epoch curves. */
    curveCount: number;
    /** Epochs between curve points. */
    curveEvery: number;
    /** Training epochs of each student. */
    epochs: number;
    /** Batch size. */
    batchSize: number;
    /** Adam's learning rate. */
    lr: number;
    /** Distillation temperature T. */
    temperature: number;
    /** Weight of the distillation term. */
    alpha: number;
    /** Seed of both students. */
    seed: number;
    /** Hidden widths of the default MLP student; null for a custom student. */
    hidden: number[] | null;
    /** The students' name (e.g. 'mlp-256-256'). */
    student: string;
  };
  /** The teacher's report. */
  teacher: TransferTeacherReport;
  /** The student trained on the labels alone. */
  scratch: TransferStudentReport;
  /** The distilled student. */
  kd: TransferStudentReport;
  /** Accuracy on the curve subset after each evaluated epoch. */
  curves: {
    /** The scratch student's curve. */
    scratch: CurvePoint[];
    /** The distilled student's curve. */
    kd: CurvePoint[];
  };
  /** kd − scratch test accuracy, in percentage points. */
  gainPoints: number;
}

/**
 * The default student as a model spec: flatten → Linear(in, h) → ReLU … → Linear(h, classes),
 * named like `mlp-256-256`. Its weights files carry the spec (`nn.modelMetadata`), so they load back.
 */
export function transferStudentSpec(inputShape: readonly number[], classes: number, hidden: readonly number[]): ModelSpec {
  return {
    name: `mlp-${hidden.join('-')}`,
    inputShape: [...inputShape],
    layers: [{ type: 'flatten' }, ...hidden.flatMap((out) => [{ type: 'linear' as const, out }, { type: 'relu' as const }]), { type: 'linear', out: classes }],
  };
}

/** The default student built from `transferStudentSpec`, its layers drawing from one generator seeded once. */
export function transferStudent(inputShape: readonly number[], classes: number, hidden: readonly number[], seed: number): Module {
  return buildFromSpec(transferStudentSpec(inputShape, classes, hidden), { seed });
}

function positiveInt(name: string, v: number): number {
  if (!(Number.isSafeInteger(v) && v >= 1)) throw new Error(`kdgpu: runTransferRecipe: ${name} must be a positive integer, got ${String(v)}`);
  return v;
}

/** Images/s of a whole-set prediction, after a warm-up batch (pipelines compile on first use). */
async function timedPredict(model: Module, data: ArrayDataset, batchSize = 500): Promise<{ logits: Float32Array; imagesPerSecond: number }> {
  await predict(model, take(data, 0, Math.min(batchSize, data.count)), batchSize);
  const t0 = performance.now();
  const logits = await predict(model, data, batchSize);
  return { logits, imagesPerSecond: data.count / ((performance.now() - t0) / 1000) };
}

/** Training images/s over the epochs after the first (all epochs when there is one). */
export function trainingImagesPerSecond(history: EpochLog[]): number {
  const hs = history.length > 1 ? history.slice(1) : history;
  const seconds = hs.reduce((s, h) => s + h.seconds, 0);
  const images = hs.reduce((s, h) => s + h.imagesPerSecond * h.seconds, 0);
  return seconds > 0 ? images / seconds : NaN;
}

function costOf(models: Module[], inputShape: readonly number[]): { params: number; flops: number } {
  return models.reduce(
    (acc, m) => {
      const s = summary(m, inputShape);
      return { params: acc.params + s.params, flops: acc.flops + s.profilerFlops };
    },
    { params: 0, flops: 0 },
  );
}

/**
 * Evaluates the teacher, then trains a scratch student on the first \`trainCount\` labelled images
 * and a distilled student (same seed, same batches) on the same images, and reports both.
 */
export async function runTransferRecipe(opts: TransferRecipeOptions): Promise<TransferRecipeResult> {
  const R = TRANSFER_RECIPE;
  const trainCount = positiveInt('trainCount', opts.trainCount ?? R.trainCount);
  const epochs = positiveInt('epochs', opts.epochs ?? R.epochs);
  const batchSize = positiveInt('batchSize', opts.batchSize ?? R.batchSize);
  const curveEvery = positiveInt('curveEvery', opts.curveEvery ?? 1);
  const curveCount = opts.curveCount ?? Math.min(R.curveCount, opts.test.count);
  const seed = opts.seed ?? R.seed;
  const lr = opts.lr ?? R.lr;
  const temperature = opts.temperature ?? R.temperature;
  const alpha = opts.alpha ?? R.alpha;
  const hidden = opts.student ? null : [...(opts.hidden ?? R.hidden)];
  if (trainCount > opts.train.count) throw new Error(`kdgpu: runTransferRecipe: trainCount ${trainCount} is more than the ${opts.train.count} training images`);
  if (!(Number.isSafeInteger(curveCount) && curveCount >= 0 && curveCount <= opts.test.count)) {
    throw new Error(`kdgpu: runTransferRecipe: curveCount must be an integer in [0, ${opts.test.count}] (the test set's size), got ${String(curveCount)}`);
  }
  if (!(Number.isFinite(lr) && lr > 0)) throw new Error(`kdgpu: runTransferRecipe: lr must be a number > 0, got ${String(lr)}`);
  if (!(Number.isFinite(temperature) && temperature > 0)) throw new Error(`kdgpu: runTransferRecipe: temperature must be a number > 0, got ${String(temperature)}`);
  if (!(alpha >= 0 && alpha <= 1)) throw new Error(`kdgpu: runTransferRecipe: alpha must be in [0, 1], got ${String(alpha)}`);
  if (!Number.isInteger(seed)) throw new Error(`kdgpu: runTransferRecipe: seed must be an integer, got ${String(seed)}`);
  if (hidden) hidden.forEach((h, i) => positiveInt(`hidden[${i}]`, h));

  const classes = opts.test.classes ?? opts.train.classes ?? 10;
  const inputShape = opts.train.sampleShape;
  if (sampleSize(opts.test) !== sampleSize(opts.train)) throw new Error(`kdgpu: runTransferRecipe: train samples [${inputShape.join(', ')}] and test samples [${opts.test.sampleShape.join(', ')}] differ`);
  const makeStudent = opts.student ?? ((s: number) => transferStudent(inputShape, classes, hidden!, s));
  const transfer = take(opts.train, 0, trainCount);
  const curveSet = curveCount > 0 ? take(opts.test, 0, curveCount) : undefined;
  const inferenceCount = positiveInt('inferenceCount', opts.inferenceCount ?? Math.min(2000, opts.test.count));
  if (inferenceCount > opts.test.count) throw new Error(`kdgpu: runTransferRecipe: inferenceCount ${inferenceCount} is more than the ${opts.test.count} test images`);
  const inferenceSet = inferenceCount === opts.test.count ? opts.test : take(opts.test, 0, inferenceCount);

  // The teacher: accuracy on the whole test set, cost and inference speed.
  const teacher = opts.teacher instanceof Teacher ? opts.teacher : new Teacher(opts.teacher);
  let teacherReport = opts.teacherReport;
  if (!teacherReport) {
    opts.onStage?.('teacher');
    const tPred = await timedPredict(teacher, opts.test);
    const tMetrics = classificationMetrics(tPred.logits, opts.test.y, classes);
    teacherReport = {
      accuracy: tMetrics.accuracy,
      macroF1: tMetrics.macroF1,
      ...costOf(teacher.members, inputShape),
      inferenceImagesPerSecond: tPred.imagesPerSecond,
      members: teacher.size,
    };
  }

  const curves: Record<TransferRole, CurvePoint[]> = { scratch: [], kd: [] };
  const studentName = opts.studentName ?? (hidden ? `mlp-${hidden.join('-')}` : 'custom');
  const record = { recipe: 'transfer', curveCount, student: studentName };

  const runOne = async (role: TransferRole): Promise<TransferStudentReport> => {
    opts.onStage?.(role);
    const model = makeStudent(seed);
    const callbacks = [...(opts.callbacks?.(role) ?? [])];
    // Every epoch: fit's validation. Every n epochs: evaluate the subset from a callback.
    if (curveSet && curveEvery > 1) {
      callbacks.unshift({
        onEpochEnd: async (log) => {
          if (log.epoch % curveEvery === 0 || log.epoch === epochs) curves[role].push({ epoch: log.epoch, accuracy: (await evaluate(model, curveSet)).accuracy });
        },
      });
    }
    const cfg: TrainConfig = {
      epochs,
      batchSize,
      lr,
      optimizer: 'adam',
      seed,
      test: opts.test,
      validation: curveEvery === 1 ? curveSet : undefined,
      callbacks,
      logEvery: opts.logEvery,
      name: role === 'scratch' ? 'scratch student' : 'distilled student',
      record,
    };
    const run =
      role === 'scratch'
        ? await trainModel(model, transfer, { ...cfg, role: 'scratch' })
        : await distill(model, teacher, transfer, { ...cfg, temperature, alpha, cache: opts.cache });
    if (curveEvery === 1) for (const h of run.history) if (h.val) curves[role].push({ epoch: h.epoch, accuracy: h.val.accuracy });
    const inference = await timedPredict(model, inferenceSet);
    const report: TransferStudentReport = {
      ...run,
      ...costOf([model], inputShape),
      imagesPerSecond: trainingImagesPerSecond(run.history),
      inferenceImagesPerSecond: inference.imagesPerSecond,
    };
    await opts.onModel?.(role, model);
    model.dispose();
    return report;
  };

  const scratch = await runOne('scratch');
  const kd = await runOne('kd');
  return {
    config: { trainCount, testCount: opts.test.count, curveCount, curveEvery, epochs, batchSize, lr, temperature, alpha, seed, hidden, student: studentName },
    teacher: teacherReport,
    scratch,
    kd,
    curves,
    gainPoints: 100 * (kd.test.accuracy - scratch.test.accuracy),
  };
}
