/**
 * The tape. Each recorded op is a GradNode: its inputs, the tensors its gradient needs (held by
 * internal handles so user disposal or scopes cannot free them early) and its backward rule.
 *
 * A node lives while a live tensor it produced, or a live downstream node, refers to it; then it
 * releases what it saved. `backward()` frees the saved tensors of the graph it walks (unless
 * `retainGraph`), so a second backward through it is an error, as in PyTorch.
 */
import { fmt, sameShape } from './shape.js';
import { Tensor, fromStorage } from './tensor.js';

let gradEnabled = true;

/** Whether ops are currently recorded for autograd (false inside `noGrad`). */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs fn without recording ops (teachers, evaluation, optimizer updates). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    const r = fn();
    if (r instanceof Promise) {
      return r.finally(() => {
        gradEnabled = prev;
      }) as T;
    }
    gradEnabled = prev;
    return r;
  } catch (e) {
    gradEnabled = prev;
    throw e;
  }
}

/**
 * Gradients for each input (null where an input needs none). `needsGrad[i]` tells whether input
 * i requires a gradient: a rule may return null for the others and skip computing them.
 */
export type BackwardRule = (grad: Tensor, saved: readonly Tensor[], needsGrad: readonly boolean[]) => (Tensor | null)[];

export class GradNode {
  private refs = 0;
  freed = false;

  constructor(
    /** Names the op and shapes in errors, e.g. "matmul [3, 4] × [4, 5]". */
    readonly desc: string,
    readonly inputs: readonly Tensor[],
    readonly saved: Tensor[],
    readonly rule: BackwardRule,
  ) {
    for (const t of inputs) t._nodeRef?.retain();
  }

  retain(): void {
    this.refs++;
  }

  release(): void {
    if (--this.refs > 0) return;
    this.freeSaved();
    for (const t of this.inputs) {
      // The input handle may be disposed (its own reference dropped); ours is separate.
      t._nodeRef?.release();
    }
  }

  freeSaved(): void {
    for (const s of this.saved) s.dispose();
    this.saved.length = 0;
    this.freed = true;
  }
}

declare module './tensor.js' {
  interface Tensor {
    /** @internal the node that produced this tensor, kept even after the handle is disposed */
    _nodeRef?: GradNode;
  }
}

/** An internal handle sharing `t`'s storage, for the tape. */
function saveHandle(t: Tensor, op: string): Tensor {
  return fromStorage(t.storageFor(op).retain(), t.shape, t.dtype, { internal: true });
}

/**
 * Records `output = op(inputs)` when gradients are enabled and some input requires one.
 * `save` lists the tensors the rule will read; they are passed back to it in that order.
 */
export function record(
  desc: string,
  inputs: readonly Tensor[],
  output: Tensor,
  save: readonly Tensor[],
  rule: BackwardRule,
): Tensor {
  if (!gradEnabled || !inputs.some((t) => t.requiresGrad)) return output;
  const node = new GradNode(desc, inputs, save.map((t) => saveHandle(t, desc)), rule);
  node.retain();
  output._node = node;
  output._nodeRef = node;
  output.requiresGrad = true;
  return output;
}

/** Options for `Tensor.backward()`. */
export interface BackwardOptions {
  /** Keep the graph's saved tensors so backward can run through it again. */
  retainGraph?: boolean;
}

/**
 * Accumulates d(root)/d(leaf) into every leaf's `.grad`. Needs an explicit `gradient` unless
 * root has one element. `add` and `ones` are passed in to keep this file free of op imports.
 */
export function runBackward(
  root: Tensor,
  gradient: Tensor | undefined,
  opts: BackwardOptions,
  ops: {
    add: (a: Tensor, b: Tensor) => Tensor;
    onesLike: (t: Tensor) => Tensor;
    clone: (t: Tensor) => Tensor;
    keep: (t: Tensor) => void;
  },
): void {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    backwardImpl(root, gradient, opts, ops);
  } finally {
    gradEnabled = prev;
  }
}

