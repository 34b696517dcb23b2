/**
 * Freezing and head replacement for fine-tuning: freeze a backbone (or a range of its layers),
 * put a new N-class classifier on top, train the rest.
 *
 * BatchNorm under freezing — two conventions, chosen by `batchNorm`:
 * - 'pytorch' (default): freezing stops gradients to BatchNorm's weight and bias only; its
 *   running statistics still move whenever the model is in train mode (PyTorch's behavior; call
 *   `.eval()` on the frozen part to stop them).
 * - 'keras': a frozen BatchNorm runs in inference mode — it normalizes with its running
 *   statistics and never updates them, even while the model trains (Keras's behavior for
 *   `layer.trainable = False` since TF 2.0).
 */
import { Linear } from './layers.js';
import { Module } from './module.js';

/** How a frozen BatchNorm behaves: 'pytorch' (running stats still update in train mode) or 'keras' (inference mode). */
export type FrozenBatchNorm = 'pytorch' | 'keras';

/** Options of `freeze` and `freezeUntil`. */
export interface FreezeOptions {
  /** How frozen BatchNorm layers behave (see the file header). Default 'pytorch'. */
  batchNorm?: FrozenBatchNorm;
}

/** Layers that can be told to normalize with running statistics only (BatchNorm). */
interface InferenceSwitch {
  inferenceOnly: boolean;
}

function hasInferenceSwitch(m: Module): m is Module & InferenceSwitch {
  return typeof (m as unknown as Partial<InferenceSwitch>).inferenceOnly === 'boolean';
}

/** A module path ('' = the whole model, 'layer1', 'features.3', …) → that module. */
function moduleAt(model: Module, path: string): Module {
  const found = model.namedModules().find(([n]) => n === path);
  if (!found) {
    const top = model.namedChildren().map(([n]) => n).join(', ');
    throw new Error(`kdgpu: freeze: the model has no module '${path}' (its top-level children: ${top})`);
  }
  return found[1];
}

function setFrozenTree(m: Module, frozen: boolean, opts: FreezeOptions): void {
  for (const [, sub] of m.namedModules()) {
    sub.setFrozen(frozen);
    if (hasInferenceSwitch(sub)) sub.inferenceOnly = frozen && (opts.batchNorm ?? 'pytorch') === 'keras';
  }
}

/**
 * Freezes whole modules by path (default: the whole model). Frozen parameters get no gradient,
 * stay bit-identical through training and hold no optimizer state (optimizers take
 * `model.trainableParameters()`).
 */
export function freeze(model: Module, paths: readonly string[] = [''], opts: FreezeOptions = {}): void {
  for (const p of paths) setFrozenTree(moduleAt(model, p), true, opts);
}

/** Undoes `freeze` for the given module paths (default: the whole model). */
export function unfreeze(model: Module, paths: readonly string[] = ['']): void {
  for (const p of paths) setFrozenTree(moduleAt(model, p), false, {});
}

/**
 * Freezes a range of layers: every top-level child registered before `firstTrainable` (e.g.
 * freezeUntil(resnet, 'layer4') fine-tunes layer4 and fc), like Keras's
 * `for layer in model.layers[:k]: layer.trainable = False`.
 */
export function freezeUntil(model: Module, firstTrainable: string, opts: FreezeOptions = {}): string[] {
  const names = model.namedChildren().map(([n]) => n);
  const k = names.indexOf(firstTrainable);
  if (k < 0) throw new Error(`kdgpu: freezeUntil: the model has no top-level child '${firstTrainable}' (children: ${names.join(', ')})`);
  const frozen = names.slice(0, k);
  freeze(model, frozen, opts);
  return frozen;
}

/**
 * Replaces the model's classifier — its last Linear layer — with a new Linear of `classes`
 * outputs (PyTorch's default initialization, seeded), returns the new layer's path. The old
 * layer's weights are disposed.
 */
export function replaceHead(model: Module, classes: number, opts: { seed?: number } = {}): string {
  if (!Number.isInteger(classes) || classes < 1) throw new Error(`kdgpu: replaceHead: classes must be a positive integer, got ${classes}`);
  const linears = model.namedModules().filter(([, m]) => m instanceof Linear) as [string, Linear][];
  if (!linears.length) throw new Error('kdgpu: replaceHead: the model has no Linear layer to replace');
  const [path, old] = linears[linears.length - 1];
  const dot = path.lastIndexOf('.');
  const parent = dot < 0 ? model : moduleAt(model, path.slice(0, dot));
  const head = new Linear(old.inFeatures, classes, { rng: opts.seed ?? 0, bias: old.bias !== null });
  parent.setModule(path.slice(dot + 1), head);
  old.dispose();
  return path;
}
