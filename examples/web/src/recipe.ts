/**
 * What the web page computes, with no DOM and no platform code: load Fashion-MNIST from IDX bytes,
 * load the teacher from safetensors bytes, train a scratch and a distilled student side by side,
 * run a temperature sweep. The page (main.ts) calls these with `fetch`ed bytes; the Node test
 * calls them with file bytes, which is how it checks that the page reports what the Node API
 * gives. Imports kdgpu's platform-neutral core: the entry point (src/browser.ts in the page,
 * src/index.ts in Node) has chosen the device.
 */
import * as kd from '../../../src/core.js';

/**
 * The page's defaults: distillation pays when labels are scarce. With 1,000 labelled images,
 * batch 128 and 40 epochs (320 steps) the scratch student overfits and the distilled one ends
 * ahead (measured in Node here: 80.3% vs 82.8% on the 1,000 shipped test images).
 */
export const WEB_RECIPE = {
  /** Labelled images: the first n of the training set. */
  trainCount: 1000,
  epochs: 40,
  batchSize: 128,
  lr: 1e-3,
  temperature: 4,
  alpha: 0.9,
  seed: 0,
  /** Hidden widths of the student MLP (the demo's 784-256-256-10). */
  hidden: [256, 256] as readonly number[],
  /** Temperatures of the sweep (each run uses the page's other settings). */
  sweepTemperatures: [1, 2, 4, 8, 16] as readonly number[],
} as const;

/**
 * Steps between loss points: fit averages the loss over windows inside an epoch, so the window
 * must divide the steps of an epoch; the largest divisor ≤ 10 keeps the curve smooth.
 */
export function lossWindow(stepsPerEpoch: number): number {
  for (let w = Math.min(10, stepsPerEpoch); w > 1; w--) if (stepsPerEpoch % w === 0) return w;
  return 1;
}

/** IDX file names, as in the Fashion-MNIST distribution. */
export const FASHION_FILES = {
  train: ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz'],
  test: ['t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'],
} as const;

export const FASHION_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'] as const;

export interface FashionData {
  train: kd.ArrayDataset;
  test: kd.ArrayDataset;
}

/** Reads one split from its two IDX files; `read(name)` returns a file's bytes (fetch or fs). */
async function readSplit(read: (name: string) => Promise<Uint8Array>, [img, lbl]: readonly [string, string]): Promise<kd.ArrayDataset> {
  const [imgBytes, lblBytes] = await Promise.all([read(img), read(lbl)]);
  return kd.fromImageSet(kd.imageSetFromIdx(kd.parseIdx(imgBytes, img), kd.parseIdx(lblBytes, lbl), [img, lbl]));
}

export async function loadFashion(read: (name: string) => Promise<Uint8Array>): Promise<FashionData> {
  const [train, test] = await Promise.all([readSplit(read, FASHION_FILES.train), readSplit(read, FASHION_FILES.test)]);
  return { train, test };
}

/** A teacher from a kdgpu weights file: the built-in model it names (`kdgpu.model`), default hinton-mlp-teacher. */
export function loadTeacher(bytes: Uint8Array, fileName: string): { model: kd.nn.Module; name: string } {
  const name = kd.nn.parseSafetensors(bytes, fileName).metadata['kdgpu.model'] ?? 'hinton-mlp-teacher';
  const model = kd.nn.buildModel(name);
  kd.nn.loadWeightsFromBytes(model, bytes, fileName);
  model.eval();
  return { model, name };
}

export function makeStudent(seed: number, hidden: readonly number[] = WEB_RECIPE.hidden): kd.nn.Module {
  return kd.transferStudent([1, 28, 28], 10, hidden, seed);
}

export type StudentRole = 'scratch' | 'kd';

export interface LossPoint {
  student: StudentRole;
  /** Steps done (1-based): the loss is the mean over the `logEvery` steps ending here. */
  step: number;
  loss: number;
}

export interface AccuracyPoint {
  student: StudentRole;
  step: number;
  accuracy: number;
}

export interface SideBySideConfig {
  /** Labelled images: the first n of data.train. */
  trainCount: number;
  epochs: number;
  batchSize: number;
  lr: number;
  temperature: number;
  alpha: number;
  seed: number;
  hidden?: readonly number[];
}

/** The first `trainCount` training images (checked). */
export function labelled(data: FashionData, trainCount: number): kd.ArrayDataset {
  if (!(Number.isInteger(trainCount) && trainCount >= 1 && trainCount <= data.train.count)) {
    throw new Error(`labelled images must be a whole number from 1 to ${data.train.count}, got ${String(trainCount)}`);
  }
  return kd.take(data.train, 0, trainCount);
}

