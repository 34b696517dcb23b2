/**
 * Pooling (PyTorch semantics, NCHW): max_pool2d, avg_pool2d, global average pooling and a 1-D
 * average pool over the last axis, with their gradients.
 *
 * Padding: a number or [padH, padW] pads both sides with cells that never win a max and, for
 * average pooling, count in the divisor by default (PyTorch's count_include_pad=True). 'valid'
 * is no padding. 'same' is TensorFlow's rule: out = ceil(in / stride), total padding
 * max((out − 1)·stride + kernel − in, 0) split with the odd cell at the bottom/right, and padded
 * cells are excluded from averages by default (TensorFlow's behavior); `countIncludePad`
 * overrides either default.
 */
import { runAvgPool2d, runAvgPool2dBackward, runMaxPool2d, runMaxPool2dBackward, type Pool2dGeometry } from '../kernels/pool.js';
import { record } from './graph.js';
import { mean } from './ops-reduce.js';
import { reshape } from './ops-shape.js';
import { fmt } from './shape.js';
import { fromBuffer, type Tensor } from './tensor.js';

/** One size for both spatial axes, or [height, width]. */
export type Pair = number | readonly [number, number];
/**
 * Padding per side: a size or [padH, padW], 'valid' (none) or 'same' (TensorFlow's rule:
 * out = ceil(in / stride), the odd padding cell at the bottom/right).
 */
export type PoolPadding = Pair | 'valid' | 'same';

/** Options for `maxPool2d` and `avgPool2d`. */
export interface Pool2dOptions {
  /** Window size. */
  kernel: Pair;
  /** Defaults to the kernel size (PyTorch's default). */
  stride?: Pair;
  /** Defaults to 0. */
  padding?: PoolPadding;
  /**
   * Average pooling only: whether padded cells count in the divisor. Default: true for numeric
   * padding (PyTorch), false for 'same' (TensorFlow).
   */
  countIncludePad?: boolean;
}

/** Options for `avgPool1d`. */
export interface Pool1dOptions {
  /** Window length. */
  kernel: number;
  /** Defaults to the kernel size. */
  stride?: number;
  /** Defaults to 0. */
  padding?: number | 'valid' | 'same';
  /** Whether padded cells count in the divisor. Default: true for numeric padding, false for 'same'. */
  countIncludePad?: boolean;
}

function pair(op: string, what: string, v: Pair | undefined, shape: readonly number[], min: number): [number, number] {
  const p: [number, number] = typeof v === 'number' ? [v, v] : Array.isArray(v) && v.length === 2 ? [v[0], v[1]] : [NaN, NaN];
  if (!p.every((d) => Number.isInteger(d) && d >= min)) {
    throw new Error(`kdgpu: ${op}: ${what} must be an integer ≥ ${min} or a pair of them, got ${JSON.stringify(v)} (input ${fmt(shape)})`);
  }
  return p;
}

/** Output size and padding along one axis. */
function axisPlan(
  op: string,
  shape: readonly number[],
  axis: string,
  size: number,
  k: number,
  s: number,
  padding: number | 'valid' | 'same',
): { out: number; before: number; after: number } {
  if (padding === 'same') {
    const out = Math.ceil(size / s);
    const total = Math.max((out - 1) * s + k - size, 0);
    const before = Math.floor(total / 2);
    return { out, before, after: total - before };
  }
  const p = padding === 'valid' ? 0 : padding;
  if (2 * p > k) {
    throw new Error(`kdgpu: ${op}: padding ${p} along ${axis} is more than half the kernel size ${k} (input ${fmt(shape)}); PyTorch requires pad ≤ kernel / 2`);
  }
  if (k > size + 2 * p) {
    throw new Error(
      `kdgpu: ${op}: kernel ${k} is larger than the padded input along ${axis} (${size} + 2·${p} = ${size + 2 * p}; input ${fmt(shape)}); expected kernel ≤ input + 2·padding`,
    );
  }
  return { out: Math.floor((size + 2 * p - k) / s) + 1, before: p, after: p };
}

function plan(op: string, x: Tensor, opts: Pool2dOptions, kind: 'max' | 'avg'): { geo: Pool2dGeometry; outShape: number[] } {
  x.storageFor(op);
  if (x.dtype !== 'float32') throw new Error(`kdgpu: ${op}: expects a float32 tensor, got ${x.dtype} of shape ${fmt(x.shape)}`);
  if (x.rank !== 4 && x.rank !== 3) {
    throw new Error(`kdgpu: ${op}: expects a 4-D input [N, C, H, W] (or 3-D [C, H, W]), got shape ${fmt(x.shape)} (rank ${x.rank})`);
  }
  if (!opts || opts.kernel === undefined) throw new Error(`kdgpu: ${op}: options.kernel is required (input ${fmt(x.shape)})`);
  const [kh, kw] = pair(op, 'kernel', opts.kernel, x.shape, 1);
  const [sh, sw] = opts.stride === undefined ? [kh, kw] : pair(op, 'stride', opts.stride, x.shape, 1);
  const padding = opts.padding ?? 0;
  let ph: number | 'valid' | 'same';
  let pw: number | 'valid' | 'same';
  if (padding === 'same' || padding === 'valid') {
    ph = pw = padding;
  } else if (typeof padding === 'string') {
    throw new Error(`kdgpu: ${op}: padding must be a number, a pair, 'valid' or 'same', got '${padding}' (input ${fmt(x.shape)})`);
  } else {
    [ph, pw] = pair(op, 'padding', padding, x.shape, 0);
  }
  const [H, W] = x.shape.slice(-2);
  const planes = x.shape.slice(0, -2).reduce((a, b) => a * b, 1);
  const rows = axisPlan(op, x.shape, 'H', H, kh, sh, ph);
  const cols = axisPlan(op, x.shape, 'W', W, kw, sw, pw);
  const geo: Pool2dGeometry = {
    planes,
    H,
    W,
    OH: rows.out,
    OW: cols.out,
    kh,
    kw,
    sh,
    sw,
    padTop: rows.before,
    padLeft: cols.before,
    padBottom: rows.after,
    padRight: cols.after,
    countIncludePad: kind === 'avg' ? (opts.countIncludePad ?? padding !== 'same') : false,
  };
  return { geo, outShape: [...x.shape.slice(0, -2), rows.out, cols.out] };
}

