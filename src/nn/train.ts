/**
 * fit / evaluate. A steady-state training step is one queue submission with no readback: the
 * batch is gathered on the GPU, forward, backward and the optimizer update are recorded, and the
 * optimizer's step submits them. The step's loss is added to a running sum on the GPU; the sum
 * is read back every `logEvery` steps without waiting for it, and at the end of each epoch.
 * When the engine's profile has `epochTables` (KDGPU_PROFILE=1), each epoch's training steps are
 * profiled on their own and their per-kernel table is printed to stderr (console.error).
 */
import { full } from '../autograd/creation.js';
import { noGrad } from '../autograd/graph.js';
import { add } from '../autograd/ops-elementwise.js';
import { augment, type AugmentOptions } from '../autograd/ops-augment.js';
import { dropoutState, setDropoutState } from '../autograd/ops-dropout.js';
import { softmaxCrossEntropy } from '../autograd/ops-softmax.js';
import { concat } from '../autograd/ops-shape.js';
import { keep, tidy } from '../autograd/scope.js';
import type { Tensor } from '../autograd/tensor.js';
import { GpuLoader, type ArrayDataset, type Batch } from '../data/dataset.js';
import { formatProfile } from '../gpu/profiler.js';
import { classificationMetrics, type ClassificationMetrics } from './metrics.js';
import type { Module, ModuleOutput } from './module.js';
import type { LRScheduler, Optimizer } from './optim.js';
import { parseSafetensors, serializeSafetensors } from './safetensors.js';

/** The training loss of one batch; `batch` gives per-sample extras (e.g. cached teacher logits). */
export type LossFn = (output: ModuleOutput, y: Tensor, x: Tensor, batch: Batch) => Tensor;

/** Mean cross-entropy on the model's logits (its output, or its `logits` entry). */
export const crossEntropyLoss: LossFn = (output, y) => softmaxCrossEntropy(logitsOf(output), y);

/** The logits in a model's output: the output itself, or its `logits` entry (an error if absent). */
export function logitsOf(output: ModuleOutput): Tensor {
  if (typeof (output as Tensor).dispose === 'function') return output as Tensor;
  const named = output as Record<string, Tensor>;
  if (!named.logits) throw new Error(`kdgpu: the model returned named outputs (${Object.keys(named).join(', ')}) without 'logits'`);
  return named.logits;
}

/** Where training is, passed to `onStepEnd`. */
export interface StepInfo {
  /** Epoch number (1-based). */
  epoch: number;
  /** Step within the epoch (0-based). */
  step: number;
  /** Batches per epoch. */
  stepsPerEpoch: number;
  /** Step counted across epochs (0-based): (epoch − 1)·stepsPerEpoch + step. */
  globalStep: number;
}

/** A loss readback, passed to `onLoss`. */
export interface LossInfo extends StepInfo {
  /** Mean loss over the steps since the previous report. */
  loss: number;
  /** Training images per second since the previous report. */
  imagesPerSecond: number;
}

/** One epoch's record, passed to `onEpochEnd` and kept in `FitResult.history`. */
export interface EpochLog {
  /** Epoch number (1-based). */
  epoch: number;
  /** Mean training loss over the epoch's steps. */
  loss: number;
  /** Wall time of the epoch's training steps, in seconds (validation and checkpoint excluded). */
  seconds: number;
  /** Training images per second over the epoch. */
  imagesPerSecond: number;
  /** The optimizer's learning rate after the epoch (and the scheduler's step). */
  lr: number;
  /** Metrics on `FitOptions.validation`, when given. */
  val?: ClassificationMetrics & {
    /** Mean cross-entropy. */
    loss: number;
  };
}

/** Hooks `fit` calls during training; every one is optional. */
export interface TrainCallbacks {
  /** Before an epoch's first step; `epoch` is 1-based. */
  onEpochStart?(epoch: number, stepsPerEpoch: number): void;
  /** After each step is recorded and submitted; carries no values (nothing is read back). */
  onStepEnd?(info: StepInfo): void;
  /** When a loss readback (every `logEvery` steps) arrives. */
  onLoss?(info: LossInfo): void;
  /** After each epoch (its validation and checkpoint included); fit awaits a returned promise. */
  onEpochEnd?(log: EpochLog): void | Promise<void>;
}

