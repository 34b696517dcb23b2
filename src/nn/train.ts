/**
 * fit / evaluate. A steady-state training step is one queue submission with no readback: the
 * batch is gathered on the GPU, forward, backward and the optimizer update are recorded, and the
 * optimizer's step submits them. The step's loss is added to a running sum on the GPU, in the
 * finite flag (finite-flag.ts) where the step's kernels also record the first non-finite loss,
 * gradient or weight; a copy of the flag is read back every `logEvery` steps without waiting for
 * it, and the flag at the end of each epoch.
 * When the engine's profile has `epochTables` (KDGPU_PROFILE=1), each epoch's training steps are
 * profiled on their own and their per-kernel table is printed to stderr (console.error).
 */
import { noGrad } from '../autograd/graph.js';
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
import { describeFlag, type FlagState } from './finite-flag.js';
import { nonFiniteValues } from './finite-weights.js';
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
  /**
   * Steps between reads of the loss sum and the finite flag (0: only at epoch ends), for `onLoss`
   * and to stop a diverging run: a non-finite value is found by the read ending its window. Default 50.
   */
  logEvery?: number;
  /** Progress hooks, called in order. */
  callbacks?: TrainCallbacks[];
  /** Stop early on a validation plateau (needs `validation`). */
  earlyStopping?: EarlyStopping;
  /**
   * Called after every epoch with a checkpoint (weights, optimizer, RNG and shuffle state), and at a
   * stop by `signal` inside an epoch with one of the exact step reached (`epoch`: epochs finished).
   */
  checkpoint?: (bytes: Uint8Array, epoch: number) => void | Promise<void>;
  /** Continue from this checkpoint (as written by `checkpoint`). */
  resumeFrom?: Uint8Array;
  /** Names `resumeFrom` in errors (e.g. its file's path). Default 'checkpoint'. */
  resumeName?: string;
  /**
   * Set to stop (e.g. on Ctrl-C): the loop stops before its next step (within `MAX_QUEUED_STEPS`
   * steps of GPU work) and returns a checkpoint of the step reached (`FitResult.checkpoint`).
   */
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
  /**
   * After a stop by `signal`: a checkpoint of the exact step reached (mid-epoch when the stop came
   * inside an epoch), for `resumeFrom`. `FitOptions.checkpoint` has received the same bytes.
   */
  checkpoint?: Uint8Array;
}

/**
 * Thrown by `fit` when the training loss, a gradient, an updated weight or optimizer state becomes
 * non-finite (NaN or ±Infinity), or by `checkpointBytes` when a weight is. Nothing was written
 * after the step it names.
 */
export class TrainingDivergedError extends Error {
  constructor(
    message: string,
    /** Epoch (1-based) of the first non-finite value found. */
    readonly epoch: number,
    /** Step counted across epochs (1-based) of the first non-finite value found, when known. */
    readonly step: number | null,
    /** What was not finite at that step, when known: the loss, or a parameter's gradient, updated weight or optimizer state. */
    readonly what: 'loss' | 'gradient' | 'weight' | 'state' | null = null,
    /** The parameter (its `namedParameters` name) whose gradient, weight or state it was. */
    readonly parameter: string | null = null,
  ) {
    super(message);
    this.name = 'TrainingDivergedError';
  }
}

/** Steps `fit` lets the CPU record ahead of the GPU (a stop request is acted on within about this many steps). */
export const MAX_QUEUED_STEPS = 2;

/**
 * Trains `model` on the batches of `loader` for `opts.epochs` epochs (see the file comment for how
 * a step runs), with optional validation, checkpoints, early stopping and resumption.
 *
 * At most `MAX_QUEUED_STEPS` steps are queued ahead of the GPU (the loop waits for an older step's
 * submission to finish, which is no readback), so `signal` stops training within a few steps; the
 * stop writes a checkpoint of the exact step reached. The finite flag is read every `logEvery`
 * steps (and at each epoch end): a first non-finite loss, gradient, weight or optimizer state at
 * step s stops training with a `TrainingDivergedError` naming s and what it was, from the first
 * read at or after s (at most `logEvery` − 1 steps later, or the epoch's end with `logEvery` 0);
 * the loop has recorded at most `MAX_QUEUED_STEPS` more steps when that read arrives, and nothing
 * after s is checkpointed or returned.
 */
