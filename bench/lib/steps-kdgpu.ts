/**
 * kdgpu training steps on a fixed random batch, timed to completion (the optimizer's step submits
 * the work, then engine.sync() waits for it): a plain step (forward, softmax cross-entropy,
 * backward, Adam 1e-3) of a built-in model, and a distillation step (a frozen kd.Teacher's
 * forward pass without tape, then the student's step on kdLoss), as nn.fit records them.
 */
import * as kd from '../../src/index.js';
import { randArray, randLabels, type Sample } from './timing.js';

export interface StepRunner {
  run(): Promise<Sample | void>;
  dispose(): void;
}

/** FLOPs of a model's matmuls and convolutions (2 per MAC) for `batch` images, from kd.nn.summary. */
export function gemmLayers(model: kd.nn.Module, batch: number): number[] {
  return kd.nn
    .summary(model, [1, 28, 28])
    .layers.filter((l) => l.params > 0 && l.macs > 0)
    .map((l) => 2 * l.macs * batch);
}

/**
 * GEMM FLOPs of one training step: forward, weight gradient, and input gradient for every layer
 * but the first (its input needs none). Elementwise work, pooling and the optimizer are left out.
 */
export function trainStepFlops(model: kd.nn.Module, batch: number): number {
  return gemmLayers(model, batch).reduce((s, f, i) => s + f * (i === 0 ? 2 : 3), 0);
}

export function forwardFlops(model: kd.nn.Module, batch: number): number {
  return gemmLayers(model, batch).reduce((s, f) => s + f, 0);
}

function batchOf(B: number): { x: kd.Tensor; y: kd.Tensor } {
  return { x: kd.tensor(randArray(B * 784, 11), [B, 1, 28, 28]), y: kd.tensor(randLabels(B), [B]) };
}

function stepRunner(engine: kd.Engine, student: kd.nn.Module, B: number, loss: (out: kd.nn.ModuleOutput, x: kd.Tensor, y: kd.Tensor) => kd.Tensor, extra: kd.nn.Module[] = []): StepRunner {
  const { x, y } = batchOf(B);
  student.train();
  const opt = new kd.nn.Adam(student.parameters(), { lr: 1e-3 });
  return {
    async run() {
      const l = kd.tidy(() => {
        const value = loss(student.forward(x), x, y);
        opt.zeroGrad();
        value.backward();
        return value;
      });
      l.dispose();
      opt.step(); // submits the step
      await engine.sync();
    },
    dispose() {
      opt.dispose();
      student.dispose();
      for (const m of extra) m.dispose();
      x.dispose();
      y.dispose();
    },
  };
}

/** One training step of `modelName` (kd.nn.buildModel, seed 0) at batch `B`. */
export function kdTrainStep(engine: kd.Engine, modelName: string, B: number): StepRunner {
  return stepRunner(engine, kd.nn.buildModel(modelName, { seed: 0 }), B, (out, _x, y) => kd.softmaxCrossEntropy(kd.nn.logitsOf(out), y));
}

export interface DistillSpec {
  teacher: string;
  student: string;
  temperature: number;
  alpha: number;
}

/** One distillation step: teacher logits (eval, no tape) → kdLoss → the student's Adam step. */
export function kdDistillStep(engine: kd.Engine, spec: DistillSpec, B: number): StepRunner {
  const teacherModel = kd.nn.buildModel(spec.teacher, { seed: 1 });
  const teacher = new kd.Teacher(teacherModel);
  const opts = { temperature: spec.temperature, alpha: spec.alpha };
  return stepRunner(engine, kd.nn.buildModel(spec.student, { seed: 0 }), B, (out, x, y) => kd.kdLoss(kd.nn.logitsOf(out), teacher.logProbs(teacher.raw(x), spec.temperature), y, opts), [teacher]);
}

/**
 * Training steps as `kd.distill` and `kd.trainModel` run them: batches drawn by a shuffling
 * GpuLoader over a synthetic set of `8·B` samples (one gather dispatch per batch). `cached`: the
 * distillation step with the teacher's logits cached for the whole set (kd.TeacherCache, one
 * teacher pass at setup), so each step gathers the batch's rows and adds the KD term; otherwise
 * the scratch step (cross-entropy on the labels). The two differ only in the loss.
 */
export async function kdLoaderStep(engine: kd.Engine, studentName: string, B: number, cached: { teacher: string; temperature: number; alpha: number } | null): Promise<StepRunner> {
  const n = 8 * B;
  const data: kd.ArrayDataset = { x: randArray(n * 784, 13), y: randLabels(n), sampleShape: [1, 28, 28], count: n, classes: 10 };
  const loader = new kd.GpuLoader(data, { batchSize: B, shuffle: true, dropLast: true, seed: 0 });
  const student = kd.nn.buildModel(studentName, { seed: 0 });
  student.train();
  const opt = new kd.nn.Adam(student.parameters(), { lr: 1e-3 });
  let teacher: kd.Teacher | null = null;
  let cache: kd.TeacherCache | null = null;
  let raw: kd.Tensor | null = null;
  if (cached) {
    teacher = new kd.Teacher(kd.nn.buildModel(cached.teacher, { seed: 1 }));
    cache = new kd.TeacherCache();
    raw = (await cache.get(teacher, data)).raw;
  }
  const T = cached?.temperature ?? 1;
  const opts = { temperature: T, alpha: cached?.alpha ?? 0 };
  let batches = loader.epoch();
  const nextBatch = (): kd.Batch => {
    let r = batches.next();
    if (r.done) {
      batches = loader.epoch();
      r = batches.next();
    }
    return r.value as kd.Batch;
  };
  return {
    async run() {
      const batch = nextBatch();
      const l = kd.tidy(() => {
        const logits = kd.nn.logitsOf(student.forward(batch.x));
        const value = raw && teacher ? kd.kdLoss(logits, teacher.logProbs(batch.gather(raw), T), batch.y, opts) : kd.softmaxCrossEntropy(logits, batch.y);
        opt.zeroGrad();
        value.backward();
        return value;
      });
      l.dispose();
      batch.x.dispose();
      batch.y.dispose();
      opt.step(); // submits the step
      await engine.sync();
    },
    dispose() {
      batches.return(undefined);
      opt.dispose();
      student.dispose();
      cache?.clear();
      teacher?.dispose();
      loader.dispose();
    },
  };
}