/** Stop training when the validation metric stops improving (Keras's EarlyStopping). Needs `validation`. */
export interface EarlyStopping {
  /** 'val_loss' (default, lower is better) or 'val_accuracy'. */
  monitor?: 'val_loss' | 'val_accuracy';
  /** Epochs without improvement tolerated; the next one without improvement stops training. */
  patience: number;
  /** Smallest change that counts as an improvement (default 0). */
  minDelta?: number;
}

/** Options of `fit`. */
export interface FitOptions {
  /** Updates the model's parameters after every batch. */
  optimizer: Optimizer;
  /** Last epoch to train (epochs are 1-based; a resumed run continues up to it). */
  epochs: number;
  /** Training loss (default `crossEntropyLoss`). */
  loss?: LossFn;
  /** Stepped once at the end of every epoch. */
  scheduler?: LRScheduler;
  /** Evaluated after every epoch. */
  validation?: ArrayDataset;
  /** Evaluated on `validation` instead of the trained model (e.g. a view of it). */
  validationModel?: Module;
  /** Steps between loss readbacks for callbacks (0: only at epoch ends). Default 50. */
  logEvery?: number;
  /** Progress hooks, called in order. */
  callbacks?: TrainCallbacks[];
  /** Stop early on a validation plateau (needs `validation`). */
  earlyStopping?: EarlyStopping;
  /** Called after every epoch with a checkpoint (weights, optimizer, RNG and shuffle state). */
  checkpoint?: (bytes: Uint8Array, epoch: number) => void | Promise<void>;
  /** Continue from this checkpoint (as written by `checkpoint`). */
  resumeFrom?: Uint8Array;
  /** Names `resumeFrom` in errors (e.g. its file's path). Default 'checkpoint'. */
  resumeName?: string;
  /** Set to stop after the current step (e.g. on Ctrl-C); a checkpoint is still written. */
  signal?: {
    /** True to stop. */
    stopped: boolean;
  };
  /**
   * Random augmentation of every training batch (images [N, C, H, W]) on the GPU; the draw depends
   * on (augment.seed, global step), so a resumed run augments as an uninterrupted one.
   */
  augment?: AugmentOptions;
}

/** What `fit` returns. */
export interface FitResult {
  /** One log per epoch trained in this call. */
  history: EpochLog[];
  /** Why training ended. */
  stopReason: 'epochs' | 'early-stopping' | 'signal';
}

/**
 * Trains `model` on the batches of `loader` for `opts.epochs` epochs (see the file comment for how
 * a step runs), with optional validation, checkpoints, early stopping and resumption.
 */
