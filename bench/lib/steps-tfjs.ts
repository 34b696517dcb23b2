/**
 * tfjs training steps on the active backend, mirroring steps-kdgpu.ts: a plain step
 * (optimizer.minimize over the model's variables: forward, softmax cross-entropy, gradients,
 * Adam 1e-3) and a distillation step (the teacher's logits outside the gradient tape, then the
 * student's step on alpha·T²·KL(teacher_T ‖ student_T) + (1 − alpha)·CE).
 */
import type { DistillSpec, StepRunner } from './steps-kdgpu.js';
import { builtinLayers, tfBatch, tfMirrorOf, type MirrorLayer, type TfModel } from './tfjs-models.js';
import { tf } from './tfjs.js';

/** Seeds of the mirrors' weights: the student's and the teacher's. */
const STUDENT_SEED = 0;
const TEACHER_SEED = 1000;

function stepRunner(student: TfModel, B: number, sync: () => Promise<void>, loss: (x: tf.Tensor4D, onehot: tf.Tensor2D) => () => tf.Scalar, extra: TfModel[] = []): StepRunner {
  const { x, onehot } = tfBatch(B);
  const opt = tf.train.adam(1e-3);
  return {
    async run() {
      tf.tidy(() => {
        opt.minimize(loss(x, onehot), false, student.variables);
      });
      await sync();
    },
    dispose() {
      opt.dispose();
      student.dispose();
      for (const m of extra) m.dispose();
      x.dispose();
      onehot.dispose();
    },
  };
}

export function tfTrainStep(modelName: string, B: number, sync: () => Promise<void>): StepRunner {
  return tfTrainStepOf(builtinLayers(modelName), B, sync);
}

/** tfTrainStep for a model given as its mirrored layers (where no kdgpu engine can build it: the browser page). */
export function tfTrainStepOf(layers: MirrorLayer[], B: number, sync: () => Promise<void>): StepRunner {
  const model = tfMirrorOf(layers, STUDENT_SEED);
  return stepRunner(model, B, sync, (x, onehot) => () => tf.losses.softmaxCrossEntropy(onehot, model.forward(x, true)) as tf.Scalar);
}

export function tfDistillStep(spec: DistillSpec, B: number, sync: () => Promise<void>): StepRunner {
  return tfDistillStepOf(builtinLayers(spec.teacher), builtinLayers(spec.student), spec, B, sync);
}

/** tfDistillStep for models given as their mirrored layers (see tfTrainStepOf). */
export function tfDistillStepOf(teacherLayers: MirrorLayer[], studentLayers: MirrorLayer[], spec: Pick<DistillSpec, 'temperature' | 'alpha'>, B: number, sync: () => Promise<void>): StepRunner {
  const teacher = tfMirrorOf(teacherLayers, TEACHER_SEED);
  const student = tfMirrorOf(studentLayers, STUDENT_SEED);
  const T = spec.temperature;
  return stepRunner(
    student,
    B,
    sync,
    (x, onehot) => {
      // Runs inside the step's tidy, before minimize: no gradient flows into the teacher.
      const teacherLogP = tf.logSoftmax(tf.div(teacher.forward(x, false), T));
      return () => {
        const s = student.forward(x, true);
        const studentLogP = tf.logSoftmax(tf.div(s, T));
        const kl = tf.mul(tf.div(tf.sum(tf.mul(tf.exp(teacherLogP), tf.sub(teacherLogP, studentLogP))), B), T * T);
        const ce = tf.losses.softmaxCrossEntropy(onehot, s);
        return tf.add(tf.mul(kl, spec.alpha), tf.mul(ce, 1 - spec.alpha)) as tf.Scalar;
      };
    },
    [teacher],
  );
}
