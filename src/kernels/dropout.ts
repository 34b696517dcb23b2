/**
 * Dropout with a stateless, counter-based random generator: Philox4x32-10 (Salmon et al., "Parallel
 * random numbers: as easy as 1, 2, 3", SC 2011; the generator behind cuRAND's and PyTorch's GPU
 * dropout). Invocation t handles elements 4t … 4t+3 and draws the four 32-bit words of
 * Philox(counter = (t, 0, step.lo, step.hi), key = (seed.lo, seed.hi)); element 4t+j is kept
 * when word j ≥ threshold = round(p·2³²). The mask is a pure function of (seed, step, element
 * index), so the backward pass recomputes exactly the forward's mask instead of storing it.
 *
 * WGSL has no 32×32→64-bit multiply; mulhilo builds the high word from 16-bit halves.
 */
import type { PooledBuffer } from '../gpu/buffer-pool.js';
import type { Engine, Kernel } from '../gpu/engine.js';
import { PHILOX_WGSL } from './philox.js';
import { bindings, dispatch1d, main1d, guardedIndex } from '../gpu/kernel-registry.js';

const source = `
struct Params { n4: u32, threshold: u32, scale: f32, k0: u32, k1: u32, c2: u32, c3: u32, }
${bindings(['x', 'read', 'array<vec4<f32>>'], ['out', 'read_write', 'array<vec4<f32>>'])}

${PHILOX_WGSL}

${main1d()}
${guardedIndex('t', 'p.n4')}
  let r = philox4x32_10(vec4<u32>(t, 0u, p.c2, p.c3), vec2<u32>(p.k0, p.k1));
  out[t] = x[t] * select(vec4<f32>(0.0), vec4<f32>(p.scale), r >= vec4<u32>(p.threshold));
}`;

const kernel: Kernel = { name: 'dropout', source };

export interface DropoutParams {
  /** Elements are kept where the random word ≥ threshold (0 keeps all; p = 1 uses 2³² − 1 with scale 0). */
  threshold: number;
  /** Multiplier of kept elements, 1 / (1 − p). */
  scale: number;
  /** Philox key (the seed) and the high counter words (the call's step), as 32-bit halves. */
  key: readonly [number, number];
  step: readonly [number, number];
}

/** out = x · mask · scale over n elements (x's buffer is read in whole vec4s). */
export function runDropout(engine: Engine, x: PooledBuffer, n: number, params: DropoutParams): PooledBuffer {
  const out = engine.pool.acquire(Math.max(n, 1) * 4);
  const n4 = Math.ceil(n / 4);
  if (n4 === 0) return out;
  dispatch1d(
    engine,
    kernel,
    { x, out },
    {
      n4,
      threshold: params.threshold,
      scale: params.scale,
      k0: params.key[0],
      k1: params.key[1],
      c2: params.step[0],
      c3: params.step[1],
    },
    n4,
  );
  return out;
}
