/**
 * The epilogue of the matmul and convolution kernels: what happens to an accumulator before its
 * single store. Every fusable activation (elementwise-ops.ts's `Activation`) is here, so each
 * kernel that takes an epilogue fuses all of them.
 */
import type { Activation } from './elementwise-ops.js';

/** WGSL: the activation applied to the f32 expression `v`. */
export function activate(v: string, activation: Activation | undefined): string {
  if (activation === 'relu') return `max(${v}, 0.0)`;
  if (activation === 'relu6') return `min(max(${v}, 0.0), 6.0)`;
  return v;
}

/** WGSL: accumulator `v` plus the bias expression `bias` (if any), then the activation. */
export function epilogue(v: string, bias: string | null, activation: Activation | undefined): string {
  return activate(bias === null ? v : `${v} + ${bias}`, activation);
}

/** The kernel-name suffix of an epilogue, e.g. '.bias.relu6'. */
export function epilogueName(bias: boolean, activation: Activation | undefined): string {
  return `${bias ? '.bias' : ''}${activation ? `.${activation}` : ''}`;
}