export interface SideBySideHooks {
  onLoss?: (p: LossPoint) => void;
  onAccuracy?: (p: AccuracyPoint) => void;
  signal?: { stopped: boolean };
}

export interface SideBySideResult {
  scratch: kd.RunRecord;
  kd: kd.RunRecord;
  /** The trained students (the caller disposes them). */
  models: Record<StudentRole, kd.nn.Module>;
  losses: LossPoint[];
  accuracy: AccuracyPoint[];
  stepsPerEpoch: number;
  /** Steps per loss point. */
  logEvery: number;
}

/**
 * Trains two students from the same initial weights on the same batches, concurrently (each
 * training loop yields between steps, so their steps interleave and both curves grow live): one
 * on the labels alone, one with the teacher's soft targets. Test accuracy after every epoch.
 */
export async function runSideBySide(teacher: kd.nn.Module, data: FashionData, cfg: SideBySideConfig, hooks: SideBySideHooks = {}): Promise<SideBySideResult> {
  const train = labelled(data, cfg.trainCount);
  const stepsPerEpoch = Math.ceil(train.count / cfg.batchSize);
  const logEvery = lossWindow(stepsPerEpoch);
  const losses: LossPoint[] = [];
  const accuracy: AccuracyPoint[] = [];
  const models = { scratch: makeStudent(cfg.seed, cfg.hidden), kd: makeStudent(cfg.seed, cfg.hidden) };
  const before = (await kd.nn.evaluate(models.scratch, data.test)).accuracy;
  for (const student of ['scratch', 'kd'] as const) {
    const p = { student, step: 0, accuracy: before };
    accuracy.push(p);
    hooks.onAccuracy?.(p);
  }
  const callbacks = (student: StudentRole): kd.nn.TrainCallbacks[] => [
    {
      onLoss: (info) => {
        const p = { student, step: info.globalStep + 1, loss: info.loss };
        losses.push(p);
        hooks.onLoss?.(p);
      },
      onEpochEnd: (log) => {
        if (!log.val) return;
        const p = { student, step: log.epoch * stepsPerEpoch, accuracy: log.val.accuracy };
        accuracy.push(p);
        hooks.onAccuracy?.(p);
      },
    },
  ];
  const common = {
    epochs: cfg.epochs,
    batchSize: cfg.batchSize,
    lr: cfg.lr,
    seed: cfg.seed,
    test: data.test,
    validation: data.test,
    logEvery,
    signal: hooks.signal,
  };
  const [scratch, distilled] = await Promise.all([
    kd.trainModel(models.scratch, train, { ...common, role: 'scratch', callbacks: callbacks('scratch') }),
    kd.distill(models.kd, teacher, train, { ...common, temperature: cfg.temperature, alpha: cfg.alpha, callbacks: callbacks('kd') }),
  ]);
  // Loss readbacks resolve after their steps; order the points by step for the caller.
  losses.sort((a, b) => a.step - b.step || a.student.localeCompare(b.student));
  return { scratch, kd: distilled, models, losses, accuracy, stepsPerEpoch, logEvery };
}

export interface SweepConfig extends Omit<SideBySideConfig, 'temperature'> {
  temperatures: readonly number[];
}

/** One distillation run per temperature (same student weights and batches); the teacher's logits are computed once. */
export async function runTemperatureSweep(teacher: kd.nn.Module, data: FashionData, cfg: SweepConfig, onRun?: (r: kd.RunRecord, i: number, total: number) => void): Promise<kd.RunRecord[]> {
  const result = await kd.sweepDistillation({
    grid: { temperature: [...cfg.temperatures] },
    seeds: [cfg.seed],
    student: (seed) => makeStudent(seed, cfg.hidden),
    teacher,
    train: labelled(data, cfg.trainCount),
    config: { epochs: cfg.epochs, batchSize: cfg.batchSize, lr: cfg.lr, alpha: cfg.alpha, test: data.test },
    onRun,
  });
  return result.runs;
}

/** Predicted class of each of the first `count` test images. */
export async function predictLabels(model: kd.nn.Module, test: kd.ArrayDataset, count: number): Promise<number[]> {
  const n = Math.min(count, test.count);
  const logits = await kd.nn.predict(model, kd.take(test, 0, n));
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < 10; c++) if (logits[i * 10 + c] > logits[i * 10 + best]) best = c;
    out.push(best);
  }
  return out;
}
