/** Records that distillation runs, sweeps, reports and plots share. */
import type { ClassificationMetrics } from '../nn/metrics.js';
import type { EpochLog } from '../nn/train.js';

/** A config value of a run (a grid axis value, a model name, a flag). */
export type ConfigValue = number | string | boolean | null;

/** Final test metrics of one run. */
export interface TestMetrics {
  /** Fraction of test samples classified correctly (argmax). */
  accuracy: number;
  /** Mean over classes of F1. */
  macroF1: number;
  /** Only for two classes: ROC-AUC from the scores, and precision/recall/F1 of class 1 at the argmax decision. */
  rocAuc?: number;
  /** Two classes only: precision TP/(TP+FP) of class 1. */
  precision?: number;
  /** Two classes only: recall TP/(TP+FN) of class 1. */
  recall?: number;
  /** Two classes only: F1 of class 1. */
  f1?: number;
  /** Accuracy within each true class. */
  perClassAccuracy?: number[];
}

/** One training run (teacher, scratch student, distilled student, …): everything a sweep saves. */
export interface RunRecord {
  /** A short label, e.g. "T=4 alpha=0.5 seed=0" or "teacher". */
  name: string;
  /** What was run: role, models, T, alpha, epochs, lr, batch, … (flat, JSON-serializable). */
  config: Record<string, ConfigValue>;
  /** Seed of the run (batch order, dropout masks, augmentation). */
  seed: number;
  /** Content hashes (hex) of the training data and, for distillation, of the teacher's weights. */
  hashes: {
    /** Hash of the training data. */
    data?: string;
    /** Hash of the teacher's weights (distillation runs). */
    teacher?: string;
  };
  /** Per-epoch training loss, time and validation metrics. */
  history: EpochLog[];
  /** Final metrics on the test set. */
  test: TestMetrics;
  /** Wall-clock seconds of the whole run. */
  seconds: number;
  /** The adapter the run trained on, and why it was chosen (the workflows fill it from `engine().adapter`). */
  adapter?: RunAdapter;
}

/** The RunAdapter of an engine's adapter description. */
export function runAdapter(a: { kind: string; description: string; device: string; reason: string }): RunAdapter {
  return { kind: a.kind, description: a.description || a.device, reason: a.reason };
}

/** Which adapter a run used: enough to tell a GPU figure from a CPU one. */
export interface RunAdapter {
  /** 'hardware', 'llvmpipe', 'swiftshader', 'software' or 'unknown'. */
  kind: string;
  /** The adapter's own description (or device name). */
  description: string;
  /** Why it was taken (e.g. "auto: no Vulkan adapter; llvmpipe through Dawn's OpenGL ES backend"). */
  reason: string;
}

/** The TestMetrics part of a model's ClassificationMetrics (the binary-only fields when present). */
export function testMetricsOf(m: ClassificationMetrics): TestMetrics {
  const t: TestMetrics = { accuracy: m.accuracy, macroF1: m.macroF1, perClassAccuracy: m.perClassAccuracy };
  if (m.rocAuc !== undefined) t.rocAuc = m.rocAuc;
  if (m.f1 !== undefined) Object.assign(t, { precision: m.precision, recall: m.recall, f1: m.f1 });
  return t;
}
