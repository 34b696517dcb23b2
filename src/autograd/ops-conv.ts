/**
 * 2-D convolution (PyTorch's conv2d: NCHW input, OIHW weight, grouped/depthwise with `groups`),
 * optionally fused with bias and ReLU or ReLU6.
 */
import {
  runConv2d,
  runConv2dGradBias,
  runConv2dGradInput,
  runConv2dGradWeight,
  runGroupedConv2d,
  runGroupedConv2dGradInput,
  runGroupedConv2dGradWeight,
  type GroupedConvGeometry,
} from '../kernels/conv2d/index.js';
import type { Activation } from '../kernels/elementwise-ops.js';
import { record } from './graph.js';
import { activationGrad } from './ops-elementwise.js';
import { fmt } from './shape.js';
import { fromBuffer, type Tensor } from './tensor.js';

/** One value for both spatial axes, or [height, width]. */
export type IntPair = number | readonly [number, number];

/** Options for `conv2d`. */
export interface Conv2dOptions {
  /** Default 1. */
  stride?: IntPair;
  /**
   * Zero padding: a number or [top/bottom, left/right] (default 0), 'valid' (none) or 'same'
   * (TensorFlow/Keras's rule: output size ceil(in / stride), the odd extra pixel at the
   * bottom/right).
   */
  padding?: IntPair | 'valid' | 'same';
  /** Default 1. */
  dilation?: IntPair;
  /**
   * Split the channels into this many groups (default 1): output channels g·O/groups …
   * (g + 1)·O/groups − 1 read only input channels g·C/groups … (g + 1)·C/groups − 1, and the
   * weight is [O, C/groups, KH, KW]. groups = C is depthwise.
   */
  groups?: number;
  /** Apply ReLU in the same kernel (y = relu(conv + bias)). */
  relu?: boolean;
  /**
   * Apply ReLU6 = min(max(·, 0), 6) after the convolution: in the same kernel for groups > 1,
   * as a separate elementwise pass for groups = 1.
   */
  relu6?: boolean;
}

/** The resolved geometry of a convolution, with the padding on all four sides. */
export interface Conv2dPlan extends GroupedConvGeometry {
  /** Zero rows below the input. */
  padBottom: number;
  /** Zero columns right of the input. */
  padRight: number;
  /** Output shape [N, O, OH, OW]. */
  outShape: [number, number, number, number];
}

const OP = 'conv2d';

function pair(name: string, v: IntPair | undefined, dflt: number, min: number, shapes: string): [number, number] {
  const p: readonly unknown[] = v === undefined ? [dflt, dflt] : typeof v === 'number' ? [v, v] : Array.isArray(v) ? v : [v];
  if (p.length !== 2 || !p.every((d) => typeof d === 'number' && Number.isInteger(d) && d >= min)) {
    const what = min === 0 ? 'non-negative integers' : 'positive integers';
    throw new Error(`kdgpu: ${OP}: ${name} must be one or two ${what}, got ${JSON.stringify(v)} (${shapes})`);
  }
  return [p[0] as number, p[1] as number];
}

/**
 * Checks shapes and options and resolves the geometry (exported for layers that need output
 * shapes ahead of time).
 */
export function planConv2d(
  xShape: readonly number[],
  wShape: readonly number[],
  bShape: readonly number[] | null,
  opts: Conv2dOptions = {},
): Conv2dPlan {
  const shapes = `input ${fmt(xShape)}, weight ${fmt(wShape)}${bShape ? `, bias ${fmt(bShape)}` : ''}`;
  if (xShape.length !== 4) {
    throw new Error(`kdgpu: ${OP}: input must be 4-D [batch, channels, height, width], got ${fmt(xShape)} (${shapes})`);
  }
  if (wShape.length !== 4) {
    throw new Error(`kdgpu: ${OP}: weight must be 4-D [outChannels, inChannels, kernelH, kernelW], got ${fmt(wShape)} (${shapes})`);
  }
  const groups = opts.groups ?? 1;
  if (typeof groups !== 'number' || !Number.isInteger(groups) || groups < 1) {
    throw new Error(`kdgpu: ${OP}: groups must be a positive integer, got ${JSON.stringify(groups)} (${shapes})`);
  }
  const [N, C, H, W] = xShape;
  const [O, I, KH, KW] = wShape;
  if (C % groups !== 0 || O % groups !== 0) {
    throw new Error(
      `kdgpu: ${OP}: groups = ${groups} must divide the input channels (${C}, input ${fmt(xShape)}) and the output channels ` +
        `(${O}, weight ${fmt(wShape)})`,
    );
  }
  if (groups === 1 && C !== I) {
    throw new Error(`kdgpu: ${OP}: input ${fmt(xShape)} has ${C} channels but weight ${fmt(wShape)} expects ${I} input channels (dimension 1 of both must match)`);
  }
  if (I !== C / groups) {
    throw new Error(
      `kdgpu: ${OP}: input ${fmt(xShape)} has ${C} channels in ${groups} groups of ${C / groups}, but weight ${fmt(wShape)} expects ` +
        `${I} input channels per group (expected weight [${O}, ${C / groups}, ${KH}, ${KW}])`,
    );
  }
  if (KH < 1 || KW < 1) throw new Error(`kdgpu: ${OP}: weight ${fmt(wShape)} has an empty kernel; expected kernel height and width ≥ 1`);
  if (bShape && (bShape.length !== 1 || bShape[0] !== O)) {
    throw new Error(`kdgpu: ${OP}: bias ${fmt(bShape)} does not match weight ${fmt(wShape)}: expected [${O}]`);
  }
  const [SH, SW] = pair('stride', opts.stride, 1, 1, shapes);
  const [DH, DW] = pair('dilation', opts.dilation, 1, 1, shapes);
  const ekH = (KH - 1) * DH + 1;
  const ekW = (KW - 1) * DW + 1;
  let padT: number, padB: number, padL: number, padR: number;
  let OH: number, OW: number;
  const pad = opts.padding ?? 0;
  if (pad === 'same') {
    const same = (size: number, s: number, ek: number): [number, number, number] => {
      const out = Math.ceil(size / s);
      const total = Math.max((out - 1) * s + ek - size, 0);
      const before = Math.floor(total / 2);
      return [before, total - before, out];
    };
    [padT, padB, OH] = same(H, SH, ekH);
    [padL, padR, OW] = same(W, SW, ekW);
  } else {
    if (typeof pad === 'string' && pad !== 'valid') {
      throw new Error(`kdgpu: ${OP}: padding must be a number, a pair, 'valid' or 'same', got '${pad}' (${shapes})`);
    }
    [padT, padL] = pad === 'valid' ? [0, 0] : pair('padding', pad, 0, 0, shapes);
    [padB, padR] = [padT, padL];
    OH = Math.floor((H + padT + padB - ekH) / SH) + 1;
    OW = Math.floor((W + padL + padR - ekW) / SW) + 1;
  }
  if (H + padT + padB < ekH || W + padL + padR < ekW || OH < 1 || OW < 1) {
    throw new Error(
      `kdgpu: ${OP}: kernel ${KH}×${KW} (dilation ${DH}×${DW}, effective ${ekH}×${ekW}) is larger than the padded input ` +
        `${H + padT + padB}×${W + padL + padR} (input ${fmt(xShape)}, padding top ${padT} bottom ${padB} left ${padL} right ${padR}); ` +
        `expected an output of at least 1×1`,
    );
  }
  return {
    N,
    C,
    H,
    W,
    O,
    KH,
    KW,
    OH,
    OW,
    strideH: SH,
    strideW: SW,
    dilationH: DH,
    dilationW: DW,
    padTop: padT,
    padLeft: padL,
    padBottom: padB,
    padRight: padR,
    groups,
    outShape: [N, O, OH, OW],
  };
}

