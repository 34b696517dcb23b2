import { full, type TensorOptions } from './creation.js';
import type { Tensor } from './tensor.js';

/** Zeros with `t`'s shape and dtype (unless `opts.dtype` says otherwise). */
export const zerosLike = (t: Tensor, opts: TensorOptions = {}): Tensor => full(t.shape, 0, { dtype: t.dtype, ...opts });
/** Ones with `t`'s shape and dtype (unless `opts.dtype` says otherwise). */
export const onesLike = (t: Tensor, opts: TensorOptions = {}): Tensor => full(t.shape, 1, { dtype: t.dtype, ...opts });
/** `t`'s shape and dtype (unless `opts.dtype` says otherwise), filled with `v`. */
export const fullLike = (t: Tensor, v: number, opts: TensorOptions = {}): Tensor => full(t.shape, v, { dtype: t.dtype, ...opts });