export async function fit(model: Module, loader: GpuLoader, opts: FitOptions): Promise<FitResult> {
  const lossFn = opts.loss ?? crossEntropyLoss;
  const logEvery = opts.logEvery ?? 50;
  const cbs = opts.callbacks ?? [];
  const history: EpochLog[] = [];
  let startEpoch = 1;
  if (opts.resumeFrom) startEpoch = restoreCheckpoint(opts.resumeFrom, model, opts.optimizer, loader, opts.scheduler, opts.resumeName) + 1;
  const e = loader.engine;
  let best = Infinity;
  let bad = 0;
  let stopReason: FitResult['stopReason'] = 'epochs';
  const stepsPerEpoch = loader.length;
  for (let epoch = startEpoch; epoch <= opts.epochs; epoch++) {
    model.train();
    for (const cb of cbs) cb.onEpochStart?.(epoch, stepsPerEpoch);
    // Leaves out what ran since the last table (validation, checkpoints, a previous fit).
    const profileEpoch = e.profileOptions?.epochTables === true;
    if (profileEpoch) await e.takeProfile();
    const t0 = performance.now();
    let lossSum = keep(full([], 0));
    let images = 0;
    let windowStart = performance.now();
    let windowImages = 0;
    let windowSum: Tensor | null = null;
    for (const batch of loader.epoch()) {
      const { y } = batch;
      const x = opts.augment ? augment(batch.x, opts.augment, (epoch - 1) * stepsPerEpoch + batch.index) : batch.x;
      if (x !== batch.x) batch.x.dispose(); // the augmented copy replaces it
      const l = tidy(() => {
        const loss = lossFn(model.forward(x), y, x, batch);
        if (loss.size !== 1) throw new Error(`kdgpu: fit: the loss has shape [${loss.shape.join(', ')}], expected a scalar`);
        opts.optimizer.zeroGrad();
        loss.backward();
        return loss;
      });
      const next = keep(noGrad(() => add(lossSum, l)));
      lossSum.dispose();
      lossSum = next;
      l.dispose();
      x.dispose();
      y.dispose();
      opts.optimizer.step(); // submits the step
      images += y.size;
      windowImages += y.size;
      const info: StepInfo = { epoch, step: batch.index, stepsPerEpoch, globalStep: (epoch - 1) * stepsPerEpoch + batch.index };
      for (const cb of cbs) cb.onStepEnd?.(info);
      if (logEvery > 0 && cbs.some((c) => c.onLoss) && (batch.index + 1) % logEvery === 0) {
        // Read a copy of the running sum without waiting: the next steps keep being recorded.
        const snapshot = keep(noGrad(() => add(lossSum, 0)));
        const prev = windowSum;
        const steps = logEvery;
        const imgs = windowImages;
        const secs = (performance.now() - windowStart) / 1000;
        windowSum = snapshot;
        windowStart = performance.now();
        windowImages = 0;
        void Promise.all([snapshot.data(), prev ? prev.data() : Promise.resolve(new Float32Array([0]))]).then(([cur, old]) => {
          prev?.dispose();
          for (const cb of cbs) cb.onLoss?.({ ...info, loss: (cur[0] - old[0]) / steps, imagesPerSecond: imgs / secs });
        });
      }
      if (opts.signal?.stopped) break;
      // Let timers, signal handlers (Ctrl-C) and readback callbacks (progress) run between
      // steps; recording a step does not wait for the GPU, so this costs microseconds.
      await yieldToEventLoop();
    }
    const total = (await lossSum.data())[0];
    lossSum.dispose();
    windowSum?.dispose();
    if (profileEpoch && e.profileOptions) console.error(formatProfile(await e.takeProfile(), { title: `kdgpu profile, epoch ${epoch}` }));
    opts.scheduler?.step();
    const seconds = (performance.now() - t0) / 1000;
    const log: EpochLog = {
      epoch,
      loss: total / Math.max(1, stepsPerEpoch),
      seconds,
      imagesPerSecond: images / seconds,
      lr: opts.optimizer.lr,
    };
    if (opts.validation) log.val = await evaluate(opts.validationModel ?? model, opts.validation);
    history.push(log);
    if (opts.checkpoint) await opts.checkpoint(await checkpointBytes(model, opts.optimizer, loader, epoch, opts.scheduler), epoch);
    for (const cb of cbs) await cb.onEpochEnd?.(log);
    await e.checkErrors();
    if (opts.signal?.stopped) {
      stopReason = 'signal';
      break;
    }
    if (opts.earlyStopping && log.val) {
      const es = opts.earlyStopping;
      const value = (es.monitor ?? 'val_loss') === 'val_loss' ? log.val.loss : -log.val.accuracy;
      if (value < best - (es.minDelta ?? 0)) {
        best = value;
        bad = 0;
      } else if (++bad > es.patience) {
        stopReason = 'early-stopping';
        break;
      }
    }
  }
  return { history, stopReason };
}

/** Options of `evaluate`. */
export interface EvaluateOptions {
  /** Samples per forward pass (default 500). */
  batchSize?: number;
  /** Number of classes (default: the dataset's `classes`, else inferred from the logits' width). */
  classes?: number;
}

/** Accuracy, per-class accuracy, macro F1 (ROC-AUC for two classes) and mean cross-entropy. */
export async function evaluate(
  model: Module,
  data: ArrayDataset,
  opts: EvaluateOptions = {},
): Promise<
  ClassificationMetrics & {
    /** Mean cross-entropy of the logits, computed in float64. */
    loss: number;
  }
> {
  const logits = await predict(model, data, opts.batchSize);
  const classes = opts.classes ?? data.classes ?? logits.length / data.count;
  const m = classificationMetrics(logits, data.y, classes);
  // Mean cross-entropy in float64 from the logits.
  let loss = 0;
  for (let i = 0; i < data.count; i++) {
    let mx = -Infinity;
    for (let c = 0; c < classes; c++) mx = Math.max(mx, logits[i * classes + c]);
    let s = 0;
    for (let c = 0; c < classes; c++) s += Math.exp(logits[i * classes + c] - mx);
    loss += Math.log(s) + mx - logits[i * classes + data.y[i]];
  }
  return { ...m, loss: loss / data.count };
}

