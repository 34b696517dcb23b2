/**
 * Random image augmentation of an NCHW training batch on the GPU: horizontal flip, rotation,
 * brightness and zoom, each image with its own parameters (see kernels/augment.ts for the exact
 * transform, the fill and the sampling).
 *
 * Parameters are drawn on the GPU from (seed, step, image index) with a counter-based generator,
 * so a training step uploads nothing but uniforms, the same (seed, step) always gives the same
 * batch, and `fit` passes its global step so a resumed run augments exactly as an uninterrupted
 * one. `augmentWith` applies given parameters instead (tests, or replaying a draw).
 *
 * Augmentation is not differentiable here: the result carries no gradient back to x (x is data).
 */
import { runAugment, runAugmentParams, type AugmentDraw } from '../kernels/augment.js';
import { fmt } from './shape.js';
import { fromBuffer, type Tensor } from './tensor.js';

/** Options for `augment` and `augmentParams` (the ranges the per-image parameters are drawn from). */
export interface AugmentOptions {
  /** Seed of the draws (a non-negative safe integer). Default 0. */
  seed?: number;
  /** Probability of a horizontal flip; true means 0.5. Default: no flip. */
  flip?: boolean | number;
  /** Largest rotation in degrees; the angle is uniform in [−rotate, rotate]. Default 0. */
  rotate?: number;
  /** Brightness factor range [lo, hi] (uniform), e.g. [0.8, 1.2]. Default [1, 1]. */
  brightness?: readonly [number, number];
  /** Zoom factor range [lo, hi] (uniform, > 0; above 1 magnifies), e.g. [0.9, 1.1]. Default [1, 1]. */
  zoom?: readonly [number, number];
  /** What samples outside the image read: 'zero' (black, default) or 'edge' (the nearest border pixel). */
  fill?: 'zero' | 'edge';
  /**
   * The per-channel normalization the batch already has ((pixel − mean) / std), so that black
   * (the zero fill, and the fixed point of brightness) is the normalized value of a 0 pixel.
   * Omit it for pixel values in [0, 1]. At most 4 channels.
   */
  normalization?: {
    /** Per-channel mean subtracted from the pixels. */
    mean: readonly number[];
    /** Per-channel standard deviation the pixels were divided by. */
    std: readonly number[];
  };
}

/** One image's augmentation: the values `augmentParams` draws, as `augmentWith` takes them. */
export interface AugmentParams {
  /** Mirror horizontally. */
  flip: boolean;
  /** Rotation in degrees (positive: counter-clockwise as displayed). */
  degrees: number;
  /** Brightness factor: scales the distance from black (1: unchanged). */
  brightness: number;
  /** Zoom factor (above 1 magnifies; 1: unchanged). */
  zoom: number;
}

const OP = 'augment';

function halves(v: number, what: string): [number, number] {
  if (!Number.isSafeInteger(v) || v < 0) throw new Error(`kdgpu: ${OP}: ${what} must be a non-negative safe integer, got ${v}`);
  return [v >>> 0, Math.floor(v / 2 ** 32) >>> 0];
}

function range(v: readonly [number, number] | undefined, what: string, positive: boolean): [number, number] {
  if (v === undefined) return [1, 1];
  const ok = Array.isArray(v) && v.length === 2 && v.every((a) => Number.isFinite(a) && (positive ? a > 0 : a >= 0)) && v[0] <= v[1];
  if (!ok) throw new Error(`kdgpu: ${OP}: ${what} must be a range [lo, hi] with ${positive ? '0 < lo' : '0 ≤ lo'} ≤ hi, got ${JSON.stringify(v)}`);
  return [v[0], v[1]];
}

/** The draw's uniforms, after checking the options. */
function drawOf(opts: AugmentOptions, step: number): AugmentDraw {
  const flipP = opts.flip === true ? 0.5 : opts.flip === false || opts.flip === undefined ? 0 : opts.flip;
  if (typeof flipP !== 'number' || !(flipP >= 0 && flipP <= 1)) throw new Error(`kdgpu: ${OP}: flip must be a boolean or a probability in [0, 1], got ${String(opts.flip)}`);
  const rotate = opts.rotate ?? 0;
  if (!(Number.isFinite(rotate) && rotate >= 0 && rotate <= 180)) throw new Error(`kdgpu: ${OP}: rotate must be a number of degrees in [0, 180], got ${String(opts.rotate)}`);
  return {
    flipP,
    maxAngle: (rotate * Math.PI) / 180,
    brightness: range(opts.brightness, 'brightness', false),
    zoom: range(opts.zoom, 'zoom', true),
    key: halves(opts.seed ?? 0, 'seed'),
    step: halves(step, 'step'),
  };
}

