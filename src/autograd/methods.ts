/** Chainable methods on Tensor (`x.matmul(w).add(b).relu()`), delegating to the op functions. */
import { runBackward, type BackwardOptions } from './graph.js';
import * as ew from './ops-elementwise.js';
import * as red from './ops-reduce.js';
import * as shp from './ops-shape.js';
import * as mm from './ops-matmul.js';
import * as sm from './ops-softmax.js';
import { onesLike } from './like.js';
import { keep } from './scope.js';
import { Tensor, type DType } from './tensor.js';
import type { TensorLike } from './ops-elementwise.js';
import type { Axes, ReduceOptions } from './ops-reduce.js';
import type { SliceSpec } from './ops-shape.js';
import type { MatmulOptions } from './ops-matmul.js';
import type { Shape } from './shape.js';

declare module './tensor.js' {
  interface Tensor {
    /** `add(this, b)`: this + b with broadcasting. */
    add(b: TensorLike): Tensor;
    /** `sub(this, b)`: this − b with broadcasting. */
    sub(b: TensorLike): Tensor;
    /** `mul(this, b)`: this × b with broadcasting. */
    mul(b: TensorLike): Tensor;
    /** `div(this, b)`: this / b with broadcasting. */
    div(b: TensorLike): Tensor;
    /** `pow(this, b)`: this^b with broadcasting. */
    pow(b: TensorLike): Tensor;
    /** `maximum(this, b)`: elementwise max with broadcasting. */
    maximum(b: TensorLike): Tensor;
    /** `minimum(this, b)`: elementwise min with broadcasting. */
    minimum(b: TensorLike): Tensor;
    /** `equal(this, b)`: 1 where equal, else 0 (float32; no gradient). */
    equal(b: TensorLike): Tensor;
    /** `neg(this)`: −x. */
    neg(): Tensor;
    /** `exp(this)`: e^x. */
    exp(): Tensor;
    /** `log(this)`: natural logarithm. */
    log(): Tensor;
    /** `sqrt(this)`: square root. */
    sqrt(): Tensor;
    /** `relu(this)`: max(x, 0). */
    relu(): Tensor;
    /** `sigmoid(this)`: 1 / (1 + e^−x). */
    sigmoid(): Tensor;
    /** `tanh(this)`: hyperbolic tangent. */
    tanh(): Tensor;
    /** `abs(this)`: |x|. */
    abs(): Tensor;
    /** `sum(this, axes, opts)`: sum over `axes` (all when omitted). */
    sum(axes?: Axes, opts?: ReduceOptions): Tensor;
    /** `mean(this, axes, opts)`: mean over `axes` (all when omitted). */
    mean(axes?: Axes, opts?: ReduceOptions): Tensor;
    /** `max(this, axes, opts)`: largest value over `axes` (all when omitted). */
    max(axes?: Axes, opts?: ReduceOptions): Tensor;
    /** `min(this, axes, opts)`: smallest value over `axes` (all when omitted). */
    min(axes?: Axes, opts?: ReduceOptions): Tensor;
    /**
     * `argmax(this, axis, opts)`: int32 index of the largest element along `axis` (flattened when omitted).
     */
    argmax(axis?: number, opts?: ReduceOptions): Tensor;
    /**
     * `argmin(this, axis, opts)`: int32 index of the smallest element along `axis` (flattened when omitted).
     */
    argmin(axis?: number, opts?: ReduceOptions): Tensor;
    /** `reshape(this, shape)`: same data, new shape (one dimension may be -1); shares the buffer. */
    reshape(shape: Shape): Tensor;
    /** `flatten(this, startDim, endDim)`: merges dims startDim..endDim (default: all but the first). */
    flatten(startDim?: number, endDim?: number): Tensor;
    /** `permute(this, perm)`: output dim i is input dim perm[i]. */
    permute(perm: readonly number[]): Tensor;
    /** `transpose(this, dim0, dim1)`: swaps two dimensions (default: the last two). */
    transpose(dim0?: number, dim1?: number): Tensor;
    /** `slice(this, spec)`: [start, end) ranges per leading dimension. */
    slice(spec: SliceSpec): Tensor;
    /** `broadcastTo(this, shape)`: repeats size-1 (and missing leading) dimensions up to `shape`. */
    broadcastTo(shape: Shape): Tensor;
    /** `clone(this)`: a copy with its own buffer. */
    clone(): Tensor;
    /** `cast(this, dtype)`: converts between float32 and int32 (float → int truncates toward zero). */
    cast(dtype: DType): Tensor;
    /** `matmul(this, b, opts)`: matrix product with batch broadcasting. */
    matmul(b: Tensor, opts?: MatmulOptions): Tensor;
    /** `softmax(this, axis)`: along `axis` (default: the last). */
    softmax(axis?: number): Tensor;
    /** `logSoftmax(this, axis)`: along `axis` (default: the last). */
    logSoftmax(axis?: number): Tensor;
    /** Accumulates gradients of this tensor into the `.grad` of every leaf it depends on. */
    backward(gradient?: Tensor, opts?: BackwardOptions): void;
    /** Sets `.grad` to null (disposing it). */
    zeroGrad(): void;
  }
}

const P = Tensor.prototype;
P.add = function (b) { return ew.add(this, b); };
P.sub = function (b) { return ew.sub(this, b); };
P.mul = function (b) { return ew.mul(this, b); };
P.div = function (b) { return ew.div(this, b); };
P.pow = function (b) { return ew.pow(this, b); };
P.maximum = function (b) { return ew.maximum(this, b); };
P.minimum = function (b) { return ew.minimum(this, b); };
P.equal = function (b) { return ew.equal(this, b); };
P.neg = function () { return ew.neg(this); };
P.exp = function () { return ew.exp(this); };
P.log = function () { return ew.log(this); };
P.sqrt = function () { return ew.sqrt(this); };
P.relu = function () { return ew.relu(this); };
P.sigmoid = function () { return ew.sigmoid(this); };
P.tanh = function () { return ew.tanh(this); };
P.abs = function () { return ew.abs(this); };
P.sum = function (axes, opts) { return red.sum(this, axes, opts); };
P.mean = function (axes, opts) { return red.mean(this, axes, opts); };
P.max = function (axes, opts) { return red.max(this, axes, opts); };
P.min = function (axes, opts) { return red.min(this, axes, opts); };
P.argmax = function (axis, opts) { return red.argmax(this, axis, opts); };
P.argmin = function (axis, opts) { return red.argmin(this, axis, opts); };
P.reshape = function (shape) { return shp.reshape(this, shape); };
P.flatten = function (s, e) { return shp.flatten(this, s, e); };
P.permute = function (perm) { return shp.permute(this, perm); };
P.transpose = function (a, b) { return shp.transpose(this, a, b); };
P.slice = function (spec) { return shp.slice(this, spec); };
P.broadcastTo = function (shape) { return shp.broadcastTo(this, shape); };
P.clone = function () { return shp.clone(this); };
P.cast = function (dtype) { return shp.cast(this, dtype); };
P.matmul = function (b, opts) { return mm.matmul(this, b, opts); };
P.softmax = function (axis) { return sm.softmax(this, axis); };
P.logSoftmax = function (axis) { return sm.logSoftmax(this, axis); };
P.backward = function (gradient, opts = {}) {
  runBackward(this, gradient, opts, { add: (a, b) => ew.add(a, b), onesLike, clone: shp.clone, keep });
};
P.zeroGrad = function () {
  if (this.grad) this.grad.dispose();
  this.grad = null;
};
