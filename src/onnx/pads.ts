/** ONNX padding rules (pads, auto_pad, ceil_mode) resolved for one spatial axis. */

/** Padding before and after one axis. */
export type AxisPads = [before: number, after: number];

/**
 * SAME_UPPER / SAME_LOWER: output ceil(size / stride), total padding
 * max((out − 1)·stride + effective kernel − size, 0), the odd cell after (UPPER) or before (LOWER).
 */
export function samePads(size: number, stride: number, effKernel: number, lower: boolean): AxisPads {
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + effKernel - size, 0);
  const small = Math.floor(total / 2);
  return lower ? [total - small, small] : [small, total - small];
}

/**
 * Extra cells after the axis that make floor-mode pooling give ceil_mode's output size: ONNX
 * (like PyTorch) drops a last window that would start in the trailing padding.
 */
export function ceilExtra(size: number, stride: number, effKernel: number, [before, after]: AxisPads): number {
  const span = size + before + after - effKernel;
  const floorOut = Math.floor(span / stride) + 1;
  let ceilOut = Math.ceil(span / stride) + 1;
  if ((ceilOut - 1) * stride >= size + before) ceilOut--;
  return ceilOut > floorOut ? (ceilOut - 1) * stride + effKernel - (size + before + after) : 0;
}
