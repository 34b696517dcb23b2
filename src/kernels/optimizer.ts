/**
 * In-place optimizer updates: each dispatch rewrites one parameter's buffer and its state
 * buffers (no new buffers per step). Step-dependent numbers (learning rate, bias corrections)
 * arrive as uniforms; `gradScale` is a one-element buffer (e.g. from gradient clipping) that
 * multiplies the gradient, so clipping needs no readback. Each update also tests the gradient,
 * the new weight and state for non-finite values and records the first such step in the finite
 * flag (finite-flag.ts), which `fit` reads with its loss readbacks: a diverging run is found
 * without a readback of its own.
 */
import type { PooledBuffer } from '../gpu/buffer-pool.js';
import type { Engine, Kernel } from '../gpu/engine.js';
import { dispatch1d, invocationIndex, main1d } from '../gpu/kernel-registry.js';
import { FLAG_STATE, FLAG_WEIGHT, flagWgsl } from './finite-flag.js';

/**
 * Elements per invocation: f32, or vec4<f32> when the parameter's size is a multiple of 4. On
 * SwiftShader an update is bound by per-invocation overhead, which vec4 divides by four
 * (`npx tsx bench/profile-step.ts` shows the optimizer's share of a step).
 */
type Elem = 'f32' | 'vec4<f32>';

const header = (t: Elem) => `
@group(0) @binding(0) var<storage, read_write> param: array<${t}>;
@group(0) @binding(1) var<storage, read> grad: array<${t}>;
@group(0) @binding(2) var<storage, read> gradScale: array<f32>;`;

const indexing = `
  ${invocationIndex('i')}
  if (i >= p.n) { return; }`;

const main = `${main1d()}`;

/**
 * WGSL: flags the step when the gradient `g`, the new weight `w` or a state value is not finite.
 * Only `w` and `tested` are tested in the common case: a non-finite gradient, momentum or first
 * moment always makes the new weight non-finite (± ∞ · lr, ∞ · 0 = NaN, ∞ / ∞ = NaN), while
 * Adam's second moment can overflow under a finite weight (m / √∞ = 0). Which one it was is
 * worked out only for a flagged element. One test covers both: the larger exponent field.
 */
const check = (t: Elem, g: string, w: string, state: string[], tested: string[]) => {
  const u = t === 'f32' ? 'u32' : 'vec4<u32>';
  const ex = (v: string) => `(bitcast<${u}>(${v}) & ${u}(0x7f800000u))`;
  const nf = (v: string) => `${t === 'f32' ? 'nonFinite' : 'nonFinite4'}(${v})`;
  const top = [w, ...tested].map(ex).reduce((a, b) => `max(${a}, ${b})`);
  const stateBad = state.length ? state.map(nf).join(' || ') : 'false';
  return `
  if (${t === 'f32' ? '' : 'any'}(${top} == ${u}(0x7f800000u))) {
    let gBad = ${nf(g)};
    let wBad = ${nf(w)};
    let sBad = ${stateBad};
    if (gBad || wBad || sBad) { flagStep(p.step, 1u + p.param + select(select(${FLAG_STATE}u, ${FLAG_WEIGHT}u, wBad), 0u, gBad)); }
  }`;
};

/**
 * Adam / AdamW. PyTorch: p -= lr/bc1 · m / (√v/√bc2 + eps). Keras: p -= lr·√bc2/bc1 · m / (√v + eps)
 * (eps outside the bias correction). Decoupled weight decay (AdamW) shrinks p first; L2 weight
 * decay (Adam) adds wd·p to the gradient. 1 − beta comes from the host in float64: computed in
 * f32 from beta2 = 0.999f it is 1.3e-5 too small, which biases every step's size by 6e-6 relative,
 * enough to move near-zero ReLU pre-activations across zero within 15 steps (PyTorch rounds the
 * float64 1 − beta2 to f32 instead).
 */
const adamKernel = (t: Elem): Kernel => ({
  name: t === 'f32' ? 'optimizer.adam' : 'optimizer.adam.vec4',
  source: `
struct Params { n: u32, beta1: f32, beta2: f32, oneMinusBeta1: f32, oneMinusBeta2: f32,
  eps: f32, stepSize: f32, bc2Sqrt: f32, l2: f32, decay: f32, kerasEps: u32, step: u32, param: u32, }
${header(t)}
@group(0) @binding(3) var<storage, read_write> m: array<${t}>;
@group(0) @binding(4) var<storage, read_write> v: array<${t}>;
${flagWgsl(5)}
@group(0) @binding(6) var<uniform> p: Params;
${main}${indexing}
  var w = param[i];
  let gi = grad[i];
  let g = gi * gradScale[0] + p.l2 * w;
  w = w * p.decay;
  let mi = p.beta1 * m[i] + p.oneMinusBeta1 * g;
  let vi = p.beta2 * v[i] + p.oneMinusBeta2 * g * g;
  m[i] = mi;
  v[i] = vi;
  if (p.kerasEps == 1u) {
    w = w - p.stepSize * mi / (sqrt(vi) + p.eps);
  } else {
    w = w - p.stepSize * mi / (sqrt(vi) / p.bc2Sqrt + p.eps);
  }
  param[i] = w;${check(t, 'gi', 'w', ['mi', 'vi'], ['vi'])}
}`,
});
export const ADAM = adamKernel('f32');
export const ADAM_VEC4 = adamKernel('vec4<f32>');

