/**
 * The finite flag of a training run (issue 24): a 16-byte GPU buffer holding the running loss sum
 * and the first step at which the loss, a gradient, a weight or optimizer state was not finite
 * (layout and codes in kernels/finite-flag.ts). The step's kernels write it — the loss sum's
 * accumulation and the optimizer's updates, which read every gradient anyway — so a diverging run
 * is found with no dispatch, submission or readback of its own: `fit` reads a copy of the buffer
 * where it reads the loss sum.
 */
import { full } from '../autograd/creation.js';
import { keep } from '../autograd/scope.js';
import { fromBuffer, type Tensor } from '../autograd/tensor.js';
import type { PooledBuffer } from '../gpu/buffer-pool.js';
import { decodeFlag, FLAG_BYTES, FLAG_NONE, runFlagAccumulate, type FlagWhat } from '../kernels/finite-flag.js';

/** What a read of the finite flag found. */
export interface FlagState {
  /** The running loss sum. */
  lossSum: number;
  /** The first global step (0-based) at which something was not finite; null when none was. */
  firstStep: number | null;
  /** What was not finite at that step: the loss, or a parameter's (optimizer index) gradient, weight or state. */
  what: FlagWhat | null;
}

/**
 * The running loss sum and the first non-finite step of a training run, on the GPU. An optimizer
 * owns one (`Optimizer.finiteFlag`); its updates record into it at `step`.
 */
export class FiniteFlag {
  /** The global step (0-based) the kernels recorded next name; `fit` sets it before each step. */
  step = 0;
  private readonly t: Tensor;

  constructor() {
    this.t = keep(full([FLAG_BYTES / 4], 0));
    this.reset();
  }

  /** The flag's buffer, for kernels that bind it. */
  get buffer(): PooledBuffer {
    return this.t.bufferFor('FiniteFlag');
  }

  /** Sets the loss sum to `lossSum` and clears the non-finite record (in order with recorded work). */
  reset(lossSum = 0): void {
    const words = new Uint32Array(FLAG_BYTES / 4);
    new Float32Array(words.buffer)[0] = lossSum;
    words[1] = FLAG_NONE;
    words[2] = FLAG_NONE;
    this.t.engine.writeInto(this.buffer, words);
  }

  /** Records the addition of a one-element `loss` to the sum, and flags `step` if it is not finite. */
  accumulate(loss: Tensor): void {
    runFlagAccumulate(this.t.engine, loss.bufferFor('FiniteFlag.accumulate'), this.buffer, this.step);
  }

  /** A copy of the flag as it will be after the work recorded so far, to read later with `FiniteFlag.read`. */
  snapshot(): Tensor {
    const e = this.t.engine;
    const copy = keep(fromBuffer(e, e.pool.acquire(FLAG_BYTES), [FLAG_BYTES / 4], 'float32'));
    e.copyBuffer(this.buffer, 0, copy.bufferFor('FiniteFlag.snapshot'), 0, FLAG_BYTES);
    return copy;
  }

  /** Reads a snapshot (one readback), or the flag itself when none is given. */
  async read(snapshot?: Tensor): Promise<FlagState> {
    const d = (await (snapshot ?? this.t).data()) as Float32Array;
    const w = new Uint32Array(d.buffer, d.byteOffset, FLAG_BYTES / 4);
    const found = w[1] !== FLAG_NONE;
    return { lossSum: d[0], firstStep: found ? w[1] : null, what: found ? decodeFlag(w[2]) : null };
  }

  /** Frees the buffer. */
  dispose(): void {
    this.t.dispose();
  }
}

/** What a `FlagState` found, as a phrase: "the gradient of 'fc1.weight'" ('names' maps optimizer indices to names). */
export function describeFlag(what: FlagWhat, names: readonly string[]): string {
  if (what.what === 'loss') return 'the training loss';
  const name = `'${names[what.param] ?? `parameter ${what.param}`}'`;
  if (what.what === 'gradient') return `the gradient of ${name}`;
  return what.what === 'weight' ? `the updated weight ${name}` : `the optimizer state of ${name}`;
}
