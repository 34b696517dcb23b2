/**
 * Weight initializers, seeded: PyTorch's layer defaults, Keras's (glorot_uniform weights, zero
 * bias), Xavier/Glorot, He and LeCun variance scaling. Values are drawn on the CPU from a
 * `Random`, so the same seed gives the same weights everywhere.
 */
import { tensor } from '../autograd/creation.js';
import type { Random } from '../autograd/random.js';
import type { Tensor } from '../autograd/tensor.js';

/** Keras's VarianceScaling initializer: weights of variance `scale / n`, n chosen by `mode`. */
export interface VarianceScaling {
  /** Multiplier of the variance (1 for Glorot/LeCun, 2 for He). */
  scale: number;
  /** Which fan n is: fan_in, fan_out, or their average. */
  mode: 'fan_in' | 'fan_out' | 'fan_avg';
  /** Uniform, normal, or normal truncated at 2σ (Keras's, σ corrected for the truncation). */
  distribution: 'uniform' | 'normal' | 'truncated_normal';
}

/** How a model's layers are initialized. */
export type InitScheme =
  | 'pytorch'
  | 'keras'
  | 'glorot_uniform'
  | 'glorot_normal'
  | 'xavier_uniform'
  | 'xavier_normal'
  | 'he_uniform'
  | 'he_normal'
  | 'lecun_normal'
  | 'lecun_uniform'
  | VarianceScaling;

const SCHEMES: Record<Exclude<InitScheme, 'pytorch' | 'keras' | VarianceScaling>, VarianceScaling> = {
  glorot_uniform: { scale: 1, mode: 'fan_avg', distribution: 'uniform' },
  glorot_normal: { scale: 1, mode: 'fan_avg', distribution: 'truncated_normal' },
  xavier_uniform: { scale: 1, mode: 'fan_avg', distribution: 'uniform' },
  xavier_normal: { scale: 1, mode: 'fan_avg', distribution: 'normal' },
  he_uniform: { scale: 2, mode: 'fan_in', distribution: 'uniform' },
  he_normal: { scale: 2, mode: 'fan_in', distribution: 'truncated_normal' },
  lecun_uniform: { scale: 1, mode: 'fan_in', distribution: 'uniform' },
  lecun_normal: { scale: 1, mode: 'fan_in', distribution: 'truncated_normal' },
};

/** fan_in and fan_out of a weight: [out, in] or [out, in, kh, kw]. */
export function fans(shape: readonly number[]): {
  /** in · kh · kw. */
  fanIn: number;
  /** out · kh · kw. */
  fanOut: number;
} {
  const receptive = shape.slice(2).reduce((p, d) => p * d, 1);
  return { fanIn: (shape[1] ?? 1) * receptive, fanOut: shape[0] * receptive };
}

function draw(n: number, rng: Random, f: () => number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = f();
  return out;
}

/** `n` values drawn from U(−bound, bound). */
export function uniformValues(n: number, bound: number, rng: Random): Float32Array {
  return draw(n, rng, () => (2 * rng.next() - 1) * bound);
}

/** Values for a weight of `shape` drawn under the variance-scaling rule `vs`. */
export function varianceScalingValues(shape: readonly number[], vs: VarianceScaling, rng: Random): Float32Array {
  const { fanIn, fanOut } = fans(shape);
  const n = vs.mode === 'fan_in' ? fanIn : vs.mode === 'fan_out' ? fanOut : (fanIn + fanOut) / 2;
  const variance = vs.scale / Math.max(1, n);
  const size = shape.reduce((p, d) => p * d, 1);
  if (vs.distribution === 'uniform') return uniformValues(size, Math.sqrt(3 * variance), rng);
  if (vs.distribution === 'normal') return draw(size, rng, () => Math.sqrt(variance) * rng.normal());
  // Keras's truncated normal: redraw beyond 2σ; σ corrected for the truncation.
  const std = Math.sqrt(variance) / 0.8796256610342398;
  return draw(size, rng, () => {
    for (;;) {
      const z = rng.normal();
      if (Math.abs(z) <= 2) return std * z;
    }
  });
}

/** A weight tensor of `shape` ([out, in] or [out, in, kh, kw]) under `scheme`. */
export function initWeight(shape: readonly number[], scheme: InitScheme, rng: Random): Tensor {
  const size = shape.reduce((p, d) => p * d, 1);
  let values: Float32Array;
  if (scheme === 'pytorch') {
    // kaiming_uniform_(a=√5) reduces to U(−1/√fan_in, 1/√fan_in).
    values = uniformValues(size, 1 / Math.sqrt(Math.max(1, fans(shape).fanIn)), rng);
  } else {
    const vs = scheme === 'keras' ? SCHEMES.glorot_uniform : typeof scheme === 'string' ? SCHEMES[scheme] : scheme;
    if (!vs) throw new Error(`kdgpu: unknown initializer '${String(scheme)}'`);
    values = varianceScalingValues(shape, vs, rng);
  }
  return tensor(values, shape);
}

/** A bias of `n` for a weight of `weightShape`: PyTorch's U(±1/√fan_in), zeros otherwise. */
export function initBias(n: number, weightShape: readonly number[], scheme: InitScheme, rng: Random): Tensor {
  if (scheme === 'pytorch') return tensor(uniformValues(n, 1 / Math.sqrt(Math.max(1, fans(weightShape).fanIn)), rng), [n]);
  return tensor(new Float32Array(n), [n]);
}