/** SGD with momentum/dampening/Nesterov and L2 weight decay, as torch.optim.SGD. */
const sgdKernel = (t: Elem): Kernel => ({
  name: t === 'f32' ? 'optimizer.sgd' : 'optimizer.sgd.vec4',
  source: `
struct Params { n: u32, lr: f32, momentum: f32, dampening: f32, wd: f32, nesterov: u32, first: u32, step: u32, param: u32, }
${header(t)}
@group(0) @binding(3) var<storage, read_write> buf: array<${t}>;
${flagWgsl(4)}
@group(0) @binding(5) var<uniform> p: Params;
${main}${indexing}
  let w = param[i];
  let gi = grad[i];
  var g = gi * gradScale[0] + p.wd * w;
  // The momentum buffer as written (0 without momentum, so only the gradient and weight count).
  var b = ${t}(0.0);
  if (p.momentum != 0.0) {
    b = g;
    if (p.first == 0u) { b = p.momentum * buf[i] + (1.0 - p.dampening) * g; }
    buf[i] = b;
    if (p.nesterov == 1u) { g = g + p.momentum * b; } else { g = b; }
  }
  let nw = w - p.lr * g;
  param[i] = nw;${check(t, 'gi', 'nw', ['b'], [])}
}`,
});
export const SGD = sgdKernel('f32');
export const SGD_VEC4 = sgdKernel('vec4<f32>');

/** The kernel variant and the element count it indexes for a parameter of n floats. */
function variant(n: number, scalar: Kernel, vec4: Kernel): { kernel: Kernel; items: number } {
  return n % 4 === 0 ? { kernel: vec4, items: n / 4 } : { kernel: scalar, items: n };
}

export interface AdamUniforms {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  step: number;
  l2: number;
  decoupled: number;
  kerasEps: boolean;
}

/** Where an update records non-finite values: the flag buffer, the step it names and the parameter's index. */
export interface FlagTarget {
  /** The finite flag's buffer (finite-flag.ts). */
  buffer: PooledBuffer;
  /** The global step recorded. */
  step: number;
  /** The parameter's index among the optimizer's parameters. */
  param: number;
}

export function runAdam(
  engine: Engine,
  n: number,
  bufs: { param: PooledBuffer; grad: PooledBuffer; gradScale: PooledBuffer; m: PooledBuffer; v: PooledBuffer },
  u: AdamUniforms,
  flag: FlagTarget,
): void {
  const bc1 = 1 - u.beta1 ** u.step;
  const bc2 = 1 - u.beta2 ** u.step;
  const { kernel, items } = variant(n, ADAM, ADAM_VEC4);
  dispatch1d(
    engine,
    kernel,
    { ...bufs, finite: flag.buffer },
    {
      n: items,
      beta1: u.beta1,
      beta2: u.beta2,
      oneMinusBeta1: 1 - u.beta1,
      oneMinusBeta2: 1 - u.beta2,
      eps: u.eps,
      // Step-dependent scalars in float64 on the host, rounded once, as PyTorch computes them.
      stepSize: u.kerasEps ? (u.lr * Math.sqrt(bc2)) / bc1 : u.lr / bc1,
      bc2Sqrt: Math.sqrt(bc2),
      l2: u.l2,
      decay: 1 - u.lr * u.decoupled,
      kerasEps: u.kerasEps ? 1 : 0,
      step: flag.step,
      param: flag.param,
    },
    items,
  );
}

export function runSgd(
  engine: Engine,
  n: number,
  bufs: { param: PooledBuffer; grad: PooledBuffer; gradScale: PooledBuffer; buf: PooledBuffer },
  u: { lr: number; momentum: number; dampening: number; wd: number; nesterov: boolean; first: boolean },
  flag: FlagTarget,
): void {
  const { kernel, items } = variant(n, SGD, SGD_VEC4);
  dispatch1d(
    engine,
    kernel,
    { ...bufs, finite: flag.buffer },
    { n: items, lr: u.lr, momentum: u.momentum, dampening: u.dampening, wd: u.wd, nesterov: u.nesterov ? 1 : 0, first: u.first ? 1 : 0, step: flag.step, param: flag.param },
    items,
  );
}