export async function fit(model: Module, loader: GpuLoader, opts: FitOptions): Promise<FitResult> {
  const lossFn = opts.loss ?? crossEntropyLoss;
  const logEvery = opts.logEvery ?? 50;
  const cbs = opts.callbacks ?? [];
  const history: EpochLog[] = [];
  let startEpoch = 1;
  let resumeAt: CheckpointPosition | null = null;
  // Early stopping's record, kept in checkpoints so that a resumed run stops where this one would.
  let es: EarlyStoppingState = { best: Infinity, bad: 0 };
  if (opts.resumeFrom) {
    const pos = restoreCheckpointAt(opts.resumeFrom, model, opts.optimizer, loader, opts.scheduler, opts.resumeName);
    startEpoch = pos.epoch + 1;
    if (pos.step > 0) resumeAt = pos;
    if (pos.earlyStopping) es = pos.earlyStopping;
  }
  if (opts.earlyStopping && es.bad > opts.earlyStopping.patience) return { history, stopReason: 'early-stopping' };
  const e = loader.engine;
  const flag = opts.optimizer.finiteFlag;
  let stopReason: FitResult['stopReason'] = 'epochs';
  const stepsPerEpoch = loader.length;
  // Set by a readback callback (a holder, so the type checker does not narrow it to null).
  const nonFinite: { diverged: TrainingDivergedError | null } = { diverged: null };
  const divergedAt = ({ firstStep, what }: FlagState) => {
    const epoch = Math.floor(firstStep! / stepsPerEpoch) + 1;
    const names = new Map(model.namedParameters().map(([n, t]) => [t, n]));
    const paramNames = opts.optimizer.params.map((p) => names.get(p) ?? '');
    const parameter = what!.what === 'loss' ? null : paramNames[what!.param] || null;
    return new TrainingDivergedError(
      `kdgpu: training diverged: ${describeFlag(what!, paramNames)} is not finite at step ${firstStep! + 1} (epoch ${epoch}, step ${(firstStep! % stepsPerEpoch) + 1} of ${stepsPerEpoch}); stopped without writing weights or a checkpoint after it (try a lower learning rate)`,
      epoch,
      firstStep! + 1,
      what!.what,
      parameter,
    );
  };
  for (let epoch = startEpoch; epoch <= opts.epochs; epoch++) {
    model.train();
    const firstStep = epoch === startEpoch && resumeAt ? resumeAt.step : 0;
    for (const cb of cbs) cb.onEpochStart?.(epoch, stepsPerEpoch);
    // Leaves out what ran since the last table (validation, checkpoints, a previous fit).
    const profileEpoch = e.profileOptions?.epochTables === true;
    if (profileEpoch) await e.takeProfile();
    const t0 = performance.now();
    const loaderState = loader.getState(); // before the epoch draws its shuffle
    flag.reset(firstStep > 0 ? resumeAt!.lossSum : 0);
    let readSum = firstStep > 0 ? resumeAt!.lossSum : 0; // the loss sum at the last read handled
    let images = 0;
    let stepsDone = firstStep;
    let windowStart = performance.now();
    let windowImages = 0;
    let windowSteps = 0;
    const reads: Promise<void>[] = [];
    const readsDue: { index: number; done: Promise<void> }[] = [];
    const queued: Promise<unknown>[] = [];
    try {
      for (const batch of loader.epoch(firstStep)) {
        if (opts.signal?.stopped || nonFinite.diverged) {
          batch.x.dispose();
          batch.y.dispose();
          break;
        }
        const { y } = batch;
        flag.step = (epoch - 1) * stepsPerEpoch + batch.index;
        const x = opts.augment ? augment(batch.x, opts.augment, flag.step) : batch.x;
        if (x !== batch.x) batch.x.dispose(); // the augmented copy replaces it
        const l = tidy(() => {
          const loss = lossFn(model.forward(x), y, x, batch);
          if (loss.size !== 1) throw new Error(`kdgpu: fit: the loss has shape [${loss.shape.join(', ')}], expected a scalar`);
          opts.optimizer.zeroGrad();
          loss.backward();
          return loss;
        });
        flag.accumulate(l);
        l.dispose();
        x.dispose();
        y.dispose();
        opts.optimizer.step(); // submits the step
        stepsDone = batch.index + 1;
        images += y.size;
        windowImages += y.size;
        windowSteps++;
        const info: StepInfo = { epoch, step: batch.index, stepsPerEpoch, globalStep: (epoch - 1) * stepsPerEpoch + batch.index };
        for (const cb of cbs) cb.onStepEnd?.(info);
        if (logEvery > 0 && (batch.index + 1) % logEvery === 0) {
          // Read a copy of the flag without waiting: the next steps keep being recorded.
          const snapshot = flag.snapshot();
          const steps = windowSteps;
          const imgs = windowImages;
          const secs = (performance.now() - windowStart) / 1000;
          windowStart = performance.now();
          windowImages = 0;
          windowSteps = 0;
          // Started now, handled in order (after the previous window's): the loss is the sum's change.
          const value = flag.read(snapshot).finally(() => snapshot.dispose());
          const previous = reads.at(-1) ?? Promise.resolve();
          reads.push(
            Promise.all([value, previous]).then(([cur]) => {
              if (!nonFinite.diverged && cur.firstStep !== null) nonFinite.diverged = divergedAt(cur);
              const loss = (cur.lossSum - readSum) / steps;
              readSum = cur.lossSum;
              if (!nonFinite.diverged) for (const cb of cbs) cb.onLoss?.({ ...info, loss, imagesPerSecond: imgs / secs });
            }),
          );
          readsDue.push({ index: batch.index, done: reads.at(-1)! });
        }
        // At most MAX_QUEUED_STEPS steps ahead of the GPU: wait (no readback) for an older one,
        // and for the loss readbacks of windows that ended by then (their values are on the way).
        queued.push(e.device.queue.onSubmittedWorkDone());
        if (queued.length > MAX_QUEUED_STEPS) await queued.shift();
        while (readsDue.length && readsDue[0].index <= batch.index - MAX_QUEUED_STEPS) await readsDue.shift()!.done;
        // Let timers, signal handlers (Ctrl-C) and readback callbacks (progress) run between steps.
        await yieldToEventLoop();
      }
      await Promise.all(reads);
      const end = await flag.read();
      if (!nonFinite.diverged && end.firstStep !== null) nonFinite.diverged = divergedAt(end);
      if (nonFinite.diverged) throw nonFinite.diverged;
      const total = end.lossSum;
      if (stepsDone < stepsPerEpoch) {
        // Stopped inside the epoch: a checkpoint of the step reached, to resume from it.
        const bytes = await checkpointBytes(model, opts.optimizer, loader, epoch - 1, opts.scheduler, { step: stepsDone, loaderState, lossSum: total }, es);
        if (opts.checkpoint) await opts.checkpoint(bytes, epoch - 1);
        await e.checkErrors();
        return { history, stopReason: 'signal', checkpoint: bytes };
      }
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
      if (opts.earlyStopping && log.val) {
        const value = (opts.earlyStopping.monitor ?? 'val_loss') === 'val_loss' ? log.val.loss : -log.val.accuracy;
        es = value < es.best - (opts.earlyStopping.minDelta ?? 0) ? { best: value, bad: 0 } : { best: es.best, bad: es.bad + 1 };
      }
      const stopping = opts.signal?.stopped === true;
      let bytes: Uint8Array | undefined;
      if (opts.checkpoint || stopping) bytes = await checkpointBytes(model, opts.optimizer, loader, epoch, opts.scheduler, undefined, es);
      if (opts.checkpoint) await opts.checkpoint(bytes!, epoch);
      for (const cb of cbs) await cb.onEpochEnd?.(log);
      await e.checkErrors();
      if (stopping) return { history, stopReason: 'signal', checkpoint: bytes };
    } finally {
      await Promise.allSettled(reads);
    }
    if (opts.earlyStopping && es.bad > opts.earlyStopping.patience) {
      stopReason = 'early-stopping';
      break;
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

/** Where a checkpoint stands in training, as `restoreCheckpointAt` returns it. */
export interface CheckpointPosition {
  /** Epochs finished. */
  epoch: number;
  /** Steps of the next epoch already taken (0 at an epoch boundary). */
  step: number;
  /** The running loss sum of those steps (0 at an epoch boundary). */
  lossSum: number;
  /** Early stopping's record when the checkpoint was written (absent in older checkpoints). */
  earlyStopping?: EarlyStoppingState;
}

/** Early stopping's record: the best monitored value so far and the epochs since it improved. */
export interface EarlyStoppingState {
  /** Best value of the monitored metric (lower is better: −accuracy for 'val_accuracy'); Infinity before the first. */
  best: number;
  /** Epochs since the last improvement. */
  bad: number;
}

/** Within an epoch: what `checkpointBytes` records for a mid-epoch checkpoint. */
export interface MidEpochState {
  /** Steps of the epoch after `epoch` already taken. */
  step: number;
  /** The loader's `getState()` from before that epoch drew its shuffle. */
  loaderState: number[];
  /** The running loss sum of those steps. */
  lossSum: number;
}

/**
 * Weights, optimizer state, shuffle and dropout RNG state, the scheduler's epoch, early stopping's
 * record and the position (the epochs finished, and with `within`, the steps taken into the next
 * one), as safetensors bytes. Throws a `TrainingDivergedError` when a weight is not finite
 * (nothing non-finite is ever checkpointed).
 */
export async function checkpointBytes(
  model: Module,
  optimizer: Optimizer,
  loader: GpuLoader | null,
  epoch: number,
  scheduler?: LRScheduler,
  within?: MidEpochState,
  earlyStopping?: EarlyStoppingState,
): Promise<Uint8Array> {
  const entries: [string, { shape: readonly number[]; data: Float32Array | Int32Array }][] = [];
  for (const [n, t] of model.stateDict()) entries.push([`model.${n}`, { shape: t.shape, data: await t.data() }]);
  const bad = nonFiniteValues(entries)?.first.slice('model.'.length);
  if (bad) throw new TrainingDivergedError(`kdgpu: training diverged: a weight is not finite after epoch ${epoch}${within ? ` and ${within.step} more steps` : ''} (${bad}); no checkpoint written (try a lower learning rate)`, epoch + 1, null);
  for (const [n, t] of optimizer.stateTensors()) entries.push([`optimizer.${n}`, { shape: t.shape, data: await t.data() }]);
  const meta = {
    kind: 'kdgpu-checkpoint',
    epoch,
    step: within ? within.step : 0,
    lossSum: within ? within.lossSum : 0,
    optimizerStepCount: optimizer.stepCount,
    lr: optimizer.lr,
    optimizer: optimizer.stateMeta(),
    loader: within ? within.loaderState : loader ? loader.getState() : null,
    dropout: dropoutState(),
    schedulerEpoch: scheduler ? scheduler.epoch : null,
    // JSON has no Infinity: null stands for 'no best value yet'.
    earlyStopping: earlyStopping ? { best: Number.isFinite(earlyStopping.best) ? earlyStopping.best : null, bad: earlyStopping.bad } : null,
  };
  return serializeSafetensors(entries, { kdgpu: JSON.stringify(meta, (_k, v) => (typeof v === 'number' && Number.isNaN(v) ? 'NaN' : v)) });
}

/**
 * Restores a checkpoint into model/optimizer/loader/scheduler; returns the epochs it finished.
 * A mid-epoch checkpoint (one a stop wrote) also has steps into the next epoch: resume it with
 * `fit`'s `resumeFrom`, or see `restoreCheckpointAt`.
 */
export function restoreCheckpoint(bytes: Uint8Array, model: Module, optimizer: Optimizer, loader: GpuLoader | null, scheduler?: LRScheduler, name = 'checkpoint'): number {
  return restoreCheckpointAt(bytes, model, optimizer, loader, scheduler, name).epoch;
}

/**
 * Restores a checkpoint as `restoreCheckpoint` does and returns its whole position: the epochs
 * finished and the steps taken into the next (with the loader's state from before that epoch's
 * shuffle: run `loader.epoch(step)` to continue it).
 */
export function restoreCheckpointAt(bytes: Uint8Array, model: Module, optimizer: Optimizer, loader: GpuLoader | null, scheduler?: LRScheduler, name = 'checkpoint'): CheckpointPosition {
  const file = parseSafetensors(bytes, name);
  const metaText = file.metadata.kdgpu;
  if (!metaText) throw new Error(`kdgpu: ${name} is not a kdgpu checkpoint (no 'kdgpu' metadata)`);
  const meta = JSON.parse(metaText, (_k, v) => (v === 'NaN' ? NaN : v)) as {
    epoch: number;
    step?: number;
    lossSum?: number;
    optimizerStepCount: number;
    lr: number;
    optimizer: Record<string, unknown>;
    loader: number[] | null;
    dropout: { seed: number; step: number };
    schedulerEpoch: number | null;
    earlyStopping?: { best: number | null; bad: number } | null;
  };
  const step = meta.step ?? 0;
  if (loader && step > loader.length) throw new Error(`kdgpu: ${name} was written at step ${step} of an epoch, this run has ${loader.length} steps per epoch (use the same data and batch size)`);
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
  const es = meta.earlyStopping ? { best: meta.earlyStopping.best ?? Infinity, bad: meta.earlyStopping.bad } : undefined;
  return { epoch: meta.epoch, step, lossSum: meta.lossSum ?? 0, ...(es ? { earlyStopping: es } : {}) };
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
