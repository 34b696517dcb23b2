/**
 * tfjs training steps on the active backend, mirroring steps-kdgpu.ts: a plain step
 * (optimizer.minimize over the model's variables: forward, softmax cross-entropy, gradients,
 * Adam 1e-3) and a distillation step (the teacher's logits outside the gradient tape, then the
 * student's step on alpha·T²·KL(teacher_T ‖ student_T) + (1 − alpha)·CE).
 */
import * as kd from '../../src/index.js';
import type { DistillSpec, StepRunner } from './steps-kdgpu.js';
import { tfBatch, tfMirror, type TfModel } from './tfjs-models.js';
import { tf } from './tfjs.js';

/** The tfjs mirror of a built-in kdgpu model (the kdgpu model is built only for its layer list). */
function mirrorOf(name: string, seed: number): TfModel {
  const m = kd.nn.buildModel(name, { seed });
  try {
    return tfMirror(m, seed * 1000);
  } finally {
    m.dispose();
  }
}

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
  const model = mirrorOf(modelName, 0);
  return stepRunner(model, B, sync, (x, onehot) => () => tf.losses.softmaxCrossEntropy(onehot, model.forward(x, true)) as tf.Scalar);
}

export function tfDistillStep(spec: DistillSpec, B: number, sync: () => Promise<void>): StepRunner {
  const teacher = mirrorOf(spec.teacher, 1);
  const student = mirrorOf(spec.student, 0);
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