function checkBatch(x: Tensor, op: string): [number, number, number, number] {
  x.storageFor(op);
  if (x.dtype !== 'float32') throw new Error(`kdgpu: ${op}: expects a float32 batch, got ${x.dtype} of shape ${fmt(x.shape)}`);
  if (x.rank !== 4) throw new Error(`kdgpu: ${op}: expects a batch of images [N, C, H, W], got shape ${fmt(x.shape)} (rank ${x.rank})`);
  const [n, c, h, w] = x.shape;
  return [n, c, h, w];
}

function blackOf(opts: AugmentOptions, channels: number, shape: readonly number[], op: string): number[] {
  const norm = opts.normalization;
  if (!norm) return [0, 0, 0, 0];
  const { mean, std } = norm;
  if (channels > 4) throw new Error(`kdgpu: ${op}: normalization is supported for at most 4 channels, the batch ${fmt(shape)} has ${channels}`);
  if (mean.length !== channels || std.length !== channels) {
    throw new Error(`kdgpu: ${op}: normalization has ${mean.length} means and ${std.length} stds, the batch ${fmt(shape)} has ${channels} channels`);
  }
  if (std.some((s) => !(s > 0))) throw new Error(`kdgpu: ${op}: normalization stds must be > 0, got [${std.join(', ')}]`);
  const black = mean.map((m, c) => -m / std[c]);
  while (black.length < 4) black.push(0);
  return black;
}

function fillOf(opts: AugmentOptions, op: string): boolean {
  const fill = opts.fill ?? 'zero';
  if (fill !== 'zero' && fill !== 'edge') throw new Error(`kdgpu: ${op}: fill must be 'zero' or 'edge', got '${String(fill)}'`);
  return fill === 'edge';
}

/**
 * The per-image parameters that `augment(x, opts, step)` uses for the batch x ([N, C, H, W]), as
 * an [N, 4] tensor of (flip 0/1, angle in radians, brightness, zoom), drawn on the GPU.
 */
export function augmentParams(x: Tensor, opts: AugmentOptions, step: number): Tensor {
  const [n] = checkBatch(x, 'augmentParams');
  const e = x.engine;
  return fromBuffer(e, runAugmentParams(e, n, drawOf(opts, step)), [n, 4], 'float32');
}

/** A randomly augmented copy of the batch x ([N, C, H, W]); the draw depends on (opts.seed, step, image). */
export function augment(x: Tensor, opts: AugmentOptions, step: number): Tensor {
  const [n, C, H, W] = checkBatch(x, OP);
  const draw = drawOf(opts, step);
  const edge = fillOf(opts, OP);
  const black = blackOf(opts, C, x.shape, OP);
  const e = x.engine;
  const params = runAugmentParams(e, n, draw);
  const out = runAugment(e, x.bufferFor(OP), params, { n, C, H, W, edge, black });
  e.pool.release(params); // later work is recorded after this dispatch
  return fromBuffer(e, out, x.shape, 'float32');
}

/**
 * The batch x augmented with given per-image parameters (one per image, or a [N, 4] tensor as
 * `augmentParams` returns); only `fill` and `normalization` of the options apply.
 */
export function augmentWith(x: Tensor, params: readonly AugmentParams[] | Tensor, opts: Pick<AugmentOptions, 'fill' | 'normalization'> = {}): Tensor {
  const op = 'augmentWith';
  const [n, C, H, W] = checkBatch(x, op);
  const edge = fillOf(opts, op);
  const black = blackOf(opts, C, x.shape, op);
  const e = x.engine;
  let buf;
  if (Array.isArray(params)) {
    const list = params as readonly AugmentParams[];
    if (list.length !== n) throw new Error(`kdgpu: ${op}: ${list.length} parameter sets for a batch of ${n} images ${fmt(x.shape)}`);
    const host = new Float32Array(4 * n);
    list.forEach((p, i) => {
      if (!(Number.isFinite(p.degrees) && Number.isFinite(p.brightness) && p.zoom > 0 && Number.isFinite(p.zoom))) {
        throw new Error(`kdgpu: ${op}: parameters of image ${i} must have finite degrees and brightness and a zoom > 0, got ${JSON.stringify(p)}`);
      }
      host.set([p.flip ? 1 : 0, (p.degrees * Math.PI) / 180, p.brightness, p.zoom], 4 * i);
    });
    buf = e.upload(host);
  } else {
    const t = params as Tensor;
    if (t.dtype !== 'float32' || t.rank !== 2 || t.shape[0] !== n || t.shape[1] !== 4) {
      throw new Error(`kdgpu: ${op}: parameters must be a float32 tensor [${n}, 4] for the batch ${fmt(x.shape)}, got ${t.dtype} ${fmt(t.shape)}`);
    }
    buf = null;
  }
  const out = runAugment(e, x.bufferFor(op), buf ?? (params as Tensor).bufferFor(op), { n, C, H, W, edge, black });
  if (buf) e.pool.release(buf);
  return fromBuffer(e, out, x.shape, 'float32');
}
