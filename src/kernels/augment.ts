/**
 * Image augmentation of an NCHW batch on the GPU, in two dispatches:
 *
 * - `runAugmentParams` draws each image's parameters (flip, angle, brightness, zoom) from the
 *   Philox4x32-10 counter-based generator (the one dropout uses, see kernels/dropout.ts): image n
 *   takes the four words of Philox(counter = (n, AUGMENT_STREAM, step.lo, step.hi), key = seed),
 *   so the draws are a pure function of (seed, step, image) and nothing is uploaded per step
 *   beyond the uniforms. The constant second counter word keeps these draws apart from dropout's
 *   (which uses 0 there) under the same seed.
 * - `runAugment` computes each output pixel by mapping its centre through the inverse of the
 *   image's affine transform and sampling the input bilinearly, then applies the brightness.
 *
 * The transform (pixel i covers [i, i + 1), the centre is c = (W/2, H/2), y points down):
 *   out − c = zoom · Rot(angle) · Flip · (src − c)
 * Flip mirrors x; a positive angle turns the picture counter-clockwise as displayed (like
 * torchvision's rotate); zoom > 1 magnifies. Taps outside the image read the fill: 'zero' (the
 * value of a black pixel, `black[c]`, 0 for unnormalized data) or 'edge' (the nearest border
 * pixel). Brightness b scales the distance from black: out = b·v + (1 − b)·black[c].
 */
import type { PooledBuffer } from '../gpu/buffer-pool.js';
import type { Engine, Kernel } from '../gpu/engine.js';
import { PHILOX_WGSL as PHILOX } from './philox.js';
import { bindings, dispatch1d, invocationIndex, main1d, guardedIndex } from '../gpu/kernel-registry.js';

/** Second Philox counter word of augmentation draws ("aug\0"). */
export const AUGMENT_STREAM = 0x61756700;

const paramsSource = `
struct Params { n: u32, k0: u32, k1: u32, c2: u32, c3: u32,
  flipP: f32, maxAngle: f32, bLo: f32, bHi: f32, zLo: f32, zHi: f32, }
${bindings(['prm', 'read_write', 'array<vec4<f32>>'])}
${PHILOX}
${main1d()}
${guardedIndex('t', 'p.n')}
  let r = philox4x32_10(vec4<u32>(t, ${AUGMENT_STREAM}u, p.c2, p.c3), vec2<u32>(p.k0, p.k1));
  // 24-bit uniforms in [0, 1): exact in f32
  let u = vec4<f32>(r >> vec4<u32>(8u)) * (1.0 / 16777216.0);
  let flip = select(0.0, 1.0, u.x < p.flipP);
  let angle = (2.0 * u.y - 1.0) * p.maxAngle;
  let bright = p.bLo + (p.bHi - p.bLo) * u.z;
  let zoom = p.zLo + (p.zHi - p.zLo) * u.w;
  prm[t] = vec4<f32>(flip, angle, bright, zoom);
}`;

