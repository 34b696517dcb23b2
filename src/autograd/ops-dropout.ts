/**
 * Dropout (inverted scaling, as PyTorch): in training, each element is zeroed with probability p
 * and the others are multiplied by 1 / (1 − p); in evaluation it is the identity.
 *
 * Random numbers come from a counter-based generator on the GPU (Philox4x32-10, see
 * kernels/dropout.ts): the mask is a function of (seed, step, element index) only. A global
 * stream supplies them: its seed is set by `dropoutSeed(seed)` (which also resets its step to 0),
 * and every training-mode call without its own seed takes the next step, so successive calls
 * (training steps) draw different masks and re-seeding replays the same sequence. A call with
 * `{ seed }` uses that seed at step 0 and leaves the stream alone. `manualSeed` (for rand/randn)
 * does not affect dropout. The backward pass recomputes the forward's mask from the same
 * (seed, step).
 */
import { runDropout, type DropoutParams } from '../kernels/dropout.js';
import { record } from './graph.js';
import { reshape } from './ops-shape.js';
import { fmt } from './shape.js';
import { fromBuffer, type Tensor } from './tensor.js';

/** Options for `dropout`. */
export interface DropoutOptions {
  /** Probability of zeroing an element, in [0, 1]. Default 0.5. */
  p?: number;
  /** Default true (like torch.nn.functional.dropout); false returns x unchanged. */
  training?: boolean;
  /** A seed for this call alone (step 0); without it the global stream's next step is used. */
  seed?: number;
}

const DEFAULT_SEED = 0x6b64_6770;

function split(op: string, v: number, what: string): [number, number] {
  if (!Number.isSafeInteger(v) || v < 0) throw new Error(`kdgpu: ${op}: ${what} must be a non-negative safe integer, got ${v}`);
  return [v >>> 0, Math.floor(v / 2 ** 32) >>> 0];
}

let streamSeed = DEFAULT_SEED;
let streamStep = 0;

/** Seeds the global dropout stream and rewinds it to step 0. */
export function dropoutSeed(seed: number): void {
  split('dropoutSeed', seed, 'seed');
  streamSeed = seed;
  streamStep = 0;
}

/** The global dropout stream's seed and the step its next call will use. */
export function dropoutState(): {
  /** Seed of the stream. */
  seed: number;
  /** Step the next call without its own seed will use. */
  step: number;
} {
  return { seed: streamSeed, step: streamStep };
}

/** Restores the stream saved by `dropoutState()` (checkpoints: resumed runs draw the same masks). */
export function setDropoutState(state: { seed: number; step: number }): void {
  split('setDropoutState', state.seed, 'seed');
  split('setDropoutState', state.step, 'step');
  streamSeed = state.seed;
  streamStep = state.step;
}

/**
 * Zeroes each element with probability p and scales the rest by 1 / (1 − p) (inverted dropout,
 * as PyTorch); the identity with `training: false`. The mask depends only on (seed, step, index).
 */
export function dropout(x: Tensor, opts: DropoutOptions = {}): Tensor {
  const op = 'dropout';
  x.storageFor(op);
  if (x.dtype !== 'float32') throw new Error(`kdgpu: ${op}: expects a float32 tensor, got ${x.dtype} of shape ${fmt(x.shape)}`);
  const p = opts.p ?? 0.5;
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) {
    throw new Error(`kdgpu: ${op}: p must be a probability in [0, 1], got ${String(p)} (input ${fmt(x.shape)})`);
  }
  const training = opts.training ?? true;
  if (!training) return reshape(x, x.shape); // identity: a view of x's storage, gradient passes through
  let seed: number;
  let step: number;
  if (opts.seed !== undefined) {
    seed = opts.seed;
    step = 0;
    split(op, seed, 'seed');
  } else {
    seed = streamSeed;
    step = streamStep++;
  }
  const params: DropoutParams = {
    threshold: p === 1 ? 0xffffffff : Math.min(Math.round(p * 2 ** 32), 0xffffffff),
    scale: p === 1 ? 0 : 1 / (1 - p),
    key: split(op, seed, 'seed'),
    step: split(op, step, 'step'),
  };
  const e = x.engine;
  const n = x.size;
  const y = fromBuffer(e, runDropout(e, x.bufferFor(op), n, params), x.shape, 'float32');
  const shape = x.shape;
  return record(`${op} ${fmt(shape)} p=${p} seed=${seed} step=${step}`, [x], y, [], (g) => [
    fromBuffer(e, runDropout(e, g.bufferFor(op), n, params), shape, 'float32'),
  ]);
}