function describe(op: string, x: Tensor, geo: Pool2dGeometry): string {
  return `${op} ${fmt(x.shape)} kernel [${geo.kh}, ${geo.kw}] stride [${geo.sh}, ${geo.sw}] pad [${geo.padTop}, ${geo.padLeft}, ${geo.padBottom}, ${geo.padRight}]`;
}

/**
 * 2-D max pooling of [N, C, H, W] (or [C, H, W]). The gradient goes to one cell per window: the
 * first maximum in row-major window order (PyTorch's rule); overlapping windows add up.
 */
export function maxPool2d(x: Tensor, opts: Pool2dOptions): Tensor {
  const op = 'maxPool2d';
  const { geo, outShape } = plan(op, x, opts, 'max');
  const e = x.engine;
  const { out, idx } = runMaxPool2d(e, x.bufferFor(op), geo);
  const y = fromBuffer(e, out, outShape, 'float32');
  const indices = fromBuffer(e, idx, outShape, 'int32');
  const inShape = x.shape;
  const result = record(describe(op, x, geo), [x], y, [indices], (g, [ix]) => [
    fromBuffer(e, runMaxPool2dBackward(e, g.bufferFor(op), ix.bufferFor(op), geo), inShape, 'float32'),
  ]);
  indices.dispose(); // the tape holds its own handle when it needs one
  return result;
}

/**
 * 2-D average pooling of [N, C, H, W] (or [C, H, W]). See the module comment for how padded cells
 * count.
 */
export function avgPool2d(x: Tensor, opts: Pool2dOptions): Tensor {
  const op = 'avgPool2d';
  const { geo, outShape } = plan(op, x, opts, 'avg');
  const e = x.engine;
  const y = fromBuffer(e, runAvgPool2d(e, x.bufferFor(op), geo), outShape, 'float32');
  const inShape = x.shape;
  return record(describe(op, x, geo), [x], y, [], (g) => [
    fromBuffer(e, runAvgPool2dBackward(e, g.bufferFor(op), geo), inShape, 'float32'),
  ]);
}

/** Global average pooling: [N, C, H, W] → [N, C] (the mean over H and W). */
export function globalAvgPool2d(x: Tensor): Tensor {
  const op = 'globalAvgPool2d';
  x.storageFor(op);
  if (x.rank !== 4) throw new Error(`kdgpu: ${op}: expects a 4-D input [N, C, H, W], got shape ${fmt(x.shape)} (rank ${x.rank})`);
  if (x.shape[2] * x.shape[3] === 0) throw new Error(`kdgpu: ${op}: input ${fmt(x.shape)} has no spatial cells to average`);
  return mean(x, [2, 3]);
}

/**
 * 1-D average pooling over the LAST axis of a tensor of any rank ≥ 1: [..., L] → [..., L'] with
 * L' = floor((L + 2·padding − kernel) / stride) + 1 (or ceil(L / stride) for 'same'). E.g. a
 * teacher's hidden vector [N, 512] with kernel 4 becomes [N, 128] to match a student's width.
 */
export function avgPool1d(x: Tensor, opts: Pool1dOptions): Tensor {
  const op = 'avgPool1d';
  x.storageFor(op);
  if (x.rank < 1) throw new Error(`kdgpu: ${op}: expects a tensor of rank ≥ 1 (pooling its last axis), got a scalar`);
  if (!opts || opts.kernel === undefined) throw new Error(`kdgpu: ${op}: options.kernel is required (input ${fmt(x.shape)})`);
  const check = (what: string, v: unknown, min: number) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
      throw new Error(`kdgpu: ${op}: ${what} must be an integer ≥ ${min}, got ${JSON.stringify(v)} (input ${fmt(x.shape)})`);
    }
  };
  check('kernel', opts.kernel, 1);
  if (opts.stride !== undefined) check('stride', opts.stride, 1);
  const pad = opts.padding ?? 0;
  if (pad !== 'same' && pad !== 'valid') check('padding', pad, 0);
  const L = x.shape[x.rank - 1];
  const k = opts.kernel;
  const stride = opts.stride ?? k;
  axisPlan(op, x.shape, 'the last axis', L, k, stride, pad); // validates, naming this op
  const lead = x.shape.slice(0, -1);
  const rows = lead.reduce((a, b) => a * b, 1);
  const x4 = reshape(x, [1, rows, 1, L]);
  try {
    const y4 = avgPool2d(x4, {
      kernel: [1, k],
      stride: [1, stride],
      padding: pad === 'same' || pad === 'valid' ? pad : [0, pad],
      countIncludePad: opts.countIncludePad,
    });
    try {
      return reshape(y4, [...lead, y4.shape[3]]);
    } finally {
      y4.dispose();
    }
  } finally {
    x4.dispose();
  }
}