/** The model's logits for a whole dataset, in eval mode (one readback). */
export async function predict(model: Module, data: ArrayDataset, batchSize = 500): Promise<Float32Array> {
  const wasTraining = model.training;
  model.eval();
  const loader = new GpuLoader(data, { batchSize });
  try {
    const parts: Tensor[] = [];
    for (const { x, y } of loader.epoch()) {
      parts.push(keep(noGrad(() => tidy(() => logitsOf(model.forward(x))))));
      x.dispose();
      y.dispose();
    }
    const all = parts.length === 1 ? parts[0] : noGrad(() => concat(parts, 0));
    const out = (await all.data()) as Float32Array;
    for (const p of parts) p.dispose();
    all.dispose();
    return out;
  } finally {
    loader.dispose();
    model.train(wasTraining);
  }
}

// ---- checkpoints ---------------------------------------------------------------------------

/** Weights, optimizer state, shuffle and dropout RNG state and the epoch, as safetensors bytes. */
export async function checkpointBytes(model: Module, optimizer: Optimizer, loader: GpuLoader | null, epoch: number, scheduler?: LRScheduler): Promise<Uint8Array> {
  const entries: [string, { shape: readonly number[]; data: Float32Array | Int32Array }][] = [];
  for (const [n, t] of model.stateDict()) entries.push([`model.${n}`, { shape: t.shape, data: await t.data() }]);
  for (const [n, t] of optimizer.stateTensors()) entries.push([`optimizer.${n}`, { shape: t.shape, data: await t.data() }]);
  const meta = {
    kind: 'kdgpu-checkpoint',
    epoch,
    optimizerStepCount: optimizer.stepCount,
    lr: optimizer.lr,
    optimizer: optimizer.stateMeta(),
    loader: loader ? loader.getState() : null,
    dropout: dropoutState(),
    schedulerEpoch: scheduler ? scheduler.epoch : null,
  };
  return serializeSafetensors(entries, { kdgpu: JSON.stringify(meta, (_k, v) => (typeof v === 'number' && Number.isNaN(v) ? 'NaN' : v)) });
}

/** Restores a checkpoint into model/optimizer/loader/scheduler; returns its epoch. */
export function restoreCheckpoint(bytes: Uint8Array, model: Module, optimizer: Optimizer, loader: GpuLoader | null, scheduler?: LRScheduler, name = 'checkpoint'): number {
  const file = parseSafetensors(bytes, name);
  const metaText = file.metadata.kdgpu;
  if (!metaText) throw new Error(`kdgpu: ${name} is not a kdgpu checkpoint (no 'kdgpu' metadata)`);
  const meta = JSON.parse(metaText, (_k, v) => (v === 'NaN' ? NaN : v)) as {
    epoch: number;
    optimizerStepCount: number;
    lr: number;
    optimizer: Record<string, unknown>;
    loader: number[] | null;
    dropout: { seed: number; step: number };
    schedulerEpoch: number | null;
  };
  const weights = new Map<string, { shape: number[]; data: Float32Array | Int32Array }>();
  const optState = new Map<string, { shape: readonly number[]; data: Float32Array }>();
  for (const [k, v] of file.tensors) {
    if (k.startsWith('model.')) weights.set(k.slice(6), v);
    else if (k.startsWith('optimizer.')) optState.set(k.slice(10), { shape: v.shape, data: v.data as Float32Array });
  }
  // Copy weights into the existing parameter tensors' buffers, so the optimizer keeps its references.
  const own = model.stateDict();
  for (const [n, t] of own) {
    const w = weights.get(n);
    if (!w) throw new Error(`kdgpu: ${name}: no weights for '${n}'`);
    if (w.shape.length !== t.shape.length || w.shape.some((d, i) => d !== t.shape[i])) {
      throw new Error(`kdgpu: ${name}: parameter '${n}' has shape [${w.shape.join(', ')}], the model expects [${t.shape.join(', ')}]`);
    }
    t.engine.writeInto(t.bufferFor('restoreCheckpoint'), w.data);
  }
  optimizer.loadState(optState, meta.optimizer);
  optimizer.stepCount = meta.optimizerStepCount;
  optimizer.lr = meta.lr;
  if (loader && meta.loader) loader.setState(meta.loader);
  setDropoutState(meta.dropout);
  if (scheduler && meta.schedulerEpoch !== null) scheduler.epoch = meta.schedulerEpoch;
  return meta.epoch;
}

/** A macrotask turn (setImmediate in Node, a MessageChannel message in browsers). */
function yieldToEventLoop(): Promise<void> {
  const g = globalThis as { setImmediate?: (f: () => void) => void };
  if (g.setImmediate) return new Promise((r) => g.setImmediate!(r));
  return new Promise((r) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => {
      ch.port1.close();
      r();
    };
    ch.port2.postMessage(null);
  });
}