/** The fused activation asked for by the options (at most one). */
function activationOf(opts: Conv2dOptions): Activation | undefined {
  if (opts.relu && opts.relu6) throw new Error(`kdgpu: ${OP}: relu and relu6 were both requested; expected at most one activation`);
  return opts.relu ? 'relu' : opts.relu6 ? 'relu6' : undefined;
}

/**
 * 2-D convolution (cross-correlation, as in PyTorch): x [N, C, H, W], weight [O, C/groups, KH, KW],
 * bias [O] → [N, O, OH, OW]. With `relu: true` (or `relu6: true`) the activation runs in the
 * same kernel.
 */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor | null, opts: Conv2dOptions = {}): Tensor {
  const ts = bias ? [x, weight, bias] : [x, weight];
  for (const [t, name] of ts.map((t, i) => [t, ['input', 'weight', 'bias'][i]] as const)) {
    t.storageFor(OP);
    if (t.dtype !== 'float32') {
      throw new Error(`kdgpu: ${OP} expects float32 tensors, got ${t.dtype} ${name} of shape ${fmt(t.shape)}`);
    }
  }
  const g = planConv2d(x.shape, weight.shape, bias ? bias.shape : null, opts);
  const activation = activationOf(opts);
  const e = x.engine;
  const grouped = g.groups > 1;
  const xb = x.bufferFor(OP);
  const wb = weight.bufferFor(OP);
  const bb = bias?.bufferFor(OP);
  const run = grouped ? runGroupedConv2d : runConv2d;
  const y = fromBuffer(e, run(e, xb, wb, g, { bias: bb, activation }), g.outShape, 'float32');
  const desc =
    `${OP} ${fmt(x.shape)} * ${fmt(weight.shape)}${bias ? ' + bias' : ''}` +
    ` stride ${g.strideH}×${g.strideW} pad ${g.padTop},${g.padBottom},${g.padLeft},${g.padRight} dilation ${g.dilationH}×${g.dilationW}` +
    `${grouped ? ` groups ${g.groups}` : ''}${activation ? ` → ${activation}` : ''}`;
  const save = activation ? [x, weight, y] : [x, weight];
  return record(desc, ts, y, save, (grad, s) => {
    const [xs, ws] = s;
    const gz = activation ? activationGrad(OP, activation, grad, s[2]) : grad;
    const gb = gz.bufferFor(OP);
    const gradInput = grouped ? runGroupedConv2dGradInput : runConv2dGradInput;
    const gradWeight = grouped ? runGroupedConv2dGradWeight : runConv2dGradWeight;
    const dx = x.requiresGrad ? fromBuffer(e, gradInput(e, gb, ws.bufferFor(OP), g), x.shape, 'float32') : null;
    const dw = weight.requiresGrad ? fromBuffer(e, gradWeight(e, xs.bufferFor(OP), gb, g), weight.shape, 'float32') : null;
    // The bias gradient (per-channel sums of dy) does not depend on the groups.
    const db = bias?.requiresGrad ? fromBuffer(e, runConv2dGradBias(e, gb, g), bias.shape, 'float32') : null;
    if (gz !== grad) gz.dispose();
    return bias ? [dx, dw, db] : [dx, dw];
  });
}
