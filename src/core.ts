/// <reference types="@webgpu/types" preserve="true" />
// The public types name WebGPU's (GPUDevice, …): consumers get them from @webgpu/types, a dependency.
/** Everything that runs the same in Node and in a browser. */
import './autograd/methods.js';

export { init, engine, shutdown, hasEngine, type InitOptions } from './gpu/context.js';
export type { Engine, EngineStats, EngineMemory, Kernel, UniformValues } from './gpu/engine.js';
export type { BufferPool, PooledBuffer } from './gpu/buffer-pool.js';
export { formatProfile, type ProfileReport, type ProfileKernel, type ProfileOptions, type FormatProfileOptions } from './gpu/profiler.js';
export { ADAPTER_CHOICES, KEY_LIMITS, type AdapterDescription, type AdapterChoice, type AdapterKind } from './gpu/adapter.js';
export { Tensor, type DType, type NestedArray, type Storage } from './autograd/tensor.js';
export type { Shape } from './autograd/shape.js';
export { tidy, keep } from './autograd/scope.js';
export { noGrad, isGradEnabled, type BackwardOptions } from './autograd/graph.js';
export { tensor, full, zeros, ones, scalar, rand, randn, manualSeed, type TensorOptions, type RandomOptions } from './autograd/creation.js';
export { zerosLike, onesLike, fullLike } from './autograd/like.js';
export { Random } from './autograd/random.js';
export * from './autograd/ops-elementwise.js';
export type { Activation } from './kernels/elementwise-ops.js';
export type { ElementwiseSpec, Scalar } from './kernels/elementwise.js';
export { sum, mean, max, min, argmax, argmin, sumTo, type ReduceOptions, type Axes } from './autograd/ops-reduce.js';
export { reshape, flatten, permute, transpose, slice, concat, broadcastTo, clone, cast, type SliceSpec } from './autograd/ops-shape.js';
export { matmul, linear, type MatmulOptions, type LinearOptions } from './autograd/ops-matmul.js';
export { parseIdx, imageSetFromIdx, isGzip, readIdxHeader, type IdxArray, type IdxType, type ImageSet, type IdxGunzip, type IdxHeader } from './data/idx.js';
export * as nn from './nn/index.js';
export { conv2d, planConv2d, type Conv2dOptions, type Conv2dPlan, type IntPair } from './autograd/ops-conv.js';
export * from './data/dataset.js';
export { parseCifar10, concatDatasets, fromImageSet, CIFAR_RECORD } from './data/cifar.js';
export { batchNorm2d, batchNorm1d, type BatchNormOptions } from './autograd/ops-batchnorm.js';
export { augment, augmentWith, augmentParams, type AugmentOptions, type AugmentParams } from './autograd/ops-augment.js';
export { maxPool2d, avgPool2d, globalAvgPool2d, avgPool1d, type Pool2dOptions, type Pool1dOptions, type PoolPadding, type Pair } from './autograd/ops-pool.js';
export { softmax, logSoftmax, softmaxCrossEntropy, klDiv, type SoftmaxCrossEntropyOptions, type CrossEntropyReduction, type HostLabels, type KlDivOptions } from './autograd/ops-softmax.js';
export { dropout, dropoutSeed, dropoutState, setDropoutState, type DropoutOptions } from './autograd/ops-dropout.js';
export * from './kd/index.js';
export * from './onnx/index.js';