const applySource = `
struct Params { n: u32, C: u32, H: u32, W: u32, edge: u32, black: vec4<f32>, }
${bindings(['x', 'read', 'array<f32>'], ['prm', 'read', 'array<vec4<f32>>'], ['out', 'read_write', 'array<f32>'])}

fn blackOf(c: u32) -> f32 { return select(0.0, p.black[min(c, 3u)], c < 4u); }

// (cos t, sin t) to a few float32 ulps: WGSL's built-ins may be off by 2^-11 (SwiftShader's
// cos is, by ~2e-4), which moves samples visibly. t = k·π/2 + r with |r| ≤ π/4 (π/2 split in
// two parts so r is nearly exact), then Taylor polynomials in r.
fn cosSin(t: f32) -> vec2<f32> {
  let k = round(t * 0.636619772);
  let r = (t - k * 1.5707963705062866) + k * 4.371139e-8;
  let r2 = r * r;
  let s = r + r * r2 * (-0.16666667 + r2 * (0.008333334 + r2 * (-0.0001984127 + r2 * 2.7557319e-6)));
  let c = 1.0 + r2 * (-0.5 + r2 * (0.041666668 + r2 * (-0.0013888889 + r2 * 2.4801587e-5)));
  switch (i32(k) & 3) {
    case 0: { return vec2<f32>(c, s); }
    case 1: { return vec2<f32>(-s, c); }
    case 2: { return vec2<f32>(-c, -s); }
    default: { return vec2<f32>(s, -c); }
  }
}

fn tap(base: u32, xi: i32, yi: i32, c: u32) -> f32 {
  let W = i32(p.W); let H = i32(p.H);
  if (p.edge != 0u) {
    return x[base + u32(clamp(yi, 0, H - 1) * W + clamp(xi, 0, W - 1))];
  }
  if (xi < 0 || yi < 0 || xi >= W || yi >= H) { return blackOf(c); }
  return x[base + u32(yi * W + xi)];
}

${main1d()}
  ${invocationIndex('i')}
  let hw = p.H * p.W;
  if (i >= p.n * hw) { return; }
  let img = i / hw;
  let pix = i % hw;
  let oy = pix / p.W;
  let ox = pix % p.W;
  let q = prm[img]; // flip, angle, brightness, zoom
  let cx = f32(p.W) * 0.5;
  let cy = f32(p.H) * 0.5;
  let px = f32(ox) + 0.5 - cx;
  let py = f32(oy) + 0.5 - cy;
  let trig = cosSin(q.y);
  let cs = trig.x;
  let sn = trig.y;
  // src − c = Flip · Rot(−angle) · (out − c) / zoom
  var ux = (cs * px - sn * py) / q.w;
  let uy = (sn * px + cs * py) / q.w;
  if (q.x != 0.0) { ux = -ux; }
  let sx = ux + cx - 0.5;
  let sy = uy + cy - 0.5;
  let x0f = floor(sx);
  let y0f = floor(sy);
  let fx = sx - x0f;
  let fy = sy - y0f;
  // far-outside coordinates (a tiny zoom) are clamped so the i32 conversion stays defined
  let x0 = i32(clamp(x0f, -2.0, f32(p.W) + 1.0));
  let y0 = i32(clamp(y0f, -2.0, f32(p.H) + 1.0));
  for (var c = 0u; c < p.C; c++) {
    let base = (img * p.C + c) * hw;
    let top = (1.0 - fx) * tap(base, x0, y0, c) + fx * tap(base, x0 + 1, y0, c);
    let bottom = (1.0 - fx) * tap(base, x0, y0 + 1, c) + fx * tap(base, x0 + 1, y0 + 1, c);
    let v = (1.0 - fy) * top + fy * bottom;
    out[base + pix] = q.z * v + (1.0 - q.z) * blackOf(c);
  }
}`;

const paramsKernel: Kernel = { name: 'augment.params', source: paramsSource };
const applyKernel: Kernel = { name: 'augment.apply', source: applySource };

export interface AugmentDraw {
  /** Probability of a horizontal flip, in [0, 1]. */
  flipP: number;
  /** Largest |angle|, in radians; the angle is uniform in [−maxAngle, maxAngle]. */
  maxAngle: number;
  /** Brightness factor range, uniform. */
  brightness: readonly [number, number];
  /** Zoom factor range, uniform. */
  zoom: readonly [number, number];
  /** Philox key (the seed) and the high counter words (the step), as 32-bit halves. */
  key: readonly [number, number];
  step: readonly [number, number];
}

/** count × vec4(flip 0/1, angle in radians, brightness, zoom), drawn on the GPU. */
export function runAugmentParams(engine: Engine, count: number, d: AugmentDraw): PooledBuffer {
  const out = engine.pool.acquire(Math.max(count, 1) * 16);
  dispatch1d(
    engine,
    paramsKernel,
    { prm: out },
    {
      n: count,
      k0: d.key[0],
      k1: d.key[1],
      c2: d.step[0],
      c3: d.step[1],
      flipP: d.flipP,
      maxAngle: d.maxAngle,
      bLo: d.brightness[0],
      bHi: d.brightness[1],
      zLo: d.zoom[0],
      zHi: d.zoom[1],
    },
    count,
  );
  return out;
}

export interface AugmentGeometry {
  n: number;
  C: number;
  H: number;
  W: number;
  /** Taps outside the image read the nearest border pixel (true) or black (false). */
  edge: boolean;
  /** The value of a black pixel per channel (at most 4 channels; others are 0). */
  black: readonly number[];
}

/** The augmented batch, from x ([n, C, H, W]) and per-image parameters (see runAugmentParams). */
export function runAugment(engine: Engine, x: PooledBuffer, params: PooledBuffer, g: AugmentGeometry): PooledBuffer {
  const total = g.n * g.C * g.H * g.W;
  const out = engine.pool.acquire(Math.max(total, 1) * 4);
  const pixels = g.n * g.H * g.W;
  if (total === 0) return out;
  dispatch1d(
    engine,
    applyKernel,
    { x, prm: params, out },
    { n: g.n, C: g.C, H: g.H, W: g.W, edge: g.edge ? 1 : 0, black: g.black.slice(0, 4) },
    pixels,
  );
  return out;
}