function backwardImpl(
  root: Tensor,
  gradient: Tensor | undefined,
  opts: BackwardOptions,
  ops: {
    add: (a: Tensor, b: Tensor) => Tensor;
    onesLike: (t: Tensor) => Tensor;
    clone: (t: Tensor) => Tensor;
    keep: (t: Tensor) => void;
  },
): void {
  const op = 'backward';
  root.storageFor(op);
  if (!root.requiresGrad) {
    throw new Error(`kdgpu: backward: tensor of shape ${fmt(root.shape)} does not require grad (no input had requiresGrad, or it was made under noGrad)`);
  }
  if (!gradient && root.size !== 1) {
    throw new Error(
      `kdgpu: backward: called on a tensor of shape ${fmt(root.shape)} without a gradient; reduce it to a scalar (e.g. .mean()) or pass backward(gradient) with the same shape`,
    );
  }
  if (gradient) {
    gradient.storageFor(op);
    if (!sameShape(gradient.shape, root.shape)) {
      throw new Error(`kdgpu: backward: gradient of shape ${fmt(gradient.shape)} does not match tensor of shape ${fmt(root.shape)}`);
    }
  }
  // Topological order of the nodes reachable from root.
  const order: GradNode[] = [];
  const seen = new Set<GradNode>();
  const visit = (start: GradNode) => {
    const stack: [GradNode, number][] = [[start, 0]];
    seen.add(start);
    while (stack.length) {
      const top = stack[stack.length - 1];
      const [node, i] = top;
      if (i < node.inputs.length) {
        top[1]++;
        const next = node.inputs[i]._nodeRef;
        if (next && node.inputs[i].requiresGrad && !seen.has(next)) {
          seen.add(next);
          stack.push([next, 0]);
        }
      } else {
        stack.pop();
        order.push(node);
      }
    }
  };
  const rootNode = root._nodeRef;
  if (rootNode) visit(rootNode);
  for (const n of order) {
    if (n.freed) {
      throw new Error(
        `kdgpu: backward: the graph through '${n.desc}' was already freed by an earlier backward(); pass {retainGraph: true} to the first backward() to run backward twice`,
      );
    }
  }

  const accumulateLeaf = (leaf: Tensor, g: Tensor) => {
    if (leaf.isDisposed) {
      // the user freed this leaf: nothing can read its gradient (and dispose() would not free it)
      g.dispose();
      return;
    }
    if (leaf.grad && !leaf.grad.isDisposed) {
      const sum = ops.add(leaf.grad, g);
      leaf.grad.dispose();
      g.dispose();
      leaf.grad = sum;
    } else {
      leaf.grad = g;
    }
    ops.keep(leaf.grad);
  };

  if (!rootNode) {
    // A leaf: its gradient is the seed itself.
    accumulateLeaf(root, gradient ? ops.clone(gradient) : ops.onesLike(root));
    return;
  }
  const seed = gradient ?? ops.onesLike(root);
  const grads = new Map<GradNode, Tensor>();
  grads.set(rootNode, seed);
  for (let k = order.length - 1; k >= 0; k--) {
    const node = order[k];
    const g = grads.get(node);
    if (!g) continue;
    grads.delete(node);
    const inGrads = node.rule(
      g,
      node.saved,
      node.inputs.map((t) => t.requiresGrad),
    );
    // Rules may hand back g itself or one tensor for two inputs: give each owner its own copy.
    const owned = new Set<Tensor>();
    const own = (t: Tensor): Tensor => {
      if (t === gradient || owned.has(t)) t = ops.clone(t);
      owned.add(t);
      return t;
    };
    // Gradients for inputs that need none are dropped without copying (after the loop, unless
    // the same tensor went to an input that does need it).
    const unwanted = new Set<Tensor>();
    node.inputs.forEach((input, i) => {
      const raw = inGrads[i];
      if (!raw) return;
      if (!input.requiresGrad) {
        unwanted.add(raw);
        return;
      }
      const gi = own(raw);
      if (!sameShape(gi.shape, input.shape)) {
        throw new Error(
          `kdgpu internal error: backward of '${node.desc}' gave a gradient of shape ${fmt(gi.shape)} for an input of shape ${fmt(input.shape)}`,
        );
      }
      const target = input._nodeRef;
      if (target) {
        const prev = grads.get(target);
        if (prev) {
          grads.set(target, ops.add(prev, gi));
          prev.dispose();
          gi.dispose();
        } else grads.set(target, gi);
      } else {
        accumulateLeaf(input, gi);
      }
    });
    for (const t of unwanted) if (t !== g && t !== gradient && !owned.has(t)) t.dispose();
    if (g !== gradient && !owned.has(g)) g.dispose();
  }
  for (const g of grads.values()) g.dispose();
  if (!opts.retainGraph) for (const n of order) n.freeSaved();
}

export { Tensor };
